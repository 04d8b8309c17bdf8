"""The batch report: report.md and a self-contained report.html (plots embedded as base64).

Built from results.parquet (one row per evaluation episode), learning_curves.parquet,
grid.json and the runs' configurations (``provenance``). The training seed is the unit:

1. the set-up, every sentence generated from the recorded configuration;
2. Table I at seed level: the mean of per-seed means with a 95 % Student-t interval across
   seeds and the number of seeds (a baseline's unit is the test episode);
3. each reward against the best reward (chosen on validation rows when the results hold
   them, else on test rows and labelled so) on per-seed means, and each reward against each
   baseline paired over the shared test episodes; Holm within each level; verdicts only
   where the seeds can support one (``comparisons``);
4. tails, arms and teleports (``summaries.tails``);
5. secondary views: Table I with episodes pooled (the study's layout, mean ± std, beside
   the study's numbers), the study's best-run selection, ranks;
6. box plots (log axis, legend) and learning curves.

A report over runs made under different code or reward versions is refused before anything
is written (``provenance.check_versions``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import intergreen.experiments.convergence as convergence
import intergreen.experiments.plots as plots
import intergreen.experiments.provenance as provenance
import intergreen.experiments.stats as stats
import intergreen.experiments.study as study
import intergreen.experiments.summaries as summaries
from intergreen.common import atomic_write, ensure_writable, fmt_spread
from intergreen.errors import IntergreenError
from intergreen.experiments.comparisons import NOT_SHOWN, SeedLevel, seed_level
from intergreen.experiments.reference import reference_cell
from intergreen.experiments.render import Block, to_html, to_markdown
from intergreen.experiments.seed_extension import EXTENSION_FILE

METRIC = stats.METRIC


class ReportError(IntergreenError, ValueError):
    """No results to report on, or an option the report cannot honour."""


def label_controllers(results: pd.DataFrame) -> pd.DataFrame:
    """``controller`` = reward name (one agent), reward/agent (several), or baseline name."""
    df = results.copy()
    agents = df.loc[df["kind"] == "agent", "agent"].dropna().unique()
    if len(agents) <= 1:
        df.loc[df["kind"] == "agent", "controller"] = df.loc[df["kind"] == "agent", "reward"]
    return df


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if x is None or np.isnan(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def table_one(
    st: pd.DataFrame, controllers: list[str], demands: list[str], reference: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Pooled: rows = controllers, columns = demand levels, cells = mean ± std (``± n/a`` for
    one episode) and the study's."""
    cell = {(r.controller, r.demand): fmt_spread(r.mean, r.std, r.n) for r in st.itertuples()}
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


def seed_table(
    st: pd.DataFrame, controllers: list[str], demands: list[str]
) -> tuple[list[str], list[list[str]]]:
    """Seed level: cells = mean [95 % CI]; a column with the number of training seeds (or
    the number of test episodes of a baseline)."""
    by = {(r.controller, r.demand): r for r in st.itertuples()}
    rows = []
    for c in controllers:
        row = [c]
        units = []
        for d in demands:
            r = by.get((c, d))
            if r is None:
                row.append("–")
                continue
            one = "1 seed" if r.unit == "seed" else "1 episode"
            ci = f" [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if r.n > 1 else f" [n/a: {one}]"
            row.append(f"{r.mean:.2f}{ci}")
            units.append((r.unit, r.n))
        kinds = {u for u, _ in units}
        counts = [n for _, n in units]
        seeds = kinds == {"seed"}
        what = ("seed", "seeds") if seeds else ("episode (baseline)", "episodes (baseline)")
        row.append(provenance.counted((min(counts), max(counts)), *what) if counts else "–")
        rows.append(row)
    return ["controller", *demands, "n"], rows


#: The files of a results folder that a published report is built from.
PUBLISHED_TABLES = (
    "results.parquet", "learning_curves.parquet", "validation_curves.parquet", "grid.json",
    "batch.json", provenance.RUN_CONFIGS, EXTENSION_FILE, convergence.CURVES_FILE,
    convergence.META_FILE,
)  # fmt: skip


