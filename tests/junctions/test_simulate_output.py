"""What simulate and evaluate print and write: units, per-arm rows, emissions, timelines,
and reward columns that name their reward."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from procs import sumo_children
from test_junctions_cli import run_cli

from intergreen.agents.evaluation import evaluation_seeds

ARMS = ("N", "E", "S", "W")


def test_simulate_prints_units_arms_and_emissions_and_writes_a_timeline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "run"
    code, out, err = run_cli(
        ["simulate", "--demand", "high", "--seed", "2", "--duration", "180", "--output",
         str(out_dir)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    # the title is one line of its own (it used to wrap inside the table's width)
    assert lines[0] == "gm_a56 | demand high | vehicle-actuated (defaults) | seed 2"
    data = json.loads((out_dir / "metrics.json").read_text())
    from intergreen.version import software_versions

    assert data["software"] == software_versions() and data["software"]["eclipse-sumo"]
    # the episode's length beside the demand profile's own (medium's 1800 s)
    assert data["env"]["episode_duration"] == 180 and data["env"]["demand"]["duration"] > 180

    def row(label: str) -> list[str]:
        line = next(x for x in lines if x.strip("│┃ ").startswith(label + " "))
        return [c.strip() for c in line.strip("│┃").split("│")]

    assert row("avg_waiting_time")[1:] == [f"{data['avg_waiting_time']:,.2f}", "s/veh"]
    assert row("throughput_vph")[2] == "veh/h" and row("max_queue")[2] == "veh"
    assert row("wait_p95")[2] == "s" and row("reward_queue")[2] == "sum over the episode"
    # the reward sum is said to count this controller's decisions, as evaluate says
    assert (
        "note: reward_queue: each episode's reward summed over the controller's own decisions "
        f"(column decisions; per episode here: vehicle-actuated {data['decisions']:,})"
    ) in " ".join(out.split())
    # no pedestrians in this demand: no pedestrian rows printed (the files keep the zeros)
    assert data["pedestrians"] == 0 and "ped_avg_waiting_time" not in out
    # per arm: vehicles, mean and p95 wait, mean queue, throughput in veh/h
    assert "per arm (approach)" in out
    for a in ARMS:
        cells = row(a)
        assert cells[1] == f"{data[f'arm_vehicles_{a}']:,}"
        assert cells[2] == f"{data[f'arm_wait_{a}']:,.2f}"
        vph = data[f"arm_throughput_{a}"] * 3600 / data["simulated_s"]
        assert cells[5] == f"{vph:,.2f}"
    # emissions: totals and per vehicle-km, from SUMO's device
    assert "emissions (SUMO HBEFA)" in out
    assert row("CO2")[1:] == [f"{data['co2_kg']:,.2f}", "kg", f"{data['co2_g_per_vkm']:,.2f}",
                              "g/veh-km"]  # fmt: skip
    assert row("fuel")[4] == "l/100 veh-km"
    # files: the same numbers, the units, and a timeline
    assert data["units"]["avg_waiting_time"] == "s/veh" and data["units"]["co2_kg"] == "kg"
    # every number of the episode has its unit, the record's beside the metrics included
    numbers = {k for k, v in data.items() if isinstance(v, int | float)}
    assert numbers - set(data["units"]) == set()
    assert data["units"]["reward_queue"] == "sum over the episode"
    assert data["units"]["wall_s"] == "s (wall clock)" and data["units"]["decisions"] == "decisions"
    assert data["units"]["seed"] == "id"
    assert data["env"]["reward"]["name"] == "queue" and "reward_queue" in data
    with open(out_dir / "metrics.csv") as f:
        rec = next(csv.DictReader(f))
    assert float(rec["arm_wait95_S"]) == pytest.approx(data["arm_wait95_S"])
    assert float(rec["nox_mg_per_vkm"]) == pytest.approx(data["nox_mg_per_vkm"])
    timeline = json.loads((out_dir / "timeline.json").read_text())
    assert timeline["duration_s"] == pytest.approx(180.0)
    assert {s for _, _, s in timeline["stages"]} >= {"2", "4", "interstage"}
    assert (out_dir / "timeline.png").stat().st_size > 10_000
    assert sumo_children() == []


def test_simulate_prints_pedestrian_rows_when_pedestrians_walk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        ["simulate", "--demand", "medium+peds", "--seed", "1", "--duration", "300"], capsys
    )
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.strip("│┃ ").startswith("pedestrians "))
    assert int(line.strip("│┃").split("│")[1].strip().replace(",", "")) > 0
    assert "ped_avg_waiting_time" in out


def test_simulate_runs_an_imported_network_on_its_own_demand_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        ["simulate", "--junction", "resco:cologne1", "--controller", "program", "--duration",
         "120"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    # the title names the demand used: the network's route files (no level "medium" there)
    assert out.splitlines()[0].startswith("cologne1 | demand routes | program")


def test_simulate_output_refused_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(["simulate", "--duration", "30", "--output", str(blocker / "x")],
                           capsys)  # fmt: skip
    assert code == 2 and "--output" in err and len(err.strip().splitlines()) == 1


def test_evaluate_writes_arms_emissions_reward_columns_and_timelines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv_path = tmp_path / "eval" / "episodes.csv"
    code, out, err = run_cli(
        ["evaluate", "fixed-time", "--baselines", "vehicle-actuated", "--demands", "high",
         "--episodes", "2", "--duration", "90", "--output", str(csv_path)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "per arm: mean wait (s/veh)" in out
    # what ± is, in the table's own title
    assert "(mean ± standard deviation over the episodes)" in " ".join(out.split())
    df = pd.read_csv(csv_path)
    assert len(df) == 4 and set(df["controller"]) == {"fixed-time", "vehicle-actuated"}
    # baselines have no reward of their own: the registry's queue, named as such
    assert "reward" not in df and df["reward_queue"].notna().all()
    for col in ("wait_p95", "wait_max", "co2_kg", "fuel_l_per_100vkm",
                *(f"arm_{k}_{a}" for k in ("wait", "wait95", "queue", "throughput")
                  for a in ARMS)):  # fmt: skip
        assert col in df and df[col].notna().all(), col
    weighted = sum(df[f"arm_vehicles_{a}"] * df[f"arm_wait_{a}"] for a in ARMS) / df["vehicles"]
    assert weighted.to_numpy() == pytest.approx(df["avg_waiting_time"].to_numpy())
    # one timeline per controller and demand (the first episode), beside the CSV
    pngs = sorted(p.name for p in (tmp_path / "eval" / "episodes_timelines").glob("*.png"))
    first = evaluation_seeds(1)[0]
    assert pngs == [f"fixed-time-high-{first}.png", f"vehicle-actuated-high-{first}.png"]


def test_output_files_are_written_before_a_closed_pipe_can_stop_the_printing(
    tmp_path: Path,
) -> None:
    """`intergreen simulate --output D | head -1` left D empty: the files were written after
    the printing, which a closed pipe stops (BrokenPipeError). The pipe here is closed before
    anything is printed: the episode's files are there all the same."""
    import subprocess
    import sys

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "intergreen.cli", "simulate", "--duration", "30", "--output",
         str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # as `| head -1` once it has its line
    proc.wait(timeout=300)
    assert {"metrics.csv", "metrics.json"} <= {p.name for p in out.iterdir()}
    assert sumo_children() == []


