"""`intergreen status`: where a batch stands, read from its folder (the tiny batch on real SUMO)."""

from __future__ import annotations

import json
import os
import shutil
import socket

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.experiments.runner import BatchLock
from intergreen.experiments.status import (
    COMPLETE,
    FAILED,
    TRAINED,
    TRAINING,
    WAITING,
    StatusError,
    batch_status,
    status_lines,
)


def test_a_finished_batch_is_complete(tiny_batch, capsys) -> None:
    out = tiny_batch[0]
    status = batch_status(out)
    assert [(t.kind, t.state) for t in status.tasks] == [
        ("run", COMPLETE), ("run", COMPLETE), ("baseline", COMPLETE)
    ]  # fmt: skip
    assert all(t.step == t.timesteps == 300 for t in status.tasks if t.kind == "run")
    assert status.remaining_decisions == 0 and status.seed_extension is None
    done = [json.loads((out / "runs" / t.name / "done.json").read_text()) for t in status.tasks[:2]]
    assert status.rate == pytest.approx(sum(d["steps_per_s"] for d in done) / 2)  # the median
    code, printed, _ = run_cli(["status", str(out)], capsys)
    assert code == 0
    assert printed.splitlines()[:3] == [
        f"tiny ({out}): 2 runs and 1 baseline planned",
        "runs: 2 complete, 0 trained (evaluations to come), 0 training, 0 waiting, 0 failed",
        "baselines: 1 complete, 0 waiting, 0 failed",
    ]
    assert "training: nothing left to train" in printed


def test_each_state_is_read_from_the_run_folders(batch_copy) -> None:
    runs = {p.name.split("-dqn-")[0]: p for p in (batch_copy / "runs").iterdir()}
    # queue: killed after its first checkpoint (150 of 300 decisions)
    (runs["queue"] / "done.json").unlink()
    for name in ("eval.json", "eval.parquet"):
        (runs["queue"] / name).unlink()
    latest = runs["queue"] / "checkpoints" / "latest.json"
    latest.write_text(json.dumps(json.loads(latest.read_text()) | {"step": 150}))
    # average_speed: trained, its evaluation not made yet
    (runs["average_speed"] / "eval.json").unlink()
    status = batch_status(batch_copy)
    by_name = {t.name.split("-dqn-")[0]: t for t in status.tasks if t.kind == "run"}
    assert (by_name["queue"].state, by_name["queue"].step) == (TRAINING, 150)
    assert (by_name["average_speed"].state, by_name["average_speed"].step) == (TRAINED, 300)
    assert status.remaining_decisions == 150
    lines = status_lines(status)
    # no compare holds the folder: the run stopped partway, and the batch must be run again
    assert status.running is False
    resume = (
        f"to continue: intergreen compare {batch_copy}/grid.json --out {batch_copy} (its "
        "recorded grid, --set values included; --workers as you like)"
    )
    assert f"batch: not running; {resume}" in lines
    assert lines[1].startswith("runs: 0 complete, 1 trained (evaluations to come), 1 stopped")
    assert (
        f"  stopped {by_name['queue'].name}: 150 of 300 decisions (50%, newest checkpoint)" in lines
    )
    # a small batch's time in minutes, not "about 0.0 h"
    left = next(x for x in lines if x.startswith("training left: 150 decisions, about "))
    assert " min of one worker" in left and " 0.0 " not in left
    # a compare running on it (this process takes its lock): the run is training
    with BatchLock(batch_copy):
        status = batch_status(batch_copy)
        lines = status_lines(status)
    assert status.running is True
    assert lines[3].startswith(f"batch: running (pid {os.getpid()} on {socket.gethostname()}")
    assert f"  training {by_name['queue'].name}: 150 of 300" in "\n".join(lines)
    # a compare killed (SIGKILL) leaves its lock file, no longer locked
    lock = batch_copy / ".batch.lock"
    lock.write_text(json.dumps({"pid": 4194999, "host": socket.gethostname(), "since": "then"}))
    status = batch_status(batch_copy)
    assert status.running is False
    assert (
        f"batch: not running (its last compare, pid 4194999 on {socket.gethostname()} since "
        f"then, was killed); {resume}"
    ) in status_lines(status)
    # a run that started and has no checkpoint yet says so
    (runs["queue"] / "checkpoints" / "latest.json").unlink()
    lines = status_lines(batch_status(batch_copy))
    assert (
        f"  stopped {by_name['queue'].name}: started, no checkpoint yet (of 300 decisions)" in lines
    )
    lock.unlink()
    # a run never started waits; one that failed says why
    shutil.rmtree(runs["queue"])
    (runs["average_speed"] / "error.json").write_text(
        json.dumps({"type": "RewardError", "message": "reward returned nan", "traceback": ""})
    )
    status = batch_status(batch_copy)
    states = {t.name.split("-dqn-")[0]: t.state for t in status.tasks if t.kind == "run"}
    assert states == {"queue": WAITING, "average_speed": FAILED}
    assert status.remaining_decisions == 300
    failed = runs["average_speed"].name
    assert f"  failed {failed}: RewardError: reward returned nan" in status_lines(status)


