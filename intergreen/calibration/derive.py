"""Derive the Chester Road (A56) weekday hourly flows from the raw TfGM counts.

Run ``python -m intergreen.calibration.derive`` from the project root. It reads the raw
TfGM exports from the shared data folder (never copies them) and writes two small files
into ``data/``: ``gm_chester_road_weekday_hourly.csv`` (the figures) and its section of
``PROVENANCE.md`` (which files, which days, the method, the date). Both are written to a
temporary file first and renamed, so a failed run leaves the old files untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from intergreen.calibration.counts import CountsError, read_tfgm_atc
from intergreen.calibration.flows import (
    ALL_LANES,
    CHESTER_ROAD_SITES,
    WEEKDAYS,
    gm_data_dir,
    weekday_hourly_flows,
)

__all__ = ["FLOWS_FILENAME", "derive_chester_road", "main", "raw_files", "summarise"]

FLOWS_FILENAME = "gm_chester_road_weekday_hourly.csv"
PROVENANCE_FILENAME = "PROVENANCE.md"
_BEGIN = f"<!-- BEGIN {FLOWS_FILENAME} (written by python -m intergreen.calibration.derive) -->"
_END = f"<!-- END {FLOWS_FILENAME} -->"


def project_data_dir() -> Path:
    """The project's own ``data/`` folder (next to the ``intergreen`` package)."""
    return Path(__file__).resolve().parents[2] / "data"


def raw_files(data_dir: Path | None = None) -> list[Path]:
    """The TfGM rawpvr exports of the Chester Road sites, in site order."""
    folder = (data_dir or gm_data_dir()) / "tfgm_atc_chester_road"
    files = []
    for site in CHESTER_ROAD_SITES:
        matches = sorted(folder.glob(f"rawpvr_*_{site}.csv"))
        if not matches:
            raise CountsError(
                f"{folder}: no rawpvr_*_{site}.csv; point --data-dir at the folder holding "
                "tfgm_atc_chester_road/"
            )
        files.extend(matches)
    return files


def derive_chester_road(
    files: Sequence[Path], exclude_dates: Sequence[date] = ()
) -> tuple[pd.DataFrame, list[date]]:
    """Weekday hourly flows of the given exports, and the weekdays that were counted."""
    counts = pd.concat([read_tfgm_atc(f) for f in files], ignore_index=True)
    flows = weekday_hourly_flows(counts, sites=CHESTER_ROAD_SITES, exclude_dates=exclude_dates)
    days = sorted(
        {
            d.date()
            for d in counts["interval_start"].dt.normalize()
            if d.weekday() in WEEKDAYS and d.date() not in set(exclude_dates)
        }
    )
    flows["mean_veh_h"] = flows["mean_veh_h"].round(2)
    flows["std_veh_h"] = flows["std_veh_h"].round(2)
    return flows, days


