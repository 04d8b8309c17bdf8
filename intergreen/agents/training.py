"""Train DQN and PPO agents (stable-baselines3) on a junction.

A run folder holds ``config.json`` (what made the run: :mod:`intergreen.agents.rundir`),
``metrics.csv`` (one row per finished training episode: ground-truth waiting time, delay,
throughput, the episode's reward), stable-baselines3's logs under ``tb/`` (``progress.csv`` and
TensorBoard), checkpoints under ``checkpoints/`` (:mod:`intergreen.agents.checkpoints`), and at
the end ``model.zip`` and ``done.json``. With ``validate_every`` it also holds the greedy
validation log ``validation.csv`` and the best model by validation score, ``best_model.zip``
with ``best.json`` (:mod:`intergreen.agents.validation`).

``resume=True`` continues a killed run from its newest checkpoint exactly: each env replays
its episode up to the checkpoint (:mod:`intergreen.agents.episodes`), the random generators,
replay buffer, optimizer and counters are those of the checkpoint, and every log keeps its
rows up to it (:mod:`intergreen.agents.runlogs`); where training is deterministic (the same
machine and libraries), a killed-and-resumed run gives the same episodes and weights as an
uninterrupted one.

Seeds (:mod:`intergreen.seeds`): training env ``i`` plays the ``train`` stream of (``seed``,
``i``); the model (torch, numpy, exploration) is seeded with ``seed``. Evaluation uses the
``test`` stream, selections the ``validation`` stream; training never touches either.
"""

from __future__ import annotations

import csv
import json
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from intergreen.agents.checkpoints import (
    checkpoint_dir,
    latest_checkpoint,
    load_replay_buffer,
    read_learner_state,
    restore_generators,
    restore_logger,
    save_checkpoint,
    stream_resume_states,
)
from intergreen.agents.config import (
    DEFAULT_TRAIN_SEED,
    DEFAULT_TRAIN_TIMESTEPS,
    VALIDATION_METRIC,
    AgentConfigError,
    TrainConfig,
    ValidationScore,
    algorithm_class,
    collection_unit,
    first_learning_step,
    planned_timesteps,
    stays_untrained,
)
from intergreen.agents.episodes import EpisodeStream, StreamState, differing_entries
from intergreen.agents.rundir import (
    RESUMES,
    RunDirError,
    complete_run_text,
    discard_unstarted,
    load_run_config,
    prepare_run_dir,
    read_run_record,
    record_resume,
)
from intergreen.agents.runenv import check_env_options
from intergreen.agents.runlogs import run_logger, start_afresh, truncate_metrics
from intergreen.agents.validation import Validator, clear_best
from intergreen.common import atomic_path, atomic_write, ensure_writable, progress_bar
from intergreen.errors import IntergreenError, Interrupted, OptionError, format_validation_error
from intergreen.seeds import episode_seed


def _make_env(config: TrainConfig, index: int, resume: StreamState | None = None):
    """Training env ``index``: the junction env, SB3's Monitor, and the episode stream."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from stable_baselines3.common.monitor import Monitor

    from intergreen.junctions.env import make_env

    first = episode_seed(config.seed, "train", index, 0)
    # the agent sees only the observation: read only the sensor fields it and the reward use
    options = {"sensor_fields": "auto"} | config.resolved_env_kwargs()
    env = make_env(config.junction, config.demand, config.reward, seed=first, **options)
    return EpisodeStream(Monitor(env), config.seed, index, "train", resume)


def make_vec_env(config: TrainConfig, resume: list[StreamState | None] | None = None):
    """n_envs SUMO runs: the first in this process, the others in subprocesses (libsumo
    allows one run per process; see intergreen.agents.vecenv). ``resume``: each env's place in
    its episode stream at a checkpoint."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from intergreen.agents.vecenv import LocalFirstVecEnv

    states = resume or [None] * config.n_envs
    fns = [partial(_make_env, config, i, states[i]) for i in range(config.n_envs)]
    if len(fns) == 1:
        return DummyVecEnv(fns)
    return LocalFirstVecEnv(fns, start_method="forkserver")