def test_training_left_is_counted_at_the_rate_of_the_running_compare(batch_copy) -> None:
    """A batch resumed on another machine trains at that machine's rate: while a compare runs,
    the training left is counted at the median rate of the runs it trained since it took the
    folder (done.json written after its lock file), not at the earlier runs' rate."""
    runs = sorted((batch_copy / "runs").iterdir())

    def trained(run, rate: float, at: float | None = None) -> None:
        done = run / "done.json"
        done.write_text(json.dumps(json.loads(done.read_text()) | {"steps_per_s": rate}))
        if at is not None:
            os.utime(done, (at, at))

    trained(runs[0], 100.0, at=1e9)  # 2001: long before any compare of this test
    trained(runs[1], 300.0, at=1e9)
    assert (batch_status(batch_copy).rate, batch_status(batch_copy).rate_source) == (
        200.0, "the runs this batch trained"
    )  # fmt: skip
    with BatchLock(batch_copy):
        assert batch_status(batch_copy).rate == 200.0  # none trained since it started
        trained(runs[1], 1500.0)  # runs[1] trains again under this compare
        status = batch_status(batch_copy)
        assert (status.rate, status.rate_source) == (
            1500.0, "the 1 run trained since this compare started"
        )  # fmt: skip
        # runs[0] is now 150 decisions short: counted at the new rate
        latest = runs[0] / "checkpoints" / "latest.json"
        latest.write_text(json.dumps(json.loads(latest.read_text()) | {"step": 150}))
        (runs[0] / "done.json").unlink()
        lines = status_lines(batch_status(batch_copy))
    assert lines[-1] == (
        "training left: 150 decisions, about 0.1 min of one worker at the median 1,500 "
        "decisions/s of the 1 run trained since this compare started (evaluation episodes not "
        "included; divide by the workers that run in parallel)"
    )
    # once no compare runs, every run this batch trained counts again
    trained(runs[1], 1500.0, at=1e9)
    status = batch_status(batch_copy)
    assert (status.rate, status.rate_source) == (1500.0, "the runs this batch trained")


def test_status_of_a_folder_without_a_batch_is_one_error_line(tmp_path, capsys) -> None:
    with pytest.raises(StatusError, match="no grid.json"):
        batch_status(tmp_path)
    line = one_error_line(*run_cli(["status", str(tmp_path)], capsys))
    assert line == (
        f"error: {tmp_path}: no grid.json; give the --out folder of an intergreen compare "
        "that has started"
    )
    line = one_error_line(*run_cli(["status", str(tmp_path / "nothere")], capsys))
    assert line == (
        f"error: {tmp_path / 'nothere'}: no such folder; give the --out folder of an "
        "intergreen compare"
    )
    (tmp_path / "grid.json").write_text(json.dumps({"rewards": ["no_such_reward"]}))
    line = one_error_line(*run_cli(["status", str(tmp_path)], capsys))
    assert line.startswith(f"error: {tmp_path}/grid.json no longer loads here: ")
    assert "no_such_reward" in line


