"""CARBS vs random search (around the centre / uniform in a box) vs Optuna TPE at equal cost.

Usage: python benchmarks/tuning/run_benchmarks.py [--seeds 10] [--problems demo chinchilla]
Prints a table and writes benchmarks/tuning/results/tuning_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import TRUE_EXPONENT, Problem, problems  # noqa: E402

from intergreen.tuning import CARBS, CARBSParams  # noqa: E402
from intergreen.tuning.pareto import pareto_area, pareto_groups  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MAX_TRIALS = 400


def run_carbs(p: Problem, seed: int) -> list[tuple[dict, float, float]]:
    """Sequential CARBS until the budget is spent."""
    cfg = CARBSParams(
        better_direction_sign=-1, seed=seed, initial_search_radius=p.radius, **p.carbs_kwargs
    )
    tuner = CARBS(cfg, p.params)
    rng = np.random.default_rng(10_000 + seed)
    hist, spent = [], 0.0
    while spent < p.budget and len(hist) < MAX_TRIALS:
        s = tuner.suggest().suggestion
        out, cost = p.evaluate(s, rng)
        tuner.observe(s, out, cost)
        s = {k: v for k, v in s.items() if k != "suggestion_uuid"}
        hist.append((s, out, cost))
        spent += cost
    return hist


def run_random_centre(p: Problem, seed: int) -> list[tuple[dict, float, float]]:
    """Random search: N(centre, radius^2) in CARBS's basic space, as CARBS's random phase."""
    cfg = CARBSParams(
        better_direction_sign=-1, seed=seed, initial_search_radius=p.radius,
        num_random_samples=10**9,
    )
    tuner = CARBS(cfg, p.params)
    rng = np.random.default_rng(10_000 + seed)
    hist, spent = [], 0.0
    while spent < p.budget and len(hist) < MAX_TRIALS:
        s = tuner.suggest(is_suggestion_remembered=False).suggestion
        out, cost = p.evaluate(s, rng)
        hist.append((s, out, cost))
        spent += cost
    return hist


def _box_sample(p: Problem, rng: np.random.Generator) -> dict:
    s = {}
    for name, (lo, hi, log, integer) in p.box.items():
        v = math.exp(rng.uniform(math.log(lo), math.log(hi))) if log else rng.uniform(lo, hi)
        s[name] = int(round(v)) if integer else v
    return s


def run_random_box(p: Problem, seed: int) -> list[tuple[dict, float, float]]:
    """Uniform random search in the (log-)box the TPE baseline gets."""
    rng = np.random.default_rng(seed)
    erng = np.random.default_rng(10_000 + seed)
    hist, spent = [], 0.0
    while spent < p.budget and len(hist) < MAX_TRIALS:
        s = _box_sample(p, rng)
        out, cost = p.evaluate(s, erng)
        hist.append((s, out, cost))
        spent += cost
    return hist


def run_tpe(p: Problem, seed: int) -> list[tuple[dict, float, float]] | None:
    """Optuna TPE (no cost model) in the box, started at the search centre."""
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({q.name: q.center for q in p.params})
    erng = np.random.default_rng(10_000 + seed)
    hist, spent = [], 0.0
    while spent < p.budget and len(hist) < MAX_TRIALS:
        trial = study.ask()
        s = {}
        for name, (lo, hi, log, integer) in p.box.items():
            if integer:
                s[name] = trial.suggest_int(name, int(lo), int(hi), log=log)
            else:
                s[name] = trial.suggest_float(name, lo, hi, log=log)
        out, cost = p.evaluate(s, erng)
        study.tell(trial, out)
        hist.append((s, out, cost))
        spent += cost
    return hist


METHODS = {
    "carbs": run_carbs,
    "random_centre": run_random_centre,
    "random_box": run_random_box,
    "tpe": run_tpe,
}


def summarise(p: Problem, hist: list[tuple[dict, float, float]]) -> dict:
    """Best output at the budget, cost to reach the target, Pareto area and exponent."""
    outs = np.array([h[1] for h in hist])
    costs = np.array([h[2] for h in hist])
    cum = np.cumsum(costs)
    within = cum <= p.budget * (1 + 1e-9)
    best = float(outs[within].min()) if within.any() else math.inf
    hit = np.flatnonzero((outs <= p.target) & within)
    cost_to_target = float(cum[hit[0]]) if len(hit) else math.inf
    x = np.array([[math.log(h[0][q.name]) for q in p.params] for h in hist])
    front = pareto_groups(x, outs, costs, -1, conservative=False)
    res = {
        "trials": len(hist),
        "best_at_budget": best,
        "cost_to_target": cost_to_target,
        "pareto_area": pareto_area(front),
        "pareto_groups": len(front),
    }
    if p.name == "chinchilla":
        res["pareto_exponent"] = pareto_exponent(hist, front)
    return res


def pareto_exponent(hist: list, front: list) -> float:
    """Least-squares slope of log N against log C over the Pareto groups."""
    if len(front) < 3:
        return math.nan
    n = np.array([math.log(hist[g.indices[0]][0]["params"]) for g in front])
    c = np.log(np.array([g.cost for g in front]))
    return float(np.polyfit(c, n, 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--problems", nargs="*", default=list(problems()))
    ap.add_argument("--methods", nargs="*", default=list(METHODS))
    args = ap.parse_args()
    probs = problems()
    report: dict = {"seeds": args.seeds, "problems": {}}
    for name in args.problems:
        p = probs[name]
        per_method = {}
        for m in args.methods:
            t0 = time.perf_counter()
            runs = [METHODS[m](p, seed) for seed in range(args.seeds)]
            if any(r is None for r in runs):
                print(f"[{name}] {m}: skipped (optuna not importable; pip install optuna)")
                continue
            rows = [summarise(p, r) for r in runs]
            agg = {
                k: float(np.median([r[k] for r in rows])) for k in rows[0] if k != "trials"
            }
            agg["median_trials"] = float(np.median([r["trials"] for r in rows]))
            agg["reached_target"] = sum(math.isfinite(r["cost_to_target"]) for r in rows)
            agg["seconds"] = time.perf_counter() - t0
            per_method[m] = {"median": agg, "runs": rows}
        report["problems"][name] = {
            "budget": p.budget, "target": p.target, "methods": per_method,
        }
        if name == "chinchilla":
            report["problems"][name]["true_exponent"] = TRUE_EXPONENT
        _print_table(name, p, per_method)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "tuning_benchmark.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out}")


def _print_table(name: str, p: Problem, per_method: dict) -> None:
    print(f"\n{name}: budget {p.budget:g}, target {p.target:g} (medians over seeds)")
    hdr = f"{'method':<14}{'best@budget':>12}{'cost→target':>13}{'hit':>5}{'pareto_area':>13}"
    extra = name == "chinchilla"
    print(hdr + (f"{'exponent':>10}" if extra else "") + f"{'trials':>8}{'sec':>7}")
    for m, d in per_method.items():
        a = d["median"]
        line = (
            f"{m:<14}{a['best_at_budget']:>12.4g}{a['cost_to_target']:>13.4g}"
            f"{a['reached_target']:>5}{a['pareto_area']:>13.4g}"
        )
        if extra:
            line += f"{a['pareto_exponent']:>10.3f}"
        print(line + f"{a['median_trials']:>8.0f}{a['seconds']:>7.1f}")


if __name__ == "__main__":
    main()
