"""Training checkpoints that resume exactly, and keep a run folder small.

A checkpoint is taken as a collection starts (every env between two of the learner's steps,
the previous collection's gradient steps made), so nothing is half done. ``checkpoints/``:

- ``model_<step>.zip``: SB3's save (policy, optimizer, counters, exploration rate, the episode
  info buffer); the two newest are kept;
- ``state_<step>.pkl``: what SB3 does not save: the random generators (python, numpy, torch,
  the action space, the parallel collectors'), each env's place in its episode stream
  (:mod:`intergreen.agents.episodes`), the logger's values not yet written, the number of
  episodes logged;
- ``best_<step>.zip`` (with validation on, once a validation point has been scored): the run's
  best model by validation score as it stood at the checkpoint (a hard link to
  ``best_model.zip``, or a copy), so a resume restores it even if a later validation, undone by
  the resume, replaced ``best_model.zip``;
- ``replay_<step>.npz`` (DQN): the filled part of the replay buffer, only beside the newest
  checkpoint; ``train`` deletes it when the run finishes unless asked to keep it;
- ``latest.json``: names the newest complete checkpoint; written last, so a kill while saving
  leaves the previous one in force.

Sizes: a replay buffer holds two float32 observations per transition (observation and next
observation; ``n_stack * (lanes + stages + 1) + 1`` values each, 221 on gm_a56), about 1.8 kB
per transition, so 18 MB per 10 000 decisions up to ``buffer_size``.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intergreen.agents.episodes import StreamState, stream_states
from intergreen.agents.rundir import RunDirError
from intergreen.common import atomic_path, atomic_write

#: Model checkpoints kept (their replay buffer only with the newest).
KEEP_CHECKPOINTS = 2
REPLAY_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


# ----- replay buffer ------------------------------------------------------------------------
def save_replay_buffer(buffer: Any, path: Path) -> None:
    """The filled part of an SB3 ReplayBuffer (all of it once it has wrapped), atomically."""
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {
        name: getattr(buffer, name)[:n]
        for name in REPLAY_FIELDS
        if getattr(buffer, name, None) is not None
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, pos=buffer.pos, full=buffer.full, **arrays)


def load_replay_buffer(buffer: Any, path: Path) -> None:
    """Fill a fresh SB3 ReplayBuffer of the same shape from :func:`save_replay_buffer`'s file;
    RunDirError when it does not fit."""
    with np.load(path) as data:
        pos, full = int(data["pos"]), bool(data["full"])
        for name in REPLAY_FIELDS:
            target = getattr(buffer, name, None)
            if target is None or name not in data:
                continue
            saved = data[name]
            if saved.shape[1:] != target.shape[1:] or len(saved) > len(target):
                raise RunDirError(
                    f"{path}: replay buffer field {name} has shape {saved.shape}, the model's "
                    f"buffer {target.shape}"
                )
            target[: len(saved)] = saved
    buffer.pos, buffer.full = pos, full


# ----- learner state ------------------------------------------------------------------------
def _generator_states(model: Any) -> dict[str, Any]:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "action_space": model.action_space.np_random.bit_generator.state,
    }


def learner_state(model: Any, episodes: int) -> dict[str, Any]:
    """What a checkpoint needs besides SB3's save (see the module docstring)."""
    collectors = getattr(model, "collector_rng_states", None)
    logger = model.logger
    return {
        "step": int(model.num_timesteps),
        "generators": _generator_states(model),
        "collectors": collectors() if collectors is not None else None,
        "streams": stream_states(model.get_env()),
        "logger": {
            "name_to_value": dict(logger.name_to_value),
            "name_to_count": dict(logger.name_to_count),
            "name_to_excluded": dict(logger.name_to_excluded),
        },
        "episodes": episodes,
    }


def restore_generators(model: Any, state: dict[str, Any]) -> None:
    """Put back the random generators and the collectors' (after SB3's load reseeded them)."""
    g = state["generators"]
    random.setstate(g["python"])
    np.random.set_state(g["numpy"])
    torch.set_rng_state(g["torch"])
    model.action_space.np_random.bit_generator.state = g["action_space"]
    resume = getattr(model, "resume_collector_rng_states", None)
    if resume is not None and state.get("collectors") is not None:
        resume(state["collectors"])


