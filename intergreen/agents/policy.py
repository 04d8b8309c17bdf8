"""Trained agents behind the same Policy interface as the baselines."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.agents.checkpoints import checkpoint_dir, latest_checkpoint
from intergreen.agents.curves import best_record
from intergreen.agents.rundir import (
    BEST_INFO,
    BEST_MODEL,
    FINAL_MODEL,
    RunDirError,
    load_run_config,
)
from intergreen.agents.runenv import RunEnv, make_run_env, recorded_env
from intergreen.errors import IntergreenError, OptionError
from intergreen.junctions.catalog import resolve_junction

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv


#: The checkpoints of a run folder a caller can choose (None: best when the run has one).
CHECKPOINTS = ("best", "final")


@dataclass(frozen=True)
class ModelChoice:
    """The model file chosen from a run folder (or a bare zip): ``checkpoint`` is ``"best"``
    (best by validation score), ``"final"`` or ``"file"`` (a zip given by path); ``step`` the
    decisions it had trained (None when unrecorded); ``score`` its validation score (s/veh)."""

    path: Path
    checkpoint: str
    step: int | None = None
    score: float | None = None

    @property
    def run_dir(self) -> Path:
        """The run folder (or the zip's folder) whose config.json describes the model."""
        return self.path.parent.parent if self.checkpoint == "latest" else self.path.parent

    def describe(self) -> str:
        """One line for the user, e.g. ``best checkpoint by validation (step 40000, ...)``."""
        if self.checkpoint == "best":
            return (f"best checkpoint by validation (step {self.step}, validation score "
                    f"{self.score:.2f} s/veh)")  # fmt: skip
        if self.checkpoint == "final":
            at = f"step {self.step}" if self.step is not None else "step unrecorded"
            return f"final model ({at})"
        if self.checkpoint == "latest":
            return (f"latest checkpoint (step {self.step}): the run has no {FINAL_MODEL}, it "
                    "was stopped before the end")  # fmt: skip
        return f"model file {self.path.name}"


def choose_model(path: str | Path, checkpoint: str | None = None) -> ModelChoice:
    """The model to load from a run folder: ``checkpoint="best"`` (``best_model.zip``, the best
    by greedy validation score), ``"final"`` (``model.zip``), or None: best when the run has
    one, else final, else (a run stopped before the end) its latest checkpoint. A zip path is
    that model (``checkpoint`` must then be None).

    Raises:
        OptionError: an unknown ``checkpoint``, or one given with a zip path.
        RunDirError: no trained model there, or ``"best"`` for a run without validation.
    """
    if checkpoint is not None and checkpoint not in CHECKPOINTS:
        raise OptionError(f"--checkpoint {checkpoint!r}: use one of {', '.join(CHECKPOINTS)}")
    path = Path(path)
    if not path.is_dir():
        if checkpoint is not None:
            raise OptionError(
                f"--checkpoint {checkpoint} needs a run folder; {path} is a model file"
            )
        if not path.is_file():
            raise RunDirError(f"no trained model at {path}: train one with `intergreen train`")
        return ModelChoice(path, "file")
    best = best_record(path)
    if checkpoint == "best" and best is None:
        raise RunDirError(
            f"{path} has no best checkpoint (it was trained without validation, or validated "
            "no point yet): use --checkpoint final, or train with --validate-every N"
        )
    if best is not None and checkpoint != "final":
        chosen = path / BEST_MODEL
        if not chosen.is_file():
            raise RunDirError(f"{path}: {BEST_INFO} names {BEST_MODEL}, which is missing")
        return ModelChoice(chosen, "best", int(best["step"]), float(best["score"]))
    final = path / FINAL_MODEL
    latest = latest_checkpoint(path) if not final.is_file() and checkpoint is None else None
    if latest is not None:  # a killed run: its newest checkpoint, said aloud by describe()
        return ModelChoice(checkpoint_dir(path) / latest["model"], "latest", int(latest["step"]))
    if not final.is_file() and (path / "tuned.json").is_file():  # a tune's folder
        raise RunDirError(
            f"{path} is a tune's folder, not a trained run: give its {path / 'tuned.json'} (a "
            "baseline tune's parameters run as that baseline; an agent tune's hyperparameters "
            "train agents: a grid's `agents: {NAME: {tuned: PATH}}`)"
        )
    if not final.is_file():
        raise RunDirError(f"no trained model at {final}: train one with `intergreen train`")
    return ModelChoice(final, "final", _final_step(path))


def model_label(path: str | Path) -> str:
    """The label of a trained model given by path (a table's ``controller``): a run folder's
    name; for a zip inside a run folder (one with config.json) that run's name (``RUN/model.zip``
    is ``RUN``, another zip of it ``RUN/best_model``); a zip elsewhere, its stem."""
    p = Path(path).absolute()
    if p.is_dir():
        return p.name
    run = p.parent
    if (run / "config.json").exists():
        return run.name if p.name == FINAL_MODEL else f"{run.name}/{p.stem}"
    return p.stem


def _final_step(run_dir: Path) -> int | None:
    try:
        return int(json.loads((run_dir / "done.json").read_text())["timesteps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_path(path: str | Path, checkpoint: str | None = None) -> Path:
    """The model zip of a run folder (:func:`choose_model`), or the zip itself."""
    return choose_model(path, checkpoint).path


def junction_misfit(run_env: RunEnv | None, spec: Any, name: str) -> str | None:
    """Why an agent trained in ``run_env`` cannot act on junction ``spec`` (a JunctionSpec):
    its own junction's arms are others (bearing, length, speed limit, approach lanes and, for
    an imported network, SUMO's edges and lanes: its observation's entries would describe other
    lanes, whatever the shapes; two signals of one imported grid have the same lane names), as
    a one-line message naming the agent ``name``; None where the arms are the same (the
    junction itself, a variant of it such as gm_a56_max_green, the same signal imported again)
    or the run's junction is unknown (a bare model, a junction not found)."""
    if run_env is None or run_env.record is None:
        return None
    try:
        trained = resolve_junction(run_env.junction)
    except IntergreenError:
        return None
    if _arms(trained) == _arms(spec):
        return None
    return (
        f"agent {name} was trained on junction {trained.name} and cannot act on junction "
        f"{spec.name} (its observations describe {trained.name}'s approach lanes): leave out "
        f"--junction to run it on its own, or train an agent on {spec.name}"
    )


def _arms(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """A junction's arms in order, each as its fields (what an observation describes)."""
    return [(name, arm.model_dump()) for name, arm in spec.arms.items()]


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
        choice: ModelChoice | None = None,
    ) -> None:
        self.model = model
        self.name = name
        self.run_env = run_env or RunEnv()
        self.reward = reward
        #: Which checkpoint of its run this is (None: a model in memory).
        self.choice = choice
        self._greedy: Callable[[np.ndarray], int] | None = None
        self._trained: tuple[list[str] | None] | None = None  # trained_stages(), once read
        #: (the junction spec it was read for, junction_misfit() there): read once per junction
        self._misfit: tuple[Any, str | None] | None = None

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
        if self._misfit is None or self._misfit[0] is not env.spec_:  # every reset asks
            self._misfit = (env.spec_, junction_misfit(self.run_env, env.spec_, self.name))
        if self._misfit[1] is not None:
            raise RunDirError(self._misfit[1])
        expected = self.model.observation_space.shape
        if env.observation_space.shape != expected:
            raise RunDirError(
                f"agent {self.name} was trained on observations of shape {expected}, the "
                f"environment gives {env.observation_space.shape}: use the run's env settings "
                f"{self.env_kwargs}"
            )
        trained = self.trained_stages()
        n = int(self.model.action_space.n)
        if env.action_space.n == n and trained in (None, list(env.action_stages)):
            return
        now = ",".join(env.action_stages)
        if trained is None:  # a bare model: only the number is known
            raise RunDirError(
                f"agent {self.name} chooses among {n} stages, the environment's action stages "
                f"are {now}: give --stages (Python: action_stages=) with the {n} stages it was "
                "trained with, or leave it out"
            )
        raise RunDirError(
            f"agent {self.name} was trained to choose among stages {','.join(trained)}, the "
            f"environment's action stages are {now} (its actions would call other stages): "
            f"give --stages {','.join(trained)} (Python: action_stages={json.dumps(trained)}), "
            "or leave it out"
        )

    def trained_stages(self) -> list[str] | None:
        """The action stages the agent was trained to choose among, in its actions' order: its
        run's recorded ``action_stages``, else its run junction's own; None for a bare model
        (no run folder) or a run junction that is not found. Read once (every episode's
        :meth:`reset` asks; the junction's YAML is not loaded again)."""
        if self._trained is None:
            self._trained = (self._read_trained_stages(),)
        stages = self._trained[0]
        return None if stages is None else list(stages)

    def _read_trained_stages(self) -> list[str] | None:
        recorded = self.run_env.options.get("action_stages")
        if recorded is not None:
            return [str(s) for s in recorded]
        if self.run_env.record is None:
            return None
        try:
            return list(resolve_junction(self.run_env.junction).action_stages)
        except IntergreenError:
            return None

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        """The model's greedy action (``predict(observation, deterministic=True)``, computed
        leanly: intergreen.agents.collectors.greedy_action)."""
        if self._greedy is None:
            from intergreen.agents.collectors import greedy_action

            self._greedy = greedy_action(self.model)
        return self._greedy(observation)


def load_policy(path: str | Path, checkpoint: str | None = None, **_: Any) -> AgentPolicy:
    """Load a trained agent from its run folder or model zip (with the run's recorded junction
    and environment options when its config.json is there). ``checkpoint``: ``"best"``,
    ``"final"`` or None (best when the run has one; :func:`choose_model`)."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from stable_baselines3 import DQN, PPO

    choice = choose_model(path, checkpoint)
    zip_path = choice.path
    run_dir = choice.run_dir
    name = model_label(path)
    agent = reward = None
    if (run_dir / "config.json").exists():
        cfg = load_run_config(run_dir)
        agent, reward = cfg.agent, cfg.reward
    run_env = recorded_env(run_dir)
    classes = [{"dqn": DQN, "ppo": PPO}[agent]] if agent else [PPO, DQN]
    errors = []
    for cls in classes:
        try:
            return AgentPolicy(cls.load(zip_path, device="cpu"), name, run_env, reward, choice)
        except Exception as e:  # wrong class or corrupt file: try the next, then report
            errors.append(f"{cls.__name__}: {e}")
    raise RunDirError(f"cannot load the model {zip_path} ({'; '.join(errors)})")
