"""What ``intergreen simulate`` and ``evaluate`` show and write about episodes: tables with
units (traffic, per arm, emissions) and an episode's files (metrics.json / .csv, timeline).

A *row* is one episode's flat record (``EpisodeResult.row()``: the metrics of
:meth:`~intergreen.junctions.metrics.EpisodeMetrics.as_dict`, ``reward_<name>``, ...).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from intergreen.common import json_safe
from intergreen.junctions.metrics import ARM_FIELDS, unit_of
from intergreen.version import software_versions

__all__ = [
    "arm_cell",
    "arm_table",
    "arms_in",
    "emissions_table",
    "evaluation_arm_table",
    "fmt",
    "reward_sum_note",
    "traffic_table",
    "write_episode",
]

#: emission rows: (label, total key, total unit, per-vehicle-km key, its unit)
EMISSION_ROWS = (
    ("CO2", "co2_kg", "kg", "co2_g_per_vkm", "g/veh-km"),
    ("NOx", "nox_g", "g", "nox_mg_per_vkm", "mg/veh-km"),
    ("PM", "pmx_g", "g", "pmx_mg_per_vkm", "mg/veh-km"),
    ("fuel", "fuel_l", "l", "fuel_l_per_100vkm", "l/100 veh-km"),
)
_EMISSION_KEYS = {"vehicle_km"} | {k for r in EMISSION_ROWS for k in (r[1], r[3])}
_ROW_IDS = ("controller", "demand", "seed", "decisions", "wall_s")


def fmt(value: Any) -> str:
    """A number for a table: integers as they are, floats to 3 significant digits or 2
    decimals (whichever is longer), NaN as 'n/a'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "n/a"
    if value != 0 and abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:,.2f}"


def arm_cell(value: float | None) -> str:
    """A per-arm number for a table: "–" where nothing was measured (None, or NaN: an arm
    without approach lanes), else :func:`fmt`."""
    return "–" if value is None or not math.isfinite(value) else fmt(value)


def arms_in(row: Mapping[str, Any]) -> list[str]:
    """The arms a row has per-arm columns for, in column order."""
    prefix = "arm_vehicles_"
    return [k[len(prefix) :] for k in row if k.startswith(prefix)]


#: rows left out of the printed table of an episode in which no pedestrian walked
_PEDESTRIAN_KEYS = frozenset({"pedestrians", "ped_avg_waiting_time"})


def traffic_table(row: Mapping[str, Any]) -> Table:
    """metric | value | unit for the episode-wide metrics and reward sums (the pedestrian
    rows only when pedestrians walked: the files keep them)."""
    walked = bool(row.get("pedestrians"))
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, value in row.items():
        if key in _ROW_IDS or key.startswith("arm_") or key in _EMISSION_KEYS:
            continue
        if key in _PEDESTRIAN_KEYS and not walked:
            continue
        table.add_row(key, fmt(value), unit_of(key))
    return table


def plan_table(
    plans: Sequence[Mapping[str, Any]], until: float = math.inf, limit: int = 6
) -> Table | None:
    """A fixed-time controller's signal plans (``SignalPlan.as_dict()``) that ran before
    demand time ``until`` (s), one row per demand period: the cycle, its lost time (the
    intergreens over one cycle), the green of stages passed through (not shared out), Y (the
    sum of the stages' critical flow ratios; "–" for greens given, not planned) and each
    action stage's green; at most ``limit`` rows, a caption saying how many more. None
    without plans."""
    plans = [p for p in plans if p["begin"] < until]
    if not plans:
        return None
    stages = list(plans[0]["greens"])
    planned = any(p.get("flow_ratios") for p in plans)
    title = "fixed-time plan" + (" (Webster)" if planned else " (greens given)")
    table = Table(title=title, show_header=True, header_style="bold")
    for name in ("demand time (h:mm)", "cycle (s)", "lost time (s)", "passed-through green (s)",
                 "Y"):  # fmt: skip
        table.add_column(name, justify="left" if name.startswith("demand") else "right")
    for stage in stages:
        table.add_column(f"stage {stage} green (s)", justify="right")
    for plan in plans[:limit]:
        end = plan["end"]
        span = f"{_clock(plan['begin'])}-{_clock(end) if math.isfinite(end) else 'end'}"
        ratios = plan.get("flow_ratios") or {}
        y = f"{sum(ratios.values()):.3f}" if ratios else "–"
        table.add_row(
            span, f"{plan['cycle']:.1f}", f"{plan['lost_time']:.1f}",
            f"{plan['forced_green']:.1f}", y, *(f"{plan['greens'][s]:.1f}" for s in stages),
        )  # fmt: skip
    if len(plans) > limit:
        table.caption = f"and {len(plans) - limit} more periods (--output: signal_plans)"
    return table


def _clock(seconds: float) -> str:
    """Demand time as ``h:mm`` (``0:00``, ``1:30``)."""
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def arm_table(row: Mapping[str, Any]) -> Table | None:
    """One row per approach: vehicles, mean and 95th-percentile wait, mean queue and
    throughput (veh/h), "–" where nothing was measured (:func:`arm_cell`); None when the row
    has no per-arm columns."""
    arms = arms_in(row)
    if not arms:
        return None
    hours = float(row.get("simulated_s", 0.0)) / 3600
    table = Table(title="per arm (approach)", show_header=True, header_style="bold")
    table.add_column("arm")
    headers = {
        "vehicles": "vehicles (veh)",
        "wait": "mean wait (s/veh)",
        "wait95": "p95 wait (s)",
        "queue": "mean queue (veh)",
        "throughput": "throughput (veh/h)",
    }
    shown = [k for k in ARM_FIELDS if any(f"arm_{k}_{a}" in row for a in arms)]
    for k in shown:
        table.add_column(headers[k], justify="right")
    for a in arms:
        cells = []
        for k in shown:
            value = row.get(f"arm_{k}_{a}")
            if value is not None and k == "throughput":
                value = value / hours if hours > 0 else math.nan
            cells.append(arm_cell(value))
        table.add_row(a, *cells)
    return table


