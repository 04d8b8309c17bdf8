"""The whole calibration: counts -> profile -> routeSampler routes -> simulation -> GEH report.

Everything is written into a temporary folder next to ``out`` and moved into ``out`` only
when it is complete, so a failure leaves ``out`` as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from intergreen.calibration.counts import CountsError, load_counts
from intergreen.calibration.demand_profiles import (
    CalibratedDemand,
    CalibrationError,
    calibrate_demand,
    profile_hours,
    save_profile,
)
from intergreen.calibration.geh import GehSummary, geh
from intergreen.calibration.routes import sample_routes
from intergreen.calibration.validate import (
    compare_counts,
    compare_edges,
    read_edgedata,
    simulate_actuated,
    summarise,
)
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import junction_folder, load_assumptions, user_demand_dir
from intergreen.junctions.spec import JunctionSpec

__all__ = ["CalibrationResult", "default_name", "run_calibration", "save_named_demand"]


@dataclass
class CalibrationResult:
    """What a calibration produced."""

    calibrated: CalibratedDemand
    summary: GehSummary
    comparison: pd.DataFrame
    edges: pd.DataFrame
    out: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.summary.passed


def default_name(profile: str) -> str:
    """The default demand name of a calibrated profile, e.g. ``calibrated_weekday``."""
    return "calibrated_" + re.sub(r"[^A-Za-z0-9_]+", "_", profile).strip("_")


def _check_name(spec: JunctionSpec, name: str, force: bool) -> Path:
    """The user-demand path for ``name``; refuses names a shipped demand would shadow."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise CalibrationError(f"--name {name!r}: use letters, digits, '_', '-' and '.'")
    levels = set(load_assumptions(spec).levels) if junction_folder(spec) else set()
    shipped = junction_folder(spec)
    if name in levels or (shipped is not None and (shipped / "demands" / f"{name}.yaml").is_file()):
        raise CalibrationError(
            f"--name {name!r} is a shipped demand of {spec.name} and would hide the calibrated "
            "one; choose another --name"
        )
    path = user_demand_dir() / spec.name / f"{name}.yaml"
    if path.exists() and not force:
        raise CalibrationError(
            f"demand {name!r} already exists ({path}); pass --force to replace it or choose "
            "another --name"
        )
    return path


def save_named_demand(spec: JunctionSpec, cal: CalibratedDemand, force: bool = False) -> Path:
    """Save the calibrated profile where ``resolve_demand`` finds it by name."""
    return save_profile(cal.profile, _check_name(spec, cal.profile.name, force))


