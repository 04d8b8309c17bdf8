"""The runner on real SUMO: results table, resume, killed and failing runs, lock, bad --out."""

from __future__ import annotations

import dataclasses
import errno
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from intergreen.experiments.executors import LocalExecutor
from intergreen.experiments.grid import load_grid
from intergreen.experiments.runner import (
    BatchLock,
    BatchLocked,
    ExperimentError,
    check_writable,
    plan_tasks,
    run_batch,
)


def _run_dirs(out: Path) -> dict[str, Path]:
    return {p.name.split("-dqn-")[0]: p for p in (out / "runs").iterdir()}


def test_results_table(tiny_batch, tiny_grid):
    out, summary = tiny_batch
    assert summary.total == 3 and summary.done == 3
    results = pd.read_parquet(out / "results.parquet")
    # 2 rewards + 1 baseline, 2 demands, 2 episodes
    assert len(results) == 3 * 2 * 2
    for col in ("reward", "agent", "train_seed", "demand", "eval_seed", "avg_waiting_time"):
        assert col in results
    agents = results[results["kind"] == "agent"]
    assert set(agents["reward"]) == {"queue", "average_speed"}
    import intergreen

    assert set(results["intergreen_version"]) == {intergreen.__version__}
    assert set(agents["reward_version"]) == {"1"}  # what made each run, beside its episodes
    assert results.loc[results["kind"] == "baseline", "reward_version"].isna().all()
    assert set(agents["train_seed"]) == {1}
    # paired evaluation: every controller meets the same seeds at every level
    seeds = results.groupby("controller")["eval_seed"].apply(lambda s: sorted(s))
    assert all(s == seeds.iloc[0] for s in seeds)
    curves = pd.read_parquet(out / "learning_curves.parquet")
    assert {"step", "avg_waiting_time", "reward", "train_seed"} <= set(curves)
    assert set(curves["reward"]) == {"queue", "average_speed"}
    for run in (out / "runs").iterdir():
        assert (run / "eval.parquet").exists() and (run / "done.json").exists()
        # no validation in the grid: the final model is evaluated, and says so
        assert json.loads((run / "eval.json").read_text())["checkpoint"] == {
            "checkpoint": "final", "step": 300, "validation_score": None}  # fmt: skip
    assert set(agents["checkpoint"]) == {"final"} and set(agents["checkpoint_step"]) == {300}
    assert results.loc[results["kind"] == "baseline", "checkpoint"].isna().all()
    assert pd.read_parquet(out / "validation_curves.parquet").empty


def test_grid_with_validation_evaluates_the_best_checkpoint(tiny_cfg, tmp_path):
    """training.validate_every: each run validates and the batch evaluates its best model,
    recording which; the report draws the greedy curves above the training ones."""
    from intergreen.experiments.report import build_report

    plain = load_grid(tiny_cfg).cells()[0].key()
    cfg = tiny_cfg | {"rewards": ["queue"], "baselines": ["fixed-time"]}
    cfg["training"] |= {"validate_every": 100, "validate_episodes": 1}
    cfg["evaluation"] = {"demands": ["low"], "episodes": 1}
    grid = load_grid(cfg)
    assert grid.cells()[0].train_config().validate_every == 100
    assert grid.cells()[0].key() != plain  # validation is part of the run
    out = tmp_path / "out"
    summary = run_batch(grid, out, LocalExecutor(1))
    assert summary.ok, summary.failed
    (run,) = (out / "runs").iterdir()
    best = json.loads((run / "best.json").read_text())
    scores = pd.read_csv(run / "validation.csv").groupby("step")["avg_waiting_time"].mean()
    assert len(scores) == 3 and scores.index[-1] == 300
    assert best["step"] == scores.idxmin() and best["score"] == pytest.approx(scores.min())
    assert json.loads((run / "eval.json").read_text())["checkpoint"] == {
        "checkpoint": "best", "step": best["step"], "validation_score": best["score"]}  # fmt: skip
    results = pd.read_parquet(out / "results.parquet")
    agents = results[results["kind"] == "agent"]
    assert agents["checkpoint"].tolist() == ["best"]
    assert agents["checkpoint_step"].tolist() == [best["step"]]
    greedy = pd.read_parquet(out / "validation_curves.parquet")
    assert greedy["step"].tolist() == scores.index.tolist()
    assert set(greedy["reward"]) == {"queue"} and set(greedy["train_seed"]) == {1}
    md = build_report(out)["markdown"].read_text()
    assert "Above: the greedy policy's validation score" in md
    assert "the test episodes evaluate the best validation point of 1 run" in md
    assert "scored as their mean" in md
    assert (out / "plots" / "learning_curves.png").stat().st_size > 1000
    # the batch folder as its own convergence check: curves read from runs/*/validation.csv
    md = build_report(out, convergence_source=out)["markdown"].read_text()
    assert "## Budget from the convergence check" in md
    assert "queue (1 run, seed 1) up to 300 decisions" in md
    assert f"{scores.min():.2f} | {best['step']:,} |" in md
    assert (out / "convergence_curves.csv").exists()


