"""Calibration report: fit check and validation of modelled hourly flows, Markdown and PNGs.

The fit check's input is one row per count: ``site, direction, hour, observed, modelled``
(hourly flows, veh/h; an optional ``lane`` column splits counts further). ``observed`` is
whatever the model was fitted to; when that is a scaled count, pass ``observed_label``
(e.g. ``count x 0.5686 (scaled)``) and every table and plot shows that name instead.
The validation (optional) is a :class:`~intergreen.calibration.tag.TagValidation` on
held-out counts. The report holds the verdicts (fit check; each TAG M3.1 criterion of the
validation, or why there is none), the scale and why, what is still unvalidated, the
assumptions, the worst mismatches and the plots: observed vs modelled with the 1:1 line,
GEH per count with the GEH = 5 line, the hourly profile (observed, modelled and, when
given, the DfT TRA0307 profile scaled to the observed total) and, with a validation,
held-out counts vs modelled flows with TAG's flow tolerance.

Everything is rendered into a temporary folder first and moved into the output folder
only when all files are complete, so a failure leaves no half-written report. Plots use
matplotlib's Agg canvas directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from intergreen.calibration.flows import HourlyProfile
from intergreen.calibration.geh import GEH_TARGET_SHARE, GEH_THRESHOLD, GehSummary, geh_summary
from intergreen.calibration.tag import TAG_SOURCE, TagValidation
from intergreen.common import temp_folder

__all__ = [
    "ASSUMPTIONS",
    "REPORT_COLUMNS",
    "REPORT_FILES",
    "MEASURED_MIX_UNVALIDATED",
    "UNVALIDATED",
    "UNVALIDATED_MODEL",
    "approach_map_unvalidated",
    "vehicle_mix_unvalidated",
    "VALIDATION_PLOT",
    "plot_geh",
    "plot_profiles",
    "plot_scatter",
    "plot_validation",
    "write_calibration_report",
]

REPORT_COLUMNS: tuple[str, ...] = ("site", "direction", "hour", "observed", "modelled")
REPORT_FILES: tuple[str, ...] = (
    "report.md",
    "observed_vs_modelled.png",
    "geh_per_count.png",
    "hourly_profile.png",
)
VALIDATION_PLOT = "validation_vs_held_out.png"
#: What no hold-out can catch (a traffic engineer's trial: another site's counts and a
#: whole file doubled passed the validation).
SHARED_ERRORS = (
    "Errors the fitted and held-out days share: counts of another site with the same "
    "directions, or every count off by one factor (with --scale auto the fit absorbs it): "
    "the hold-out compares days of one source, so it passes them."
)
UNVALIDATED_MODEL: tuple[str, ...] = (
    "Turning proportions: no turning-movement counts exist for the junction; the "
    "demand.yaml shares are assumptions.",
    "Side-road flows: no counts; they follow the demand.yaml arm shares of the counted "
    "main-road flows.",
    "Saturation flows: the simulated stop-line discharge (SUMO's car-following on the "
    "junction's lanes) is not compared with measured saturation flows.",
    "Queues: no queue-length observations; modelled queues are not validated.",
    "Journey times: no journey-time observations; modelled delays and travel times are not "
    "validated.",
    SHARED_ERRORS,
)
"""What neither the fit check nor the validation covers, but for the vehicle mix
(:func:`vehicle_mix_unvalidated`); the report lists it."""
MEASURED_MIX_UNVALIDATED = (
    "The vehicle mix: taken from loop length classes (see data/PROVENANCE.md), not "
    "compared with classified counts of other days or a manual count of the junction."
)
UNVALIDATED: tuple[str, ...] = (*UNVALIDATED_MODEL, MEASURED_MIX_UNVALIDATED)
"""What neither the fit check nor the validation covers, with a vehicle mix measured from
loop classes (the shipped profiles'); the report lists it."""


def vehicle_mix_unvalidated(mix: Mapping[str, float] | None, origin: str) -> str:
    """The "still unvalidated" item of the vehicle mix a run used: ``origin`` ``measured``
    (from loop length classes), ``given`` (``--vehicle-mix`` shares, ``mix``) or why it is
    cars only (``mix`` None), e.g. ``the counts have no vehicle classes``."""
    if origin == "measured":
        return MEASURED_MIX_UNVALIDATED
    if mix is not None and origin == "given":
        shares = ", ".join(f"{k} {100 * v:.2f}%" for k, v in mix.items())
        return (
            f"The vehicle mix: as given by --vehicle-mix ({shares}), not compared with "
            "classified counts of the site or a manual count of the junction."
        )
    return (
        f"The vehicle mix: every vehicle is a passenger car ({origin}); the share of vans, HGVs "
        "and buses is not compared with classified counts of the site or a manual count of "
        "the junction."
    )


def approach_map_unvalidated(map_text: str) -> str:
    """The "still unvalidated" item of the approach map used (``map_text``: which counted
    direction arrives on which arm, as :func:`~intergreen.calibration.demand_profiles.
    approach_map_text` writes it): the held-out counts go through the same map, so no
    count-based check can tell a wrong map."""
    return (
        f"The approach map ({map_text}): the held-out counts are put on the arms by the same "
        "map, so a wrong map (the directions swapped, say) passes the fit check and the "
        "validation as well; check it against the count site's position and directions of "
        "travel."
    )


ASSUMPTIONS: tuple[str, ...] = (
    "Turning proportions at the junction are modelling assumptions: no public "
    "turning-movement counts exist for any Greater Manchester junction.",
    "Side-road (east-west) flows are modelling assumptions for the same reason; only the "
    "main road is calibrated against counts (TfGM loop counts on the A56 Chester Road, "
    "February 2018 weekday hourly means).",
    "The study junction's location was withheld, so the main-road counts come from nearby "
    "loop sites on the same corridor, not from the junction itself.",
)


def _count_label(row: pd.Series) -> str:
    lane = f" {row['lane']}" if "lane" in row.index and str(row["lane"]) not in ("", "all") else ""
    return f"{row['site']} {row['direction']}{lane} {int(row['hour']):02d}h"


def _validate(comparison: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REPORT_COLUMNS if c not in comparison.columns]
    if missing:
        raise ValueError(
            f"calibration report needs column(s) {missing}; give one row per count with "
            f"{', '.join(REPORT_COLUMNS)} (hourly flows in veh/h)"
        )
    if comparison.empty:
        raise ValueError("calibration report needs at least one count")
    df = comparison.copy()
    for col in ("observed", "modelled"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ValueError(f"column {col!r} must hold flows >= 0 (veh/h) on every row")
        df[col] = values.astype(float)
    hours = pd.to_numeric(df["hour"], errors="coerce")
    if hours.isna().any() or not hours.between(0, 23).all() or (hours != hours.round()).any():
        raise ValueError("column 'hour' must hold whole hours 0..23")
    df["hour"] = hours.astype(int)
    df["site"] = df["site"].astype(str)
    df["direction"] = df["direction"].astype(str)
    keys = [c for c in ("site", "direction", "lane", "hour") if c in df.columns]
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(
            f"{int(dup.sum())} rows repeat the same {'/'.join(keys)}; give one row per count"
        )
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _groups(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    keys = [c for c in ("site", "direction", "lane") if c in df.columns]
    out = []
    for key, g in df.groupby(keys, sort=False):
        parts = key if isinstance(key, tuple) else (key,)
        out.append((" ".join(str(p) for p in parts if str(p) not in ("", "all")), g))
    return out


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)


def plot_scatter(summary: GehSummary, path: Path, observed_label: str = "observed") -> None:
    """Observed vs modelled flows with the 1:1 line and the GEH = threshold envelope."""
    t = summary.table
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.add_subplot()
    top = max(float(t["observed"].max()), float(t["modelled"].max()), 1.0) * 1.05
    c = np.linspace(0, top, 200)
    g2 = summary.threshold**2
    # modelled flow with GEH exactly = threshold: 2 d^2 = g^2 (2c + d), d = m - c
    upper = c + (g2 + np.sqrt(g2**2 + 16 * g2 * c)) / 4
    lower = np.maximum(c + (g2 - np.sqrt(g2**2 + 16 * g2 * c)) / 4, 0)
    ax.fill_between(
        c, lower, upper, color="tab:green", alpha=0.12, label=f"GEH < {summary.threshold:g}"
    )
    ax.plot([0, top], [0, top], color="black", lw=1, label="1:1")
    ok = t["geh"] < summary.threshold
    ax.scatter(t.loc[ok, "observed"], t.loc[ok, "modelled"], s=18, color="tab:blue", label="count")
    ax.scatter(
        t.loc[~ok, "observed"],
        t.loc[~ok, "modelled"],
        s=22,
        color="tab:red",
        marker="x",
        label=f"GEH >= {summary.threshold:g}",
    )
    ax.set(
        xlim=(0, top),
        ylim=(0, top),
        xlabel=f"{observed_label} (veh/h)",
        ylabel="modelled (veh/h)",
        title=f"Fit check: {observed_label} vs modelled",
        aspect="equal",
    )
    ax.legend(loc="upper left")
    _save(fig, path)


def plot_geh(summary: GehSummary, path: Path) -> None:
    """GEH per count as bars, with the threshold line."""
    t = summary.table
    n = len(t)
    fig = Figure(figsize=(max(6.0, min(0.18 * n + 2, 24.0)), 4), layout="constrained")
    ax = fig.add_subplot()
    colours = np.where(t["geh"] < summary.threshold, "tab:blue", "tab:red")
    ax.bar(np.arange(n), t["geh"], color=colours, width=0.8)
    ax.axhline(
        summary.threshold, color="black", ls="--", lw=1, label=f"GEH = {summary.threshold:g}"
    )
    step = max(1, math.ceil(n / 48))
    ticks = np.arange(0, n, step)
    ax.set_xticks(ticks, [_count_label(t.iloc[i]) for i in ticks], rotation=90, fontsize=7)
    ax.set(ylabel="GEH", title=f"Fit check, GEH per count: {summary.verdict()}",
           xlim=(-0.6, n - 0.4))  # fmt: skip
    ax.title.set_fontsize(9)
    ax.legend(loc="upper right")
    _save(fig, path)


def plot_profiles(
    df: pd.DataFrame,
    path: Path,
    profile: HourlyProfile | None = None,
    observed_label: str = "observed",
) -> None:
    """Hourly observed and modelled flow per count group, with the scaled profile."""
    groups = _groups(df)
    ncols = min(2, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = Figure(figsize=(6 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, g) in zip(axes, groups, strict=False):
        ax.plot(g["hour"], g["observed"], marker="o", ms=3, color="black", label=observed_label)
        ax.plot(g["hour"], g["modelled"], marker="s", ms=3, color="tab:blue", label="modelled")
        if profile is not None:
            scaled = profile.scaled_to(float(g["observed"].sum()), hours=g["hour"])
            ax.plot(
                g["hour"],
                scaled,
                ls="--",
                color="tab:orange",
                label=f"TRA0307 scaled to the {observed_label} total "
                f"({g['observed'].sum():,.0f} veh)",
            )
        ax.set(title=name, xlabel="hour of day", ylabel="veh/h", xlim=(-0.5, 23.5))
        ax.set_xticks(range(0, 24, 3))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    _save(fig, path)


def plot_validation(validation: TagValidation, path: Path) -> None:
    """Held-out counts vs modelled flows (unscaled), TAG's flow tolerance band and 1:1."""
    t = validation.table
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.add_subplot()
    top = max(float(t["held_out"].max()), float(t["modelled_unscaled"].max()), 1.0) * 1.05
    c = np.linspace(0, top, 400)
    tol = np.where(c < 700, 100.0, np.where(c <= 2700, 0.15 * c, 400.0))
    ax.fill_between(c, np.maximum(c - tol, 0), c + tol, color="tab:green", alpha=0.12,
                    label="TAG flow criterion")  # fmt: skip
    ax.plot([0, top], [0, top], color="black", lw=1, label="1:1")
    ok = t["flow_ok"] & t["geh_ok"]
    ax.scatter(t.loc[ok, "held_out"], t.loc[ok, "modelled_unscaled"], s=18, color="tab:blue",
               label="meets both criteria")  # fmt: skip
    ax.scatter(t.loc[~ok, "held_out"], t.loc[~ok, "modelled_unscaled"], s=22, color="tab:red",
               marker="x", label="fails flow or GEH")  # fmt: skip
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="held-out count (veh/h, as counted)",
           ylabel="modelled / scale (veh/h)", aspect="equal",
           title=f"Validation on held-out counts: {validation.verdict()}")  # fmt: skip
    ax.title.set_fontsize(9)
    ax.legend(loc="upper left")
    _save(fig, path)


def _md_table(df: pd.DataFrame) -> str:
    """A Markdown table; flows to 0.1 veh/h, GEH to 0.01."""

    def cell(col: str, v: object) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:.2f}" if "geh" in col else f"{v:.1f}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = (
        "|"
        + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns)
        + "|"
    )
    body = [
        "| " + " | ".join(cell(c, v) for c, v in zip(df.columns, row, strict=True)) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _verdicts(
    summary: GehSummary,
    validation: TagValidation | None,
    observed_label: str,
    validation_note: str,
) -> list[str]:
    lines = [
        "## Verdicts",
        "",
        f"- **Fit check (in-sample): {summary.verdict()}.** GEH < {summary.threshold:g} for "
        f"at least {100 * summary.target_share:g}% of the counts, against the {observed_label} "
        "that routeSampler was given. It shows that the routes and the signal control deliver "
        "the demand; it cannot show that the demand is right (any demand reproduces itself).",
    ]
    if validation is None:
        lines.append(
            f"- **Validation on held-out counts: none.** {validation_note or 'No held-out counts.'}"
        )
    else:
        lines += [
            f"- **Validation on held-out counts: {validation.verdict()}** ({TAG_SOURCE}; each "
            "criterion for at least 85% of the counts).",
            "",
            "| criterion | counts meeting it | share | target | verdict |",
            "|---|---:|---:|---:|---|",
            *[
                f"| {c.name} | {c.n_met} of {c.n_counts} | {100 * c.share:.1f}% | >= "
                f"{100 * c.target_share:g}% | {'PASS' if c.passed else 'FAIL'} |"
                for c in validation.criteria
            ],
            "",
            "Flow criterion: within 100 veh/h of counts below 700 veh/h, within 15% from 700 to "
            "2,700 veh/h, within 400 veh/h above. " + validation_note,
        ]
    return lines


def _markdown(
    df: pd.DataFrame,
    summary: GehSummary,
    title: str,
    profile: HourlyProfile | None,
    assumptions: Sequence[str],
    notes: Sequence[str],
    observed_label: str,
    validation: TagValidation | None,
    validation_note: str,
    unvalidated: Sequence[str],
    scale_note: str,
) -> str:
    t = summary.table
    keys = [c for c in ("site", "direction", "lane") if c in t.columns]
    per_group = (
        t.assign(below=t["geh"] < summary.threshold)
        .groupby(keys, sort=False)
        .agg(
            counts=("geh", "size"),
            share_geh_below=("below", "mean"),
            observed_veh=("observed", "sum"),
            modelled_veh=("modelled", "sum"),
            max_geh=("geh", "max"),
        )
        .reset_index()
    )
    per_group["share_geh_below"] = (100 * per_group["share_geh_below"]).map("{:.0f}%".format)
    shown = observed_label
    per_group = per_group.rename(columns={"observed_veh": f"{shown} (veh)"})
    cols = [*keys, "hour", "observed", "modelled", "diff", "geh"]
    rename = {"observed": shown}
    worst = summary.worst[cols].rename(columns=rename)
    lines = [
        f"# {title}",
        "",
        f"Written {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        *_verdicts(summary, validation, observed_label, validation_note),
        "",
    ]
    if scale_note:
        lines += ["## Scale", "", scale_note, ""]
    lines += [
        "## Still unvalidated",
        "",
        *[f"- {u}" for u in unvalidated],
        "",
        "## Assumptions",
        "",
        *[f"- {a}" for a in assumptions],
        *[f"- {n}" for n in notes],
        "",
    ]
    if validation is not None:
        v = validation.table
        vcols = [c for c in ("site", "direction", "arm", "hour", "held_out", "modelled",
                             "modelled_unscaled", "diff", "tolerance", "flow_ok", "geh", "geh_ok")
                 if c in v.columns]  # fmt: skip
        lines += [
            "## Validation on held-out counts",
            "",
            "`held_out`: the held-out days' mean as counted (veh/h); `modelled`: the stop-line "
            "flow (veh/h, at the model's scale); `modelled_unscaled`: modelled / scale, the "
            "flow the validation compares (TAG's thresholds are absolute, so both sides are at "
            "the counted magnitude); `tolerance`: the flow criterion's allowed difference.",
            "",
            f"### Worst {min(5, len(v))} held-out counts",
            "",
            _md_table(validation.worst(5)[vcols]),
            "",
            f"![Validation on held-out counts]({VALIDATION_PLOT})",
            "",
            "### All held-out counts",
            "",
            _md_table(v[vcols]),
            "",
        ]
    lines += [
        "## Fit check (in-sample)",
        "",
        f"Per site and direction; totals are sums of the hourly flows (veh); `{shown}` is what "
        "routeSampler was given.",
        "",
        _md_table(per_group),
        "",
        f"### Worst {len(worst)} fit-check mismatches",
        "",
        _md_table(worst),
        "",
        f"![Fit check: {shown} vs modelled](observed_vs_modelled.png)",
        "",
        "![GEH per count](geh_per_count.png)",
        "",
        "![Hourly profile](hourly_profile.png)",
        "",
    ]
    if profile is not None:
        lines += [
            f"The dashed hourly profile is {profile.label or 'the given profile'}, scaled so "
            f"that it sums to the {shown} total over the hours shown; it is a shape reference, "
            "not a count.",
            "",
        ]
    lines += ["### All fit-check counts", "", _md_table(t[cols].rename(columns=rename)), ""]
    return "\n".join(lines)


def write_calibration_report(
    comparison: pd.DataFrame,
    out_dir: str | Path,
    profile: HourlyProfile | None = None,
    title: str = "Calibration report",
    threshold: float = GEH_THRESHOLD,
    target_share: float = GEH_TARGET_SHARE,
    assumptions: Sequence[str] = ASSUMPTIONS,
    notes: Sequence[str] = (),
    *,
    observed_label: str = "observed",
    validation: TagValidation | None = None,
    validation_note: str = "",
    unvalidated: Sequence[str] = UNVALIDATED,
    scale_note: str = "",
) -> Path:
    """Write ``report.md`` and its PNG plots into ``out_dir``; return the report path.

    ``comparison`` has one row per fit-check count (see the module docstring);
    ``validation``, when given, is shown with its criteria and plot; ``validation_note``
    says which counts were held out (or why none were). Files of the same name in
    ``out_dir`` are replaced; other files there are left alone.
    """
    df = _validate(comparison)
    summary = geh_summary(df, threshold=threshold, target_share=target_share, n_worst=10)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(out_dir.parent, f".{out_dir.name}.tmp-")
    try:
        plot_scatter(summary, tmp / "observed_vs_modelled.png", observed_label)
        plot_geh(summary, tmp / "geh_per_count.png")
        plot_profiles(df, tmp / "hourly_profile.png", profile, observed_label)
        names = list(REPORT_FILES[1:])
        if validation is not None:
            plot_validation(validation, tmp / VALIDATION_PLOT)
            names.append(VALIDATION_PLOT)
        text = _markdown(df, summary, title, profile, assumptions, notes, observed_label,
                         validation, validation_note, unvalidated, scale_note)  # fmt: skip
        (tmp / "report.md").write_text(text, encoding="utf-8")
        out_dir.mkdir(exist_ok=True)
        # the plots first, the report last: report.md never points at missing plots
        for name in (*names, REPORT_FILES[0]):
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / "report.md"