def publish_report(
    results_dir: str | Path,
    dest: str | Path,
    reference: str | None = None,
    seed_test: str = "permutation",
    convergence_source: str | Path | None = None,
    convergence_tolerance: float = 0.05,
) -> dict[str, Path]:
    """Copy the result tables of ``results_dir`` into ``dest`` with the runs' configurations
    (run_configs.json) and what each baseline ran with (baseline_cells.json), and write the
    report there as Markdown + PNGs + summary.csv (no
    HTML, no models): a folder to commit, from which ``intergreen report dest`` regenerates
    the same report. A folder without run folders gets its configurations rebuilt from
    grid.json where the run keys prove them (``provenance.reconstruct_run_configs``).
    ``dest`` may be ``results_dir`` itself only where that is a published folder (no
    ``runs/``, no report.html): it is then regenerated in place.
    ``convergence_source``: see :func:`build_report`.
    Raises ReportError (no results; ``dest`` is a results folder from ``intergreen compare``)
    before anything is written."""
    src, dst = Path(results_dir), Path(dest)
    if not (src / "results.parquet").exists():
        raise ReportError(f"{src}: no results.parquet (run `intergreen compare` first)")
    kept = [name for name in ("runs/", "report.html") if (src / name).exists()]
    if src.resolve() == dst.resolve() and kept:
        raise ReportError(
            f"--publish {dest}: that is the results folder itself (it holds "
            f"{' and '.join(kept)}, which a published folder leaves out): give another folder, "
            f"e.g. docs/results/{src.resolve().name}; `intergreen report {results_dir}` "
            "rewrites the report in place"
        )
    raw = pd.read_parquet(src / "results.parquet")
    configs = provenance.load_run_configs(src, raw)
    provenance.check_versions(provenance.run_versions(configs, raw), str(src))
    if not configs:
        configs = provenance.reconstruct_run_configs(provenance.read_grid(src), raw)
    if src.resolve() != dst.resolve():
        ensure_writable(dst, "--publish")
        for name in PUBLISHED_TABLES:
            if (src / name).exists():
                shutil.copy2(src / name, dst / name)
    if configs:
        text = json.dumps(configs, indent=1, sort_keys=True, default=str) + "\n"
        atomic_write(dst / provenance.RUN_CONFIGS, text)
    cells = provenance.recorded_baseline_cells(src, raw)  # a tuned one's parameters, budget
    if cells:
        text = json.dumps(cells, indent=1, sort_keys=True, default=str) + "\n"
        atomic_write(dst / provenance.BASELINE_CELLS, text)
    (dst / "report.html").unlink(missing_ok=True)
    return build_report(dst, reference, html=False, seed_test=seed_test,
                        convergence_source=convergence_source,
                        convergence_tolerance=convergence_tolerance)  # fmt: skip


def _training_demand_text(curves: pd.DataFrame) -> str:
    """What the training episodes' demand was, from their rows: the grid's training demand
    (``train_demand``) and whether it was the same in every episode (``episode_demand``)."""

    def unique(column: str) -> list[str]:
        return sorted(curves[column].dropna().astype(str).unique()) if column in curves else []

    named, drawn = unique("train_demand"), unique("episode_demand")
    if len(drawn) == 1:
        return f"training demand {drawn[0]} in every episode"
    if drawn:
        return (
            f"training demand {', '.join(named) or 'as recorded'}, varying between episodes "
            f"({len(drawn)} demands)"
        )
    return "the training demand is not recorded"