def test_grid_refuses_bad_validation_options(tiny_cfg):
    from intergreen.experiments.grid import GridError

    cfg = tiny_cfg
    cfg["training"] |= {"validate_every": 0, "validate_episodes": 101,
                        "validate_demands": ["low", "rush"]}  # fmt: skip
    with pytest.raises(GridError) as e:
        load_grid(cfg)
    text = "\n".join(e.value.problems)
    assert "training.validate_every" in text and "training.validate_episodes" in text
    assert "training.validate_demands[1]" in text and "rush" in text


def test_resume_skips_complete_runs(batch_copy, tiny_grid):
    before = pd.read_parquet(batch_copy / "results.parquet")
    models = {p: p.stat().st_mtime_ns for p in batch_copy.glob("runs/*/model.zip")}
    summary = run_batch(tiny_grid, batch_copy, LocalExecutor(1))
    assert summary.skipped == 3 and summary.done == 0
    # nothing was trained again (its speed is measured in benchmarks/, not asserted here)
    assert len(models) == 2  # the two agent runs (the third run is a baseline)
    assert {p: p.stat().st_mtime_ns for p in batch_copy.glob("runs/*/model.zip")} == models
    after = pd.read_parquet(batch_copy / "results.parquet")
    pd.testing.assert_frame_equal(before, after)


def _without_wall_times(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("controller", "demand", "episode", "step", "env") if c in frame]
    frame = frame.drop(columns=[c for c in frame if c.endswith("wall_s")])
    return frame.sort_values(keys).reset_index(drop=True)


