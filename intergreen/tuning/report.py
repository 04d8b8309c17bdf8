"""Tune report: Pareto front of waiting time against cost, best hyperparameters per cost.

``write_report(out)`` reads ``out/carbs.json`` and the trial records and writes ``report.md``
and ``report.png`` (left: every trial and the Pareto front; right: the best waiting time found
against the cumulative cost spent, i.e. how tuned quality scales with the tuning budget).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intergreen.tuning.sessions import limits_text, trial_groups
from intergreen.tuning.trials import DEFAULT_ID, load_trials, trained_values, values_text


def pareto_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Successful trials not dominated in (cost, waiting time), cheapest first."""
    ok = sorted(
        (t for t in trials if t.get("status") == "done"), key=lambda t: (t["cost"], t["output"])
    )
    front: list[dict[str, Any]] = []
    for t in ok:
        if not front or t["output"] < front[-1]["output"]:
            front.append(t)
    return front


def budget_curve(trials: list[dict[str, Any]]) -> list[tuple[float, float | None]]:
    """(cumulative cost, best waiting time so far) in the order trials finished."""
    done = sorted(
        (t for t in trials if t.get("status") in ("done", "failed")),
        key=lambda t: t.get("finished", 0.0),
    )
    spent, best, curve = 0.0, None, []
    for t in done:
        spent += t["cost"]
        if t["status"] == "done" and (best is None or t["output"] < best):
            best = t["output"]
        curve.append((spent, best))
    return curve


def cost_unit(cost: str) -> str:
    """How a tune's cost (``steps`` or ``seconds``, TuneSpec.cost) is counted, for people."""
    return "env steps" if cost == "steps" else "training s"


def budget_text(budget: dict[str, Any], used: float, unit: str) -> str:
    """``'budget 3,000 env steps, used 4,848: 1,848 env steps (62%) over it, ...'``: the
    budget (tune.json's ``{"kind": "wall" | "cost", "amount": ...}``; ``unit``: the cost's),
    what was used (s of wall clock, or total cost) and by how much it was overshot."""
    amount = float(budget["amount"])
    if budget["kind"] == "wall":
        limit, spent, over = (f"{x / 60:,.1f} min" for x in (amount, used, used - amount))
        limit += " of wall clock"
    else:
        limit, spent, over = f"{amount:,.0f} {unit}", f"{used:,.0f}", f"{used - amount:,.0f} {unit}"
    text = f"budget {limit}, used {spent}"
    if used <= amount:
        return text
    return (
        f"{text}: {over} ({(used - amount) / amount:.0%}) over it (a trial that starts before "
        "the budget is spent trains to its end, in whole collections)"
    )