def build_report(
    results_dir: str | Path,
    reference: str | None = None,
    alpha: float = stats.ALPHA,
    html: bool = True,
    seed_test: str = "permutation",
    convergence_source: str | Path | None = None,
    convergence_tolerance: float = 0.05,
) -> dict[str, Path]:
    """Write report.md, report.html (unless ``html`` is False), summary.csv (the seed-level
    summary) and plots/*.png into ``results_dir``; returns the paths. ``seed_test``:
    ``permutation`` (default; exact for small seed counts) or ``t`` (Welch / paired t).
    ``convergence_source``: the convergence check that chose the budget, attached to the
    folder (:mod:`intergreen.experiments.convergence`; one attached before is used without
    it) and reported first, with ``convergence_tolerance``.
    Raises ReportError (no results, bad option), ConvergenceError or MixedVersionsError
    before writing."""
    if reference not in (None, "study"):
        raise ReportError(f"--reference {reference!r}: the only reference is 'study'")
    if seed_test not in stats.TESTS:
        raise ReportError(f"--seed-test {seed_test!r}: use one of {', '.join(stats.TESTS)}")
    root = Path(results_dir)
    _check_not_running(root)
    path = root / "results.parquet"
    if not path.exists():
        raise ReportError(f"{root}: no results.parquet (run `intergreen compare` first)")
    raw = pd.read_parquet(path)
    if raw.empty:
        raise ReportError(f"{path} holds no evaluation episodes (did every run fail?)")
    configs = provenance.load_run_configs(root, raw)
    provenance.check_versions(provenance.run_versions(configs, raw), str(root))
    if convergence_source is not None:
        convergence.attach(root, convergence_source, convergence_tolerance)
    curves_path = root / "learning_curves.parquet"
    curves = pd.read_parquet(curves_path) if curves_path.exists() else pd.DataFrame()
    greedy_path = root / "validation_curves.parquet"
    greedy = pd.read_parquet(greedy_path) if greedy_path.exists() else pd.DataFrame()
    meta = _meta(root)
    labelled = label_controllers(raw)
    df = summaries.test_rows(labelled)
    if df.empty:
        raise ReportError(
            f"{path} holds only validation episodes (split = validation): they may select, "
            "never be reported; evaluate on the test stream (the grid's evaluation.seeds: test)"
        )
    controllers, demands = summaries.controller_order(df)
    level = seed_level(labelled, METRIC, seed_test, alpha)
    choice = level.choice + provenance.shared_selection_text(configs, labelled)
    setup = provenance.read_setup(root, df, configs, choice)
    pooled = summaries.pooled_summary(df)
    plots_dir = root / "plots"
    plots_dir.mkdir(exist_ok=True)

    blocks: list[Block] = [Block("h1", f"Reward comparison: {meta.get('name', root.name)}")]
    if reference == "study":
        blocks += [Block("p", t) for t in study.budget_lines(setup, df, curves)]
    episodes = df.groupby(["controller", "train_seed", "demand"], dropna=False).size()
    blocks.append(
        Block(
            "p",
            f"{provenance.counted(len(controllers), 'controller')}, "
            f"{'demand level' if len(demands) == 1 else 'demand levels'} {', '.join(demands)}; "
            f"{provenance.counted((int(episodes.min()), int(episodes.max())), 'test episode')} "
            "per run and level, "
            f"the same episode seed{'s' if episodes.max() > 1 else ''} for every controller. "
            "Metric: average waiting time per vehicle (s), lower is better. The training seed "
            "is the unit of every interval and test below (a baseline's interval is across its "
            f"test episodes); tests: {_test_desc(seed_test)}, α = {alpha}.",
        )
    )
    failures = meta.get("failed") or []
    if failures:  # said up front: a reader of the summary must know the grid is not whole
        names = ", ".join(f["name"] for f in failures[:5]) + (" ..." if len(failures) > 5 else "")
        blocks.append(
            Block(
                "p",
                f"**Not every planned task finished:** {provenance.counted(len(failures), 'task')} "
                f"of the grid failed and {'is' if len(failures) == 1 else 'are'} not in these "
                f"results ({names}); see Failed runs at the end. Re-running the compare command "
                "retries them.",
            )
        )
    blocks += [Block("p", t) for t in identical_text(summaries.identical_agents(df))]
    attached = convergence.read(root)
    if attached is not None:
        trained = sorted(set(setup.timesteps))
        blocks += convergence.convergence_blocks(
            *attached, trained, plots_dir / "convergence.png", own_runs=set(configs)
        )
    blocks.append(Block("h2", "Set-up (generated from the recorded configuration)"))
    blocks += [Block("p", t) for t in provenance.setup_lines(setup)]
    blocks.append(Block("h2", "Summary"))
    blocks += [Block("p", t) for t in summary_text(level, demands)]

    agents_df = df[df["kind"] == "agent"]
    several_seeds = (
        not agents_df.empty and agents_df.groupby("controller")["train_seed"].nunique().max() > 1
    )
    st_best = summaries.pooled_summary(summaries.select_best_run(df)) if several_seeds else None
    if reference == "study":
        blocks.append(Block("h2", "Discussion: the study's questions"))
        blocks += [Block("p", t) for t in study.discussion(level, df, setup, st_best)]
        blocks.append(Block("h2", "Where we differ from the study, and why"))
        blocks += [Block("p", t) for t in study.differences(setup, df, level, curves)]

    blocks.append(Block("h2", "Table I at seed level: mean of per-seed means [95 % CI] (s)"))
    blocks.append(
        Block(
            "p",
            "An agent's value is the mean over its training seeds of each seed's mean over the "
            "test episodes; the interval is Student t across those seed means (n = seeds). A "
            "baseline has no training seed: its interval is across test episodes.",
        )
    )
    h, r = seed_table(level.summary, controllers, demands)
    blocks.append(Block("table", headers=h, rows=r))
    legend = provenance.reward_legend(setup)
    labels = [Block("p", f"Rewards given with parameters: {legend}.")] if legend else []
    blocks += labels
    blocks += [Block("p", t) for t in below_zero_text(level.summary)]
    blocks += comparison_blocks(level, demands)
    blocks += tails_blocks(df, controllers, demands)

    blocks.append(Block("h2", "Secondary: Table I with episodes pooled, mean ± std (s)"))
    blocks.append(
        Block(
            "p",
            "The study's layout: every test episode of every training seed of a controller in "
            "one sample, so the spread mixes seed-to-seed and episode-to-episode variation. "
            "These episodes are not independent (episodes of one seed share its policy): no "
            "test is made on this table.",
        )
    )
    h, r = table_one(pooled, controllers, demands, reference == "study")
    blocks.append(Block("table", headers=h, rows=r))
    blocks += labels
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
        blocks.append(Block("h2", "Secondary: best training run only (optimistic)"))
        blocks.append(
            Block(
                "p",
                "The study's selection: per controller, the training seed with the lowest mean "
                "waiting time over all levels. The same episodes select and score the run, so "
                "these numbers are biased low.",
            )
        )
        h, r = table_one(st_best, controllers, demands, reference == "study")
        blocks.append(Block("table", headers=h, rows=r))
        blocks += labels

    blocks.append(Block("h2", "Ranks by the mean of per-seed means (1 = lowest waiting time)"))
    rank = level.summary.pivot(index="controller", columns="demand", values="rank")
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

    box = plots_dir / "boxplots.png"
    plots.boxplots(df, controllers, demands, box)
    blocks.append(Block("h2", "Distribution per demand level"))
    blocks.append(
        Block(
            "p",
            "Test episodes per controller on a log axis: box = quartiles, orange line = median, "
            "green triangle = mean, black dots = the mean of each training seed.",
        )
    )
    blocks.append(Block("img", text="box plots of average waiting time", path=box))
    lc = plots_dir / "learning_curves.png"
    kinds = {
        str(p.get("key")): str((p.get("validation") or {}).get("score_kind", "mean"))
        for p in configs.values()
    }
    if plots.learning_curves(curves, lc, validation=greedy, score_kinds=kinds):
        blocks.append(Block("h2", "Learning curves"))
        smoothing = plots.smoothing_text(plots.smoothing_window(curves))
        if greedy.empty:  # no run validated: the training curves alone
            text = (
                "Ground-truth average waiting time of each training episode "
                f"({smoothing}) against training steps; {_training_demand_text(curves)}."
            )
        else:
            text = (
                "Above: the greedy policy's validation score (the waiting times of the same "
                f"validation episodes at every point, scored as {_kinds_text(kinds)}) per "
                "training seed against training "
                f"decisions{_evaluated_models(raw)}. Below: the ground-truth average waiting "
                f"time of each epsilon-greedy training episode ({smoothing}); "
                f"{_training_demand_text(curves)}."
            )
        blocks.append(Block("p", text))
        blocks.append(Block("img", text="learning curves", path=lc))
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
    level.summary.to_csv(root / "summary.csv", index=False)
    paths = {"markdown": md, "boxplots": box, "summary": root / "summary.csv"}
    return {**paths, "html": page} if html else paths