def test_killed_batch_resumes_exactly(tiny_batch, tiny_cfg, tmp_path):
    """`intergreen compare` killed (every process of it, as Ctrl-C does) after a run's first
    checkpoint, then run again: the same results as the batch that was never interrupted."""
    import os
    import signal
    import subprocess
    import sys

    import yaml

    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(tiny_cfg))
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    cmd = [sys.executable, "-m", "intergreen.cli", "compare", str(grid), "--out", str(out),
           "--no-report"]  # fmt: skip
    batch = subprocess.Popen(cmd, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    try:
        while time.time() < deadline and batch.poll() is None:
            if list(out.glob("runs/queue-*/checkpoints/latest.json")):
                break
            time.sleep(0.005)
    finally:
        os.killpg(batch.pid, signal.SIGKILL)
        batch.wait()
    (killed,) = out.glob("runs/queue-*")
    assert 150 <= json.loads((killed / "checkpoints" / "latest.json").read_text())["step"] < 300
    assert not (killed / "done.json").exists()

    summary = run_batch(load_grid(tiny_cfg), out, LocalExecutor(1))
    assert summary.ok and summary.done == 3
    whole = tiny_batch[0]
    for name in ("results.parquet", "learning_curves.parquet"):
        pd.testing.assert_frame_equal(
            _without_wall_times(pd.read_parquet(out / name)),
            _without_wall_times(pd.read_parquet(whole / name)),
        )
    curves = pd.read_parquet(out / "learning_curves.parquet")
    assert curves["episode_demand"].nunique() > 1  # several demand draws, continued not replayed


def test_failed_run_recorded_and_batch_goes_on(batch_copy, tiny_grid):
    runs = _run_dirs(batch_copy)
    broken, fine = runs["queue"], runs["average_speed"]
    for name in ("done.json", "eval.parquet", "eval.json"):
        (broken / name).unlink()
    (broken / "checkpoints" / "latest.json").write_text("{not json")
    # the other run must really run after the failure: make it incomplete too
    (fine / "eval.json").unlink()
    summary = run_batch(tiny_grid, batch_copy, LocalExecutor(1))
    assert [f["name"] for f in summary.failed] == [broken.name]
    # where its traceback is (compare prints it beside the one-line error)
    assert summary.failed[0]["error_file"] == str(broken / "error.json")
    assert summary.done == 1 and summary.skipped == 1
    error = json.loads((broken / "error.json").read_text())
    assert error["type"] == "RunDirError" and "latest.json" in error["message"]
    results = pd.read_parquet(batch_copy / "results.parquet")
    assert set(results["controller"]) == {"average_speed/dqn", "max-occupancy"}
    batch = json.loads((batch_copy / "batch.json").read_text())
    assert batch["failed"][0]["name"] == broken.name
    # the report says so before its summary, not only in a table at its end
    from intergreen.experiments.report import build_report

    md = build_report(batch_copy, html=False)["markdown"].read_text()
    head = md.split("## Summary")[0]
    assert (
        f"**Not every planned task finished:** 1 task of the grid failed and is not in these "
        f"results ({broken.name}); see Failed runs at the end."
    ) in head


def test_lock_refuses_a_second_batch(tmp_path, tiny_grid):
    out = tmp_path / "out"
    out.mkdir()
    with BatchLock(out):
        with pytest.raises(BatchLocked, match="in use by another batch"):
            run_batch(tiny_grid, out)
        assert not (out / "runs").exists()  # refused before anything ran
    # a lock file left by a killed batch (no flock held) is taken over
    (out / ".batch.lock").write_text('{"pid": 1, "host": "x", "since": "then"}')
    with BatchLock(out):
        pass
    assert not (out / ".batch.lock").exists()


def test_unwritable_or_full_output(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExperimentError, match="cannot write"):
        check_writable(blocker / "out")

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(ExperimentError, match="disk full"):
        check_writable(tmp_path / "out2")


def test_tasks_order_runs_then_baselines(tiny_grid, tmp_path):
    kinds = [t.kind for t in plan_tasks(tiny_grid, tmp_path)]
    assert kinds == ["run", "run", "baseline"]


def test_results_carry_tails_arms_emissions_and_named_rewards(tiny_batch):
    """The columns the report reads for tails and arms (wait_p95, wait_max, arm_wait_<arm>),
    emissions, and each episode's reward sum under the name of the reward it is."""
    from intergreen.experiments import summaries

    out, _ = tiny_batch
    results = pd.read_parquet(out / "results.parquet")
    for col in ("wait_p95", "wait_max", "co2_g_per_vkm", *(f"arm_wait_{a}" for a in "NESW")):
        assert results[col].notna().all(), col
    assert (results["wait_max"] >= results["wait_p95"]).all()
    assert summaries.arm_columns(results) == [f"arm_wait_{a}" for a in "NESW"]
    assert summaries.tails(results)[1] == []  # nothing the report needs is missing
    assert "reward_sum" not in results
    by = results[results["kind"] == "agent"].groupby("reward")
    assert by.get_group("queue")["reward_queue"].notna().all()
    speed = by.get_group("average_speed")
    assert speed["reward_average_speed"].notna().all() and speed["reward_queue"].isna().all()
    assert results.loc[results["kind"] == "baseline", "reward_queue"].notna().all()


def test_report_shows_tails_arms_and_emissions(batch_copy):
    from intergreen.experiments.report import build_report

    build_report(batch_copy)
    text = (batch_copy / "report.md").read_text()
    section = text[text.index("Tails, arms and teleports") :]
    for header in ("p95 wait (s)", "max wait (s)", "arm N (s)", "arm W (s)", "worst arm",
                   "CO2 (g/veh-km)", "fuel (l/100 veh-km)"):  # fmt: skip
        assert header in section, header
    assert "Not in these results" not in section


def test_reuse_copies_runs_trained_under_the_same_key(tiny_batch, tiny_cfg, tmp_path):
    """A grid with a second seed, reusing the tiny batch: its seed-1 runs are copied (the same
    model bytes), evaluated again (the same rows, the evaluation is deterministic), and said
    in the report; only the seed-2 runs train."""
    from intergreen.experiments.report import build_report

    source = tiny_batch[0]
    tiny_cfg["seeds"] = [1, 2]
    out = tmp_path / "more"
    summary = run_batch(load_grid(tiny_cfg), out, LocalExecutor(2), reuse=[source])
    assert summary.ok and summary.done == 5  # 4 runs (2 copied, 2 trained) and the baseline
    copied = {name for name in summary.reused}
    assert copied == {p.name for p in (source / "runs").iterdir()}
    assert set(summary.reused.values()) == {str(source.resolve())}
    for run in (out / "runs").iterdir():
        record = run / "reused.json"
        if run.name in copied:
            assert json.loads(record.read_text())["grid"] == "tiny"
            assert (run / "model.zip").read_bytes() == (
                source / "runs" / run.name / "model.zip"
            ).read_bytes()
        else:
            assert "-s2-" in run.name and not record.exists() and (run / "done.json").exists()
    mine = pd.read_parquet(out / "results.parquet")
    theirs = pd.read_parquet(source / "results.parquet")
    seed1 = mine[(mine["kind"] == "agent") & (mine["train_seed"] == 1)]
    pd.testing.assert_frame_equal(
        _without_wall_times(seed1.drop(columns="episode_wall_s", errors="ignore")),
        _without_wall_times(theirs[theirs["kind"] == "agent"]),
    )
    md = build_report(out)["markdown"].read_text()
    assert "**Reused runs.** 2 runs were trained by another batch under the same run key" in md
    assert f"2 runs from the results folder of grid 'tiny', {source.resolve()} (" in md
    # published: the run configurations travel in run_configs.json, and the sentence with them
    from intergreen.experiments.report import publish_report

    published = publish_report(out, tmp_path / "published")["markdown"].read_text()
    assert "**Reused runs.** 2 runs were trained by another batch" in published
    # a second batch over the same folder copies nothing more
    again = run_batch(load_grid(tiny_cfg), out, LocalExecutor(1), reuse=[source])
    assert again.reused == {} and again.skipped == 5


def test_reuse_refuses_a_run_whose_key_is_not_its_folders(batch_copy, tiny_grid, tmp_path):
    run = next(p for p in (batch_copy / "runs").iterdir())
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(config | {"key": "0" * 16}))
    with pytest.raises(ExperimentError, match=f"{run}: its config.json does not hold the key"):
        run_batch(tiny_grid, tmp_path / "new", LocalExecutor(1), reuse=[batch_copy])