# ----- callback -----------------------------------------------------------------------------
def _callback_class():
    from stable_baselines3.common.callbacks import BaseCallback

    class RunLogger(BaseCallback):
        """Episode metrics to CSV and TensorBoard, checkpoints as collections start, a
        progress bar, and the wall-clock limit."""

        FIELDS = (
            "step", "env", "episode", "demand", "reward", "avg_waiting_time", "avg_delay",
            "throughput", "mean_queue", "teleports", "backlog", "wall_s",
        )  # fmt: skip

        def __init__(
            self,
            run_dir: Path,
            every: int,
            total: int,
            progress: bool,
            time_limit: float | None,
            episodes: int,
            validator: Validator | None = None,
        ) -> None:
            super().__init__()
            self.validator = validator
            self.time_limit = time_limit
            self.run_dir = run_dir
            self.every = every
            self.total = total
            self.progress = progress
            self.episodes = episodes
            self.bar = None
            self.start = time.perf_counter()
            self._next_ckpt = 0

        def _on_training_start(self) -> None:
            path = self.run_dir / "metrics.csv"
            new = not path.exists()
            self.file = open(path, "a", newline="")  # noqa: SIM115 - closed at training end
            self.writer = csv.DictWriter(self.file, fieldnames=self.FIELDS)
            if new:
                self.writer.writeheader()
            self._next_ckpt = (self.num_timesteps // self.every + 1) * self.every
            if self.validator is not None:
                self.validator.start(self.num_timesteps)
            if self.progress:
                self.bar = progress_bar("training", "decisions", info=True, transient=False)
                self.bar.start()
                self.task = self.bar.add_task(
                    "train", total=self.total, completed=self.num_timesteps, info=""
                )

        def _on_rollout_start(self) -> None:
            # every env stands between two steps and the last collection's updates are made:
            # the one moment from which a resumed run continues exactly. A validation point
            # due now comes first, so a checkpoint holds its rows and best model.
            validator = self.validator
            if validator is not None and validator.due(self.num_timesteps):
                score = validator.validate(self.model, self.num_timesteps)
                self.logger.record(f"validation/{VALIDATION_METRIC}", score)
            if self.num_timesteps >= self._next_ckpt:
                best = validator.best_model if validator is not None else None
                save_checkpoint(self.model, self.run_dir, self.episodes, best_model=best)
                self._next_ckpt = (self.num_timesteps // self.every + 1) * self.every

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
            # past the wall-clock budget: stop, and the model learned so far is saved
            limit = self.time_limit
            return limit is None or time.perf_counter() - self.start <= limit

        def _on_training_end(self) -> None:
            if self.bar is not None:
                self.bar.update(self.task, completed=self.num_timesteps)
            self.close()

        def close(self) -> None:
            """Close metrics.csv and stop the progress bar (also when training failed)."""
            if getattr(self, "file", None) is not None:
                self.file.close()
            if self.bar is not None:
                self.bar.stop()

    return RunLogger


# ----- train --------------------------------------------------------------------------------
def _resume_model(config: TrainConfig, run_dir: Path, checkpoint: dict[str, Any], vec_env,
                  state: dict[str, Any]):  # fmt: skip
    """The learner at a checkpoint, its envs back where they stood (RunDirError when a file
    cannot be loaded)."""
    folder = run_dir / "checkpoints"
    try:
        model = algorithm_class(config.agent).load(
            folder / checkpoint["model"], env=vec_env, device="cpu", force_reset=False
        )
        if "replay" in checkpoint:
            load_replay_buffer(model.replay_buffer, folder / checkpoint["replay"])
    except RunDirError:
        raise
    except Exception as e:
        raise RunDirError(
            f"checkpoint {checkpoint['model']} in {run_dir} cannot be loaded ({e}); the run "
            "folder is left as it is"
        ) from None
    saved_obs = model._last_obs
    obs = vec_env.reset()  # each env replays its episode up to the checkpoint
    differing = differing_entries(obs, saved_obs)
    record_resume(run_dir, checkpoint["step"], differing)
    if differing:
        what = (
            "no observation was recorded"
            if differing < 0
            else (f"{differing} of {obs.size} observation entries differ")
        )
        warnings.warn(
            f"{run_dir}: the envs could not be put back exactly where the checkpoint at "
            f"decision {checkpoint['step']:,} left them ({what}: the simulation did not replay "
            "the same; another SUMO build?); the resumed run continues from there, but not "
            f"exactly as an uninterrupted one would (recorded in {RESUMES})",
            RuntimeWarning,
            stacklevel=3,
        )
    model._last_obs = obs
    restore_generators(model, state)
    return model


def _new_model(config: TrainConfig, hp: dict[str, Any], vec_env, run_dir: Path, created: bool):
    """A new SB3 learner; AgentConfigError (and no config.json left claiming a run) when SB3
    refuses the hyperparameters (what intergreen.agents.hp_ranges does not cover, e.g. an
    unknown ``policy_kwargs`` key)."""
    try:
        return algorithm_class(config.agent)(
            "MlpPolicy", vec_env, seed=config.seed, device="cpu", verbose=0, **hp
        )
    except (ValueError, TypeError, AssertionError, RuntimeError) as e:
        discard_unstarted(run_dir, created)
        given = ", ".join(
            f"{k}={json.dumps(v, default=str)}" for k, v in config.hyperparams.items()
        )
        raise AgentConfigError(
            f"stable-baselines3 cannot build a {config.agent} model with these hyperparameters "
            f"({given or 'the preset'}): {type(e).__name__}: {' '.join(str(e).split())}; fix "
            "the hyperparameters (--hp)"
        ) from None


def _interrupted(run_dir: Path, step: int) -> str:
    """What a Ctrl-C during training leaves: the decision reached and the newest checkpoint
    (``--resume`` continues from it exactly; the decisions after it are trained again)."""
    info = latest_checkpoint(run_dir)
    saved = (
        f"the newest checkpoint is at decision {info['step']:,} "
        f"({checkpoint_dir(run_dir) / info['model']}); --resume continues from there"
        if info is not None
        else "no checkpoint was saved yet (one is taken every --checkpoint-every decisions)"
    )
    return f"training stopped at decision {step:,}; {saved}"


class TrainingNote(UserWarning):
    """What ``intergreen train`` prints as a note, warned to a Python caller of :func:`train`:
    a DQN run that ends before its first gradient step, a run rounded up to whole collections.
    A batch or a tune, which says the same once before its runs, does not pass it on."""


def _note(progress: bool, text: str) -> None:
    """``text`` as the command line's note (``progress``: ``intergreen train``) or as a
    :class:`TrainingNote` at the line of the script that called :func:`train`."""
    if progress:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(f"note: {text}", markup=False, soft_wrap=True)
    else:  # _note <- _say_* <- _train_in <- train <- the caller
        warnings.warn(text, TrainingNote, stacklevel=5)


def _say_no_learning(
    config: TrainConfig,
    learning_starts: int,
    trained: int,
    progress: bool,
    *,
    ahead: bool = False,
) -> None:
    """A DQN run that ends before its first gradient step (SB3's ``learning_starts``) collects
    experience only, and its model is the untrained one: said before training when its
    planned ``trained`` decisions fall short (``ahead``), after it when a time limit stopped
    it short; in the command line's options, or (not ``progress``) train()'s arguments."""
    ends = f"this run trains {trained:,}, so its model will not be" if ahead else (
        f"this run ended at {trained:,}, so the model is not"
    )  # fmt: skip
    fix = (
        f"give more --timesteps, or --hp learning_starts=N below {config.timesteps:,}"
        if progress
        else f"give more timesteps, or hyperparams={{'learning_starts': N}} with N below "
        f"{config.timesteps:,}"
    )
    _note(
        progress,
        f"DQN makes its first gradient step after learning_starts {learning_starts:,} "
        f"decisions and {ends} trained: {fix}",
    )


def _say_rounding(
    config: TrainConfig, hp: dict[str, Any], unit: int | None, planned: int, progress: bool
) -> None:
    """Before training: the run trains whole collections, so more decisions than asked."""
    per_env = "n_steps" if config.agent == "ppo" else "train_freq"
    envs = f" x {config.n_envs} envs" if config.n_envs > 1 else ""
    timesteps = "--timesteps" if progress else "timesteps"
    _note(
        progress,
        f"{config.agent.upper()} collects {unit:,} decisions at a time "
        f"({per_env} {hp.get(per_env, unit // config.n_envs)}{envs}) and stops only between "
        f"collections: training {planned:,} decisions for the {config.timesteps:,} asked "
        f"(give {timesteps} as a multiple of {unit:,} to train exactly that)",
    )


def train(
    agent: str,
    junction: str = "gm_a56",
    demand: str | list[str] | None = None,
    reward: str | dict[str, Any] = "average_speed",
    timesteps: int = DEFAULT_TRAIN_TIMESTEPS,
    seed: int = DEFAULT_TRAIN_SEED,
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
    keep_replay_buffer: bool = False,
    validate_every: int | None = None,
    validate_episodes: int = 3,
    validate_demands: list[str | list[str]] | None = None,
    validate_score: ValidationScore = "mean",
) -> Path:
    """Train a DQN or PPO agent (stable-baselines3) on a junction; returns the model's path.

    Args:
        agent: ``"dqn"`` or ``"ppo"``.
        junction: a shipped junction name or a junction YAML path.
        demand: ``"mixed"`` (a total per episode from the training range, 1200-3000 veh/h on
            gm_a56; ``"mixed_v1"``: 1200-2571, the range before issue 16), a level, a total
            (``"1900vph"``), a profile, or a list drawn from; None: ``"mixed"`` where the
            junction has a demand.yaml, else its own demand (an imported network's route
            files, ``"routes"``; :func:`~intergreen.junctions.demand.default_training_demand`).
        reward: a reward name or ``{"name": ..., **params}`` (``intergreen rewards list``).
        timesteps: agent decisions to train for (> 0; default 200,000, as ``intergreen train``:
            :data:`~intergreen.agents.config.DEFAULT_TRAIN_TIMESTEPS`).
        seed: the base seed, 0 <= seed < 2^32 (default 1, as ``intergreen train``:
            :data:`~intergreen.agents.config.DEFAULT_TRAIN_SEED`): env ``i`` of ``n_envs`` plays
            the ``train`` stream of (seed, i) of :mod:`intergreen.seeds`; the model is seeded
            with it.
        hyperparams: stable-baselines3 arguments over the preset's (unknown names refused).
        n_envs: SUMO simulations (1-64); the first runs in this process.
        run_dir: the run folder: ``config.json``, ``metrics.csv``, ``tb/``, checkpoints,
            ``model.zip``, ``done.json`` (with validation also ``validation.csv``,
            ``best_model.zip``, ``best.json``).
        preset: hyperparameter preset (default: the agent's own; ``presets.yaml``).
        checkpoint_every: decisions between checkpoints (taken as a collection starts).
        env_kwargs: :class:`~intergreen.junctions.env.JunctionEnv` options over the preset's.
        resume: continue a killed run exactly from its newest checkpoint.
        force: replace another run found in ``run_dir``.
        progress: show a progress bar (rich) on a terminal.
        time_limit: wall seconds after which training stops early, keeping the model learned
            so far (``done.json`` records the decisions actually trained).
        keep_replay_buffer: keep DQN's replay buffer beside the final checkpoint (deleted
            otherwise when the run finishes: it is most of a run's size).
        validate_every: score the greedy policy every this many decisions and at the end, and
            keep the best model (``best_model.zip``, ``validation.csv``:
            :mod:`intergreen.agents.validation`); None (default): no validation.
        validate_episodes: validation episodes per validation demand (1-100), the first of
            the ``validation`` seed stream, the same at every point.
        validate_demands: the demands validation plays (each with every validation seed);
            None: the training demand (``"mixed"``: each seed draws its level from the
            training range, the same draw at every point).
        validate_score: how a point's episodes make its score: ``"mean"`` of their waits or
            their ``"geometric_mean"`` (:func:`intergreen.agents.curves.validation_scores`).

    Returns:
        The path of ``run_dir/model.zip``.

    Raises:
        AgentConfigError: an unknown agent, preset or hyperparameter, or a value out of range
            (``seed``, ``timesteps``, ``n_envs``, ``validate_every``, ``validate_episodes``, a
            hyperparameter: :mod:`intergreen.agents.hp_ranges`); hyperparameters SB3 refuses
            when it builds the model (the config.json written for the run is removed again,
            so the corrected call may use ``run_dir``).
        RunDirError: ``run_dir`` holds another run, or one made under another intergreen or
            reward version (without ``force``), or an unreadable checkpoint.
        SpecError, RewardError: an unknown junction, demand or reward.

    All of them before anything is written, but SB3's refusal (before any training).
    """
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    if not isinstance(reward, str | dict):
        raise AgentConfigError(
            f"train: reward must be a registered reward's name or a mapping with its name and "
            f"parameters (the run records it to rebuild its env), got {type(reward).__name__} "
            f"{reward!r}; register it first (registry.register('my_reward', f)) and give "
            "reward='my_reward'"
        )
    if demand is None:
        from intergreen.junctions.catalog import resolve_junction
        from intergreen.junctions.demand import default_training_demand

        demand = default_training_demand(resolve_junction(junction))
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
            validate_every=validate_every,
            validate_episodes=validate_episodes,
            validate_demands=validate_demands,
            validate_score=validate_score,
        )
    except ValidationError as e:
        raise AgentConfigError(format_validation_error(e, "train")) from None
    hp = config.resolved_hyperparameters()
    run_dir = Path(run_dir)
    # check the environment before anything is written (bad demand, reward, option, ...)
    check_env_options(config.env_kwargs)
    try:
        _make_env(config, 0).close()
    except OptionError as e:  # the env's own checks of its options (n_stack >= 1, ...)
        raise OptionError(f"--env (env_kwargs): {e}" if config.env_kwargs else str(e)) from None
    for demand in config.validation_demands() if config.validate_every else []:
        if demand != config.demand:
            try:
                _make_env(config.model_copy(update={"demand": demand}), 0).close()
            except IntergreenError as e:  # named as the option it came from
                raise OptionError(f"--validate-demands (validate_demands): {e}") from None
    created = not run_dir.exists()
    ensure_writable(run_dir, "--out")  # not a file, nor inside one; writable
    prepare_run_dir(run_dir, config, resume, force)
    done = run_dir / "done.json"
    if done.exists() and resume:
        if progress:  # the command line says why it returns at once
            _note(progress, f"{complete_run_text(run_dir)} (--force trains it again)")
        return run_dir / "model.zip"
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None and progress:  # a mistyped --out would start quietly
        _note(progress, f"{run_dir} holds no checkpoint to resume from: training a new run")
    state = read_learner_state(run_dir, checkpoint) if checkpoint else None
    try:
        return _train_in(run_dir, config, hp, checkpoint, state, created, progress, time_limit,
                         keep_replay_buffer)  # fmt: skip
    except Exception:  # failed before its first checkpoint: the folder holds no run
        discard_unstarted(run_dir, created)
        raise


def _train_in(
    run_dir: Path,
    config: TrainConfig,
    hp: dict[str, Any],
    checkpoint: dict[str, Any] | None,
    state: dict[str, Any] | None,
    created: bool,
    progress: bool,
    time_limit: float | None,
    keep_replay_buffer: bool,
) -> Path:
    """train()'s training in the prepared ``run_dir``, from ``checkpoint`` (None: afresh)."""
    done = run_dir / "done.json"
    vec_env = make_vec_env(config, stream_resume_states(state, config.n_envs))
    validator = Validator(config, run_dir) if config.validate_every else None
    logger = callback = None
    try:
        if checkpoint is not None:
            model = _resume_model(config, run_dir, checkpoint, vec_env, state)
            truncate_metrics(run_dir, checkpoint["step"])
            if validator is not None:
                validator.restore(checkpoint)
            logger = run_logger(run_dir, resume_step=checkpoint["step"])
            restore_logger(logger, state)
            episodes = state["episodes"]
            remaining = max(config.timesteps - model.num_timesteps, 0)
        else:
            model = _new_model(config, hp, vec_env, run_dir, created)
            start_afresh(run_dir)
            clear_best(run_dir)
            logger = run_logger(run_dir, resume_step=None)
            episodes = 0
            remaining = config.timesteps
        model.set_logger(logger)
        unit = collection_unit(config.agent, hp, config.n_envs)
        planned = planned_timesteps(model.num_timesteps, config.timesteps, unit)
        if planned != config.timesteps and remaining > 0:
            _say_rounding(config, hp, unit, planned, progress)
        starts = first_learning_step(config.agent, hp)
        if stays_untrained(config.agent, hp, planned) and remaining > 0:
            _say_no_learning(config, starts, planned, progress, ahead=True)
        callback = _callback_class()(
            run_dir,
            config.checkpoint_every,
            planned,
            progress,
            time_limit,
            episodes,
            validator,
        )
        start = time.perf_counter()
        start_steps = model.num_timesteps
        if remaining > 0:
            try:
                model.learn(
                    total_timesteps=remaining,
                    callback=callback,
                    reset_num_timesteps=checkpoint is None,
                )
            except KeyboardInterrupt:
                raise Interrupted(_interrupted(run_dir, model.num_timesteps)) from None
        short = stays_untrained(config.agent, hp, planned)
        if not short and stays_untrained(config.agent, hp, model.num_timesteps):
            _say_no_learning(config, starts, model.num_timesteps, progress)  # a time limit
        # the final model is a validation point too (unless the last collection began at it)
        if validator is not None and validator.last_step() != model.num_timesteps:
            validator.validate(model, model.num_timesteps)
        wall = time.perf_counter() - start
        logger.close()
        with atomic_path(run_dir / "model.zip") as tmp:
            model.save(tmp)
        # the final checkpoint; without keep_replay_buffer every saved replay buffer goes
        save_checkpoint(
            model, run_dir, callback.episodes, replay=keep_replay_buffer,
            best_model=validator.best_model if validator is not None else None,
        )  # fmt: skip
        summary = {
            "timesteps": int(model.num_timesteps),
            "wall_s": round(wall, 2),
            "steps_per_s": round((model.num_timesteps - start_steps) / wall, 1)
            if wall > 0
            else None,
            "stopped_by_time_limit": bool(model.num_timesteps < config.timesteps),
        }
        atomic_write(done, json.dumps(summary))
    finally:  # also when training failed: no file left open, no progress bar left running
        if callback is not None:
            callback.close()
        if logger is not None:
            logger.close()
        if validator is not None:
            validator.close()
        vec_env.close()
    return run_dir / "model.zip"


def episode_metrics(run_dir: Path):
    """The training episodes' metrics as a DataFrame."""
    import pandas as pd

    return pd.read_csv(Path(run_dir) / "metrics.csv")


__all__ = [
    "RunDirError",
    "episode_metrics",
    "load_run_config",
    "make_vec_env",
    "read_run_record",
    "train",
]