def _check_not_running(root: Path) -> None:
    """Refuse a folder that is no batch's (missing) or that another process's compare is
    still writing (its results.parquet is then an earlier grid's, or absent); the compare
    that holds the folder reports on it itself when it ends.

    Raises:
        ReportError: naming the folder, the running batch and what to do.
    """
    import os

    from intergreen.experiments.runner import describe_holder, holder_alive, lock_holder

    if not root.is_dir():
        raise ReportError(f"{root}: no such folder; give the --out folder of an intergreen compare")
    holder = lock_holder(root)
    if holder is None or int(holder["pid"]) == os.getpid() or not holder_alive(root, holder):
        return
    raise ReportError(
        f"{root}: a compare is running on it ({describe_holder(holder)}), so its results are "
        f"not final; it writes the report when it ends (intergreen status {root} shows how far "
        "it is)"
    )


def identical_text(groups: list[list[str]]) -> list[str]:
    """A paragraph per group of agents whose test results are identical, episode for episode
    (:func:`intergreen.experiments.summaries.identical_agents`): one result shown as several,
    so their ranks and their tests against each other say nothing."""
    return [
        f"**Identical results:** {' and '.join(group)} gave the same waiting time in every test "
        "episode of every training seed: their models act alike (two rewards can coincide on "
        "a set-up, e.g. `wait_time` summed over a decision interval of one simulation step is "
        f"`queue`), so they are one result shown {len(group)} times: their ranks and their "
        "tests against each other below say nothing about the rewards."
        for group in groups
    ]