def test_compare_refuses_a_reuse_folder_without_runs(tmp_path, tiny_cfg, capsys):
    import yaml
    from cli_helpers import one_error_line, run_cli

    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(tiny_cfg))
    out = tmp_path / "o"
    for reuse, says in ((tmp_path, "not a results folder (no runs/ in it)"),
                        (out, "that is --out itself")):  # fmt: skip
        (out / "runs").mkdir(parents=True, exist_ok=True)
        args = ["compare", str(grid), "--out", str(out), "--reuse", str(reuse)]
        line = one_error_line(*run_cli(args, capsys))
        assert line.startswith(f"error: --reuse {reuse}: {says}")
    assert list((out / "runs").iterdir()) == []  # refused before anything ran


def test_compare_says_when_reuse_found_nothing_and_counts_runs_and_baselines(
    batch_copy, tiny_cfg, tmp_path, capsys
):
    """A --reuse folder with no run of this grid's keys: one line says so (nothing is copied);
    the summary counts runs and baselines apart, in agreement with their numbers."""
    import yaml
    from cli_helpers import run_cli_flat

    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(tiny_cfg))
    other = tmp_path / "other"
    (other / "runs").mkdir(parents=True)
    args = ["compare", str(grid), "--out", str(batch_copy), "--reuse", str(other), "--no-report"]
    code, out, err = run_cli_flat(args, capsys)
    assert code == 0, err
    assert (
        f"reused nothing from {other}: no run there has the run key of a run of this grid (the "
        "same configuration, intergreen and reward versions)"
    ) in out
    assert "2 runs and 1 baseline: 0 done, 3 already complete, 0 failed; " in out


