"""intergreen calibrate: user errors as one line (exit 2), a user's own counts end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.counts import load_counts, write_counts
from intergreen.cli import main
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import resolve_demand
from intergreen.junctions.env import make_env


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("INTERGREEN_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def user_counts(tfgm_1415: Path, tmp_path_factory) -> Path:
    """Two weekdays of 08:00-09:00 counts of site 1415 in the long format."""
    counts = load_counts(f"tfgm:{tfgm_1415}")
    start = counts["interval_start"]
    keep = start.dt.date.astype(str).isin(["2018-02-06", "2018-02-07"]) & (start.dt.hour == 8)
    path = tmp_path_factory.mktemp("counts") / "my_counts.csv"
    write_counts(counts[keep].assign(approach="chester_road"), path)
    return path


def test_user_counts_end_to_end(user_counts: Path, data_home: Path, tmp_path, capsys) -> None:
    out = tmp_path / "calib"
    code, stdout, err = run(
        ["calibrate", "--counts", str(user_counts), "--profile", "8-9", "--out", str(out),
         "--approach-map", "NorthEast=S,SouthWest=N", "--scale", "0.5", "--name", "my_am",
         "--step-length", "1.0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "PASS" in stdout and "my_am" in stdout
    assert {"report.md", "my_am.yaml", "counts_comparison.csv", "summary.json"} <= {
        p.name for p in out.iterdir()
    }
    comparison = pd.read_csv(out / "counts_comparison.csv")
    assert len(comparison) == 2 and (comparison["geh"] < 5).all()
    spec = resolve_junction("gm_a56")
    profile = resolve_demand(spec, "my_am")
    assert (data_home / "demands" / "gm_a56" / "my_am.yaml").is_file()
    assert profile.periods[0].total == pytest.approx(0.5 * comparison["counted"].sum() / 0.7, 0.01)
    env = make_env("gm_a56", "my_am", seed=1, duration=30)
    try:
        env.reset(seed=1)
        for _ in range(5):
            env.step(0)
    finally:
        env.close()
    # the name is taken now: refused without --force
    code, _, err = run(
        ["calibrate", "--counts", str(user_counts), "--profile", "8-9", "--out", str(out),
         "--approach-map", "NorthEast=S,SouthWest=N", "--name", "my_am"],
        capsys,
    )  # fmt: skip
    assert code == 2 and "already exists" in err


def _bad_counts(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "site,approach,direction,interval_start,interval_minutes,count\n"
        "1,N,North,2018-02-06T08:00:00,60,-4\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--counts", "nowhere.csv"], "no such counts file"),
        (["--counts", "tfgm:nowhere.csv"], "no such TfGM export"),
        (["--counts", "BAD"], "negative"),
        (["--counts", "GOOD", "--profile", "lunch"], "unknown profile"),
        (["--counts", "GOOD", "--approach-map", "NorthEast"], "DIRECTION=ARM"),
        (["--counts", "GOOD", "--approach-map", "NorthEast=Q"], "no such arm"),
        (["--counts", "GOOD", "--profile", "weekday"], "clock hour"),
        (["--counts", "GOOD", "--name", "high"], "shipped demand"),
        (["--counts", "GOOD", "--junction", "atlantis"], "atlantis"),
    ],
)
def test_user_errors_one_line(args, message, user_counts, data_home, tmp_path, capsys) -> None:
    args = [
        str(_bad_counts(tmp_path)) if a == "BAD" else str(user_counts) if a == "GOOD" else a
        for a in args
    ]
    out = tmp_path / "calib"
    code, _, err = run(["calibrate", *args, "--out", str(out)], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing half-written
    assert not list(tmp_path.glob(".calib.tmp-*"))
