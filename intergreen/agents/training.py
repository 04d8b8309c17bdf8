"""Train DQN and PPO agents (stable-baselines3) on a junction.

A run folder holds ``config.json`` (the resolved configuration), ``metrics.csv``
(one row per finished training episode: ground-truth waiting time, delay,
throughput, the episode's reward), TensorBoard logs under ``tb/``, checkpoints
under ``checkpoints/`` (every ``checkpoint_every`` steps, written atomically,
the two newest kept, with the DQN replay buffer), and at the end ``model.zip``
and ``done.json``. ``resume=True`` continues a killed run from its newest
checkpoint, keeping the metrics logged up to it.

Seeds: the model (torch, numpy, exploration) is seeded with ``seed``; training
env ``i`` gets ``seed + i`` and draws its episodes' SUMO seeds from it.
Evaluation episodes use seeds from :data:`EVAL_SEED_BASE` up, which training
never reaches (``seed`` is capped well below it).
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from intergreen.agents.config import AgentConfigError, TrainConfig, algorithm_class
from intergreen.common import atomic_path, atomic_write
from intergreen.errors import IntergreenError, format_validation_error

EVAL_SEED_BASE = 1_000_000_000
MAX_TRAIN_SEED = 1_000_000
KEEP_CHECKPOINTS = 2


class RunDirError(IntergreenError, ValueError):
    """The run folder holds another run, or a checkpoint that cannot be read."""


def training_env_seeds(seed: int, n_envs: int) -> list[int]:
    return [seed + i for i in range(n_envs)]


def _make_env(config: TrainConfig, seed: int):
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from stable_baselines3.common.monitor import Monitor

    from intergreen.junctions.env import make_env

    env = make_env(
        config.junction, config.demand, config.reward, seed=seed, **config.resolved_env_kwargs()
    )
    return Monitor(env)


def make_vec_env(config: TrainConfig, seeds: list[int]):
    """n_envs SUMO runs: the first in this process, the others in subprocesses (libsumo
    allows one run per process; see intergreen.agents.vecenv)."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from intergreen.agents.vecenv import LocalFirstVecEnv

    fns = [partial(_make_env, config, s) for s in seeds]
    if len(fns) == 1:
        return DummyVecEnv(fns)
    return LocalFirstVecEnv(fns, start_method="forkserver")


# ----- run folder ---------------------------------------------------------------------------
RUN_OUTPUTS = ("checkpoints", "tb", "metrics.csv", "model.zip", "done.json")


def _clear_outputs(run_dir: Path) -> None:
    for name in RUN_OUTPUTS:
        p = run_dir / name
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


def prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool, force: bool) -> None:
    """Create the folder, or check that it holds this run; refuse another run's folder."""
    cfg_file = run_dir / "config.json"
    if cfg_file.exists():
        try:
            old = json.loads(cfg_file.read_text())
        except json.JSONDecodeError:
            old = None
        same = old is not None and old.get("key") == config.key()
        if not same and not force:
            raise RunDirError(
                f"{run_dir} holds a run with another configuration; use another --out, or "
                "--force to replace it"
            )
        if force and not (same and resume):
            _clear_outputs(run_dir)
        elif not resume and (run_dir / "checkpoints").exists():
            raise RunDirError(
                f"{run_dir} already holds this run's checkpoints; use --resume to continue it "
                "or --force to start again"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "key": config.key(),
        "config": config.model_dump(),
        "hyperparameters": config.resolved_hyperparameters(),
        "env": config.resolved_env_kwargs(),
    }
    atomic_write(cfg_file, json.dumps(payload, indent=2))


def latest_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    marker = run_dir / "checkpoints" / "latest.json"
    if not marker.exists():
        return None
    try:
        info = json.loads(marker.read_text())
        assert (run_dir / "checkpoints" / info["model"]).exists()
    except (json.JSONDecodeError, KeyError, AssertionError):
        raise RunDirError(
            f"{marker} is unreadable or names a missing checkpoint; the run folder is left as "
            "it is: remove the checkpoints folder (or use --force) to start again"
        ) from None
    return info