def test_a_grids_baselines_play_its_training_episodes_pedestrians_and_noise(tiny_cfg):
    """The grid's training episodes' options besides their length (pedestrians, sensor noise
    in training.env_kwargs) go into its evaluation plans, so a baseline meets the episodes the
    agents met; a grid without them keeps the plan keys it had (its results stay complete)."""
    from intergreen.experiments.runner import Task, _evaluate

    plain = load_grid(tiny_cfg)
    assert plain.eval_plan().episode_options == {}
    noise = {"miss_prob": 0.1, "count_sd": 0.5, "dropout_prob": 0.0}
    cfg = tiny_cfg | {
        "training": tiny_cfg["training"] | {"env_kwargs": {"pedestrians": True,
                                                           "sensor_noise": noise}}
    }  # fmt: skip
    grid = load_grid(cfg)
    plan = grid.eval_plan()
    assert plan.episode_options == {"pedestrians": True, "sensor_noise": noise}
    assert grid.validation_plan() is None or grid.validation_plan().episode_options == (
        plan.episode_options
    )
    assert plan.key() != plain.eval_plan().key()
    # the key of a plan without options is the one plans had before they carried them
    from intergreen.experiments.grid import _hash
    from intergreen.version import __version__

    old = {k: v for k, v in plain.eval_plan().__dict__.items() if k != "episode_options"}
    assert plain.eval_plan().key() == _hash({**old, "intergreen_version": __version__})

    # a baseline evaluated under the plan reads noisy sensors (lanes dropping out); under the
    # plain plan clean ones: the same episode, another result
    def played(p):
        one = dataclasses.replace(p, episodes=1, demands=["medium"], duration=300)
        rows, _ = _evaluate(Task("baseline", "/unused", one, baseline="max-occupancy"), one)
        return rows.iloc[0]

    noisy = dataclasses.replace(plan, episode_options={"sensor_noise": {"dropout_prob": 0.6}})
    a, b = played(plain.eval_plan()), played(noisy)
    assert a["eval_seed"] == b["eval_seed"] and a["simulated_s"] == b["simulated_s"]
    assert a["avg_waiting_time"] != b["avg_waiting_time"]


def test_compare_refuses_an_out_holding_a_batch_of_another_grid(
    batch_copy, tiny_cfg, tmp_path, capsys
):
    """A resume with a forgotten --set trained every run anew beside the old ones and replaced
    grid.json and results.parquet without a word; now one line names the change, and --force
    runs the grid there (the old runs stay in runs/)."""
    import yaml
    from cli_helpers import one_error_line, run_cli, run_cli_flat

    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(tiny_cfg))
    before = (batch_copy / "grid.json").read_text()
    args = ["compare", str(grid), "--out", str(batch_copy), "--no-report"]
    line = one_error_line(*run_cli([*args, "--set", "training.timesteps=200"], capsys))
    assert line == (
        f"error: --out {batch_copy} holds a batch of another grid (training.timesteps: 300 -> "
        "200): give the grid and --set of that batch to continue it, another --out for a new "
        "batch, or --force to run this grid there (runs already there are reused where their "
        "configuration matches)"
    )
    assert (batch_copy / "grid.json").read_text() == before
    # the evaluation may change in place, and the same grid resumes as before
    code, out, err = run_cli_flat(args, capsys)
    assert code == 0 and "0 done, 3 already complete" in out, err
    code, out, err = run_cli_flat([*args, "--set", "training.timesteps=200", "--force"], capsys)
    assert code == 0 and "2 runs and 1 baseline: 2 done, 1 already complete" in out, err
    assert len(list((batch_copy / "runs").iterdir())) == 4
