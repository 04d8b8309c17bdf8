"""The report's figures (matplotlib, Agg): box plots per demand level, learning curves, the
convergence check's curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from intergreen.experiments.stats import METRIC


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_log_labels(axis) -> None:
    """Label a log axis with plain numbers (4, 6, 10, 40) instead of 4×10¹: the same ticks as
    matplotlib's log formatters label (their choice of minor ticks kept), written with ``:g``."""
    from matplotlib.ticker import Formatter

    class Plain(Formatter):
        def __init__(self, inner: Formatter) -> None:
            self.inner = inner

        def set_axis(self, axis) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs) -> None:
            super().set_locs(locs)
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if self.inner(x, pos) else ""

    axis.set_major_formatter(Plain(axis.get_major_formatter()))
    axis.set_minor_formatter(Plain(axis.get_minor_formatter()))


def boxplots(
    df: pd.DataFrame, controllers: list[str], demands: list[str], path: Path, metric: str = METRIC
) -> None:
    """Save ``boxplot_figure`` as a PNG at ``path``."""
    fig = boxplot_figure(df, controllers, demands, metric)
    fig.savefig(path, dpi=90)
    _pyplot().close(fig)


def boxplot_figure(
    df: pd.DataFrame, controllers: list[str], demands: list[str], metric: str = METRIC
):
    """One panel per demand level: a box per controller over its test episodes, on a log
    axis (so 8 s against 14 s stays visible beside 250 s), with the median line, the mean
    marker and each training seed's mean as a dot; a legend says which is which. Returns
    the matplotlib Figure."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    fig, axes = plt.subplots(
        len(demands), 1, figsize=(3 + 0.55 * len(controllers), 1.2 + 3.4 * len(demands)),
        squeeze=False, sharex=True,
    )  # fmt: skip
    median = {"color": "tab:orange", "linewidth": 1.5}
    mean = {"marker": "^", "markerfacecolor": "tab:green", "markeredgecolor": "tab:green"}
    flier = {"marker": "+", "markeredgecolor": "0.55", "markersize": 4}
    for ax, d in zip(axes[:, 0], demands, strict=True):
        level = df[df["demand"] == d]
        data = [
            level.loc[level["controller"] == c, metric].dropna().to_numpy() for c in controllers
        ]
        ax.boxplot(data, showmeans=True, medianprops=median, meanprops=mean, flierprops=flier)
        for i, c in enumerate(controllers, start=1):
            runs = level[(level["controller"] == c) & (level["kind"] == "agent")]
            if runs.empty:
                continue
            seeds = runs.groupby("train_seed")[metric].mean().to_numpy()
            jitter = np.linspace(-0.15, 0.15, len(seeds)) if len(seeds) > 1 else [0.0]
            ax.plot(i + np.asarray(jitter), seeds, "o", ms=3.5, color="black", alpha=0.7)
        ax.set_yscale("log", nonpositive="clip")
        plain_log_labels(ax.yaxis)
        ax.set_xticks(range(1, len(controllers) + 1), controllers, rotation=70, fontsize=8)
        ax.set_title(f"demand {d}", fontsize=10)
        ax.set_ylabel("waiting time (s, log)")
        ax.grid(axis="y", which="both", alpha=0.3)
    handles = [
        Line2D([], [], **median, label="median"),
        Line2D([], [], linestyle="none", markersize=7, label="mean", **mean),
        Line2D([], [], linestyle="none", marker="o", color="black", markersize=4,
               label="mean of one training seed"),
        Line2D([], [], color="black", linewidth=1, label="box: quartiles; whiskers: 1.5 IQR"),
        Line2D([], [], linestyle="none", label="episode beyond the whiskers", **flier),
    ]  # fmt: skip
    # as many legend columns as the figure's width holds (a few controllers: a narrow figure)
    ncol = max(1, min(3, int(fig.get_figwidth() // 2.4)))
    rows = -(-len(handles) // ncol)
    fig.legend(handles=handles, loc="upper center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.15 + 0.17 * rows) / fig.get_figheight()))
    return fig


def learning_curves(
    curves: pd.DataFrame,
    path: Path,
    metric: str = METRIC,
    validation: pd.DataFrame | None = None,
    score_kinds: dict[str, str] | None = None,
) -> bool:
    """Learning curves per reward, one line per agent and training seed; False (nothing
    drawn) when there are no curves.

    With greedy validation rows (``validation``: validation_curves.parquet, one row per
    validation episode with ``step``), each reward gets two panels: above, the greedy policy's
    validation score (the score each run chose its best checkpoint by: ``score_kinds`` maps a
    run key to ``mean`` or ``geometric_mean`` of ``metric`` over the point's episodes, the same
    episodes at every point; ``mean`` where unknown) against training decisions; below, the
    epsilon-greedy training episodes (rolling mean of :func:`smoothing_window` episodes).
    Without them, the training panel alone, titled as such.
    """
    greedy = validation if validation is not None and metric in validation else pd.DataFrame()
    if (curves.empty or metric not in curves) and greedy.empty:
        return False
    plt = _pyplot()
    frames = [f for f in (greedy, curves) if not f.empty and metric in f]
    rewards = list(dict.fromkeys(pd.concat([f["reward"] for f in frames])))
    ncol = min(4, len(rewards))
    nrow = int(np.ceil(len(rewards) / ncol))
    panels = 2 if not greedy.empty else 1
    window = smoothing_window(curves)
    fig, axes = plt.subplots(
        nrow * panels, ncol, figsize=(4 * ncol, 3 * nrow * panels), squeeze=False
    )
    for k, reward in enumerate(rewards):
        row, col = divmod(k, ncol)
        top = axes[row * panels, col]
        if panels == 2:
            _greedy_panel(top, greedy[greedy["reward"] == reward], metric, score_kinds or {})
            top.set_title(f"{reward}\ngreedy validation", fontsize=10)
        train_ax = axes[row * panels + panels - 1, col]
        _training_panel(train_ax, curves[curves["reward"] == reward] if "reward" in curves
                        else curves, metric, window)  # fmt: skip
        label = "epsilon-greedy training" if panels == 2 else "training episodes (no validation)"
        train_ax.set_title(f"{reward}\n{label}", fontsize=10)  # two lines: never cut off
    for k in range(len(rewards), nrow * ncol):
        row, col = divmod(k, ncol)
        for p in range(panels):
            axes[row * panels + p, col].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _greedy_panel(ax, rows: pd.DataFrame, metric: str, kinds: dict[str, str]) -> None:
    """Validation score (the run's score of the point's episodes) per step, one line per
    seed."""
    from intergreen.agents.curves import validation_scores

    keys = ["agent", "train_seed", "run_key"] if "run_key" in rows else ["agent", "train_seed"]
    for key, run in rows.groupby(keys, sort=False):
        kind = kinds.get(str(key[2]), "mean") if len(key) > 2 else "mean"
        score = validation_scores(run, metric, kind=kind)  # type: ignore[arg-type]
        ax.plot(score["step"], score["score"], marker=".", label=f"{key[0]} s{key[1]}", lw=1.2)
    ax.set_xlabel("training decisions")
    ax.set_ylabel("validation waiting time (s)")
    ax.grid(alpha=0.3)
    if not rows.empty:
        ax.legend(fontsize=7)


def smoothing_window(curves: pd.DataFrame, most: int = 5) -> int:
    """The rolling mean's window (episodes) of the training panels: ``most``, but at most a
    fifth of the shortest run's training episodes in ``curves`` (at least 1: unsmoothed), so
    that a short run's curve is not only its running mean."""
    if curves.empty:
        return most
    keys = [k for k in ("reward", "agent", "train_seed", "run_key") if k in curves]
    shortest = int(curves.groupby(keys).size().min()) if keys else len(curves)
    return max(1, min(most, shortest // 5))


def smoothing_text(window: int) -> str:
    """``'rolling mean of 5'``, or ``'unsmoothed'`` for a window of 1."""
    return "unsmoothed" if window <= 1 else f"rolling mean of {window}"


def _training_panel(ax, rows: pd.DataFrame, metric: str, window: int = 5) -> None:
    """Each training episode's metric (rolling mean of ``window``), one line per seed."""
    if not rows.empty and metric in rows:
        for (agent, seed), run in rows.groupby(["agent", "train_seed"], sort=False):
            run = run.sort_values("step")
            smooth = run[metric].rolling(window, min_periods=1).mean()
            ax.plot(run["step"], smooth, label=f"{agent} s{seed}", lw=1.2)
        ax.legend(fontsize=7)
    ax.set_xlabel("training decisions")
    ax.set_ylabel("training waiting time (s)")
    ax.grid(alpha=0.3)


def convergence_figure(curves: pd.DataFrame, budgets: dict[str, int | None], path: Path) -> bool:
    """The convergence check's validation score (s/veh, log axis) per run against training
    decisions, one panel per reward, with the reward's budget (first step within the
    tolerance) marked; False (nothing drawn) without curves."""
    if curves.empty:
        return False
    plt = _pyplot()
    rewards = list(dict.fromkeys(curves["reward"]))
    fig, axes = plt.subplots(1, len(rewards), figsize=(4.5 * len(rewards), 3.4), squeeze=False)
    for ax, reward in zip(axes[0], rewards, strict=True):
        rows = curves[curves["reward"] == reward]
        for seed, run in rows.groupby("seed", sort=True):
            run = run.sort_values("step")
            ax.plot(run["step"], run["score"], marker=".", lw=1.1, label=f"seed {seed}")
        budget = budgets.get(reward)
        if budget is not None:
            ax.axvline(budget, color="k", ls="--", lw=1, label=f"budget {budget:,}")
        ax.set_yscale("log")
        ax.set_title(f"{reward}", fontsize=10)
        ax.set_xlabel("training decisions")
        ax.set_ylabel("validation score (s/veh)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