def test_a_batch_of_user_rewards_names_its_modules(
    tmp_path, capsys, tiny_cfg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """grid.json records the reward modules the compare loaded; status without them names
    them in the fix (it said only 'unknown reward'), and with them reads the batch."""
    import sys

    from intergreen.experiments.grid import grid_record, load_grid
    from intergreen.rewards import registry
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "st_rewards.py").write_text(
        "from intergreen.rewards import registry\n\n\n"
        '@registry.register("st_reward", fields=("halting",))\n'
        "def st_reward(frames, context) -> float:\n"
        "    return -float(frames[-1].halting.sum())\n"
    )
    try:
        code, _, err = run_cli(["--reward-module", "st_rewards", "rewards", "show", "st_reward"],
                               capsys)  # fmt: skip
        assert code == 0, err
        grid = load_grid({**tiny_cfg, "rewards": ["st_reward"]})
        record = grid_record(grid)
        # by its file: the command status prints works from any folder (the module's name
        # was found only from the folder the compare ran in)
        module = str(tmp_path / "st_rewards.py")
        assert record["reward_modules"] == [module]
        assert load_grid(record) == grid  # the record loads back
        out = tmp_path / "out"
        out.mkdir()
        (out / "grid.json").write_text(json.dumps(record))
        registry.unregister("st_reward")  # as a fresh process without the option
        del sys.modules["st_rewards"]
        monkeypatch.delenv(REWARD_MODULES_ENV)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        line = one_error_line(*run_cli(["status", str(out)], capsys))
        assert "unknown reward 'st_reward'" in line
        hint = (
            "the batch's rewards are registered by the reward module(s) it recorded: give "
            f"intergreen --reward-module {module} before the command"
        )
        assert line.endswith(hint)
        # compare on the recorded grid says it too (a new user's trial: only "unknown reward
        # 'long_queues'. Did you mean 'delta_queue'?")
        line = one_error_line(*run_cli(["compare", str(out / "grid.json"), "--out", str(out)],
                                       capsys))  # fmt: skip
        assert "unknown reward 'st_reward'" in line and hint in line
        # the command it prints, in a fresh process from this other folder
        import subprocess

        done = subprocess.run(
            [sys.executable, "-m", "intergreen", "--reward-module", module, "status", str(out)],
            capture_output=True, text=True, cwd=elsewhere, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0 and "1 run and 1 baseline planned" in done.stdout, done.stderr
    finally:
        if "st_reward" in registry.names():
            registry.unregister("st_reward")
        sys.modules.pop("st_rewards", None)


def test_the_command_status_prints_continues_the_batch(batch_copy, capsys) -> None:
    """A stopped batch's status said only "run its compare command again" (with which --set
    and --reward-module?); it now prints one, on the recorded grid.json, and it continues."""
    import shlex

    from cli_helpers import run_cli_flat

    run = next((batch_copy / "runs").glob("queue-*"))
    for name in ("done.json", "eval.json", "eval.parquet"):
        (run / name).unlink()
    line = next(x for x in status_lines(batch_status(batch_copy)) if "to continue:" in x)
    command = line.split("to continue: ")[1].split(" (its recorded grid")[0]
    args = shlex.split(command)
    assert args[:2] == ["intergreen", "compare"]
    code, out, err = run_cli_flat([*args[1:], "--no-report"], capsys)
    assert code == 0, err
    assert "2 runs and 1 baseline: 1 done, 2 already complete, 0 failed" in out
    assert (run / "done.json").exists()
