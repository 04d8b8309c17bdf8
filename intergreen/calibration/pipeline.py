"""The whole calibration: counts -> profile -> routes -> simulation -> fit check and validation.

The counts are split by day (:mod:`~intergreen.calibration.holdout`): the fit days give
the demand (routeSampler sees only them); the held-out days validate it by the UK TAG
M3.1 criteria (:mod:`~intergreen.calibration.tag`). Everything is written into a
temporary folder next to ``out`` and moved into ``out`` only when it is complete, so a
failure leaves ``out`` as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from intergreen.calibration.counts import CountsError, load_counts
from intergreen.calibration.demand_profiles import (
    CalibratedDemand,
    CalibrationError,
    approach_map_text,
    arm_hourly_flows,
    calibrated_from_flows,
    mapped_flows,
    profile_hours,
    save_profile,
)
from intergreen.calibration.geh import GehSummary, geh
from intergreen.calibration.holdout import (
    CountsSplit,
    describe_days,
    split_counts,
    validation_caution,
)
from intergreen.calibration.tag import TagValidation
from intergreen.calibration.validate import ModelCheck, check_model
from intergreen.calibration.vehicle_mix import parse_vehicle_mix, site_vehicle_mix
from intergreen.common import temp_folder
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import (
    assumptions_file,
    junction_folder,
    load_assumptions,
    shipped_with_levels,
    user_demand_dir,
)
from intergreen.junctions.spec import JunctionSpec

__all__ = [
    "CalibrationResult",
    "check_calibratable",
    "default_name",
    "run_calibration",
    "save_named_demand",
]


@dataclass
class CalibrationResult:
    """What a calibration produced."""

    calibrated: CalibratedDemand
    summary: GehSummary
    """The fit check (in-sample)."""
    comparison: pd.DataFrame
    """The fit check's rows."""
    edges: pd.DataFrame
    out: Path
    timings: dict[str, float] = field(default_factory=dict)
    validation: TagValidation | None = None
    """TAG M3.1 criteria on held-out counts; None when no days were held out."""
    split: CountsSplit | None = None
    validation_caution: str = ""
    """One sentence when the out-of-sample validation is missing or thin
    (:func:`~intergreen.calibration.holdout.validation_caution`), else empty."""

    @property
    def passed(self) -> bool:
        """The fit check passed, and the validation too where there is one."""
        return self.summary.passed and (self.validation is None or self.validation.passed)


def default_name(profile: str) -> str:
    """The default demand name of a calibrated profile, e.g. ``calibrated_weekday``."""
    return "calibrated_" + re.sub(r"[^A-Za-z0-9_]+", "_", profile).strip("_")


def check_calibratable(spec: JunctionSpec) -> None:
    """CalibrationError unless ``spec`` has a demand.yaml: the calibration splits each counted
    arm's flow into its turning movements, and the uncounted arms' flows, by its arm shares and
    turning proportions. Only the shipped junctions have one (a YAML that ``extends:`` one uses
    its base's); a user's junction, e.g. one imported from a SUMO network, has none."""
    if assumptions_file(spec) is not None:
        return
    shipped = shipped_with_levels()
    raise CalibrationError(
        f"--junction: junction {spec.name} has no demand.yaml, whose arm shares and turning "
        "proportions calibrate needs to split the counted flows into movements (only the "
        f"shipped junctions {', '.join(shipped)} have one, and YAMLs with `extends:` one of "
        f"them); calibrate one of those, e.g. --junction {shipped[0]}"
    )


