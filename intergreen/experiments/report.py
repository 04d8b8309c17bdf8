"""The batch report: report.md and a self-contained report.html (plots embedded as base64).

Built from results.parquet and learning_curves.parquet of a results folder. Sections: the
study's Table I layout (mean ± std of the average waiting time, rows = rewards and
baselines, columns = demand levels), optionally beside the study's own numbers; the
study's best-run selection (optimistic); 95 % bootstrap confidence intervals; each
controller against the best (Mann-Whitney U, Holm-corrected); ranks; box plots per demand
level; learning curves per reward; and a summary of which controllers are
indistinguishable from the best.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intergreen.common import span
from intergreen.experiments import stats, study
from intergreen.experiments.reference import reference_cell

METRIC = stats.METRIC


class ReportError(ValueError):
    """No results to report on."""


@dataclass
class Block:
    kind: str  # h1 h2 p table img
    text: str = ""
    headers: list[str] | None = None
    rows: list[list[str]] | None = None
    path: Path | None = None


def label_controllers(results: pd.DataFrame) -> pd.DataFrame:
    """``controller`` = reward name (one agent), reward/agent (several), or baseline name."""
    df = results.copy()
    agents = df.loc[df["kind"] == "agent", "agent"].dropna().unique()
    if len(agents) <= 1:
        df.loc[df["kind"] == "agent", "controller"] = df.loc[df["kind"] == "agent", "reward"]
    return df


def _order(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    controllers = list(dict.fromkeys(df.loc[df["kind"] == "agent", "controller"]))
    controllers += list(dict.fromkeys(df.loc[df["kind"] != "agent", "controller"]))
    return controllers, list(dict.fromkeys(df["demand"]))


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"



def _p(x: float) -> str:
    if x is None or np.isnan(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def table_one(
    st: pd.DataFrame, controllers: list[str], demands: list[str], reference: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Rows = controllers, columns = demand levels, cells = mean ± std (and the study's)."""
    cell = {(r.controller, r.demand): f"{r.mean:.2f} ± {_fmt(r.std)}" for r in st.itertuples()}
    headers = ["controller"]
    for d in demands:
        headers += [d, f"{d} (study)"] if reference else [d]
    rows = []
    for c in controllers:
        row = [c]
        for d in demands:
            row.append(cell.get((c, d), "–"))
            if reference:
                row.append(reference_cell(c, d) or "–")
        rows.append(row)
    return headers, rows


def _pivot(st: pd.DataFrame, controllers: list[str], demands: list[str], fn) -> list[list[str]]:
    by = {(r.controller, r.demand): r for r in st.itertuples()}
    return [[c] + [fn(by[(c, d)]) if (c, d) in by else "–" for d in demands] for c in controllers]


