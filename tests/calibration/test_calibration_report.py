"""The calibration report writes its Markdown and plots, atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.flows import HourlyProfile
from intergreen.calibration.report import REPORT_FILES, write_calibration_report


def comparison() -> pd.DataFrame:
    rows = []
    for direction, scale in (("NorthEast", 1.0), ("SouthWest", 0.9)):
        for hour in range(24):
            observed = scale * (200 + 60 * min(hour, 24 - hour))
            modelled = observed * (1.5 if (direction, hour) == ("SouthWest", 8) else 1.02)
            rows.append(("1415", direction, hour, observed, modelled))
    return pd.DataFrame(rows, columns=["site", "direction", "hour", "observed", "modelled"])


def test_report_writes_files(tmp_path: Path) -> None:
    out = tmp_path / "calib" / "report"
    (out).mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    profile = HourlyProfile(tuple(float(10 + h) for h in range(24)), label="test profile")
    path = write_calibration_report(comparison(), out, profile=profile, title="Test calibration")
    assert path == out / "report.md"
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0
    for name in REPORT_FILES[1:]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "keep.txt").read_text() == "mine"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp dir left
    text = path.read_text()
    assert text.startswith("# Test calibration")
    assert "PASS: GEH < 5 for 97.9% of 48 counts" in text
    assert "Turning proportions" in text and "Side-road" in text
    assert "no public turning-movement counts" in text and "assumption" in text
    assert "| 1415 | SouthWest | 8 |" in text  # the worst mismatch is listed
    assert "test profile" in text and "(geh_per_count.png)" in text


def test_failed_report_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report"
    bad = comparison().drop(columns="modelled")
    with pytest.raises(ValueError, match="modelled"):
        write_calibration_report(bad, out)
    assert not out.exists()
    bad = comparison()
    bad.loc[3, "observed"] = -1
    with pytest.raises(ValueError, match="observed"):
        write_calibration_report(bad, out)
    assert list(tmp_path.iterdir()) == []


def test_failure_while_plotting_leaves_no_partial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import intergreen.calibration.report as report

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report, "plot_profiles", boom)
    with pytest.raises(RuntimeError, match="plot failed"):
        write_calibration_report(comparison(), tmp_path / "report")
    assert list(tmp_path.iterdir()) == []


def test_report_labels_scaled_counts_and_shows_validation(tmp_path: Path) -> None:
    from intergreen.calibration.report import VALIDATION_PLOT
    from intergreen.calibration.tag import tag_validation

    held = comparison().rename(columns={"observed": "held_out"})
    held["modelled_unscaled"] = held["held_out"] * 1.5 + 150  # fails both criteria everywhere
    validation = tag_validation(held, modelled="modelled_unscaled", observed="held_out")
    path = write_calibration_report(
        comparison(),
        tmp_path,
        observed_label="count x 0.5686 (scaled)",
        validation=validation,
        validation_note="Held out: days 15-28.",
        scale_note="Counts x 0.5686 (scaled): because.",
    )
    text = path.read_text()
    assert "| observed |" not in text and "| count x 0.5686 (scaled) |" in text
    assert "**Fit check (in-sample): PASS: GEH < 5 for 97.9% of 48 counts" in text
    assert "**Validation on held-out counts: FAIL (flow criterion, GEH < 5)**" in text
    assert "| flow criterion | 0 of 48 | 0.0% | >= 85% | FAIL |" in text
    assert "Held out: days 15-28." in text and "TAG unit M3.1" in text
    assert "## Scale\n\nCounts x 0.5686 (scaled): because." in text
    unvalidated = text.split("## Still unvalidated")[1].split("##")[0]
    for item in ("Turning proportions", "Side-road flows", "Saturation flows", "Queues",
                 "Journey times"):  # fmt: skip
        assert f"- {item}" in unvalidated
    assert (tmp_path / VALIDATION_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"({VALIDATION_PLOT})" in text


def test_report_without_validation_says_why(tmp_path: Path) -> None:
    from intergreen.calibration.report import VALIDATION_PLOT

    path = write_calibration_report(comparison(), tmp_path, validation_note="Nothing held out.")
    text = path.read_text()
    assert "**Validation on held-out counts: none.** Nothing held out." in text
    assert not (tmp_path / VALIDATION_PLOT).exists()