def _check_name(spec: JunctionSpec, name: str, force: bool) -> Path:
    """The user-demand path for ``name``; refuses names a shipped demand would shadow."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise CalibrationError(f"--name {name!r}: use letters, digits, '_', '-' and '.'")
    levels = set(load_assumptions(spec).level_names()) if junction_folder(spec) else set()
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


def _is_tfgm(counts: str) -> bool:
    return str(counts).strip().lower().startswith("tfgm:")


def _check_measured(choice: object, counts: str) -> None:
    """``--vehicle-mix measured`` needs a TfGM export: checked before the counts are read."""
    if choice == "measured" and not _is_tfgm(counts):
        raise CalibrationError(
            "--vehicle-mix measured needs a TfGM export with class counts "
            "(--counts tfgm:PATH); use cars or give shares, e.g. "
            "car=0.8,van=0.1,hgv=0.08,bus=0.02"
        )


def _vehicle_mix(
    option: str | Mapping[str, float] | None,
    counts: str,
    split: CountsSplit,
    mapping: Mapping[tuple[str, str], str],
) -> tuple[dict[str, float] | None, str, str]:
    """The profile's vehicle mix, a sentence on where it comes from, and the report's "still
    unvalidated" item for it (:func:`~intergreen.calibration.report.vehicle_mix_unvalidated`)."""
    from intergreen.calibration.report import vehicle_mix_unvalidated

    choice = parse_vehicle_mix(option) if isinstance(option, str) else option
    if choice in ("auto", "measured"):
        _check_measured(choice, counts)
        if not _is_tfgm(counts):
            why = "the counts have no vehicle classes"
            return None, f"Vehicles: cars only ({why}).", vehicle_mix_unvalidated(None, why)
        path = str(counts).strip()[len("tfgm:") :]
        try:
            mix = site_vehicle_mix(path, days=split.fit_days, directions=set(mapping))
        except CountsError:
            if choice == "measured":
                raise
            why = "the export has no class columns"
            return None, f"Vehicles: cars only ({why}).", vehicle_mix_unvalidated(None, why)
        text = ", ".join(f"{k} {100 * v:.2f}%" for k, v in mix.items())
        return (
            mix,
            f"Vehicle mix measured on the fit days' class counts: {text} (HGV = loop classes "
            "4+5, bus = class 6, light vehicles split into cars and vans by the LGV share at "
            "DfT count point 58022 on the A56; see data/PROVENANCE.md). Loop length classes "
            "likely count long vans as HGVs.",
            vehicle_mix_unvalidated(mix, "measured"),
        )
    if choice is None:
        why = "--vehicle-mix cars"
        return None, f"Vehicles: cars only ({why}).", vehicle_mix_unvalidated(None, why)
    mix = dict(choice)
    text = ", ".join(f"{k} {100 * v:.2f}%" for k, v in mix.items())
    return mix, f"Vehicle mix given (--vehicle-mix): {text}.", vehicle_mix_unvalidated(mix, "given")


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
    holdout: str = "auto",
    vehicle_mix: str | Mapping[str, float] | None = "auto",
    log: Callable[[str], None] = lambda s: None,
) -> CalibrationResult:
    """Calibrate ``junction`` to ``counts``: fit on some days, validate on the others.

    Writes the report, the profile, the routes and the comparisons to ``out``.
    ``holdout``: ``auto`` (first half of the counted days fit, second half validate),
    ``none`` or the first held-out date (see :func:`~intergreen.calibration.holdout.
    split_counts`). ``vehicle_mix``: ``auto`` (measured from a TfGM export's class
    counts, else cars only), ``measured``, ``cars``, ``TYPE=SHARE,...`` or a mapping.
    With ``save_demand`` the name is checked first (free, or ``force``); saving it is
    :func:`save_named_demand`'s job, once the caller accepts the result.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    spec = resolve_junction(junction)
    check_calibratable(spec)  # before the counts are read
    profile_hours(profile)  # fail fast on a bad --profile
    if isinstance(vehicle_mix, str):  # and on a bad --vehicle-mix
        _check_measured(parse_vehicle_mix(vehicle_mix), counts)
    name = name or default_name(profile)
    data = load_counts(counts, known_approaches=None)  # a bad file first, then a taken name
    if save_demand:
        _check_name(spec, name, force)
    split = split_counts(data, holdout)
    tfgm = _is_tfgm(counts)
    source = str(counts).strip()[len("tfgm:") :] if tfgm else str(counts)
    label = f"TfGM export {source}" if tfgm else f"counts {counts}"
    label += f" ({split.describe()})"
    observed, mapping = arm_hourly_flows(spec, split.fit, approach_map, site, source)
    _check_counted(observed, profile, source)
    mix, mix_note, mix_unvalidated = _vehicle_mix(vehicle_mix, counts, split, mapping)
    cal = calibrated_from_flows(spec, observed, mapping, profile, name, scale, label, mix, mix_note)
    held = None if split.held_out is None else mapped_flows(split.held_out, mapping, source)
    timings["profile_s"] = time.perf_counter() - t0
    log(
        f"profile {name}: {len(cal.profile.periods)} hour(s) from {cal.first_hour:02d}:00, "
        f"scale {cal.scale:.4f}, "
        + ", ".join(f"{s} {d} -> {a}" for (s, d), a in cal.approach_map.items())
        + f"; {split.describe()}"
    )

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CalibrationError(f"--out {out}: exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(out.parent, f".{out.name}.tmp-")
    try:
        t = time.perf_counter()
        check = check_model(
            spec, cal, tmp / "routes", held, seed, step_length,
            progress=lambda s: log(f"  simulated {s / 3600:.0f} h"),
        )  # fmt: skip
        timings["check_s"] = time.perf_counter() - t
        log(
            f"routeSampler: {int(check.sampled['sampled'].sum())} vehicles; simulation: "
            f"{check.metrics.throughput} vehicles through ({timings['check_s']:.1f} s)"
        )
        caution = validation_caution(split, holdout, check.validation is not None)
        _write_outputs(tmp, spec, cal, check, split, counts, profile, name, seed,
                       step_length or spec.timing.step_length, mix_note, mix_unvalidated,
                       caution, tfgm, timings)  # fmt: skip
        _move_into(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    timings["total_s"] = time.perf_counter() - t0
    return CalibrationResult(
        cal, check.fit, check.fit_table, check.edges, out, timings, check.validation, split,
        caution,
    )  # fmt: skip


def _check_counted(observed: pd.DataFrame, profile: str, source: str) -> None:
    """Refuse counts that hold no vehicle in the profile's hours (``observed``: veh/h per
    hour and arm, from :func:`arm_hourly_flows`): a demand of nothing passes every GEH check
    (0 against 0) and would be saved. Raises CalibrationError naming the file and hours."""
    first, last = profile_hours(profile)
    hours = observed[(observed.index >= first) & (observed.index < last)]
    if len(hours) and float(hours.to_numpy(dtype=float, na_value=0.0).sum()) <= 0:
        raise CalibrationError(
            f"{source}: every count of the fitted days is 0 in the profile's hours "
            f"({first:02d}:00-{last:02d}:00): no demand to calibrate; check the export (a "
            "detector outage reads as zeros) or choose other hours with --profile"
        )


def _scaled_label(cal: CalibratedDemand) -> str:
    return "count" if cal.scale == 1 else f"count x {cal.scale:.4f} (scaled)"


def _write_outputs(
    tmp: Path,
    spec: JunctionSpec,
    cal: CalibratedDemand,
    check: ModelCheck,
    split: CountsSplit,
    counts: str,
    profile: str,
    name: str,
    seed: int,
    step: float,
    mix_note: str,
    mix_unvalidated: str,
    caution: str,
    tfgm: bool,
    timings: Mapping[str, float],
) -> None:
    """The report, the comparison tables, the profile and summary.json, into ``tmp``.

    ``mix_unvalidated``: the "still unvalidated" item of the vehicle mix used; ``caution``:
    why the out-of-sample validation is missing or thin (empty when it is neither)."""
    from intergreen.calibration.flows import tra0307_weekday_profile
    from intergreen.calibration.report import (
        UNVALIDATED_MODEL,
        approach_map_unvalidated,
        write_calibration_report,
    )

    fit = check.fit
    raw_geh = geh(check.fit_table["modelled"] / cal.scale, check.fit_table["counted"])
    raw_share = float((raw_geh < fit.threshold).mean())
    edges_share = float((check.edges["geh"] < fit.threshold).mean())
    try:
        tra = tra0307_weekday_profile()
    except (CountsError, OSError):
        tra = None
    scaled = _scaled_label(cal)
    m = check.metrics
    notes = [
        "Count-to-arm mapping: "
        + "; ".join(f"site {s} {d} = traffic arriving on arm {a}" for (s, d), a in
                    cal.approach_map.items())
        + ".",
        f"Days: {split.describe()} (weekdays; see intergreen.calibration.holdout).",
        f"Fit check: {scaled} = the fit days' weekday-mean counted flow x {cal.scale:.4f} "
        "(the routeSampler target); modelled = vehicles leaving the approach edge across the "
        "stop line in that hour (SUMO edgeData).",
        f"Fit check against the unscaled counts (modelled / scale): {100 * raw_share:.0f}% of "
        "the counts have GEH < 5.",
        f"All approach and exit edges against the profile's own flows (assumed side roads "
        f"and turns included): {100 * edges_share:.0f}% of {len(check.edges)} edge-hours have "
        "GEH < 5.",
        mix_note,
        f"Routes: SUMO routeSampler.py, seed {seed}, one candidate route per movement; "
        f"control: vehicle actuated (System D style, gap 1.5 s, max green 40 s); step "
        f"{step:g} s; SUMO seed {seed}; {m.teleports} teleports, backlog "
        f"{m.backlog} at the end.",
    ]  # fmt: skip
    if check.validation is not None:
        validation_note = (
            f"Held-out counts: the weekday mean of {describe_days(split.held_out_days)}, which "
            "routeSampler never saw; the model's stop-line flows are divided by the scale "
            f"({cal.scale:.4f}) to compare them at the counted magnitude."
        )
    elif split.held_out is not None:
        validation_note = "The held-out days hold no count in the profile's hours."
    else:
        validation_note = "Nothing was held out: the model is not validated."
    if caution:
        validation_note += f" Warning: {caution}."
    report_cmp = check.fit_table.copy()
    unvalidated = [
        approach_map_unvalidated(approach_map_text(cal.approach_map)),
        *UNVALIDATED_MODEL,
        mix_unvalidated,
    ]
    write_calibration_report(
        report_cmp,
        tmp,
        profile=tra,
        title=f"Calibration of {spec.name}: {name} ({profile})",
        assumptions=_assumptions(spec, cal, tfgm),
        notes=notes,
        observed_label=scaled,
        validation=check.validation,
        validation_note=validation_note,
        scale_note=cal.scale_note,
        unvalidated=unvalidated,
    )
    check.fit_table.rename(columns={"observed": "scaled_count"}).assign(
        geh=fit.table["geh"].to_numpy()
    ).to_csv(tmp / "fit_check.csv", index=False)
    if check.validation is not None:
        check.validation.table.to_csv(tmp / "validation.csv", index=False)
    check.edges.to_csv(tmp / "edges_comparison.csv", index=False)
    check.sampled.to_csv(tmp / "routes" / "route_counts.csv", index=False)
    save_profile(cal.profile, tmp / f"{name}.yaml")
    v = check.validation
    (tmp / "summary.json").write_text(
        json.dumps(
            {
                "junction": spec.name,
                "demand": name,
                "profile": profile,
                "counts": str(counts),
                "fit_days": [f"{d:%Y-%m-%d}" for d in split.fit_days],
                "held_out_days": [f"{d:%Y-%m-%d}" for d in split.held_out_days],
                "scale": cal.scale,
                "scale_note": cal.scale_note,
                "unvalidated": unvalidated,
                "vehicle_mix": cal.profile.vehicle_mix,
                "fit_check": {
                    "verdict": fit.verdict(),
                    "passed": fit.passed,
                    "share_geh_below_5": fit.share_below,
                    "share_geh_below_5_unscaled": raw_share,
                    "max_geh": float(fit.table["geh"].max()),
                },
                "validation": None if v is None else {
                    "verdict": v.verdict(),
                    "passed": v.passed,
                    "n_counts": v.flow.n_counts,
                    "flow_criterion": {"met": v.flow.n_met, "share": v.flow.share,
                                       "passed": v.flow.passed},
                    "geh_below_5": {"met": v.geh.n_met, "share": v.geh.share,
                                    "passed": v.geh.passed},
                    "max_geh": float(v.table["geh"].max()),
                    "criteria": "DfT TAG unit M3.1, section 3.3",
                },
                "passed": fit.passed and (v is None or v.passed),
                "validation_caution": caution or None,
                "seed": seed,
                "step_length": step,
                "metrics": m.as_dict(),
                "timings_s": dict(timings),
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
