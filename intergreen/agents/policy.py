"""Trained agents behind the same Policy interface as the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.agents.rundir import RunDirError, load_run_config
from intergreen.agents.runenv import RunEnv, make_run_env, recorded_env

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv


def model_path(path: str | Path) -> Path:
    """``model.zip`` of a run folder, or the zip itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.zip"
    if not path.is_file():
        raise RunDirError(f"no trained model at {path}: train one with `intergreen train`")
    return path


class AgentPolicy:
    """A stable-baselines3 model acting greedily at each decision.

    ``run_env``: the junction and environment options the agent was trained with (a bare
    model zip without its run folder records none: gm_a56 and make_env's defaults);
    ``reward``: the reward it was trained on (a registry name or mapping; None when its run
    folder does not say).
    """

    def __init__(
        self,
        model: Any,
        name: str,
        run_env: RunEnv | None = None,
        reward: str | dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.name = name
        self.run_env = run_env or RunEnv()
        self.reward = reward

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """The recorded environment options (read-only view)."""
        return dict(self.run_env.options)

    def make_env(
        self, demand: Any = "medium", seed: int | None = None, **options: Any
    ) -> JunctionEnv:
        """An env this agent can act in: the run's recorded junction and options merged with
        ``options`` (intergreen.agents.runenv: the caller's win where not None)."""
        junction = options.pop("junction", None)
        reward = options.pop("reward", None)
        return make_run_env(self.run_env, junction, demand, reward, seed=seed, **options)

    def reset(self, env: JunctionEnv) -> None:
        expected = self.model.observation_space.shape
        if env.observation_space.shape != expected:
            raise RunDirError(
                f"agent {self.name} was trained on observations of shape {expected}, the "
                f"environment gives {env.observation_space.shape}: use the run's env settings "
                f"{self.env_kwargs}"
            )
        if env.action_space.n != self.model.action_space.n:
            raise RunDirError(f"agent {self.name} chooses among {self.model.action_space.n} stages")

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        action, _ = self.model.predict(observation, deterministic=True)
        return int(action)


def load_policy(path: str | Path, **_: Any) -> AgentPolicy:
    """Load a trained agent from its run folder or model zip (with the run's recorded junction
    and environment options when its config.json is there)."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from stable_baselines3 import DQN, PPO

    zip_path = model_path(path)
    run_dir = zip_path.parent
    name = run_dir.name if zip_path.name == "model.zip" else zip_path.stem
    agent = reward = None
    if (run_dir / "config.json").exists():
        cfg = load_run_config(run_dir)
        agent, reward = cfg.agent, cfg.reward
    run_env = recorded_env(run_dir)
    classes = [{"dqn": DQN, "ppo": PPO}[agent]] if agent else [PPO, DQN]
    errors = []
    for cls in classes:
        try:
            return AgentPolicy(cls.load(zip_path, device="cpu"), name, run_env, reward)
        except Exception as e:  # wrong class or corrupt file: try the next, then report
            errors.append(f"{cls.__name__}: {e}")
    raise RunDirError(f"cannot load the model {zip_path} ({'; '.join(errors)})")
