"""`intergreen train` and `evaluate` on an imported junction (no demand.yaml) without a demand
option: training runs the network's own route files, evaluation the run's training demand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run_cli as run_cli_raw
from cli_helpers import run_cli_flat as run_cli

from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.resco import nets_folder


def test_train_and_evaluate_default_to_the_junctions_own_demand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = nets_folder().parent / "single-intersection"
    path, _, _ = import_network(
        folder / "single-intersection.net.xml", tmp_path / "si",
        routes=[folder / "single-intersection.rou.xml"],
    )  # fmt: skip
    run = tmp_path / "run"
    code, _, err = run_cli(
        ["train", "--agent", "ppo", "--junction", str(path), "--timesteps", "32", "--hp",
         "n_steps=32", "--hp", "batch_size=32", "--env", "duration=60", "--out", str(run)],
        capsys,
    )  # fmt: skip
    assert code == 0, err  # was: "has no demand.yaml; pass a demand profile file instead"
    assert json.loads((run / "config.json").read_text())["config"]["demand"] == "routes"
    csv = tmp_path / ("a_long_folder_name_" * 4) / "eval.csv"
    code, raw, err = run_cli_raw(
        ["evaluate", str(run), "--episodes", "1", "--baselines", "fixed-time", "--output",
         str(csv)], capsys,
    )  # fmt: skip
    assert code == 0, err  # was: "unknown demand 'low'"
    assert any(x.startswith(f"wrote {csv}") for x in raw.splitlines())  # never split
    out = " ".join(raw.split())
    # RESCO's metric beside the waiting time, the values of the written rows
    rows = pd.read_csv(csv).set_index("controller")
    assert "average delay (s: time loss and insertion wait, RESCO's delay)" in out
    for controller in ("run", "fixed-time"):
        wait, delay = rows.loc[controller, ["avg_waiting_time", "avg_delay"]]
        assert f"│ {controller} │ {wait:.2f} ± n/a │" in out
        assert f"│ {controller} │ {delay:.2f} ± n/a │" in out
    assert (
        "demands: routes (the training demand of the runs; junction single-intersection has "
        "no levels low, medium, high)"
    ) in out
    # the summary's one column is routes; the exit-only arms E and S have no waits
    assert "┃ controller ┃ routes ┃" in out
    for controller in ("run", "fixed-time"):
        assert f"│ {controller} │ routes │ – │ – │" in out


def test_a_dqn_budget_before_learning_starts_is_said(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """DQN trains nothing before learning_starts: a budget that ends before it says so."""
    args = ["train", "--agent", "dqn", "--timesteps", "40", "--env", "duration=60", "--out"]
    code, _, err = run_cli([*args, str(tmp_path / "short"), "--hp", "learning_starts=50"], capsys)
    assert code == 0, err
    assert "learning_starts 50 decisions and this run trains 40, so its model will not be" in err
    code, _, err = run_cli([*args, str(tmp_path / "long"), "--hp", "learning_starts=20"], capsys)
    assert code == 0 and "learning_starts" not in err


def test_tune_defaults_to_the_junctions_own_demand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`intergreen tune` (agent and baseline) on an imported junction without a demand
    option: trials train and are scored on the network's routes, not on mixed and medium."""
    folder = nets_folder().parent / "single-intersection"
    path, _, _ = import_network(
        folder / "single-intersection.net.xml", tmp_path / "si",
        routes=[folder / "single-intersection.rou.xml"],
    )  # fmt: skip
    code, _, err = run_cli(
        ["tune", "--agent", "ppo", "--junction", str(path), "--max-trials", "1", "--workers",
         "1", "--timesteps", "64", "--min-timesteps", "32", "--max-timesteps", "128",
         "--hp", "n_steps=32", "--hp", "batch_size=32", "--eval-episodes", "1",
         "--eval-duration", "60", "--no-progress", "--out", str(tmp_path / "agent")],
        capsys,
    )  # fmt: skip
    assert code == 0, err  # was: "has no demand.yaml" (mixed), then "unknown demand 'medium'"
    spec = json.loads((tmp_path / "agent" / "tune.json").read_text())["spec"]
    assert spec["train_demand"] == "routes" and spec["eval_demands"] == ["routes"]
    code, _, err = run_cli(
        ["tune", "--controller", "fixed-time", "--junction", str(path), "--max-trials", "1",
         "--workers", "1", "--eval-episodes", "1", "--eval-duration", "60", "--no-progress",
         "--out", str(tmp_path / "baseline")],
        capsys,
    )  # fmt: skip
    assert code == 0, err  # was: "unknown demand 'low'"
    tuned = json.loads((tmp_path / "baseline" / "tuned.json").read_text())
    assert tuned["validation"]["demands"] == ["routes"]
