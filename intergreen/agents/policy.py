"""Trained agents behind the same Policy interface as the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.agents.training import RunDirError

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
    """A stable-baselines3 model acting greedily at each decision."""

    def __init__(self, model: Any, name: str, env_kwargs: dict[str, Any] | None = None) -> None:
        self.model = model
        self.name = name
        self.env_kwargs = env_kwargs or {}

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
    """Load a trained agent from its run folder or model zip."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from stable_baselines3 import DQN, PPO

    zip_path = model_path(path)
    run_dir = zip_path.parent
    env_kwargs: dict[str, Any] = {}
    name = run_dir.name if zip_path.name == "model.zip" else zip_path.stem
    agent = None
    if (run_dir / "config.json").exists():
        from intergreen.agents.training import load_run_config

        cfg = load_run_config(run_dir)
        agent, env_kwargs = cfg.agent, cfg.resolved_env_kwargs()
    classes = [{"dqn": DQN, "ppo": PPO}[agent]] if agent else [PPO, DQN]
    errors = []
    for cls in classes:
        try:
            return AgentPolicy(cls.load(zip_path, device="cpu"), name, env_kwargs)
        except Exception as e:  # wrong class or corrupt file: try the next, then report
            errors.append(f"{cls.__name__}: {e}")
    raise RunDirError(f"cannot load the model {zip_path} ({'; '.join(errors)})")