def test_the_per_arm_table_keeps_whole_controller_names_in_a_narrow_log() -> None:
    """Written to a log (80 columns), the per-arm table cut both seeds of a reward to
    "long_queues[faeb4…", so its rows could not be told apart."""
    from rich.console import Console

    from intergreen.junctions.episode_output import evaluation_arm_table

    names = [f"long_queues[faeb4e]-dqn-s{s}-0123456789abcdef" for s in (1, 2)]
    arms = ("N", "E", "S", "W")
    row = {f"arm_vehicles_{a}": 10 for a in arms} | {f"arm_wait_{a}": 1.0 for a in arms} | {
        "wait_p95": 2.0, "co2_g_per_vkm": 150.0, "demand": "medium",
    }  # fmt: skip
    frame = pd.DataFrame([row | {"controller": n} for n in names])
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(evaluation_arm_table(frame))
    text = console.export_text()
    assert "…" not in text
    cells = "".join(line.split("│")[1].strip() for line in text.splitlines() if "│" in line)
    assert all(n in cells for n in names)


def test_the_decisions_note_gives_a_mean_with_its_range() -> None:
    """A new user's trial: evaluate's note gave vehicle-actuated "242" decisions per episode,
    a mean of episodes of 143 to 311."""
    from intergreen.junctions.episode_output import reward_sum_note

    made = {"dqn": (3000.0, 3000.0, 3000.0), "vehicle-actuated": (242.4, 143.0, 311.0)}
    note = reward_sum_note(["reward_queue"], made)
    assert "(column decisions; per episode here, mean (lowest-highest): dqn 3,000, " in note
    assert "vehicle-actuated 242 (143-311))" in note
    same = reward_sum_note(["reward_queue"], {"vehicle-actuated": (242.0, 242.0, 242.0)})
    assert "(column decisions; per episode here: vehicle-actuated 242)" in same
    assert reward_sum_note(["reward_queue"], {"fixed-time": 54}) == same.replace(
        "vehicle-actuated 242", "fixed-time 54"
    )


def test_a_reward_with_parameters_has_its_label_explained(capsys) -> None:
    """A new user's trial: columns reward_my_reward[31874a] and [faeb4e] did not say which
    threshold was which."""
    from intergreen.experiments.grid import label

    given = {"name": "diff_waiting_time", "scale": 10}
    code, out, err = run_cli(["simulate", "--duration", "12", "--reward", json.dumps(given)],
                             capsys)  # fmt: skip
    assert code == 0, err
    assert (
        f'rewards with parameters: reward_{label(given)} = {{"name": "diff_waiting_time", '
        '"scale": 10}'
    ) in out
    code, out, _ = run_cli(["simulate", "--duration", "12", "--reward", "queue"], capsys)
    assert "rewards with parameters" not in out