def restore_logger(logger: Any, state: dict[str, Any]) -> None:
    """Values recorded before the checkpoint but not yet written (written at the next dump)."""
    saved = state["logger"]
    logger.name_to_value.update(saved["name_to_value"])
    logger.name_to_count.update(saved["name_to_count"])
    logger.name_to_excluded.update(saved["name_to_excluded"])


# ----- files --------------------------------------------------------------------------------
def save_checkpoint(
    model: Any,
    run_dir: Path,
    episodes: int,
    replay: bool = True,
    best_model: Path | None = None,
) -> dict:
    """Model, learner state, (with ``replay``, DQN) the replay buffer and (when the file
    ``best_model`` exists) the best model so far at the current step; latest.json points at
    them; older checkpoints are pruned. Returns latest.json's content."""
    folder = checkpoint_dir(run_dir)
    folder.mkdir(exist_ok=True)
    step = int(model.num_timesteps)
    info: dict[str, Any] = {"step": step, "model": f"model_{step}.zip"}
    with atomic_path(folder / info["model"]) as tmp:
        model.save(tmp)
    if best_model is not None and best_model.exists():
        info["best"] = f"best_{step}.zip"
        link_or_copy(best_model, folder / info["best"])
    info["state"] = f"state_{step}.pkl"
    atomic_write(folder / info["state"], pickle.dumps(learner_state(model, episodes)))
    if replay and getattr(model, "replay_buffer", None) is not None:
        info["replay"] = f"replay_{step}.npz"
        save_replay_buffer(model.replay_buffer, folder / info["replay"])
    atomic_write(folder / "latest.json", json.dumps(info))
    _prune(folder, info)
    return info


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` becomes ``source``'s content: a hard link (no copy; ``source`` is only ever
    replaced by a rename, so the link keeps this content), or an atomic copy where the file
    system has no hard links."""
    with atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def checkpoint_best_model(run_dir: Path, info: dict[str, Any]) -> Path | None:
    """The best model saved with a checkpoint (None when it was taken before any validation
    point, or without validation)."""
    return checkpoint_dir(run_dir) / info["best"] if "best" in info else None


def _step_of(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


def _prune(folder: Path, latest: dict[str, Any]) -> None:
    """Keep the newest KEEP_CHECKPOINTS models (and their states); replay buffers only with
    the newest."""
    models = sorted(folder.glob("model_*.zip"), key=_step_of)
    keep = {_step_of(p) for p in models[-KEEP_CHECKPOINTS:]}
    for pattern in ("model_*.zip", "state_*.pkl", "best_*.zip"):
        for p in folder.glob(pattern):
            if _step_of(p) not in keep:
                p.unlink(missing_ok=True)
    for p in folder.glob("replay_*"):
        if p.name != latest.get("replay"):
            p.unlink(missing_ok=True)


def latest_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    """latest.json's content, or None without a checkpoint; RunDirError when it is unreadable
    or names a missing file."""
    folder = checkpoint_dir(run_dir)
    marker = folder / "latest.json"
    if not marker.exists():
        return None
    try:
        info = json.loads(marker.read_text())
        names = [info["model"], info["state"]]
        names += [info[k] for k in ("replay", "best") if k in info]
        missing = [n for n in names if not (folder / n).exists()]
    except (json.JSONDecodeError, KeyError, TypeError):
        missing = ["(latest.json unreadable)"]
    if missing:
        raise RunDirError(
            f"{marker} is unreadable or names missing files ({', '.join(missing)}); the run "
            "folder is left as it is: remove the checkpoints folder (or use --force) to start "
            "again"
        )
    return info


def read_learner_state(run_dir: Path, info: dict[str, Any]) -> dict[str, Any]:
    """The learner state saved with a checkpoint; RunDirError when it cannot be read."""
    path = checkpoint_dir(run_dir) / str(info.get("state"))
    try:
        state = pickle.loads(path.read_bytes())
        assert state["step"] == info["step"]
    except Exception as e:  # noqa: BLE001 - any corruption is the same user-facing error
        raise RunDirError(
            f"{path} cannot be read ({type(e).__name__}: {e}); the run folder is left as it is"
        ) from None
    return state


def stream_resume_states(state: dict[str, Any] | None, n_envs: int) -> list[StreamState | None]:
    """Each env's stream state from a learner state (None: start the streams afresh)."""
    if state is None:
        return [None] * n_envs
    streams = state["streams"]
    if len(streams) != n_envs:
        raise RunDirError(f"the checkpoint holds {len(streams)} envs, the run has {n_envs}")
    return list(streams)