def below_zero_text(summary: pd.DataFrame) -> list[str]:
    """A sentence each for the agents' and the baselines' intervals in ``summary``
    (``seed_summary``) that reach below 0 s: an agent's interval is across its training
    seeds, a baseline's across its test episodes, so each says what would narrow it. The
    cause is stated from the numbers: with few units Student's t quantile itself is large
    (12.7 at 2 units), whatever the spread."""
    from scipy import stats as scipy_stats

    out = []
    below = summary[summary["ci_low"] < 0]
    wording = {
        "seed": ("agent", "seed means", "seeds", "more training seeds"),
        "episode": ("baseline", "test episodes", "episodes", "more test episodes"),
    }
    for unit, (kind, spread, many, more) in wording.items():
        rows = below[below["unit"] == unit]
        if rows.empty:
            continue
        fewest = int(rows["n"].min())
        t = float(scipy_stats.t.ppf(0.975, fewest - 1))
        few = (
            f"at {fewest} {many} a 95 % t interval spans {t:.1f} standard errors each side "
            f"of the mean"
            if t >= 4  # 4 or fewer units: the quantile, not the spread, makes it wide
            else f"the {spread} spread widely for {fewest} {many}"
        )
        out.append(
            f"{provenance.counted(len(rows), kind + ' interval')} "
            f"{'reaches' if len(rows) == 1 else 'reach'} below 0 s "
            f"({', '.join(dict.fromkeys(rows['controller']))}): {few}, so "
            f"{'it cannot' if len(rows) == 1 else 'they cannot'} locate the mean; {more} "
            f"narrow {'it' if len(rows) == 1 else 'them'}."
        )
    return out


def _test_desc(test: str) -> str:
    if test == "t":
        return "Welch t on per-seed means against the best, paired t against the baselines"
    return (
        "permutation test on per-seed means against the best, sign-flip permutation test "
        "against the baselines (exact for small seed counts)"
    )


def _shared_note(notes: dict[str, str], demands: list[str]) -> str:
    """The note every level has (the same text), or ""."""
    texts = {notes.get(d, "") for d in demands}
    return texts.pop() if len(texts) == 1 else ""


def summary_text(level: SeedLevel, demands: list[str]) -> list[str]:
    """Per level: the best reward, the rows it was chosen on (``best_text``) and the
    seed-level verdicts; then (once, when every level shares it) why the seeds allow no
    verdict. How the best was chosen in detail is a set-up sentence (``level.choice``)."""
    lines = []
    vb, base = level.vs_best, level.vs_baselines
    best_note = _shared_note(level.vs_best_notes, demands)
    base_note = _shared_note(level.vs_baselines_notes, demands)
    other_note = _shared_note(level.vs_other_baselines_notes, demands)
    for d in demands:
        rows = vb[vb["demand"] == d] if not vb.empty else vb
        if rows.empty:
            continue
        text = best_text(rows) + " " + baselines_position(level.summary, rows)
        if len(rows) == 1:
            text += "No other reward to compare it with. "
        elif level.vs_best_notes.get(d):
            text += "" if best_note else level.vs_best_notes[d] + " "
        else:
            groups = {
                v: list(rows.loc[rows["verdict"] == v, "controller"])
                for v in ("worse", "better", NOT_SHOWN)
            }
            text += (
                f"Worse at seed level (Holm): {', '.join(groups['worse']) or 'none'}. "
                + (f"Better than the chosen best: {', '.join(groups['better'])}. "
                   if groups["better"] else "")
                + (f"Not shown to differ: {', '.join(groups[NOT_SHOWN])}. "
                   if groups[NOT_SHOWN] else "")
            )  # fmt: skip
            na = rows[rows["verdict"].str.startswith("n/a")]
            if len(na):
                text += f"No verdict for {', '.join(na['controller'])} ({na['verdict'].iloc[0]}). "
        bl = base[base["demand"] == d] if not base.empty else base
        if not bl.empty:
            text += _baselines_summary(bl, level, base_note, other_note)
        lines.append(text.strip())
    if best_note:
        lines.append(f"**Against the best reward:** {best_note}")
    if base_note:
        lines.append(f"**Against the best baseline:** {base_note}")
    if other_note:
        lines.append(f"**Against the other baselines:** {other_note}")
    return lines


