"""Calibration report: observed vs modelled hourly flows as Markdown and PNG plots.

The input is one row per count: ``site, direction, hour, observed, modelled`` (hourly
flows, veh/h; an optional ``lane`` column splits counts further). The report holds the GEH
verdict, the worst mismatches, the modelling assumptions and three plots: observed vs
modelled with the 1:1 line, GEH per count with the GEH = 5 line, and the hourly profile
(observed, modelled and, when given, the DfT TRA0307 profile scaled to the observed total).

Everything is rendered into a temporary folder first and moved into the output folder
only when all files are complete, so a failure leaves no half-written report. Plots use
matplotlib's Agg canvas directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from intergreen.calibration.flows import HourlyProfile
from intergreen.calibration.geh import GEH_TARGET_SHARE, GEH_THRESHOLD, GehSummary, geh_summary

__all__ = [
    "ASSUMPTIONS",
    "REPORT_COLUMNS",
    "REPORT_FILES",
    "plot_geh",
    "plot_profiles",
    "plot_scatter",
    "write_calibration_report",
]

REPORT_COLUMNS: tuple[str, ...] = ("site", "direction", "hour", "observed", "modelled")
REPORT_FILES: tuple[str, ...] = (
    "report.md",
    "observed_vs_modelled.png",
    "geh_per_count.png",
    "hourly_profile.png",
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


def plot_scatter(summary: GehSummary, path: Path) -> None:
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
        xlabel="observed (veh/h)",
        ylabel="modelled (veh/h)",
        title="Observed vs modelled hourly flow",
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
    ax.set(ylabel="GEH", title=f"GEH per count: {summary.verdict()}", xlim=(-0.6, n - 0.4))
    ax.title.set_fontsize(9)
    ax.legend(loc="upper right")
    _save(fig, path)


def plot_profiles(df: pd.DataFrame, path: Path, profile: HourlyProfile | None = None) -> None:
    """Hourly observed and modelled flow per count group, with the scaled profile."""
    groups = _groups(df)
    ncols = min(2, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = Figure(figsize=(6 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, g) in zip(axes, groups, strict=False):
        ax.plot(g["hour"], g["observed"], marker="o", ms=3, color="black", label="observed")
        ax.plot(g["hour"], g["modelled"], marker="s", ms=3, color="tab:blue", label="modelled")
        if profile is not None:
            scaled = profile.scaled_to(float(g["observed"].sum()), hours=g["hour"])
            ax.plot(
                g["hour"],
                scaled,
                ls="--",
                color="tab:orange",
                label=f"TRA0307 scaled to observed total ({g['observed'].sum():,.0f} veh)",
            )
        ax.set(title=name, xlabel="hour of day", ylabel="veh/h", xlim=(-0.5, 23.5))
        ax.set_xticks(range(0, 24, 3))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
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


def _markdown(
    df: pd.DataFrame,
    summary: GehSummary,
    title: str,
    profile: HourlyProfile | None,
    assumptions: Sequence[str],
    notes: Sequence[str],
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
    cols = [*keys, "hour", "observed", "modelled", "diff", "geh"]
    worst = summary.worst[cols]
    lines = [
        f"# {title}",
        "",
        f"Written {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        f"**{summary.verdict()}.** UK criterion (DMRB / TAG M3.1): GEH < "
        f"{summary.threshold:g} for at least {100 * summary.target_share:g}% of the hourly "
        "counts.",
        "",
        "## Assumptions",
        "",
        *[f"- {a}" for a in assumptions],
        *[f"- {n}" for n in notes],
        "",
        "## Per site and direction",
        "",
        "Totals are sums of the hourly flows in the comparison (veh).",
        "",
        _md_table(per_group),
        "",
        f"## Worst {len(worst)} mismatches",
        "",
        _md_table(worst),
        "",
        "## Plots",
        "",
        "![Observed vs modelled](observed_vs_modelled.png)",
        "",
        "![GEH per count](geh_per_count.png)",
        "",
        "![Hourly profile](hourly_profile.png)",
        "",
    ]
    if profile is not None:
        lines += [
            f"The dashed hourly profile is {profile.label or 'the given profile'}, scaled so "
            "that it sums to the observed total over the hours shown; it is a shape "
            "reference, not a count.",
            "",
        ]
    lines += ["## All counts", "", _md_table(t[cols]), ""]
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
) -> Path:
    """Write ``report.md`` and its PNG plots into ``out_dir``; return the report path.

    ``comparison`` has one row per count (see the module docstring). Files of the same
    name in ``out_dir`` are replaced; other files there are left alone.
    """
    df = _validate(comparison)
    summary = geh_summary(df, threshold=threshold, target_share=target_share, n_worst=10)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        plot_scatter(summary, tmp / "observed_vs_modelled.png")
        plot_geh(summary, tmp / "geh_per_count.png")
        plot_profiles(df, tmp / "hourly_profile.png", profile)
        text = _markdown(df, summary, title, profile, assumptions, notes)
        (tmp / "report.md").write_text(text, encoding="utf-8")
        out_dir.mkdir(exist_ok=True)
        # the plots first, the report last: report.md never points at missing plots
        for name in (*REPORT_FILES[1:], REPORT_FILES[0]):
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / "report.md"