def summarise(flows: pd.DataFrame) -> pd.DataFrame:
    """Daily total, peak hour and peak flow of each site/direction/lane (veh, veh/h)."""
    rows = []
    for (site, direction, lane), g in flows.groupby(["site", "direction", "lane"], sort=False):
        peak = g.loc[g["mean_veh_h"].idxmax()]
        rows.append(
            {
                "site": site,
                "direction": direction,
                "lane": lane,
                "daily_veh": round(float(g["mean_veh_h"].sum()), 1),
                "peak_hour": f"{int(peak['hour']):02d}:00-{int(peak['hour']) + 1:02d}:00",
                "peak_veh_h": float(peak["mean_veh_h"]),
            }
        )
    return pd.DataFrame(rows)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _markdown_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def provenance_section(
    files: Sequence[Path],
    days: Sequence[date],
    flows: pd.DataFrame,
    written: date,
    exclude_dates: Sequence[date] = (),
) -> str:
    """The Markdown provenance of the derived flows file."""
    file_lines = [
        f"- `{f.parent.name}/{f.name}` ({sum(1 for _ in f.open()) - 1} rows, "
        f"sha256 `{_sha256(f)[:16]}…`)"
        for f in files
    ]
    day_text = ", ".join(f"{d:%a %d}" for d in days)
    summary = summarise(flows)
    excluded = (
        ", ".join(f"{d:%Y-%m-%d}" for d in exclude_dates)
        if exclude_dates
        else "none (February 2018 has no bank holiday in England)"
    )
    return "\n".join(
        [
            _BEGIN,
            f"## {FLOWS_FILENAME}",
            "",
            f"Written {written:%Y-%m-%d} by `python -m intergreen.calibration.derive`. "
            "Figures only: the raw files stay in `../shared/data/greater_manchester/`.",
            "",
            "**Source**: Transport for Greater Manchester (TfGM) automatic traffic counter "
            "(inductive loop) sites 1083 and 1415 on the A56 Chester Road, Manchester, hourly "
            "counts per lane, 1-28 February 2018 (see `../shared/data/greater_manchester/"
            "SOURCES.md`; licence not stated with the export, TfGM terms unverified). Raw files:",
            "",
            *file_lines,
            "",
            f"**Days counted as weekdays** ({len(days)}): Monday-Friday of February 2018: "
            f"{day_text}. Excluded dates: {excluded}.",
            "",
            "**Method**: each row of the export (one lane, one hour) is imported as a count "
            "(`intergreen.calibration.counts.read_tfgm_atc`; flagged rows would be dropped, "
            "there are none). For each weekday the lanes of a direction are summed per hour "
            "(`lane = all`, only hours where every lane was counted), then the mean and the "
            "sample standard deviation (ddof = 1) over the weekdays are taken per site, "
            "direction, lane and hour (`intergreen.calibration.flows.weekday_hourly_flows`). "
            "Means and standard deviations are rounded to 0.01 veh/h.",
            "",
            "**Columns**: `site` (TfGM site id), `direction` (DirectionDescription of the "
            "export), `lane` (`all` = sum of the direction's lanes, else LaneDescription), "
            "`n_lanes`, `hour` (0 = 00:00-01:00, local time), `mean_veh_h` (weekday mean, "
            "veh/h), `std_veh_h`, `n_days` (weekdays in the mean).",
            "",
            "**Daily totals and peak hours** (weekday means):",
            "",
            _markdown_table(summary),
            "",
            "Turning proportions and side-road flows of the modelled junction are not in these "
            "counts (no public turning counts exist) and remain modelling assumptions.",
            _END,
        ]
    )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _merge_provenance(existing: str, section: str) -> str:
    """Replace this file's section in PROVENANCE.md, keeping other sections."""
    if _BEGIN in existing and _END in existing:
        head, rest = existing.split(_BEGIN, 1)
        tail = rest.split(_END, 1)[1]
        return head + section + tail
    if not existing.strip():
        return (
            "# Provenance of the derived data\n\n"
            "Derived calibration figures with where they came from. Raw data are never "
            "copied here.\n\n" + section + "\n"
        )
    return existing.rstrip("\n") + "\n\n" + section + "\n"


def write_outputs(
    out_dir: Path, data_dir: Path | None = None, exclude_dates: Sequence[date] = ()
) -> tuple[Path, Path]:
    """Derive the flows and write the CSV and its provenance into ``out_dir``."""
    files = raw_files(data_dir)
    flows, days = derive_chester_road(files, exclude_dates)
    csv_path = out_dir / FLOWS_FILENAME
    prov_path = out_dir / PROVENANCE_FILENAME
    section = provenance_section(files, days, flows, date.today(), exclude_dates)
    existing = prov_path.read_text(encoding="utf-8") if prov_path.is_file() else ""
    _write_atomic(csv_path, flows.to_csv(index=False, lineterminator="\n"))
    _write_atomic(prov_path, _merge_provenance(existing, section))
    return csv_path, prov_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m intergreen.calibration.derive", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="shared Greater Manchester data folder (default: ../shared/data/greater_manchester)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=project_data_dir(), help="where to write (default: data/)"
    )
    parser.add_argument(
        "--exclude-date",
        type=date.fromisoformat,
        action="append",
        default=[],
        metavar="YYYY-MM-DD",
        help="a weekday to leave out (e.g. a bank holiday); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        csv_path, prov_path = write_outputs(args.out_dir, args.data_dir, args.exclude_date)
    except (CountsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    flows = pd.read_csv(csv_path, dtype={"site": str})
    print(f"wrote {csv_path} ({len(flows)} rows) and {prov_path}")
    print(summarise(flows[flows["lane"] == ALL_LANES]).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
