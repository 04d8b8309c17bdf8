"""``intergreen calibrate``: fit a junction's demand to counts, check it, validate it.

Mounted by :func:`register` from ``intergreen.cli``. The counts are split by day: the
fit days give the demand, the held-out days validate it by the UK TAG M3.1 flow and GEH
criteria (printed PASS/FAIL per criterion). User errors (bad counts, options, a missing
SUMO tool) are ``IntergreenError``s and become one line, exit 2. A
calibration that fails its fit check or its validation writes its report, saves no
demand and exits 1 after listing the worst mismatches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["calibrate_command", "register"]


def calibrate_command(
    counts: Annotated[
        str,
        typer.Option(help="Counts: tfgm:PATH (TfGM rawpvr export) or PATH (long-format CSV)"),
    ],
    junction: Annotated[str, typer.Option(help="Shipped junction name or YAML")] = "gm_a56",
    profile: Annotated[
        str, typer.Option(help="weekday | am_peak | pm_peak, or clock hours H1-H2 (e.g. 7-10)")
    ] = "weekday",
    out: Annotated[Path, typer.Option(help="Folder for the report, profile and routes")] = Path(
        "calib"
    ),
    name: Annotated[
        str | None, typer.Option(help="Demand name to save (default: calibrated_<profile>)")
    ] = None,
    approach_map: Annotated[
        str | None,
        typer.Option(help="Count direction to arm, e.g. NorthEast=S,SouthWest=N"),
    ] = None,
    site: Annotated[str | None, typer.Option(help="Use only this count site")] = None,
    scale: Annotated[
        str,
        typer.Option(
            help="Flow scale: a number, or auto (scaled down so that the busiest hour is at most "
            "the highest level; never scaled up)"
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option(min=0, help="routeSampler and SUMO seed")] = 1,
    step_length: Annotated[
        float | None, typer.Option(min=0.1, max=5, help="Simulation step (s; default junction's)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a saved demand of the same name")] = False,
    holdout: Annotated[
        str,
        typer.Option(
            help="Days held out for the validation: auto (second half of the counted days), "
            "none, or the first held-out date YYYY-MM-DD"
        ),
    ] = "auto",
    vehicle_mix: Annotated[
        str,
        typer.Option(
            help="auto (measured from a TfGM export's classes, else cars), measured, cars, "
            "or shares car=..,van=..,hgv=..,bus=.."
        ),
    ] = "auto",
) -> None:
    """Calibrate a junction's demand to traffic counts, validate it on held-out days, and
    save it as a named demand when both pass."""
    from rich.console import Console

    from intergreen.calibration.demand_profiles import approach_map_text, parse_approach_map
    from intergreen.calibration.holdout import describe_days
    from intergreen.calibration.pipeline import run_calibration, save_named_demand
    from intergreen.calibration.report import SHARED_ERRORS
    from intergreen.junctions.catalog import resolve_junction

    console = Console(soft_wrap=True, highlight=False, markup=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)
    spec = resolve_junction(junction)
    result = run_calibration(
        spec,
        counts,
        profile,
        out,
        name=name,
        approach_map=parse_approach_map(approach_map),
        site=site,
        scale=scale,
        seed=seed,
        step_length=step_length,
        force=force,
        holdout=holdout,
        vehicle_mix=vehicle_mix,
        log=lambda s: err.print(s),
    )
    s = result.summary
    console.print(f"fit check (in-sample): {s.verdict()}; max GEH {s.table['geh'].max():.2f}")
    v = result.validation
    if v is None:
        console.print("validation on held-out counts: none (no days held out)")
    else:
        held = describe_days(result.split.held_out_days) if result.split else "held-out days"
        console.print(f"validation on held-out counts ({held}; TAG M3.1): {v.verdict()}")
        for c in v.criteria:
            console.print(f"  {c.verdict()}")
        used = approach_map_text(result.calibrated.approach_map)
        console.print(
            f"  not validated: the approach map ({used}); the held-out counts go through it too"
        )
        console.print(f"  not validated: {SHARED_ERRORS[0].lower()}{SHARED_ERRORS[1:]}")
    if result.validation_caution:
        err.print(f"warning: {result.validation_caution}")
    console.print(f"report: {out / 'report.md'}")
    console.print(f"calibration took {result.timings['total_s']:.1f} s")
    failed = []
    if not s.passed:
        worst = "; ".join(
            f"{r.direction} ({r.arm}) {int(r.hour):02d}h: scaled count {r.observed:.0f}, "
            f"modelled {r.modelled:.0f}, GEH {r.geh:.1f}"
            for r in s.worst.itertuples()
        )
        failed.append(f"the fit check failed; worst: {worst}")
    if v is not None and not v.passed:
        worst = "; ".join(
            f"{r.direction} ({r.arm}) {int(r.hour):02d}h: held-out count {r.held_out:.0f}, "
            f"modelled/scale {r.modelled_unscaled:.0f}, GEH {r.geh:.1f}"
            for r in v.worst(5).itertuples()
        )
        failed.append(f"the validation failed; worst: {worst}")
    if failed:
        for line in failed:
            err.print(f"calibration: {line}")
        err.print("no demand saved; see the report")
        raise typer.Exit(1)
    path = save_named_demand(spec, result.calibrated, force=force)
    demand = result.calibrated.profile.name
    console.print(f"saved demand {demand!r} to {path}")
    console.print(f"use it: intergreen simulate --junction {spec.name} --demand {demand}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the ``intergreen`` command."""
    app.command("calibrate")(calibrate_command)
