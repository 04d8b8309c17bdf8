"""intergreen calibrate: user errors as one line (exit 2), a user's own counts end to end,
a validation that fails (exit 1, nothing saved)."""

from __future__ import annotations

import json
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
    assert "fit check (in-sample): PASS" in stdout and "my_am" in stdout
    # two days counted: fit on 6 February, validate on 7 February
    assert "validation on held-out counts (1 day 2018-02-07; TAG M3.1): PASS" in stdout
    assert "  PASS flow criterion: 2 of 2 counts" in stdout and "  PASS GEH < 5: 2 of 2" in stdout
    # the approach map is the user's and the held-out counts go through it: never validated
    used = "site 1415 SouthWest -> N, site 1415 NorthEast -> S"
    assert (
        f"  not validated: the approach map ({used}); the held-out counts go through it too\n"
        in stdout
    )
    # and what no hold-out sees (a traffic engineer's trial: another site's counts and a file
    # doubled passed): said under the PASS and listed in the report
    from intergreen.calibration.report import SHARED_ERRORS

    assert "  not validated: errors the fitted and held-out days share: counts of another " in (
        stdout
    )
    assert SHARED_ERRORS in (out / "report.md").read_text()
    map_item = (
        f"The approach map ({used}): the held-out counts are put on the arms by the same map, "
        "so a wrong map (the directions swapped, say) passes the fit check and the validation "
        "as well; check it against the count site's position and directions of travel."
    )
    assert {"report.md", "my_am.yaml", "fit_check.csv", "validation.csv", "summary.json"} <= {
        p.name for p in out.iterdir()
    }
    comparison = pd.read_csv(out / "fit_check.csv")
    assert len(comparison) == 2 and (comparison["geh"] < 5).all()
    assert (comparison["scaled_count"] == (0.5 * comparison["counted"]).round(2)).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fit_days"] == ["2018-02-06"] and summary["held_out_days"] == ["2018-02-07"]
    assert summary["validation"]["passed"] and summary["vehicle_mix"] is None
    assert summary["unvalidated"][0] == map_item and len(summary["unvalidated"]) == 8
    # the long format has no vehicle classes: the mix item says cars only, not loop classes
    mix_item = (
        "The vehicle mix: every vehicle is a passenger car (the counts have no vehicle "
        "classes); the share of vans, HGVs and buses is not compared with classified counts of "
        "the site or a manual count of the junction."
    )
    assert summary["unvalidated"][-1] == mix_item
    # one held-out day: validated, but thinly, and the command, report and summary say so
    caution = (
        "thin out-of-sample validation: on 1 day 2018-02-07 only, fewer than 5 (a working "
        "week) for a weekday mean; hold out more days (an earlier --holdout date, or count "
        "more days)"
    )
    assert f"warning: {caution}\n" in err and summary["validation_caution"] == caution
    report = (out / "report.md").read_text()
    assert f"## Still unvalidated\n\n- {map_item}\n- Turning proportions" in report
    assert f"- {mix_item}\n" in report and "loop length classes" not in report
    assert f"Warning: {caution}." in report
    assert "count x 0.5000 (scaled)" in report and "Counts x 0.5000: the scale given" in report
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