def _move_into(tmp: Path, out: Path) -> None:
    """Move the finished files of ``tmp`` into ``out`` (replacing same-named entries)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    for entry in tmp.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    tmp.rmdir()


def _assumptions(spec: JunctionSpec, cal: CalibratedDemand, tfgm: bool) -> list[str]:
    from intergreen.calibration.report import ASSUMPTIONS

    if tfgm and spec.name == "gm_a56":
        return list(ASSUMPTIONS)
    uncounted = [a for a in spec.arms if a not in cal.observed.columns]
    out = [
        f"Turning proportions are the modelling assumptions of {spec.name}/demand.yaml; the "
        "counts give approach flows only."
    ]
    if uncounted:
        out.append(
            f"Arms {', '.join(uncounted)} are not counted: their flows follow the demand.yaml "
            "arm shares relative to the counted arms (assumption)."
        )
    return out


def run_calibration(
    junction: str | Path | JunctionSpec,
    counts: str,
    profile: str = "weekday",
    out: Path = Path("calib"),
    *,
    name: str | None = None,
    approach_map: Mapping[str, str] | None = None,
    site: str | None = None,
    scale: str | float = "auto",
    seed: int = 1,
    step_length: float | None = None,
    force: bool = False,
    save_demand: bool = True,
    log: Callable[[str], None] = lambda s: None,
) -> CalibrationResult:
    """Calibrate ``junction`` to ``counts`` and write the report, profile and routes to ``out``.

    With ``save_demand`` the name is checked first (free, or ``force``); saving it is
    :func:`save_named_demand`'s job, once the caller accepts the result.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    spec = resolve_junction(junction)
    profile_hours(profile)  # fail fast on a bad --profile
    name = name or default_name(profile)
    if save_demand:
        _check_name(spec, name, force)
    data = load_counts(counts, known_approaches=None)
    tfgm = str(counts).strip().lower().startswith("tfgm:")
    label = f"TfGM export {str(counts).split(':', 1)[1]}" if tfgm else f"counts {counts}"
    cal = calibrate_demand(spec, data, profile, name, approach_map, site, scale, label)
    timings["profile_s"] = time.perf_counter() - t0
    log(
        f"profile {name}: {len(cal.profile.periods)} hour(s) from {cal.first_hour:02d}:00, "
        f"scale {cal.scale:.4f}, "
        + ", ".join(f"{s} {d} -> {a}" for (s, d), a in cal.approach_map.items())
    )

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CalibrationError(f"--out {out}: exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        routes_dir = tmp / "routes"
        t = time.perf_counter()
        route_file, sampled = sample_routes(spec, cal.profile, routes_dir, seed=seed)
        timings["routes_s"] = time.perf_counter() - t
        log(f"routeSampler: {int(sampled['sampled'].sum())} vehicles ({timings['routes_s']:.1f} s)")

        t = time.perf_counter()
        metrics = simulate_actuated(
            spec, cal.profile, route_file, routes_dir / "edgedata.xml", seed, step_length,
            progress=lambda s: log(f"  simulated {s / 3600:.0f} h"),
        )  # fmt: skip
        timings["simulate_s"] = time.perf_counter() - t
        log(f"simulation: {metrics.throughput} vehicles through ({timings['simulate_s']:.1f} s)")

        edge_counts = read_edgedata(routes_dir / "edgedata.xml")
        (routes_dir / "edgedata.add.xml").unlink(missing_ok=True)  # names the temp folder
        comparison = compare_counts(cal, edge_counts)
        edges = compare_edges(spec, cal, edge_counts)
        summary = summarise(comparison)
        raw_geh = geh(comparison["modelled"] / cal.scale, comparison["counted"])
        raw_share = float((raw_geh < summary.threshold).mean())
        edges_share = float((edges["geh"] < summary.threshold).mean())

        from intergreen.calibration.flows import tra0307_weekday_profile
        from intergreen.calibration.report import write_calibration_report

        try:
            tra = tra0307_weekday_profile()
        except (CountsError, OSError):
            tra = None
        step = step_length or spec.timing.step_length
        notes = [
            "Count-to-arm mapping: "
            + "; ".join(f"site {s} {d} = traffic arriving on arm {a}" for (s, d), a in
                        cal.approach_map.items())
            + ".",
            f"Observed = weekday-mean counted flow x scale {cal.scale:.4f} (the calibration "
            "target); modelled = vehicles leaving the approach edge across the stop line in "
            "that hour (SUMO edgeData).",
            f"Against the unscaled counts (modelled / scale), {100 * raw_share:.0f}% of the "
            "counts have GEH < 5.",
            f"All approach and exit edges against the profile's own flows (assumed side roads "
            f"and turns included): {100 * edges_share:.0f}% of {len(edges)} edge-hours have "
            "GEH < 5.",
            f"Routes: SUMO routeSampler.py, seed {seed}, one candidate route per movement; "
            f"control: vehicle actuated (System D style, gap 1.5 s, max green 40 s); step "
            f"{step:g} s; SUMO seed {seed}; {metrics.teleports} teleports, backlog "
            f"{metrics.backlog} at the end.",
        ]  # fmt: skip
        report_cmp = comparison.copy()
        write_calibration_report(
            report_cmp,
            tmp,
            profile=tra,
            title=f"Calibration of {spec.name}: {name} ({profile})",
            assumptions=_assumptions(spec, cal, tfgm),
            notes=notes,
        )
        comparison.assign(geh=summary.table["geh"].to_numpy()).to_csv(
            tmp / "counts_comparison.csv", index=False
        )
        edges.to_csv(tmp / "edges_comparison.csv", index=False)
        sampled.to_csv(routes_dir / "route_counts.csv", index=False)
        save_profile(cal.profile, tmp / f"{name}.yaml")
        (tmp / "summary.json").write_text(
            json.dumps(
                {
                    "junction": spec.name,
                    "demand": name,
                    "profile": profile,
                    "counts": str(counts),
                    "scale": cal.scale,
                    "verdict": summary.verdict(),
                    "passed": summary.passed,
                    "share_geh_below_5": summary.share_below,
                    "share_geh_below_5_unscaled": raw_share,
                    "max_geh": float(summary.table["geh"].max()),
                    "seed": seed,
                    "step_length": step,
                    "metrics": metrics.as_dict(),
                    "timings_s": timings,
                },
                indent=2,
            )
            + "\n"
        )
        _move_into(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    timings["total_s"] = time.perf_counter() - t0
    result = CalibrationResult(cal, summary, comparison, edges, out, timings)
    return result