def budget_summary(sessions: list[dict[str, Any]], trials: list[dict[str, Any]], wall_s: float,
                   cost: float, unit: str) -> str:  # fmt: skip
    """The budget the ``trials`` ran under and what they used: :func:`budget_text` of the one
    session that launched them all (the last session's when there are no trials), else each
    session's limits with its trials and the wall clock (s) and ``cost`` used in all
    (``sessions``: tune.json's, :mod:`intergreen.tuning.sessions`)."""
    groups = trial_groups(sessions, trials)
    known = [s for s, _ in groups if s is not None]
    if len(groups) <= 1 and (known or (not groups and sessions)):
        budget = (known or sessions)[-1]["budget"]
        return budget_text(budget, wall_s if budget["kind"] == "wall" else cost, unit)
    return (
        f"limits {limits_text(sessions, trials, unit)}; used {wall_s / 60:,.1f} min of wall "
        f"clock, {cost:,.0f} {unit}"
    )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def write_report(out: str | Path) -> Path:
    """Write ``report.md`` and ``report.png`` in the tune folder; returns the Markdown path."""
    out = Path(out)
    trials = load_trials(out)
    meta = json.loads((out / "tune.json").read_text()) if (out / "tune.json").exists() else {}
    spec = meta.get("spec", {})
    unit = cost_unit(spec.get("cost", "steps"))
    n_seeds = int(spec.get("train_seeds", 1))
    episodes = int(spec.get("eval_episodes", 0))
    front = pareto_trials(trials)
    curve = budget_curve(trials)
    ok = [t for t in trials if t.get("status") == "done"]
    failed = [t for t in trials if t.get("status") == "failed"]
    png = out / "report.png"
    _plot(png, ok, failed, front, curve, unit)

    names = list(trials[0]["values"]) if trials else []
    cost = sum(t.get("cost", 0) for t in trials)
    sessions = meta.get("sessions", [])
    budget = budget_summary(sessions, trials, float(meta.get("elapsed_s", 0)), cost, unit)
    lines = [
        f"# Tune: {spec.get('agent', '?')} on {spec.get('junction', '?')}",
        "",
        f"Reward `{spec.get('reward')}`, trained on `{spec.get('train_demand')}`; output = mean "
        f"average waiting time (s) over {episodes} validation episode{'s' * (episodes != 1)} "
        + (f"of {spec['eval_duration']:g} s " if spec.get("eval_duration") else "")
        + f"at {', '.join(spec.get('eval_demands', []))}"
        + (f" of each of {n_seeds} agents (training seeds) per trial" if n_seeds > 1 else "")
        + f"; cost = {unit}"
        + (" summed over them." if n_seeds > 1 else "."),
        f"Trials: {len(ok)} done, {len(failed)} failed, "
        f"{sum(t.get('status') == 'running' for t in trials)} unfinished; wall time "
        f"{meta.get('elapsed_s', 0) / 60:.1f} min; total cost {cost:,.0f}"
        + (f"; {budget}." if sessions or trials else "."),
        "Values are as trained: `timesteps` is the decisions each agent trained (training "
        "stops between whole collections, e.g. PPO's rollouts of n_steps); where training "
        "differed from CARBS's suggestion (also PPO's batch_size, made a divisor of n_steps), "
        "the suggestion is in brackets.",
        "",
        "![Pareto front and budget curve](report.png)",
        "",
    ]
    default = next((t for t in ok if t["id"] == DEFAULT_ID), None)
    if default is not None:
        lines += [
            f"Defaults (trial {DEFAULT_ID}): {default['output']:.2f} s at cost "
            f"{default['cost']:,.0f}.",
            "",
        ]
    if ok:
        best = min(ok, key=lambda t: t["output"])
        lines += [f"Best: trial {best['id']}, {best['output']:.2f} s at cost {best['cost']:,.0f}: "
                  f"{values_text(best)}.", ""]  # fmt: skip
    lines += [
        "## Pareto front: the best hyperparameters at each cost",
        "",
        "| trial | cost | waiting time (s) | " + " | ".join(names) + " |",
        "|---|---:|---:|" + "---:|" * len(names),
    ]
    for t in front:
        trained = trained_values(t)
        vals = " | ".join(
            _fmt(trained.get(n))
            + ("" if t["values"].get(n) == trained.get(n) else f" ({_fmt(t['values'].get(n))})")
            for n in names
        )
        lines.append(f"| {t['id']} | {t['cost']:,.0f} | {t['output']:.2f} | {vals} |")
    lines += [
        "",
        "## Best waiting time against tuning cost spent",
        "",
        "| trials finished | cumulative cost | best so far (s) |",
        "|---:|---:|---:|",
    ]
    for i, (spent, best_so_far) in enumerate(curve, 1):
        b = "-" if best_so_far is None else f"{best_so_far:.2f}"
        lines.append(f"| {i} | {spent:,.0f} | {b} |")
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- {t['id']}: {t.get('error')}" for t in failed]
    md = out / "report.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def _plot(path: Path, ok: list[dict[str, Any]], failed: list[dict[str, Any]],
          front: list[dict[str, Any]], curve: list[tuple[float, float | None]],
          unit: str) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    if ok:
        a.scatter([t["cost"] for t in ok], [t["output"] for t in ok], s=18, c="0.6",
                  label="trial")  # fmt: skip
        a.step([t["cost"] for t in front], [t["output"] for t in front], where="post", c="C0",
               marker="o", label="Pareto front")  # fmt: skip
        default = [t for t in ok if t["id"] == DEFAULT_ID]
        if default:
            a.scatter([default[0]["cost"]], [default[0]["output"]], marker="*", s=140, c="C3",
                      zorder=3, label="defaults")  # fmt: skip
    if failed:
        top = max((t["output"] for t in ok), default=1.0)
        a.scatter([t["cost"] for t in failed], [top] * len(failed), marker="x", c="C1",
                  label="failed")  # fmt: skip
    a.set(xscale="log", yscale="log", xlabel=f"cost ({unit})", ylabel="avg waiting time (s)",
          title="Trials and Pareto front")  # fmt: skip
    a.legend(fontsize=8)
    pts = [(c, v) for c, v in curve if v is not None]
    if pts:
        b.step([c for c, _ in pts], [v for _, v in pts], where="post", c="C0")
    b.set(xscale="log", xlabel=f"cumulative tuning cost ({unit})",
          ylabel="best avg waiting time so far (s)",
          title="Quality against tuning budget")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = [
    "budget_curve",
    "budget_summary",
    "budget_text",
    "cost_unit",
    "pareto_trials",
    "write_report",
]
