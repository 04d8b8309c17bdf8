"""A killed and resumed training run is the uninterrupted run: same episodes (demand draws,
SUMO seeds), same exploration, same learner, same logs; and a run folder stays small."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from intergreen.agents.checkpoints import latest_checkpoint, save_replay_buffer
from intergreen.agents.policy import load_policy
from intergreen.agents.rundir import read_resumes
from intergreen.agents.training import RunDirError, train
from intergreen.version import software_versions

HP = {
    "dqn": {"learning_starts": 100, "train_freq": 4, "batch_size": 32, "buffer_size": 5000,
            "target_update_interval": 100, "exploration_fraction": 0.5,
            "policy_kwargs": {"net_arch": [32]}},
    "ppo": {"n_steps": 100, "batch_size": 50, "n_epochs": 2, "policy_kwargs": {"net_arch": [32]}},
}  # fmt: skip
#: 60 s episodes of 100 decisions (0.6 s each), a fresh demand level drawn for each.
ENV = {"duration": 60, "decisions": "every_interval"}
TIME_COLUMNS = ["time/fps", "time/time_elapsed"]


def _kwargs(agent: str, n_envs: int, total: int, every: int) -> dict:
    return dict(agent=agent, demand="mixed", reward="queue", timesteps=total, seed=7,
                n_envs=n_envs, hyperparams=HP[agent], env_kwargs=ENV, checkpoint_every=every,
                resume=True)  # fmt: skip


def _train(run_dir: str, kwargs: dict) -> None:
    train(run_dir=run_dir, **kwargs)


def _train_until(run_dir: str, kwargs: dict, env_steps: int) -> None:
    """Train, dying abruptly (``os._exit``, as under SIGKILL: nothing cleaned up or flushed
    that was not already) when env 0 is asked for its step ``env_steps + 1``: a kill at a
    fixed point, whatever the machine's load."""
    from intergreen.agents.episodes import EpisodeStream

    step, taken = EpisodeStream.step, [0]

    def dying(self, action):
        taken[0] += 1
        if taken[0] > env_steps:
            os._exit(9)
        return step(self, action)

    EpisodeStream.step = dying
    train(run_dir=run_dir, **kwargs)


def _kill_at(run: Path, kwargs: dict, env_steps: int) -> int:
    """Train in a child process killed at env 0's step ``env_steps``; returns the step of the
    newest checkpoint it left."""
    child = mp.get_context("spawn").Process(target=_train_until, args=(str(run), kwargs, env_steps))
    child.start()
    child.join(timeout=600)
    assert child.exitcode == 9, child.exitcode
    saved = json.loads((run / "checkpoints" / "latest.json").read_text())["step"]
    assert 0 < saved < kwargs["timesteps"] and not (run / "done.json").exists()
    return saved


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_policy(run).model.policy.state_dict()


def _progress(run: Path) -> pd.DataFrame:
    df = pd.read_csv(run / "tb" / "progress.csv").drop(columns=TIME_COLUMNS, errors="ignore")
    return df[sorted(df.columns)]


def _tensorboard(run: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    tags = [t for t in acc.Tags()["scalars"] if t not in TIME_COLUMNS]
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in tags}


def _assert_same_run(resumed: Path, uninterrupted: Path) -> None:
    a = pd.read_csv(resumed / "metrics.csv").drop(columns="wall_s")
    b = pd.read_csv(uninterrupted / "metrics.csv").drop(columns="wall_s")
    assert len(b) >= 6 and b["demand"].nunique() > 1  # several episodes, several demand draws
    pd.testing.assert_frame_equal(a, b)
    wa, wb = _weights(resumed), _weights(uninterrupted)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    pd.testing.assert_frame_equal(_progress(resumed), _progress(uninterrupted))
    assert _tensorboard(resumed) == _tensorboard(uninterrupted)
    done_a = json.loads((resumed / "done.json").read_text())
    done_b = json.loads((uninterrupted / "done.json").read_text())
    assert done_a["timesteps"] == done_b["timesteps"]


