"""The vehicle mix of the A56 Chester Road: cars, vans, HGVs and buses from class counts.

The TfGM loop export gives each lane-hour's ``Volume``, six class volumes
(``Class1Volume`` .. ``Class6Volume``) and ``PmlHGV`` (HGVs per 1000 vehicles). The
export does not define the classes. What the data show:

- ``PmlHGV`` equals 1000 (Class4 + Class5) / Volume, rounded half to even, on every row
  of both sites' exports (checked by :func:`hgv_definition_holds`), so the export's own HGVs are
  classes 4 and 5: **HGV share = (Class4 + Class5) / Volume**.
- Class 6 is taken as **buses and coaches** (an inference, not documented): at site 1083
  it is concentrated in the two nearside lanes (1.0-1.4% there, under 0.2% in the
  others), where buses stop, and its share there (0.53%) is the bus share of the DfT's
  manual count at point 58022 on the same road (0.51%, 2017).
- A loop classifies by length and cannot tell a van from a car: classes 1-3 (and the
  few vehicles in no class) are **light vehicles**. They are split into cars and
  **vans (LGV)** by the LGV share of light vehicles in the DfT's annual average daily
  flow at count point 58022 (A56 between the M60 and the A5181, the nearest DfT point;
  2017, both directions): LGVs / (cars and taxis + LGVs + two-wheelers) = 10.2%.
  Two-wheelers (about 1%) are modelled as cars.

The loops' HGV share at site 1415 (11% of weekday vehicles) is well above the DfT's
manual count at point 58022 (1.7% HGVs in 2017) and site 1083's loops (3.4%): a length
classifier likely counts long vans as HGVs. We use the site's class counts as measured
and say so wherever the mix is shown.

``python -m intergreen.calibration.derive`` writes the mix per site and direction to
``data/gm_chester_road_vehicle_mix.csv`` with its provenance.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from intergreen.calibration.counts import CountsError
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import WEEKDAYS, gm_data_dir
from intergreen.junctions.vehicles import check_vehicle_mix

__all__ = [
    "CLASS_COLUMNS",
    "DFT_COUNT_POINT",
    "DFT_YEAR",
    "dft_lgv_share",
    "MIX_CHOICES",
    "hgv_definition_holds",
    "mix_from_classes",
    "mix_table",
    "parse_vehicle_mix",
    "read_tfgm_classes",
    "site_vehicle_mix",
]

CLASS_COLUMNS: tuple[str, ...] = tuple(f"Class{i}Volume" for i in range(1, 7))
DFT_COUNT_POINT = 58022
DFT_YEAR = 2017
DFT_FILE = "dft_aadf_greater_manchester/dft_aadf_by_direction_greater_manchester_2000_2017.csv"
_TFGM_DATE_FORMAT = "%d/%m/%y %H:%M:%S"


def read_tfgm_classes(path: str | Path) -> pd.DataFrame:
    """The class columns of a TfGM rawpvr export, one row per lane-hour.

    Columns: site, direction, lane, interval_start, volume, pml_hgv, class1 .. class6.
    Raises :class:`CountsError` naming the file and the missing columns or bad rows.
    """
    path = Path(path)
    if not path.is_file():
        raise CountsError(f"{path}: no such TfGM export; check the path")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = [str(c).strip() for c in raw.columns]
    needed = ["date", "Site ID", "LaneDescription", "DirectionDescription", "Volume", "PmlHGV",
              *CLASS_COLUMNS]  # fmt: skip
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise CountsError(
            f"{path}: no vehicle classes (missing column(s) {', '.join(missing)}); the mix "
            "needs a TfGM rawpvr export with Volume, PmlHGV and Class1Volume..Class6Volume"
        )
    out = pd.DataFrame(
        {
            "site": raw["Site ID"].str.strip().str.lstrip("0"),
            "direction": raw["DirectionDescription"].str.strip(),
            "lane": raw["LaneDescription"].str.strip(),
            "interval_start": pd.to_datetime(
                raw["date"].str.strip(), format=_TFGM_DATE_FORMAT, errors="coerce"
            ),
        }
    )
    numbers = {"volume": "Volume", "pml_hgv": "PmlHGV"} | {
        f"class{i}": c for i, c in enumerate(CLASS_COLUMNS, 1)
    }
    for name, col in numbers.items():
        out[name] = pd.to_numeric(raw[col].str.strip(), errors="coerce")
    bad = out.isna().any(axis=1)
    if bad.any():
        raise CountsError(
            f"{path}: {int(bad.sum())} row(s) with a bad date or class volume (first: line "
            f"{int(np.flatnonzero(bad.to_numpy())[0]) + 2}); fix or remove them"
        )
    return out


def hgv_definition_holds(classes: pd.DataFrame) -> bool:
    """True when PmlHGV = 1000 (class4 + class5) / volume on every counted row, rounded
    to the nearest integer (halves to even, as the export does)."""
    rows = classes[classes["volume"] > 0]
    pml = np.rint(1000 * (rows["class4"] + rows["class5"]) / rows["volume"])
    return bool((pml == rows["pml_hgv"]).all())


def dft_lgv_share(
    path: str | Path | None = None, count_point: int = DFT_COUNT_POINT, year: int = DFT_YEAR
) -> float:
    """LGVs / (cars and taxis + LGVs + two-wheelers) at a DfT count point, both directions."""
    path = Path(path) if path is not None else gm_data_dir() / DFT_FILE
    if not path.is_file():
        raise CountsError(f"{path}: DfT AADF table not found; set INTERGREEN_GM_DATA")
    table = pd.read_csv(path)
    rows = table[(table["count_point_id"] == count_point) & (table["year"] == year)]
    if rows.empty:
        raise CountsError(f"{path}: no count point {count_point} in {year}")
    light = rows[["cars_and_taxis", "lgvs", "two_wheeled_motor_vehicles"]].sum()
    return float(light["lgvs"] / light.sum())


def mix_from_classes(classes: pd.DataFrame, lgv_share: float) -> dict[str, float]:
    """Shares of car, van, hgv, bus (sum 1, rounded to 0.0001) of the summed class counts."""
    volume = float(classes["volume"].sum())
    if volume <= 0:
        raise CountsError("no vehicles counted in the chosen rows; cannot derive a mix")
    hgv = float((classes["class4"] + classes["class5"]).sum()) / volume
    bus = float(classes["class6"].sum()) / volume
    light = 1.0 - hgv - bus
    shares = {"car": light * (1 - lgv_share), "van": light * lgv_share, "hgv": hgv, "bus": bus}
    rounded = {k: round(v, 4) for k, v in shares.items()}
    rounded["car"] = round(1.0 - rounded["van"] - rounded["hgv"] - rounded["bus"], 4)
    return rounded


def _select(classes: pd.DataFrame, site: str | None, days: Collection[date] | None) -> pd.DataFrame:
    rows = classes
    if site is not None:
        rows = rows[rows["site"] == str(site).lstrip("0")]
        if rows.empty:
            raise CountsError(f"site {site} is not in the class counts")
    day = rows["interval_start"].dt.normalize()
    if days is not None:
        rows = rows[day.dt.date.isin(set(days))]
    else:
        rows = rows[day.dt.day_of_week.isin(WEEKDAYS)]
    return rows


def site_vehicle_mix(
    path: str | Path,
    site: str | None = None,
    days: Collection[date] | None = None,
    lgv_share: float | None = None,
    directions: Collection[tuple[str, str]] | None = None,
) -> dict[str, float]:
    """The vehicle mix (car, van, hgv, bus shares) of a TfGM export's class counts.

    ``days``: the calendar days to use (default: every weekday); ``directions``: the
    (site, direction) pairs to use (default: all); ``lgv_share``: vans among light
    vehicles (default: :func:`dft_lgv_share` at DfT point 58022, 2017).
    """
    rows = _select(read_tfgm_classes(path), site, days)
    if directions is not None:
        pairs = pd.Series(list(zip(rows["site"], rows["direction"], strict=True)), index=rows.index)
        rows = rows[pairs.isin(set(directions))]
    share = dft_lgv_share() if lgv_share is None else lgv_share
    return mix_from_classes(rows, share)


def mix_table(files: Sequence[Path], fit_days: Collection[date], lgv_share: float) -> pd.DataFrame:
    """Class totals and the mix per site and direction (and ``both``), weekdays and fit days."""
    rows = []
    for f in files:
        classes = read_tfgm_classes(f)
        for part, days in (("all_weekdays", None), ("fit_days", fit_days)):
            sel = _select(classes, None, days)
            groups = [(k, g) for k, g in sel.groupby(["site", "direction"])]
            groups += [((site, "both"), g) for site, g in sel.groupby("site")]
            for (site, direction), g in groups:
                mix = mix_from_classes(g, lgv_share)
                rows.append(
                    {
                        "site": site,
                        "direction": direction,
                        "days": part,
                        "n_days": int(g["interval_start"].dt.normalize().nunique()),
                        "vehicles": int(g["volume"].sum()),
                        **{f"class{i}": int(g[f"class{i}"].sum()) for i in range(1, 7)},
                        **{f"{k}_share": v for k, v in mix.items()},
                    }
                )
    return pd.DataFrame(rows)


MIX_CHOICES = "auto, measured, cars or shares such as car=0.8,van=0.1,hgv=0.08,bus=0.02"


def parse_vehicle_mix(text: str) -> dict[str, float] | str | None:
    """``--vehicle-mix``: ``auto`` / ``measured`` (returned as such), ``cars`` (None) or
    ``TYPE=SHARE,...`` (checked shares). Raises :class:`CalibrationError` otherwise."""
    word = text.strip().lower()
    if word in ("auto", "measured"):
        return word
    if word == "cars":
        return None
    shares: dict[str, float] = {}
    try:
        for item in text.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"{item.strip()!r} is not TYPE=SHARE")
            shares[key.strip()] = float(value)
        return check_vehicle_mix(shares)
    except ValueError as e:
        raise CalibrationError(f"--vehicle-mix {text!r}: {e}; use {MIX_CHOICES}") from None