# ----- callback -----------------------------------------------------------------------------
def _callback_class():
    from stable_baselines3.common.callbacks import BaseCallback

    class RunLogger(BaseCallback):
        """Episode metrics to CSV and TensorBoard, checkpoints, and a progress bar."""

        FIELDS = (
            "step", "env", "episode", "demand", "reward", "avg_waiting_time", "avg_delay",
            "throughput", "mean_queue", "teleports", "backlog", "wall_s",
        )  # fmt: skip

        def __init__(
            self, run_dir: Path, every: int, total: int, progress: bool, time_limit: float | None
        ) -> None:
            super().__init__()
            self.time_limit = time_limit
            self.run_dir = run_dir
            self.every = every
            self.total = total
            self.progress = progress
            self.episodes = 0
            self.bar = None
            self.start = time.perf_counter()
            self._next_ckpt = 0

        def _on_training_start(self) -> None:
            path = self.run_dir / "metrics.csv"
            self.episodes = _count_rows(path)
            new = not path.exists()
            self.file = open(path, "a", newline="")  # noqa: SIM115 - closed at training end
            self.writer = csv.DictWriter(self.file, fieldnames=self.FIELDS)
            if new:
                self.writer.writeheader()
            self._next_ckpt = (self.num_timesteps // self.every + 1) * self.every
            if self.progress:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                )

                console = Console(stderr=True)
                self.bar = Progress(
                    TextColumn("[bold]training"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"),
                    TimeRemainingColumn(),
                    console=console,
                    disable=not console.is_terminal,
                )
                self.bar.start()
                self.task = self.bar.add_task(
                    "train", total=self.total, completed=self.num_timesteps, info=""
                )

        def _on_step(self) -> bool:
            for i, info in enumerate(self.locals.get("infos", [])):
                metrics = info.get("episode_metrics")
                if metrics is None:
                    continue
                self.episodes += 1
                row = {
                    "step": self.num_timesteps,
                    "env": i,
                    "episode": self.episodes,
                    "demand": info.get("demand"),
                    "reward": info.get("episode_reward"),
                    **{k: metrics[k] for k in self.FIELDS if k in metrics},
                    "wall_s": round(time.perf_counter() - self.start, 2),
                }
                self.writer.writerow(row)
                self.file.flush()
                self.logger.record("episode/avg_waiting_time", metrics["avg_waiting_time"])
                self.logger.record("episode/reward", info.get("episode_reward"))
                if self.bar is not None:
                    self.bar.update(
                        self.task,
                        info=f"reward {info.get('episode_reward', 0):.1f}, "
                        f"wait {metrics['avg_waiting_time']:.1f} s",
                    )
            if self.bar is not None and self.n_calls % 200 == 0:
                self.bar.update(self.task, completed=self.num_timesteps)
            if self.num_timesteps >= self._next_ckpt:
                save_checkpoint(self.model, self.run_dir)
                self._next_ckpt += self.every
            # past the wall-clock budget: stop, and the model learned so far is saved
            limit = self.time_limit
            return limit is None or time.perf_counter() - self.start <= limit

        def _on_training_end(self) -> None:
            self.file.close()
            if self.bar is not None:
                self.bar.update(self.task, completed=self.num_timesteps)
                self.bar.stop()

    return RunLogger


def _count_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path) as f:
        return max(sum(1 for _ in f) - 1, 0)


def save_checkpoint(model, run_dir: Path) -> None:
    """Model (+ DQN replay buffer) at the current step; latest.json points at it."""
    folder = run_dir / "checkpoints"
    folder.mkdir(exist_ok=True)
    step = model.num_timesteps
    name = f"model_{step}.zip"
    with atomic_path(folder / name) as tmp:
        model.save(tmp)
    info: dict[str, Any] = {"step": step, "model": name}
    if hasattr(model, "replay_buffer") and model.replay_buffer is not None:
        rb = f"replay_{step}.pkl"
        with atomic_path(folder / rb) as tmp:
            model.save_replay_buffer(tmp)
        info["replay"] = rb
    atomic_write(folder / "latest.json", json.dumps(info))
    old = sorted((p for p in folder.glob("model_*.zip")), key=lambda p: int(p.stem.split("_")[1]))[
        :-KEEP_CHECKPOINTS
    ]
    for p in old:
        p.unlink(missing_ok=True)
        (folder / f"replay_{p.stem.split('_')[1]}.pkl").unlink(missing_ok=True)


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop rows logged after the checkpoint being resumed (they will be logged again)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
        fields = rows[0].keys() if rows else None
    if fields is None:
        return
    kept = [r for r in rows if int(r["step"]) <= step]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(fields))
        w.writeheader()
        w.writerows(kept)


