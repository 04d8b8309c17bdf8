"""Traffic counts: the long CSV format, its validation, and the TfGM ATC importer.

The long format is one row per counted interval:

=================  ==========================================================
column             meaning
=================  ==========================================================
site               count site id (text, e.g. ``1415``)
approach           the junction arm the traffic arrives on, e.g. ``N``
lane               optional lane name (``NE_NS``); empty means all lanes
direction          direction of travel, e.g. ``NorthEast``
interval_start     ISO 8601 date-time of the interval start (local time)
interval_minutes   interval length in minutes (positive integer)
count              vehicles counted in the interval (number >= 0)
=================  ==========================================================

``approach`` names an arm of the junction (``N``, ``E``, ``S``, ``W`` for gm_a56); where the arm
is not known it holds the direction of travel, as a TfGM export's does, and ``intergreen
calibrate`` places the direction by ``--approach-map`` or the site's built-in map. Intervals of
the same site / approach / lane must not overlap. Every error a user
can cause raises :class:`CountsError` naming the file, the line or column, and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from intergreen.errors import IntergreenError

__all__ = [
    "COUNT_COLUMNS",
    "REQUIRED_COLUMNS",
    "TFGM_COLUMNS",
    "CountsError",
    "load_counts",
    "read_counts_csv",
    "read_tfgm_atc",
    "source_prefix",
    "validate_counts",
    "write_counts",
]

COUNT_COLUMNS: tuple[str, ...] = (
    "site",
    "approach",
    "lane",
    "direction",
    "interval_start",
    "interval_minutes",
    "count",
)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in COUNT_COLUMNS if c != "lane")
KEY_COLUMNS: tuple[str, ...] = ("site", "approach", "lane")

TFGM_COLUMNS: tuple[str, ...] = (
    "date",
    "Site ID",
    "LaneDescription",
    "LaneDirection",
    "DirectionDescription",
    "Volume",
)
_TFGM_DATE_FORMAT = "%d/%m/%y %H:%M:%S"
_MAX_LISTED = 5


class CountsError(IntergreenError, ValueError):
    """A counts file or table is malformed; the message names where and how to fix it."""


def _line(index: int) -> int:
    """CSV line number of a data row (line 1 is the header)."""
    return int(index) + 2


def _lines(index: pd.Index) -> str:
    """Up to five CSV line numbers, e.g. ``lines 3, 7 (and 2 more)``."""
    nums = [_line(i) for i in index[:_MAX_LISTED]]
    more = len(index) - len(nums)
    text = ", ".join(str(n) for n in nums)
    word = "line" if len(index) == 1 else "lines"
    return f"{word} {text}" + (f" (and {more} more)" if more > 0 else "")


def _where(source: str | Path | None) -> str:
    return f"{source}" if source is not None else "counts table"


def source_prefix(source: str | Path | None) -> str:
    """``"FILE: "`` to start an error message about the counts file ``source``, or ``""``."""
    return f"{source}: " if source is not None else ""


def validate_counts(
    df: pd.DataFrame,
    source: str | Path | None = None,
    known_approaches: Collection[str] | None = None,
) -> pd.DataFrame:
    """Check a long-format counts table and return it with canonical dtypes.

    Integer index labels of ``df`` are reported as CSV line numbers (label + 2, as the
    header is line 1), so pass the frame with the index ``read_csv`` gave it.
    ``known_approaches``, when given, is the set of approach names the junction has;
    any other name is an error.
    """
    where = _where(source)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing and all(c in df.columns for c in TFGM_COLUMNS):
        raise CountsError(
            f"{where}: this is a TfGM rawpvr export, not a long-format counts CSV; "
            f"give it as --counts tfgm:{source if source is not None else 'PATH'}"
        )
    if missing:
        raise CountsError(
            f"{where}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"a counts CSV needs the header {','.join(COUNT_COLUMNS)} "
            "('lane' may be left out)"
        )
    if df.empty:
        raise CountsError(f"{where}: no count rows; add at least one interval below the header")

    out = df.copy()
    if not pd.api.types.is_integer_dtype(out.index) or out.index.has_duplicates:
        out = out.reset_index(drop=True)
    if "lane" not in out.columns:
        out["lane"] = ""

    for col in ("site", "approach", "lane", "direction"):
        values = out[col]
        blank = values.isna() | (values.astype("string").str.strip() == "")
        if col != "lane" and blank.any():
            raise CountsError(
                f"{where}: column {col!r} is empty on {_lines(out.index[blank])}; "
                f"give every row a {col}"
            )
        out[col] = values.astype("string").fillna("").str.strip().astype(object)

    count = pd.to_numeric(out["count"], errors="coerce")
    bad = count.isna() | ~np.isfinite(count.astype(float))
    if bad.any():
        first = out.loc[bad, "count"].iloc[0]
        raise CountsError(
            f"{where}: column 'count' is not a number on {_lines(out.index[bad])} "
            f"(e.g. {first!r}); write the vehicle count as a plain number"
        )
    neg = count < 0
    if neg.any():
        raise CountsError(
            f"{where}: column 'count' is negative on {_lines(out.index[neg])} "
            f"(e.g. {count[neg].iloc[0]:g}); counts must be >= 0"
        )
    out["count"] = count.astype(float)

    minutes = pd.to_numeric(out["interval_minutes"], errors="coerce")
    bad = minutes.isna() | (minutes <= 0) | (minutes != minutes.round())
    if bad.any():
        raise CountsError(
            f"{where}: column 'interval_minutes' is not a positive whole number on "
            f"{_lines(out.index[bad])} (e.g. {out.loc[bad, 'interval_minutes'].iloc[0]!r}); "
            "give the interval length in minutes, e.g. 60"
        )
    out["interval_minutes"] = minutes.astype("int64")

    start = pd.to_datetime(out["interval_start"], format="ISO8601", errors="coerce")
    bad = start.isna()
    if bad.any():
        raise CountsError(
            f"{where}: column 'interval_start' is not an ISO date-time on "
            f"{_lines(out.index[bad])} (e.g. {out.loc[bad, 'interval_start'].iloc[0]!r}); "
            "write it as YYYY-MM-DDTHH:MM:SS, e.g. 2018-02-01T07:00:00"
        )
    out["interval_start"] = start

    if known_approaches is not None:
        known = set(known_approaches)
        unknown = ~out["approach"].isin(known)
        if unknown.any():
            names = sorted(set(out.loc[unknown, "approach"]))
            raise CountsError(
                f"{where}: unknown approach(es) {', '.join(repr(n) for n in names)} in column "
                f"'approach' on {_lines(out.index[unknown])}; use one of "
                f"{', '.join(sorted(known))}"
            )

    _check_overlaps(out, where)
    return out[list(COUNT_COLUMNS)].reset_index(drop=True)


def _check_overlaps(df: pd.DataFrame, where: str) -> None:
    """Raise if two intervals of the same site/approach/lane coincide or overlap."""
    order = df.sort_values([*KEY_COLUMNS, "interval_start"], kind="stable")
    end = order["interval_start"] + pd.to_timedelta(order["interval_minutes"], unit="min")
    same_key = (order[list(KEY_COLUMNS)] == order[list(KEY_COLUMNS)].shift()).all(axis=1)
    prev_end = end.shift()
    clash = same_key & (order["interval_start"] < prev_end)
    if not clash.any():
        return
    pos = int(np.flatnonzero(clash.to_numpy())[0])
    row, prev = order.index[pos], order.index[pos - 1]
    kind = (
        "duplicate"
        if order["interval_start"].iloc[pos] == order["interval_start"].iloc[pos - 1]
        else "overlapping"
    )
    site, approach, lane = (order[c].iloc[pos] for c in KEY_COLUMNS)
    lane_text = f", lane {lane!r}" if lane else ""
    raise CountsError(
        f"{where}: {kind} intervals for site {site!r}, approach {approach!r}{lane_text}: "
        f"line {_line(prev)} ({order['interval_start'].iloc[pos - 1]:%Y-%m-%dT%H:%M}, "
        f"{order['interval_minutes'].iloc[pos - 1]} min) and line {_line(row)} "
        f"({order['interval_start'].iloc[pos]:%Y-%m-%dT%H:%M}); "
        f"{int(clash.sum())} clash(es) in all; remove the repeated rows or fix "
        "'interval_start' / 'interval_minutes' so intervals do not overlap"
    )


def read_counts_csv(
    path: str | Path, known_approaches: Collection[str] | None = None
) -> pd.DataFrame:
    """Read and validate a long-format counts CSV (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise CountsError(f"{path}: no such counts file; check the path")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise CountsError(
            f"{path}: the file is empty; it needs the header {','.join(COUNT_COLUMNS)}"
        ) from None
    except pd.errors.ParserError as exc:
        raise CountsError(f"{path}: not a readable CSV ({exc}); fix the quoting/commas") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.replace("", np.nan)
    if "lane" in raw.columns:
        raw["lane"] = raw["lane"].fillna("")
    return validate_counts(raw, source=path, known_approaches=known_approaches)


def write_counts(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a counts table in the long CSV format (validated first); return the path."""
    path = Path(path)
    out = validate_counts(df, source=path).copy()
    out["interval_start"] = out["interval_start"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out["count"] = [f"{c:g}" for c in out["count"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def read_tfgm_atc(
    path: str | Path,
    approach_map: Mapping[str, str] | None = None,
    interval_minutes: int | None = None,
    drop_flagged: bool = True,
    known_approaches: Collection[str] | None = None,
) -> pd.DataFrame:
    """Import a TfGM automatic traffic counter export (``rawpvr_*.csv``) as long-format counts.

    ``site`` is the Site ID without leading zeros, ``lane`` the LaneDescription
    (e.g. ``NB_NS``), ``direction`` the DirectionDescription (``North``; ``LaneDirection``
    1/2 when the description is blank) and ``count`` the Volume. A loop site counts a
    link, not a junction arm, so ``approach`` defaults to the direction of travel;
    ``approach_map`` renames directions to a junction's approach names. The interval is
    inferred from the spacing of the timestamps unless ``interval_minutes`` is given.
    Rows with a non-zero ``Flags`` value (suspect data) are dropped with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise CountsError(f"{path}: no such TfGM export; check the path after 'tfgm:'")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise CountsError(f"{path}: the file is empty; expected a TfGM rawpvr export") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in TFGM_COLUMNS if c not in raw.columns]
    if missing:
        raise CountsError(
            f"{path}: missing TfGM column(s) {', '.join(repr(c) for c in missing)}; "
            f"a TfGM rawpvr export has the columns {', '.join(TFGM_COLUMNS)}; "
            "for the long format drop the 'tfgm:' prefix"
        )
    if raw.empty:
        raise CountsError(f"{path}: no rows below the header; expected hourly lane counts")

    start = pd.to_datetime(raw["date"].str.strip(), format=_TFGM_DATE_FORMAT, errors="coerce")
    bad = start.isna()
    if bad.any():
        raise CountsError(
            f"{path}: column 'date' is not dd/mm/yy HH:MM:SS on {_lines(raw.index[bad])} "
            f"(e.g. {raw.loc[bad, 'date'].iloc[0]!r}); fix or remove those rows"
        )
    volume = pd.to_numeric(raw["Volume"].str.strip(), errors="coerce")
    bad = volume.isna()
    if bad.any():
        raise CountsError(
            f"{path}: column 'Volume' is not a number on {_lines(raw.index[bad])} "
            f"(e.g. {raw.loc[bad, 'Volume'].iloc[0]!r}); fix or remove those rows"
        )

    direction = raw["DirectionDescription"].str.strip()
    direction = direction.where(direction != "", raw["LaneDirection"].str.strip())
    site = raw["Site ID"].str.strip().str.lstrip("0").replace("", "0")
    lane = raw["LaneDescription"].str.strip()
    blank = lane == ""
    if blank.any() and "LaneNumber" in raw.columns:
        lane = lane.where(~blank, "lane" + raw["LaneNumber"].str.strip())

    if interval_minutes is None:
        interval_minutes = _infer_interval_minutes(start, site, lane, path)

    approach = (
        direction if approach_map is None else direction.map(lambda d: approach_map.get(d, d))
    )
    counts = pd.DataFrame(
        {
            "site": site,
            "approach": approach,
            "lane": lane,
            "direction": direction,
            "interval_start": start,
            "interval_minutes": interval_minutes,
            "count": volume,
        },
        index=raw.index,
    )
    if drop_flagged and "Flags" in raw.columns:
        flags = pd.to_numeric(raw["Flags"].str.strip(), errors="coerce").fillna(0)
        flagged = flags != 0
        if flagged.any():
            warnings.warn(
                f"{path}: dropped {int(flagged.sum())} flagged row(s) "
                f"({_lines(raw.index[flagged])}); pass drop_flagged=False to keep them",
                stacklevel=2,
            )
            counts = counts.loc[~flagged]
    # the index still holds the file's row numbers, so errors name the right lines
    return validate_counts(counts, path, known_approaches)


def _infer_interval_minutes(start: pd.Series, site: pd.Series, lane: pd.Series, path: Path) -> int:
    """The smallest spacing between consecutive timestamps of one lane, in minutes."""
    frame = pd.DataFrame({"site": site, "lane": lane, "start": start}).drop_duplicates()
    frame = frame.sort_values(["site", "lane", "start"])
    step = frame.groupby(["site", "lane"])["start"].diff().dropna()
    step = step[step > pd.Timedelta(0)]
    if step.empty:
        return 60
    minutes = step.min() / pd.Timedelta(minutes=1)
    if minutes != round(minutes):
        raise CountsError(
            f"{path}: timestamps are {minutes:g} min apart, not a whole number of minutes; "
            "pass interval_minutes explicitly"
        )
    return int(minutes)


def load_counts(spec: str | Path, known_approaches: Collection[str] | None = None) -> pd.DataFrame:
    """Load counts from ``tfgm:PATH`` (a TfGM rawpvr export) or ``PATH`` (long-format CSV)."""
    text = str(spec).strip()
    if not text:
        raise CountsError("empty counts spec; give tfgm:PATH or the path of a counts CSV")
    if text.lower().startswith("tfgm:"):
        return read_tfgm_atc(text[len("tfgm:") :], known_approaches=known_approaches)
    return read_counts_csv(text, known_approaches=known_approaches)
