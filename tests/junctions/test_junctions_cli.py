"""The `intergreen` command: simulate (table, JSON/CSV), junctions list/show, one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli
from procs import sumo_children

from intergreen.junctions.catalog import LIBRARY

METRICS = ("vehicles", "avg_waiting_time", "avg_delay", "throughput", "backlog", "teleports")


def test_simulate_prints_metrics_and_writes_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "run"
    code, out, err = run_cli(
        ["simulate", "--demand", "high", "--controller", "fixed-time", "--seed", "3",
         "--duration", "120", "--output", str(out_dir)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "gm_a56 | demand high | fixed-time (defaults) | seed 3" in out.splitlines()[0]
    for name in METRICS:
        assert name in out
    data = json.loads((out_dir / "metrics.json").read_text())
    assert data["controller"] == "fixed-time" and data["demand"] == "high" and data["seed"] == 3
    assert data["simulated_s"] == pytest.approx(120, abs=0.61)
    assert 0 < data["throughput"] <= data["vehicles"]
    assert data["env"]["junction"] == "gm_a56"
    # the table shows the same numbers as the file
    row = next(line for line in out.splitlines() if " vehicles " in line)
    assert str(data["vehicles"]) in row
    with open(out_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    assert int(rows[0]["vehicles"]) == data["vehicles"]
    assert float(rows[0]["avg_waiting_time"]) == pytest.approx(data["avg_waiting_time"])
    assert sumo_children() == []


def test_simulate_is_seeded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    results = []
    for i, seed in enumerate(("4", "4", "5")):
        args = ["simulate", "--seed", seed, "--duration", "60", "--output", str(tmp_path / str(i))]
        assert run_cli(args, capsys)[0] == 0
        data = json.loads((tmp_path / str(i) / "metrics.json").read_text())
        results.append({k: data[k] for k in METRICS})
    assert results[0] == results[1] != results[2]


def test_simulate_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    own = tmp_path / "mine.yaml"
    shutil.copy(LIBRARY / "gm_a56" / "junction.yaml", own)
    code, out, err = run_cli(
        ["simulate", "--junction", str(own), "--demand", "1900vph", "--controller",
         "fixed-time", "--param", 'greens={"2": 20, "4": 15}', "--reward", "average_speed",
         "--duration", "60"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "demand 1900vph" in out
    # the column names the reward it holds; without --reward it is the registry's queue
    assert "reward_average_speed" in out and "reward_queue" not in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["simulate", "--junction", "gm_a57"], ["unknown junction 'gm_a57'", "gm_a56"]),
        (["simulate", "--demand", "rush"], ["unknown demand 'rush'", "low, medium, high"]),
        (["simulate", "--controller", "magic"], ["unknown controller 'magic'", "fixed-time"]),
        (["simulate", "--controller", "vehicle-actuated", "--param", "max_greem=3"],
         ["max_greem"]),
        (["simulate", "--param", "nokey"], ["--param 'nokey'", "KEY=VALUE"]),
        (["simulate", "--reward", "nope"], ["unknown reward 'nope'"]),
        (["simulate", "--duration", "0"], ["--duration", "greater than or equal to 1"]),
        (["simulate", "--seed", "-1"], ["--seed"]),
        (["simulate", "--duration", "soon"], ["--duration"]),
        (["simulate", "--colour", "red"], ["--colour"]),
        (["junctions", "show", "nope"], ["unknown junction 'nope'"]),
    ],
)  # fmt: skip
def test_user_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    code, out, err = run_cli([*args, "--duration", "30"] if args[0] == "simulate" and
                             "--duration" not in args else args, capsys)  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for w in words:
        assert w in lines[0]
    assert "Traceback" not in err + out
    assert sumo_children() == []


def test_malformed_yaml_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narms: {N: [1, 2\n")
    code, _, err = run_cli(["simulate", "--junction", str(bad), "--duration", "30"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert str(bad) in err and "malformed YAML" in err


def test_invalid_spec_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (LIBRARY / "gm_a56" / "junction.yaml").read_text()
    bad = tmp_path / "conflict.yaml"
    bad.write_text(text.replace("2: {groups: [B, C]", "2: {groups: [B, C, D]"))
    code, _, err = run_cli(["junctions", "show", str(bad)], capsys)
    assert code == 2
    assert "stages.2.groups: signal groups B and D conflict" in err
    assert len(err.strip().splitlines()) == 1


def test_unwritable_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(
        ["simulate", "--duration", "30", "--output", str(blocker / "run")], capsys
    )
    assert code == 2 and err == (
        f"error: --output {blocker / 'run'}: {blocker} is a file, not a folder; give a "
        "folder's path\n"
    )  # it said "cannot write there (Not a directory)"


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--junction", "nowhere"],
        ["simulate", "--duration", "-5"],
    ],
)
def test_no_traceback_from_the_console_script(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "intergreen.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: ")


def test_junctions_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["junctions", "list"], capsys)
    assert code == 0
    row = next(line for line in out.splitlines() if "gm_a56" in line)
    assert "4" in row  # four arms, four stages


def test_junctions_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["junctions", "show", "gm_a56"], capsys)
    assert code == 0
    assert out.startswith("gm_a56: ")
    assert "step 0.6 s" in out and "default intergreen 5.0 s" in out
    for arm in ("N", "E", "S", "W"):
        assert any(line.split("│")[1].strip() == arm for line in out.splitlines()
                   if line.count("│") > 2)  # fmt: skip
    assert "left+ahead | ahead+right" in out
    assert "N.right (arrow)" in out
    assert "demands: low, medium, high" in out
    assert "* action stages" in out


def test_junctions_show_a_variant_names_its_base(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["junctions", "show", "gm_a56_max_green"], capsys)
    assert code == 0
    assert "a variant of gm_a56" in out and "demands: low, medium, high" in out
    row = next(line for line in out.splitlines() if line.startswith("│ 4 *"))
    assert row.split("│")[4].strip() == "40"  # stage 4's maximum green