@pytest.mark.parametrize(
    ("agent", "n_envs", "total", "every", "kill"),
    # killed where the logs (DQN: every 4 episodes of 100 decisions; PPO: every rollout) have
    # gone past the newest checkpoint: (agent, envs, decisions, checkpoint every, killed at
    # env 0's step)
    [pytest.param("dqn", 1, 1200, 500, 900, id="dqn-1env"),
     pytest.param("dqn", 2, 2000, 1000, 700, id="dqn-2envs", marks=pytest.mark.slow),
     pytest.param("ppo", 1, 1000, 400, 650, id="ppo-1env", marks=pytest.mark.slow),
     pytest.param("ppo", 2, 1600, 600, 450, id="ppo-2envs", marks=pytest.mark.slow)],
)  # fmt: skip
def test_killed_and_resumed_run_equals_uninterrupted_run(
    tmp_path: Path, agent: str, n_envs: int, total: int, every: int, kill: int
) -> None:
    kwargs = _kwargs(agent, n_envs, total, every)
    _train(str(tmp_path / "whole"), kwargs)
    run = tmp_path / "killed"
    saved = _kill_at(run, kwargs, kill)
    rows = pd.read_csv(run / "metrics.csv")
    before = rows[rows["step"] <= saved].drop(columns="wall_s").reset_index(drop=True)
    progress_before = pd.read_csv(run / "tb" / "progress.csv")
    # the killed run logged past its checkpoint: a resume must drop those rows and events
    assert rows["step"].max() > saved and progress_before["time/total_timesteps"].max() > saved
    assert max(step for series in _tensorboard(run).values() for step, _ in series) > saved
    with pytest.raises(RunDirError, match="use --resume to continue it"):
        _train(str(run), kwargs | {"resume": False})
    _train(str(run), kwargs)
    _assert_same_run(run, tmp_path / "whole")
    # the resume is recorded in the run's folder, exact; the uninterrupted run has none
    assert read_resumes(run) == [{"step": saved, "exact": True, "differing_entries": 0,
                                  "software": software_versions()}]  # fmt: skip
    assert read_resumes(tmp_path / "whole") == []
    # the rows logged before the checkpoint are the ones kept
    after = pd.read_csv(run / "metrics.csv").drop(columns="wall_s")
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before)
    kept = progress_before[progress_before["time/total_timesteps"] <= saved]
    resumed = pd.read_csv(run / "tb" / "progress.csv")
    assert len(kept) > 0 and resumed["time/total_timesteps"].is_monotonic_increasing
    assert resumed["time/total_timesteps"].iloc[: len(kept)].tolist() == (
        kept["time/total_timesteps"].tolist()
    )
    assert not mp.active_children()


