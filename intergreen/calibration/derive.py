"""Derive the Chester Road (A56) calibration figures from the raw TfGM and DfT data.

Run ``python -m intergreen.calibration.derive`` from the project root. It reads the raw
exports from the shared data folder (never copies them) and writes small files into
``data/``, each with its section of ``PROVENANCE.md`` (which files, which days, the
method, the date):

- ``gm_chester_road_weekday_hourly.csv``: weekday-mean hourly flows of all 20 weekdays;
- ``gm_chester_road_holdout_hourly.csv``: the same for the calibration's fit days and its
  held-out validation days (:mod:`~intergreen.calibration.holdout`);
- ``gm_chester_road_vehicle_mix.csv``: the vehicle mix per site and direction
  (:mod:`~intergreen.calibration.vehicle_mix`).

Every file is written to a temporary file first and renamed, so a failed run leaves the
old files untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from intergreen.calibration.counts import CountsError, read_tfgm_atc
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import (
    ALL_LANES,
    CHESTER_ROAD_SITES,
    WEEKDAYS,
    gm_data_dir,
    weekday_hourly_flows,
)
from intergreen.calibration.holdout import CountsSplit, describe_days, split_counts
from intergreen.calibration.vehicle_mix import (
    DFT_COUNT_POINT,
    DFT_FILE,
    DFT_YEAR,
    dft_lgv_share,
    hgv_definition_holds,
    mix_table,
    read_tfgm_classes,
)
from intergreen.common import atomic_write

__all__ = [
    "FLOWS_FILENAME",
    "HOLDOUT_FILENAME",
    "MIX_FILENAME",
    "derive_chester_road",
    "derive_holdout",
    "main",
    "raw_files",
    "summarise",
]

FLOWS_FILENAME = "gm_chester_road_weekday_hourly.csv"
HOLDOUT_FILENAME = "gm_chester_road_holdout_hourly.csv"
MIX_FILENAME = "gm_chester_road_vehicle_mix.csv"
PROVENANCE_FILENAME = "PROVENANCE.md"


def _markers(filename: str) -> tuple[str, str]:
    return (
        f"<!-- BEGIN {filename} (written by python -m intergreen.calibration.derive) -->",
        f"<!-- END {filename} -->",
    )


_BEGIN, _END = _markers(FLOWS_FILENAME)


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


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def markdown_table(df: pd.DataFrame) -> str:
    """A plain Markdown table; floats in ``%g``."""
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
        f"sha256 `{sha256(f)[:16]}…`)"
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
            markdown_table(summary),
            "",
            "Turning proportions and side-road flows of the modelled junction are not in these "
            "counts (no public turning counts exist) and remain modelling assumptions.",
            _END,
        ]
    )


def _merge_provenance(
    existing: str, section: str, markers: tuple[str, str] = (_BEGIN, _END)
) -> str:
    """Replace a file's section (between its ``markers``) in PROVENANCE.md, keeping others."""
    begin, end = markers
    if begin in existing and end in existing:
        head, rest = existing.split(begin, 1)
        tail = rest.split(end, 1)[1]
        return head + section + tail
    if not existing.strip():
        return (
            "# Provenance of the derived data\n\n"
            "Derived calibration figures with where they came from. Raw data are never "
            "copied here.\n\n" + section + "\n"
        )
    return existing.rstrip("\n") + "\n\n" + section + "\n"


def derive_holdout(files: Sequence[Path]) -> tuple[pd.DataFrame, CountsSplit]:
    """Direction totals per hour for the fit days and the held-out days (``part`` column)."""
    counts = pd.concat([read_tfgm_atc(f) for f in files], ignore_index=True)
    split = split_counts(counts)
    parts = []
    for part, frame in (("fit", split.fit), ("held_out", split.held_out)):
        flows = weekday_hourly_flows(frame, sites=CHESTER_ROAD_SITES, per_lane=False)
        parts.append(flows.assign(part=part))
    out = pd.concat(parts, ignore_index=True)
    out["mean_veh_h"] = out["mean_veh_h"].round(2)
    out["std_veh_h"] = out["std_veh_h"].round(2)
    return out[["part", *out.columns[:-1]]], split


def holdout_section(files: Sequence[Path], flows: pd.DataFrame, split: CountsSplit,
                    written: date) -> str:  # fmt: skip
    """The Markdown provenance of the fit / held-out flows file."""
    begin, end = _markers(HOLDOUT_FILENAME)
    totals = (
        flows.groupby(["part", "site", "direction"], sort=False)["mean_veh_h"]
        .agg(daily_veh="sum", peak_veh_h="max")
        .reset_index()
        .round(1)
    )
    return "\n".join(
        [
            begin,
            f"## {HOLDOUT_FILENAME}",
            "",
            f"Written {written:%Y-%m-%d} by `python -m intergreen.calibration.derive` from the "
            "same raw files as the weekday means above "
            f"({', '.join(f'`{f.name}`' for f in files)}).",
            "",
            f"**Split** (`intergreen.calibration.holdout.split_counts`, `auto`): `fit` = "
            f"{describe_days(split.fit_days)} (weeks 1-2), the days the calibration gives "
            f"routeSampler; `held_out` = {describe_days(split.held_out_days)} (weeks 3-4), the "
            "days that validate it (TAG M3.1 criteria). Each part holds every weekday twice. "
            "Days, not hours, are held out: the calibrated demand takes each hour from the "
            "counts of that hour, so only other days' counts of the same hours test it.",
            "",
            "**Method** and **columns** as for the weekday means above (`lane = all` only), "
            "with `part` added.",
            "",
            "**Totals** (sum of the hourly means, veh) and peak hours (veh/h):",
            "",
            markdown_table(totals),
            end,
        ]
    )