def test_failed_validation_saves_nothing(user_counts: Path, data_home: Path, tmp_path, capsys):
    # the second day carries 40% more traffic than the first: the fit cannot predict it
    counts = pd.read_csv(user_counts)
    later = counts["interval_start"].str.startswith("2018-02-07")
    counts.loc[later, "count"] = (counts.loc[later, "count"] * 1.4).round()
    path = tmp_path / "changed.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "calib"
    code, stdout, err = run(
        ["calibrate", "--counts", str(path), "--profile", "8-9", "--out", str(out),
         "--approach-map", "NorthEast=S,SouthWest=N", "--scale", "0.5", "--name", "my_am",
         "--step-length", "1.0"],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert "fit check (in-sample): PASS" in stdout
    assert "FAIL flow criterion: 0 of 2 counts" in stdout and "FAIL GEH < 5: 0 of 2" in stdout
    assert "the validation failed; worst: NorthEast (S) 08h: held-out count" in err
    assert "no demand saved" in err
    assert not (data_home / "demands" / "gm_a56" / "my_am.yaml").exists()
    assert (out / "report.md").is_file() and (out / "validation.csv").is_file()
    assert json.loads((out / "summary.json").read_text())["passed"] is False
    # --holdout none: fitted on both days, nothing to validate against, so it is saved
    code, stdout, err = run(
        ["calibrate", "--counts", str(path), "--profile", "8-9", "--out", str(out),
         "--approach-map", "NorthEast=S,SouthWest=N", "--scale", "0.5", "--name", "my_am",
         "--step-length", "1.0", "--holdout", "none"],
        capsys,
    )  # fmt: skip
    assert code == 0 and "validation on held-out counts: none" in stdout
    caution = (
        "no out-of-sample validation: --holdout none fits on every counted day, so the demand "
        "is checked only in-sample, against the counts it was fitted to; count more days to "
        "validate it"
    )
    assert err.count("warning:") == 1 and f"warning: {caution}\n" in err
    assert (
        f"Validation on held-out counts: none.** Nothing was held out: the model is not "
        f"validated. Warning: {caution}." in (out / "report.md").read_text()
    )
    assert json.loads((out / "summary.json").read_text())["validation_caution"] == caution


def _quarter_hours(user_counts: Path, tmp_path: Path) -> Path:
    """The hourly counts with each row declared 15 minutes long."""
    path = tmp_path / "quarters.csv"
    pd.read_csv(user_counts).assign(interval_minutes=15).to_csv(path, index=False)
    return path


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
        (
            [
                "--counts",
                "GOOD",
                "--profile",
                "weekday",
                "--approach-map",
                "NorthEast=S,SouthWest=N",
            ],
            "clock hour",
        ),
        (
            ["--counts", "GOOD", "--profile", "8-9", "--approach-map", "NorthEast=S"],
            "error: --approach-map NorthEast=S leaves counted direction(s) site 1415 SouthWest "
            "without an arm, which would drop their counts",
        ),
        (
            ["--counts", "GOOD", "--profile", "8-9"],
            "my_counts.csv: column 'approach' holds 'chester_road' for site 1415 NorthEast, which "
            "is not an arm of gm_a56 (arms: N, E, S, W)",
        ),
        (
            [
                "--counts",
                "QUARTERS",
                "--profile",
                "8-9",
                "--approach-map",
                "NorthEast=S,SouthWest=N",
            ],
            "quarters.csv: no clock hour is fully counted: the intervals do not tile the hour",
        ),
        (["--counts", "GOOD", "--name", "high"], "shipped demand"),
        (["--counts", "GOOD", "--junction", "atlantis"], "atlantis"),
        (["--counts", "GOOD", "--holdout", "later"], "--holdout 'later': use auto, none"),
        (["--counts", "GOOD", "--holdout", "2018-02-06"], "leaves no counted days for the fit"),
        (["--counts", "GOOD", "--vehicle-mix", "car=0.5"], "--vehicle-mix 'car=0.5': shares"),
        (["--counts", "GOOD", "--vehicle-mix", "measured"], "needs a TfGM export"),
    ],
)
def test_user_errors_one_line(args, message, user_counts, data_home, tmp_path, capsys) -> None:
    files = {
        "BAD": lambda: _bad_counts(tmp_path),
        "GOOD": lambda: user_counts,
        "QUARTERS": lambda: _quarter_hours(user_counts, tmp_path),
    }
    args = [str(files[a]()) if a in files else a for a in args]
    out = tmp_path / "calib"
    code, _, err = run(["calibrate", *args, "--out", str(out)], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing half-written
    assert not list(tmp_path.glob(".calib.tmp-*"))


def test_a_junction_without_demand_yaml_is_refused_first(
    user_counts: Path, data_home: Path, tmp_path: Path, capsys
) -> None:
    """An imported junction has no demand.yaml, whose arm shares and turning proportions the
    calibration needs: one line saying so before the counts are read (was: after the approach
    map, a list of demands to use, which calibrate does not take)."""
    from cli_helpers import one_error_line

    from intergreen.junctions.imported_yaml import import_network
    from intergreen.junctions.resco import nets_folder

    nets = nets_folder().parent / "single-intersection"
    path, _, _ = import_network(nets / "single-intersection.net.xml", tmp_path / "si",
                                routes=[nets / "single-intersection.rou.xml"])  # fmt: skip
    out = tmp_path / "calib"
    for extra in ([], ["--approach-map", "NorthEast=N,SouthWest=S"]):
        line = one_error_line(*run(
            ["calibrate", "--junction", str(path.parent), "--counts", str(user_counts),
             "--profile", "8-9", "--out", str(out), *extra], capsys,
        ))  # fmt: skip
        assert line == (
            "error: --junction: junction single-intersection has no demand.yaml, whose arm "
            "shares and turning proportions calibrate needs to split the counted flows into "
            "movements (only the shipped junctions gm_a56, gm_a56_max_green have one, and YAMLs "
            "with `extends:` one of them); calibrate one of those, e.g. --junction gm_a56"
        )
        assert not out.exists() and not list(tmp_path.glob(".calib.tmp-*"))


def test_counts_of_nothing_are_refused_before_a_demand_is_saved(
    user_counts: Path, data_home: Path, tmp_path, capsys
) -> None:
    """A traffic engineer's trial: an export with every volume 0 (a detector outage) passed
    the fit and the validation (0 against 0: GEH 0) and was saved as a demand of no vehicle."""
    counts = pd.read_csv(user_counts)
    counts["count"] = 0
    path = tmp_path / "zeros.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "calib"
    args = ["calibrate", "--counts", str(path), "--profile", "8-9", "--out", str(out),
            "--approach-map", "NorthEast=S,SouthWest=N", "--name", "zeros"]  # fmt: skip
    code, stdout, err = run(args, capsys)
    assert code == 2
    assert err.strip() == (
        f"error: {path}: every count of the fitted days is 0 in the profile's hours "
        "(08:00-09:00): no demand to calibrate; check the export (a detector outage reads as "
        "zeros) or choose other hours with --profile"
    )
    assert not out.exists() and not (data_home / "demands" / "gm_a56" / "zeros.yaml").exists()
    # the counts are read before the name is checked: a missing file is named as such, not
    # hidden behind "already exists"
    (data_home / "demands" / "gm_a56").mkdir(parents=True)
    (data_home / "demands" / "gm_a56" / "zeros.yaml").write_text("taken: true\n")
    missing = tmp_path / "nope.csv"
    code, _, err = run([*args[:2], str(missing), *args[3:]], capsys)
    assert code == 2 and str(missing) in err and "already exists" not in err