def _verdict_counts(rows: pd.DataFrame) -> str:
    """``'2 better, 0 worse, 1 without a verdict'`` over ``rows``' verdicts."""
    untested = int(rows["verdict"].str.startswith("n/a").sum())
    return (
        f"{int((rows['verdict'] == 'better').sum())} better, "
        f"{int((rows['verdict'] == 'worse').sum())} worse"
        + (f", {untested} without a verdict" if untested else "")
    )


def _baselines_summary(
    rows: pd.DataFrame, level: SeedLevel, base_note: str, other_note: str
) -> str:
    """One level's verdicts against the best baseline, then against the other baselines, from
    that level's rows of ``SeedLevel.vs_baselines``; a family's note where it gives none
    (left out here when every level shares it: it follows once)."""
    d = str(rows["demand"].iloc[0])
    primary, other = rows[rows["primary"]], rows[~rows["primary"]]
    text = ""
    if not primary.empty:
        best, on = str(primary["baseline"].iloc[0]), str(primary["chosen_on"].iloc[0])
        where = "validation episodes" if on == "validation" else "the test episodes"
        mean = float(primary["chosen_mean"].iloc[0])
        text += f"Best baseline {best} (lowest on {where}, {mean:.2f} s there)"
        if level.vs_baselines_notes.get(d):
            text += ". " if base_note else f"; against it: {level.vs_baselines_notes[d]} "
        else:
            text += f"; the rewards against it (paired, Holm): {_verdict_counts(primary)}. "
    if not other.empty:
        if level.vs_other_baselines_notes.get(d):
            note = level.vs_other_baselines_notes[d]
            text += "" if other_note else f"Against the other baselines: {note} "
        else:
            parts = [f"{name} {_verdict_counts(g)}" for name, g in
                     other.groupby("baseline", sort=False)]  # fmt: skip
            text += "Against the other baselines (paired, Holm): " + "; ".join(parts) + ". "
    return text


def baselines_position(summary: pd.DataFrame, rows: pd.DataFrame) -> str:
    """Where the baselines stand beside the best reward at one level (``rows``: that level's
    rows of ``SeedLevel.vs_best``; ``summary``: ``SeedLevel.summary``), lowest mean first:
    ``'Baselines on the same test episodes: max-occupancy 12.77 s, ...; the best reward is
    1.34 s (10.5 %) below the lowest of them. '`` (% of that baseline's mean); "" without
    baselines. Descriptive only: the paired tests follow."""
    if summary.empty or rows.empty:
        return ""
    level = str(rows["demand"].iloc[0])
    base = summary[(summary["kind"] == "baseline") & (summary["demand"] == level)]
    base = base.dropna(subset=["mean"]).sort_values("mean")
    if base.empty:
        return ""
    listed = ", ".join(f"{r.controller} {r.mean:.2f} s" for r in base.itertuples())
    best = float(rows["mean_best"].iloc[0])
    first = float(base["mean"].iloc[0])
    gap = (
        f"the best reward is {_margin(first, best, first)} below the lowest of them"
        if best < first
        else f"the best reward is {_margin(best, first, first)} above the lowest of them"
    )
    return f"Baselines on the same test episodes: {listed}; {gap}. "


def best_text(rows: pd.DataFrame) -> str:
    """The best reward of one level and where it was chosen, from that level's rows of
    ``SeedLevel.vs_best``; where validation chose it and another reward has a lower mean on
    the test episodes, that reward too."""
    best, on = str(rows["best"].iloc[0]), str(rows["chosen_on"].iloc[0])
    means = rows.set_index("controller")["mean"]
    level = str(rows["demand"].iloc[0])
    where = (
        "validation episodes" if on == "validation"
        else "the test episodes themselves (optimistic: they also score it)"
    )  # fmt: skip
    if on == "validation" and "chosen_mean" in rows and len(rows) > 1:
        chosen = rows.set_index("controller")["chosen_mean"].dropna().sort_values()
        if len(chosen) > 1:
            runner_up = chosen.index[1]
            where += (
                f" ({chosen.iloc[0]:.2f} s there; the next, {runner_up}, "
                f"{_margin(chosen.iloc[1], chosen.iloc[0], chosen.iloc[0])} higher)"
            )
    text = (
        f"**{level}**: best reward {best}, chosen on {where}: {means[best]:.2f} s on the test "
        "episodes (mean of per-seed means)."
    )
    lowest = means.idxmin()
    if means[lowest] < means[best]:
        text += f" Lowest on the test episodes: {lowest} ({means[lowest]:.2f} s)."
    return text