def mix_section(files: Sequence[Path], table: pd.DataFrame, fit_days: Sequence[date],
                lgv_share: float, hgv_checked: bool, written: date) -> str:  # fmt: skip
    """The Markdown provenance of the vehicle-mix file."""
    begin, end = _markers(MIX_FILENAME)
    both = table[table["direction"] == "both"]
    shown = both[["site", "days", "n_days", "vehicles", "car_share", "van_share", "hgv_share",
                  "bus_share"]]  # fmt: skip
    check = "on every row" if hgv_checked else "NOT on every row (check the export)"
    return "\n".join(
        [
            begin,
            f"## {MIX_FILENAME}",
            "",
            f"Written {written:%Y-%m-%d} by `python -m intergreen.calibration.derive`. Figures "
            "only: the raw files stay in `../shared/data/greater_manchester/`.",
            "",
            "**Sources**: the TfGM loop exports above (class volumes per lane-hour: "
            + ", ".join(f"`{f.name}` sha256 `{sha256(f)[:16]}…`" for f in files)
            + f") and the DfT annual average daily flow by direction at count point "
            f"{DFT_COUNT_POINT} (A56, M60 to A5181; {DFT_YEAR}, counted; `{DFT_FILE}`, Open "
            "Government Licence v3.0).",
            "",
            "**Method** (`intergreen.calibration.vehicle_mix`): HGV share = (Class4 + Class5) "
            "/ Volume, the export's own HGV definition (its PmlHGV column equals 1000 (Class4 + "
            f"Class5) / Volume, rounded half to even, {check}); bus share = Class6 / Volume "
            "(inferred, the classes are not documented: Class6 sits in site 1083's nearside "
            "lanes, where buses stop, and its share there matches the DfT bus share on the same "
            "road); the rest are light vehicles, split into cars and vans by the DfT point's "
            f"LGV share of light vehicles, {100 * lgv_share:.2f}% (LGVs / (cars and taxis + "
            "LGVs + two-wheelers), both directions); two-wheelers are modelled as cars. `days`: "
            "`all_weekdays` = the 20 weekdays of February 2018, `fit_days` = the calibration's "
            f"fit days ({fit_days[0]:%Y-%m-%d}..{fit_days[-1]:%Y-%m-%d}, {len(fit_days)} "
            "weekdays). Shares are of vehicles, rounded to 0.0001 (car takes the rounding). "
            "Columns: site, direction (`both` = the site), days, n_days, vehicles, class1..6 "
            "(summed volumes), car/van/hgv/bus_share.",
            "",
            "**Caveat**: a loop classifies by length. Site 1415's 11% HGVs is well above the "
            "DfT count at point 58022 (1.7% HGVs in 2017) and site 1083's loops (3.4%), so "
            "long vans are likely counted as HGVs there; by direction it is 7% north-east and "
            "15% south-west. The calibrated gm_a56 profiles use site 1415's fit-day mix as "
            "measured (one mix for every arm).",
            "",
            "**Mix per site** (both directions):",
            "",
            markdown_table(shown),
            end,
        ]
    )


def write_outputs(
    out_dir: Path, data_dir: Path | None = None, exclude_dates: Sequence[date] = ()
) -> tuple[Path, Path]:
    """Derive the figures and write the CSVs and their provenance into ``out_dir``."""
    files = raw_files(data_dir)
    flows, days = derive_chester_road(files, exclude_dates)
    holdout, split = derive_holdout(files)
    lgv = dft_lgv_share(None if data_dir is None else data_dir / DFT_FILE)
    mixes = mix_table(files, split.fit_days, lgv)
    hgv_ok = all(hgv_definition_holds(read_tfgm_classes(f)) for f in files)
    prov_path = out_dir / PROVENANCE_FILENAME
    today = date.today()
    text = prov_path.read_text(encoding="utf-8") if prov_path.is_file() else ""
    text = _merge_provenance(text, provenance_section(files, days, flows, today, exclude_dates))
    text = _merge_provenance(
        text, holdout_section(files, holdout, split, today), _markers(HOLDOUT_FILENAME)
    )
    text = _merge_provenance(
        text, mix_section(files, mixes, split.fit_days, lgv, hgv_ok, today), _markers(MIX_FILENAME)
    )
    csv_path = out_dir / FLOWS_FILENAME
    atomic_write(csv_path, flows.to_csv(index=False, lineterminator="\n"))
    atomic_write(out_dir / HOLDOUT_FILENAME, holdout.to_csv(index=False, lineterminator="\n"))
    atomic_write(out_dir / MIX_FILENAME, mixes.to_csv(index=False, lineterminator="\n"))
    atomic_write(prov_path, text)
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
    except (CountsError, CalibrationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    flows = pd.read_csv(csv_path, dtype={"site": str})
    print(f"wrote {csv_path} ({len(flows)} rows), {HOLDOUT_FILENAME}, {MIX_FILENAME} and "
          f"{prov_path}")  # fmt: skip
    print(summarise(flows[flows["lane"] == ALL_LANES]).to_string(index=False))
    mixes = pd.read_csv(csv_path.parent / MIX_FILENAME, dtype={"site": str})
    print(mixes[mixes["direction"] == "both"].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