def test_replay_buffer_saved_filled_part_only_and_dropped_at_the_end(tmp_path: Path) -> None:
    kwargs = _kwargs("dqn", 1, 600, 250)
    kwargs["hyperparams"] = HP["dqn"] | {"buffer_size": 100_000}
    run = tmp_path / "run"
    assert _kill_at(run, kwargs, 450) == 252  # a checkpoint as the collection after 250 starts
    # while it trains: the filled part of the buffer, beside the newest checkpoint only
    info = latest_checkpoint(run)
    assert info["replay"] == "replay_252.npz"
    assert [p.name for p in (run / "checkpoints").glob("replay_*")] == ["replay_252.npz"]
    with np.load(run / "checkpoints" / "replay_252.npz") as data:
        assert int(data["pos"]) == 252 and data["observations"].shape == (252, 1, 221)
    # 252 transitions: ~0.45 MB, where the whole pre-allocated buffer would be ~177 MB
    assert (run / "checkpoints" / "replay_252.npz").stat().st_size < 600_000

    # a replay that does not reach the recorded observation is said (here: other actions)
    state_file = run / "checkpoints" / info["state"]
    state = pickle.loads(state_file.read_bytes())
    assert len(state["streams"][0]["actions"]) == 252 - 198  # mid-episode (99 decisions each)
    state["streams"][0]["actions"] = [1 - a for a in state["streams"][0]["actions"]]
    state_file.write_bytes(pickle.dumps(state))
    with pytest.warns(RuntimeWarning, match=r"checkpoint at decision 252 .* entries differ"):
        _train(str(run), kwargs)  # resumed to the end: the buffer goes
    (resume,) = read_resumes(run)  # recorded in the run's folder, not only warned
    assert resume["step"] == 252 and not resume["exact"] and resume["differing_entries"] > 0
    assert not list((run / "checkpoints").glob("replay_*"))
    assert "replay" not in latest_checkpoint(run)
    assert len(list((run / "checkpoints").glob("model_*.zip"))) == 2
    total = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    assert total < 2_000_000, total

    kept = tmp_path / "kept"
    train(run_dir=str(kept), **(kwargs | {"timesteps": 300}), keep_replay_buffer=True)
    with np.load(kept / "checkpoints" / latest_checkpoint(kept)["replay"]) as data:
        assert int(data["pos"]) == 300 and data["observations"].shape[0] == 300


def test_a_full_replay_buffer_is_saved_whole(tmp_path: Path) -> None:
    from gymnasium import spaces
    from stable_baselines3.common.buffers import ReplayBuffer

    from intergreen.agents.checkpoints import load_replay_buffer

    obs = spaces.Box(0, 1, (3,), np.float32)
    rb = ReplayBuffer(10, obs, spaces.Discrete(2))
    for i in range(13):  # wraps around: pos 3, full
        x = np.full((1, 3), i, np.float32)
        rb.add(x, x + 0.5, np.array([i % 2]), np.array([float(i)]), np.array([False]), [{}])
    save_replay_buffer(rb, tmp_path / "rb.npz")
    again = ReplayBuffer(10, obs, spaces.Discrete(2))
    load_replay_buffer(again, tmp_path / "rb.npz")
    assert (again.pos, again.full) == (3, True)
    for name in ("observations", "next_observations", "actions", "rewards", "dones"):
        np.testing.assert_array_equal(getattr(again, name), getattr(rb, name))
    small = ReplayBuffer(5, obs, spaces.Discrete(2))  # a buffer of another size: refused
    with pytest.raises(RunDirError, match="shape"):
        load_replay_buffer(small, tmp_path / "rb.npz")


def test_a_resume_within_the_killed_runs_second_still_purges_its_later_events(
    tmp_path: Path,
) -> None:
    """TensorBoard reads event files in name order (seconds, host, pid) and purges only the
    events read before the purge: a resume in the second the killed run started, whose child
    process had the larger pid, showed the killed run's events past the checkpoint (a full
    suite under load: steps 792 twice)."""
    import socket
    import time

    from torch.utils.tensorboard import SummaryWriter

    from intergreen.agents.runlogs import PurgingTensorBoardOutputFormat

    folder = tmp_path / "tb"
    killed = SummaryWriter(log_dir=str(folder))
    for step in range(1, 11):
        killed.add_scalar("x", 1.0, step)
    killed.close()
    (old,) = folder.glob("events.out.tfevents.*")
    # as if written in this very second by a larger pid (the killed run's child)
    later = int(time.time())
    old.rename(folder / f"events.out.tfevents.{later}.{socket.gethostname()}.99999999.0")
    resumed = PurgingTensorBoardOutputFormat(str(folder), purge_step=6)
    for step in range(6, 11):
        resumed.writer.add_scalar("x", 2.0, step)
    resumed.close()
    names = sorted(f.name for f in folder.glob("events.out.tfevents.*"))
    assert int(names[-1].split(".")[3]) > later  # the resumed run's file is read last
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("x")] == [
        *((s, 1.0) for s in range(1, 6)),
        *((s, 2.0) for s in range(6, 11)),
    ]