# ----- train --------------------------------------------------------------------------------
def train(
    agent: str,
    junction: str = "gm_a56",
    demand: str | list[str] = "mixed",
    reward: str | dict[str, Any] = "average_speed",
    timesteps: int = 100_000,
    seed: int = 0,
    hyperparams: dict[str, Any] | None = None,
    n_envs: int = 1,
    run_dir: str | Path = "runs/run",
    *,
    preset: str | None = None,
    checkpoint_every: int = 20_000,
    env_kwargs: dict[str, Any] | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    time_limit: float | None = None,
) -> Path:
    """Train a DQN or PPO agent (stable-baselines3) on a junction; returns the model's path.

    Args:
        agent: ``"dqn"`` or ``"ppo"``.
        junction: a shipped junction name or a junction YAML path.
        demand: ``"mixed"`` (a level per episode from the training range, 1200-2571 veh/h on
            gm_a56), a level, a total (``"1900vph"``), a profile, or a list drawn from.
        reward: a reward name or ``{"name": ..., **params}`` (``intergreen rewards list``).
        timesteps: agent decisions to train for (> 0).
        seed: the training seed (0 <= seed < 1e6; env ``i`` of ``n_envs`` uses ``seed + i``).
        hyperparams: stable-baselines3 arguments over the preset's (unknown names refused).
        n_envs: SUMO simulations (1-64); the first runs in this process.
        run_dir: the run folder: ``config.json``, ``metrics.csv``, ``tb/``, checkpoints,
            ``model.zip``, ``done.json``.
        preset: hyperparameter preset (default: the agent's own; ``presets.yaml``).
        checkpoint_every: decisions between checkpoints.
        env_kwargs: :class:`~intergreen.junctions.env.JunctionEnv` options over the preset's.
        resume: continue a killed run from its last checkpoint.
        force: replace another run found in ``run_dir``.
        progress: show a progress bar (rich) on a terminal.
        time_limit: wall seconds after which training stops early, keeping the model learned
            so far (``done.json`` records the decisions actually trained).

    Returns:
        The path of ``run_dir/model.zip``.

    Raises:
        AgentConfigError: an unknown agent, preset or hyperparameter.
        RunDirError: ``run_dir`` holds another run (without ``force``) or an unreadable
            checkpoint.
        SpecError, RewardError: an unknown junction, demand or reward.
    """
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    if seed >= MAX_TRAIN_SEED:
        raise AgentConfigError(f"seed must be < {MAX_TRAIN_SEED} (evaluation seeds lie above)")
    try:
        config = TrainConfig(
            agent=agent.lower(),
            junction=junction,
            demand=demand,
            reward=reward,
            timesteps=timesteps,
            seed=seed,
            preset=preset,
            hyperparams=hyperparams or {},
            n_envs=n_envs,
            checkpoint_every=checkpoint_every,
            env_kwargs=env_kwargs or {},
        )
    except ValidationError as e:
        raise AgentConfigError(format_validation_error(e, "train")) from None
    hp = config.resolved_hyperparameters()
    run_dir = Path(run_dir)
    # check the environment before anything is written (bad demand, reward, option, ...)
    _make_env(config, seed).close()
    prepare_run_dir(run_dir, config, resume, force)
    done = run_dir / "done.json"
    if done.exists() and resume:
        return run_dir / "model.zip"
    checkpoint = latest_checkpoint(run_dir) if resume else None
    cls = algorithm_class(config.agent)
    vec_env = make_vec_env(config, training_env_seeds(seed, n_envs))
    try:
        if checkpoint is not None:
            try:
                model = cls.load(
                    run_dir / "checkpoints" / checkpoint["model"], env=vec_env, device="cpu"
                )
                if "replay" in checkpoint:
                    model.load_replay_buffer(run_dir / "checkpoints" / checkpoint["replay"])
            except Exception as e:
                raise RunDirError(
                    f"checkpoint {checkpoint['model']} in {run_dir} cannot be loaded ({e}); the "
                    "run folder is left as it is"
                ) from None
            _truncate_metrics(run_dir / "metrics.csv", checkpoint["step"])
            remaining = max(config.timesteps - model.num_timesteps, 0)
        else:
            model = cls("MlpPolicy", vec_env, seed=seed, device="cpu", verbose=0, **hp)
            remaining = config.timesteps
        from stable_baselines3.common.logger import configure

        model.set_logger(configure(str(run_dir / "tb"), ["tensorboard", "csv"]))
        callback = _callback_class()(
            run_dir, config.checkpoint_every, config.timesteps, progress, time_limit
        )
        start = time.perf_counter()
        start_steps = model.num_timesteps
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=callback,
                reset_num_timesteps=checkpoint is None,
            )
        wall = time.perf_counter() - start
        with atomic_path(run_dir / "model.zip") as tmp:
            model.save(tmp)
        save_checkpoint(model, run_dir)
        atomic_write(
            done,
            json.dumps(
                {
                    "timesteps": int(model.num_timesteps),
                    "wall_s": round(wall, 2),
                    "steps_per_s": round((model.num_timesteps - start_steps) / wall, 1)
                    if wall > 0
                    else None,
                    "stopped_by_time_limit": bool(model.num_timesteps < config.timesteps),
                }
            ),
        )
    finally:
        vec_env.close()
    return run_dir / "model.zip"


def load_run_config(run_dir: Path) -> TrainConfig:
    try:
        payload = json.loads((Path(run_dir) / "config.json").read_text())
        return TrainConfig.model_validate(payload["config"])
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise RunDirError(f"{run_dir}: no readable config.json ({e})") from None
    except ValidationError as e:
        raise RunDirError(format_validation_error(e, f"{run_dir}/config.json")) from None


def episode_metrics(run_dir: Path):
    """The training episodes' metrics as a DataFrame."""
    import pandas as pd

    return pd.read_csv(Path(run_dir) / "metrics.csv")


__all__ = ["EVAL_SEED_BASE", "RunDirError", "train", "training_env_seeds"]