def _margin(higher: float, lower: float, of: float) -> str:
    """How much ``higher`` exceeds ``lower``, in s and in % of ``of``: ``'0.12 s (1.4 %)'``."""
    pct = 100 * (higher - lower) / of if of else float("nan")
    return f"{higher - lower:.2f} s ({pct:.1f} %)"


def _level_tables(
    rows: pd.DataFrame,
    notes: dict[str, str],
    demands: list[str],
    headers: list[str],
    cells,
    leads: dict[str, str] | None = None,
) -> list[Block]:
    """One table per demand level, each after its lead (``leads``: a sentence per level) and
    its note (stated once when all levels share it)."""
    out = []
    shared = _shared_note(notes, demands)
    if shared:
        out.append(Block("p", shared))
    for d in demands:
        level = rows[rows["demand"] == d] if not rows.empty else rows
        if level.empty:
            continue
        note = "" if shared else notes.get(d, "")
        text = " ".join(t for t in ((leads or {}).get(d, ""), note) if t)
        out.append(Block("p", f"Demand {d}:" + (f" {text}" if text else "")))
        out.append(Block("table", headers=headers, rows=[cells(r) for r in level.itertuples()]))
    return out


def comparison_blocks(level: SeedLevel, demands: list[str]) -> list[Block]:
    """The two comparison families, one table per level, with the levels' notes."""
    out = [Block("h2", "Against the best reward, per-seed means")]
    test = "Welch t test" if level.test == "t" else "permutation test of the difference of means"
    out.append(
        Block(
            "p",
            f"Each reward's per-seed means against the best reward's ({test}, two-sided); "
            f"Holm within each level; α = {level.alpha}. Δ = mean minus the best's mean. "
            "'floor' is the smallest p the test can give with these seed counts.",
        )
    )
    vb = level.vs_best.sort_values(["demand", "mean"]) if not level.vs_best.empty else level.vs_best
    on_validation = bool(not vb.empty and (vb["chosen_on"] == "validation").all())
    if on_validation:
        out.append(
            Block(
                "p",
                "'validation' is the mean of per-seed means on the validation episodes, the "
                "rows the best reward was chosen on (lowest there); every other column is on "
                "the test episodes.",
            )
        )
    headers = ["controller", "seeds", "mean", "Δ", "p", "p (Holm)", "floor", "verdict"]
    out += _level_tables(
        vb, level.vs_best_notes, demands,
        headers[:2] + ["validation"] * on_validation + headers[2:],
        lambda r: [r.controller, str(r.n)] + [_fmt(r.chosen_mean)] * on_validation
        + [f"{r.mean:.2f}", _fmt(r.diff), _p(r.p), _p(r.p_holm), _p(r.floor), r.verdict],
    )  # fmt: skip
    if level.vs_baselines.empty:
        return out
    out.append(Block("h2", "Against the baselines, paired over the shared test episodes"))
    test = "paired t test" if level.test == "t" else "sign-flip permutation test"
    base = level.vs_baselines
    primary, other = base[base["primary"]], base[~base["primary"]]
    on = set(primary["chosen_on"])
    where = (
        "the validation episodes" if on == {"validation"}
        else "the test episodes (not every baseline has validation rows; choosing on the "
        "episodes that score it favours the baseline)" if on == {"test"}
        else "the validation episodes where every baseline has them, else the test episodes"
    )  # fmt: skip
    out.append(
        Block(
            "p",
            "Per training seed, Δ = the mean over the test episodes both met (same episode "
            "seeds) of the agent's waiting time minus the baseline's; the interval is Student t "
            f"across seeds, the test a {test} of the seeds' Δ against 0. Negative Δ: the agent "
            "waits less. The primary comparison is against the best baseline of each level: "
            f"of every baseline, default and tuned, the one with the lowest mean on {where}; "
            "Holm over the rewards of a level. Every other baseline follows as a secondary "
            "comparison, Holm over all of its pairs in a level.",
        )
    )
    chosen = primary.drop_duplicates("demand")
    leads = {
        r.demand: f"best baseline {r.baseline}, {r.chosen_mean:.2f} s on the {r.chosen_on} "
        "episodes."
        for r in chosen.itertuples()
    }
    cols = ["controller", "baseline", "seeds", "episodes", "Δ [95 % CI]", "p", "p (Holm)",
            "floor", "verdict"]  # fmt: skip

    def cells(r) -> list[str]:
        return [r.controller, r.baseline, str(r.n), str(r.episodes),
                f"{r.diff:.2f} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]", _p(r.p),
                _p(r.p_holm), _p(r.floor), r.verdict]  # fmt: skip

    out.append(Block("p", "**Against the best baseline** (primary)."))
    out += _level_tables(primary, level.vs_baselines_notes, demands, cols, cells, leads)
    if not other.empty:
        out.append(Block("p", "**Against the other baselines** (secondary)."))
        out += _level_tables(other, level.vs_other_baselines_notes, demands, cols, cells)
    return out