def _boxplots(df: pd.DataFrame, controllers: list[str], demands: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(demands), figsize=(4 + 0.45 * len(controllers) * len(demands), 4.5), squeeze=False
    )
    for ax, d in zip(axes[0], demands, strict=True):
        level = df[df["demand"] == d]
        data = [
            level.loc[level["controller"] == c, METRIC].dropna().to_numpy() for c in controllers
        ]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(controllers) + 1), controllers, rotation=70, fontsize=8)
        ax.set_title(f"demand {d}")
        ax.set_ylabel("average waiting time (s)")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _learning_curves(curves: pd.DataFrame, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if curves.empty or METRIC not in curves:
        return False
    rewards = list(dict.fromkeys(curves["reward"]))
    ncol = min(4, len(rewards))
    nrow = int(np.ceil(len(rewards) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
    for ax, reward in zip(axes.flat, rewards, strict=False):
        sub = curves[curves["reward"] == reward]
        for (agent, seed), run in sub.groupby(["agent", "train_seed"], sort=False):
            run = run.sort_values("step")
            smooth = run[METRIC].rolling(5, min_periods=1).mean()
            ax.plot(run["step"], smooth, label=f"{agent} s{seed}", lw=1.2)
        ax.set_title(reward, fontsize=10)
        ax.set_xlabel("training steps")
        ax.set_ylabel("waiting time (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(rewards) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _summary_text(st: pd.DataFrame, demands: list[str], alpha: float) -> list[str]:
    lines = []
    same = stats.indistinguishable(st, alpha)
    for d in demands:
        level = st[st["demand"] == d]
        if level.empty:
            continue
        best = level.loc[level["best"]].iloc[0]
        others = [c for c in same.get(d, []) if c != best.controller]
        worse = [c for c, p in zip(level["controller"], level["p_holm"], strict=True) if p < alpha]
        text = (
            f"**{d}**: best {best.controller} ({best['mean']:.2f} s). "
            + (
                f"Indistinguishable from it (Holm-adjusted Mann-Whitney p ≥ {alpha}): "
                f"{', '.join(others)}. "
                if others
                else "No other controller is indistinguishable from it. "
            )
            + (f"Significantly worse: {', '.join(worse)}." if worse else "")
        )
        lines.append(text)
    n = int(st["n"].min()) if not st.empty else 0
    if n < 10:
        lines.append(
            f"With as few as {n} episodes per cell the tests have little power: "
            "'indistinguishable' here means 'not shown to differ'."
        )
    return lines


#: The files of a results folder that a published report is built from.
PUBLISHED_TABLES = ("results.parquet", "learning_curves.parquet", "grid.json", "batch.json")


def publish_report(
    results_dir: str | Path, dest: str | Path, reference: str | None = None
) -> dict[str, Path]:
    """Copy the result tables of ``results_dir`` into ``dest`` and write the report there as
    Markdown + PNGs + summary.csv (no HTML, no models): a folder to commit, from which
    ``intergreen report dest`` regenerates the same report."""
    import shutil

    from intergreen.common import ensure_writable

    src, dst = Path(results_dir), Path(dest)
    if not (src / "results.parquet").exists():
        raise ReportError(f"{src}: no results.parquet (run `intergreen compare` first)")
    if src.resolve() != dst.resolve():
        ensure_writable(dst, "--publish")
        for name in PUBLISHED_TABLES:
            if (src / name).exists():
                shutil.copy2(src / name, dst / name)
    (dst / "report.html").unlink(missing_ok=True)
    return build_report(dst, reference, html=False)


def build_report(
    results_dir: str | Path,
    reference: str | None = None,
    alpha: float = stats.ALPHA,
    html: bool = True,
) -> dict[str, Path]:
    """Write report.md, report.html (unless ``html`` is False) and plots/*.png into
    ``results_dir``; returns the paths."""
    if reference not in (None, "study"):
        raise ReportError(f"--reference {reference!r}: the only reference is 'study'")
    root = Path(results_dir)
    path = root / "results.parquet"
    if not path.exists():
        raise ReportError(f"{root}: no results.parquet (run `intergreen compare` first)")
    raw = pd.read_parquet(path)
    if raw.empty:
        raise ReportError(f"{path} holds no evaluation episodes (did every run fail?)")
    curves_path = root / "learning_curves.parquet"
    curves = pd.read_parquet(curves_path) if curves_path.exists() else pd.DataFrame()
    df = label_controllers(raw)
    controllers, demands = _order(df)
    st = stats.summary(df)
    plots = root / "plots"
    plots.mkdir(exist_ok=True)

    meta = _meta(root)
    blocks: list[Block] = [Block("h1", f"Reward comparison: {meta.get('name', root.name)}")]
    if reference == "study":
        blocks += [Block("p", t) for t in study.budget_lines(meta, df, curves)]
    seeds = df.loc[df["kind"] == "agent"].groupby("controller")["train_seed"].nunique()
    episodes = df.groupby(["controller", "demand"]).size()
    blocks.append(
        Block(
            "p",
            f"{len(controllers)} controllers, demand levels {', '.join(demands)}; "
            f"{span(int(episodes.min()), int(episodes.max()))} evaluation episodes per cell "
            f"(held-out seeds, the same for every controller). Metric: average waiting time "
            f"per vehicle (s), lower is better. Junction {meta.get('junction', '?')}, "
            f"training budget {meta.get('timesteps', '?')} steps per run.",
        )
    )
    blocks.append(Block("h2", "Summary"))
    blocks += [Block("p", t) for t in _summary_text(st, demands, alpha)]

    several_seeds = bool(len(seeds)) and seeds.max() > 1
    st_best = stats.summary(select_best(df)) if several_seeds else None
    if reference == "study":
        blocks.append(Block("h2", "Discussion: the study's questions"))
        blocks += [Block("p", t) for t in study.discussion(st, df, alpha, st_best)]
        blocks.append(Block("h2", "Where we differ from the study, and why"))
        blocks += [Block("p", t) for t in study.DIFFERENCES]

    blocks.append(Block("h2", "Table I: average waiting time (s), mean ± std"))
    pooled_note = (
        "Pooled: every evaluation episode of every training seed of a controller counts as "
        "one sample, so the spread includes the seed-to-seed spread."
    )
    if several_seeds:
        blocks.append(Block("p", pooled_note))
    headers, rows = table_one(st, controllers, demands, reference == "study")
    blocks.append(Block("table", headers=headers, rows=rows))
    if reference == "study":
        blocks.append(
            Block(
                "p",
                "Study: Cabrejas Egea et al. (2020), Table I (best of 10 runs, 100 episodes per "
                "level, 1800 s episodes). † the study's Time Lost AD row repeats its Queues row "
                "(copy error). Our junction, demand calibration, sensors and budget differ: "
                "compare orderings, not absolute values.",
            )
        )
    if st_best is not None:
        blocks.append(Block("h2", "Table I, best training run only (optimistic)"))
        blocks.append(
            Block(
                "p",
                "The study's selection: per controller, the training seed with the lowest mean "
                "waiting time over all levels. The same episodes select and score the run, so "
                "these numbers are biased low; prefer the pooled table.",
            )
        )
        h, r = table_one(st_best, controllers, demands, reference == "study")
        blocks.append(Block("table", headers=h, rows=r))

    blocks.append(Block("h2", "95 % bootstrap confidence intervals of the mean (s)"))
    blocks.append(
        Block(
            "table",
            headers=["controller", *demands],
            rows=_pivot(
                st,
                controllers,
                demands,
                lambda r: f"{r.mean:.2f} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
            ),
        )
    )
    blocks.append(Block("h2", "Against the best: Mann-Whitney U, Holm-corrected"))
    blocks.append(
        Block(
            "p",
            f"Two-sided test of each controller's episodes against the best controller's at "
            f"the same level; Holm step-down correction within each level; α = {alpha}.",
        )
    )
    for d in demands:
        level = st[st["demand"] == d].sort_values("mean")
        rows = []
        for r in level.itertuples():
            verdict = "best" if r.best else ("worse" if r.p_holm < alpha else "indistinguishable")
            rows.append([r.controller, f"{r.mean:.2f}", _p(r.p_vs_best), _p(r.p_holm), verdict])
        blocks.append(Block("p", f"Demand {d}:"))
        blocks.append(
            Block("table", headers=["controller", "mean", "p", "p (Holm)", "verdict"], rows=rows)
        )

    blocks.append(Block("h2", "Ranks (1 = lowest mean waiting time)"))
    rank = st.pivot(index="controller", columns="demand", values="rank")
    rank = rank.reindex(index=controllers, columns=demands)
    rank["mean rank"] = rank.mean(axis=1)
    rank = rank.sort_values("mean rank")
    blocks.append(
        Block(
            "table",
            headers=["controller", *demands, "mean rank"],
            rows=[
                [str(c)] + [_fmt(v, 0) for v in row[:-1]] + [_fmt(row[-1], 2)]
                for c, row in zip(rank.index, rank.to_numpy(), strict=True)
            ],
        )
    )

    box = plots / "boxplots.png"
    _boxplots(df, controllers, demands, box)
    blocks.append(Block("h2", "Distribution per demand level"))
    blocks.append(Block("img", text="box plots of average waiting time", path=box))
    lc = plots / "learning_curves.png"
    if _learning_curves(curves, lc):
        blocks.append(Block("h2", "Learning curves"))
        blocks.append(
            Block(
                "p",
                "Ground-truth average waiting time of each training episode (rolling mean of "
                "5) against training steps; training demand varies between episodes.",
            )
        )
        blocks.append(Block("img", text="learning curves", path=lc))
    failures = meta.get("failed") or []
    if failures:
        blocks.append(Block("h2", "Failed runs"))
        blocks.append(
            Block(
                "table", headers=["run", "error"], rows=[[f["name"], f["error"]] for f in failures]
            )
        )

    md = root / "report.md"
    page = root / "report.html"
    md.write_text(to_markdown(blocks, root))
    if html:
        page.write_text(to_html(blocks, meta.get("name", "report")))
    st.to_csv(root / "summary.csv", index=False)
    paths = {"markdown": md, "boxplots": box, "summary": root / "summary.csv"}
    return {**paths, "html": page} if html else paths


def select_best(df: pd.DataFrame) -> pd.DataFrame:
    return stats.select(df, "best_run")


def _meta(root: Path) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name in ("grid.json", "batch.json"):
        with contextlib.suppress(OSError, json.JSONDecodeError):
            meta.update(json.loads((root / name).read_text()))
    if isinstance(meta.get("training"), dict):
        meta["timesteps"] = meta["training"].get("timesteps")
    return meta


def _md_cell(x: str) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], root: Path) -> str:
    out = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.text}\n")
        elif b.kind == "h2":
            out.append(f"## {b.text}\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "table":
            assert b.headers is not None and b.rows is not None
            out.append("| " + " | ".join(map(_md_cell, b.headers)) + " |")
            out.append("|" + "|".join(["---"] + ["---:"] * (len(b.headers) - 1)) + "|")
            out += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in b.rows]
            out.append("")
        elif b.kind == "img":
            assert b.path is not None
            out.append(f"![{b.text}]({b.path.relative_to(root).as_posix()})\n")
    return "\n".join(out)


def _inline_md(text: str) -> str:
    """Escape, then turn **bold** into <b>."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list[Block], title: str) -> str:
    body = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline_md(b.text)}</p>")
        elif b.kind == "table":
            assert b.headers is not None and b.rows is not None
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                for r in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "img":
            assert b.path is not None
            data = base64.b64encode(b.path.read_bytes()).decode()
            body.append(f'<img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">')
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:0.5em 0 1.2em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