def emissions_table(row: Mapping[str, Any]) -> Table | None:
    """CO2, NOx, PM and fuel in total and per vehicle-km; None without emission columns."""
    if "vehicle_km" not in row:
        return None
    title = f"emissions (SUMO HBEFA), {fmt(row['vehicle_km'])} veh-km driven"
    table = Table(title=title, show_header=True, header_style="bold")
    for col in ("", "total", "unit", "per vehicle-km", "unit"):
        table.add_column(col, justify="right" if col in ("total", "per vehicle-km") else "left")
    for label, total, unit, per, per_unit in EMISSION_ROWS:
        table.add_row(label, fmt(row[total]), unit, fmt(row[per]), per_unit)
    return table


def evaluation_arm_table(results: pd.DataFrame) -> Table | None:
    """Mean wait per arm (s/veh), mean over episodes, per controller and demand, and the CO2
    per vehicle-km where recorded; None when the results have no per-arm columns."""
    arms = arms_in(dict.fromkeys(results.columns))
    if not arms:
        return None
    cols = [f"arm_wait_{a}" for a in arms] + ["wait_p95"]
    has_co2 = "co2_g_per_vkm" in results
    if has_co2:
        cols.append("co2_g_per_vkm")
    means = results.groupby(["controller", "demand"], sort=False)[cols].mean()
    table = Table(
        title="per arm: mean wait (s/veh); p95 wait (s)" + ("; CO2 (g/veh-km)" if has_co2 else ""),
        header_style="bold",
    )
    # folded, never cut with "…": two runs of one reward differ only at the end of their names
    table.add_column("controller", overflow="fold")
    table.add_column("demand", overflow="fold")
    for a in arms:
        table.add_column(f"arm {a}", justify="right")
    table.add_column("p95", justify="right")
    if has_co2:
        table.add_column("CO2", justify="right")
    for (controller, demand), values in means.iterrows():
        # Text, not markup: a reward's name may hold brackets (long_queues[faeb4e])
        table.add_row(Text(str(controller)), Text(str(demand)),
                      *[arm_cell(float(v)) for v in values])  # fmt: skip
    return table


def reward_legend(rewards: Sequence[str], specs: Sequence[Any]) -> str | None:
    """A line naming what each ``reward_NAME[HASH]`` column of ``rewards`` is: the reward as
    given (one of ``specs``, canonical JSON) whose label it carries; None where no column has
    parameters or none of ``specs`` gives one."""
    from intergreen.rewards.registry import canonical_reward, spec_label

    known = {f"reward_{spec_label(s)}": canonical_reward(s) for s in specs if s is not None}
    shown = [f"{c} = {json.dumps(known[c])}" for c in rewards if "[" in c and c in known]
    return "rewards with parameters: " + "; ".join(shown) if shown else None


def reward_sum_note(
    rewards: Sequence[str],
    decisions: Mapping[str, float | tuple[float, float, float]],
) -> str:
    """The note under a table or file of ``reward_<name>`` columns: each is an episode's
    reward summed over the controller's own decisions, whose number per episode differs
    between controllers (an agent deciding at every decision point makes more than vehicle
    actuation), so the sums compare only between controllers that make as many.
    ``decisions``: controller -> its decisions in the one episode, or (mean, lowest,
    highest) over several."""
    made = ", ".join(
        f"{c} {n:,.0f}" if not isinstance(n, tuple)
        else f"{c} {n[0]:,.0f}" + (f" ({n[1]:,.0f}-{n[2]:,.0f})" if n[1] != n[2] else "")
        for c, n in decisions.items()
    )  # fmt: skip
    spread = any(isinstance(n, tuple) and n[1] != n[2] for n in decisions.values())
    where = "per episode here, mean (lowest-highest)" if spread else "per episode here"
    return (
        f"note: {', '.join(rewards)}: each episode's reward summed over the controller's own "
        f"decisions (column decisions; {where}: {made}), so the sums are not "
        "comparable across controllers that decide at different rates; divide by decisions "
        "for a mean per decision"
    )


def write_episode(
    folder: Path,
    row: Mapping[str, Any],
    env_meta: Mapping[str, Any],
    timeline: tuple[Any, Any, Sequence[Any], str] | None = None,
    record: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write ``metrics.json`` (the row, the env's metadata, ``record``: more of what made the
    run, e.g. the controller's parameters, the units, and ``software``: the versions of SUMO
    and the packages the run used, intergreen.version.software_versions; NaN as null),
    ``metrics.csv`` (the row) and, given ``timeline`` = (trace, spec, links, title),
    ``timeline.png`` and ``timeline.json``. Returns the paths written."""
    folder = Path(folder)
    units = {k: unit_of(k) for k in row if unit_of(k)}
    doc = {**row, **(record or {}), "env": env_meta, "units": units,
           "software": software_versions()}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(json_safe(doc), indent=2, allow_nan=False))
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    written = [folder / "metrics.json", folder / "metrics.csv"]
    if timeline is not None:
        from intergreen.junctions.timeline import write_timeline

        trace, spec, links, title = timeline
        written += write_timeline(trace, spec, links, folder / "timeline.png", title)
    return written