def tails_blocks(df: pd.DataFrame, controllers: list[str], demands: list[str]) -> list[Block]:
    """Teleports, tail waits and per-arm waits per controller, one table per level."""
    table, missing = summaries.tails(df)
    out = [Block("h2", "Tails, arms and teleports")]
    arms = summaries.arm_columns(df)
    cols = [c for c in ("teleports", "teleport_share", "wait_p95", "wait_max") if c in table]
    emissions = [c for c in summaries.EMISSION_COLUMNS if c in table]
    text = (
        "Per controller: teleports per test episode and the share of episodes with one; the "
        "95th percentile of vehicle waits (mean over seeds); the longest single wait in any "
        "episode; the mean wait per arm (a policy that starves an arm shows there)."
    )
    if emissions:
        text += (
            " Then CO2 and fuel per vehicle-km from SUMO's emissions device (HBEFA4), mean "
            "over seeds."
        )
    if missing:
        text += (
            f" Not in these results: {', '.join(missing)} (see intergreen/experiments/README.md "
            "for the columns)."
        )
    out.append(Block("p", text))
    if table.empty or not (cols or arms):
        return out
    by = table.set_index(["controller", "demand"])
    if cols == ["teleports", "teleport_share"] and not arms:  # one compact table
        rows = [
            [c] + [f"{by.loc[(c, d), 'teleports']:.2f} ({by.loc[(c, d), 'teleport_share']:.0%})"
                   if (c, d) in by.index else "–" for d in demands]
            for c in controllers
        ]  # fmt: skip
        out.append(Block("p", "Teleports per test episode (share of episodes with one):"))
        out.append(Block("table", headers=["controller", *demands], rows=rows))
        return out
    names = {"teleports": "teleports / ep", "teleport_share": "episodes with one",
             "wait_p95": "p95 wait (s)", "wait_max": "max wait (s)",
             "co2_g_per_vkm": "CO2 (g/veh-km)",
             "fuel_l_per_100vkm": "fuel (l/100 veh-km)"}  # fmt: skip
    for d in demands:
        rows = []
        for c in controllers:
            if (c, d) not in by.index:
                continue
            r = by.loc[(c, d)]
            row = [c]
            for col in cols:
                row.append(f"{r[col]:.0%}" if col == "teleport_share" else _fmt(float(r[col])))
            row += [_fmt(float(r[a]), 1) for a in arms]
            if arms:
                row.append(str(r["worst_arm"]))
            row += [_fmt(float(r[c])) for c in emissions]
            rows.append(row)
        headers = ["controller", *(names[c] for c in cols)]
        headers += [f"arm {a[len(summaries.ARM_PREFIX) :]} (s)" for a in arms]
        headers += ["worst arm"] if arms else []
        headers += [names[c] for c in emissions]
        out.append(Block("p", f"Demand {d}:"))
        out.append(Block("table", headers=headers, rows=rows))
    return out


def _kinds_text(kinds: dict[str, str]) -> str:
    """How the runs score a validation point, for the learning curves' caption."""
    names = {"mean": "their mean", "geometric_mean": "their geometric mean"}
    used = sorted(set(kinds.values())) or ["mean"]
    return " or ".join(names.get(k, k) for k in used) + (" by run" if len(used) > 1 else "")


def _evaluated_models(raw: pd.DataFrame) -> str:
    """Which model of each run the test episodes evaluated (results' ``checkpoint`` column:
    ``best`` by validation score or ``final``), as a clause; empty when unrecorded."""
    if "checkpoint" not in raw:
        return ""
    counts = provenance.evaluated_models(raw)
    what = {"best": "the best validation point", "final": "the final model"}
    parts = [f"{what[k]} of {provenance.counted(counts[k], 'run')}" for k in what if k in counts]
    return "; the test episodes evaluate " + " and ".join(parts) if parts else ""


def _meta(root: Path) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name in ("grid.json", "batch.json"):
        with contextlib.suppress(OSError, json.JSONDecodeError):
            meta.update(json.loads((root / name).read_text()))
    return meta
