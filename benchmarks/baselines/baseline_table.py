"""Average waiting time of every baseline at the study's three demand levels, with their
default parameters and, where the junction has them, their tuned ones (``NAME:tuned``).

    .venv/bin/python benchmarks/baselines/baseline_table.py [--episodes 10] [--workers 1]

Episodes use the test seed stream (intergreen.seeds), the same for every controller (tuning
used the validation stream). The "poor fixed plan" gives the side roads twice the main road's green
(20 s / 40 s), the wrong way round for this demand. Prints a Markdown table (mean ± std, s),
then the tuned parameters and their budgets, and writes benchmarks/results/baseline_table.csv.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from intergreen.agents.evaluation import evaluate, summary_table
from intergreen.junctions.baseline_params import tuned_file
from intergreen.junctions.baselines import FixedTime
from intergreen.junctions.catalog import resolve_junction

DEFAULTS = ["vehicle-actuated", "camera-actuated", "max-occupancy", "fixed-time"]
TUNABLE = ["vehicle-actuated", "max-occupancy", "fixed-time"]


class PoorFixedTime(FixedTime):
    name = "fixed-time (poor: 20 s / 40 s)"

    def __init__(self) -> None:
        super().__init__(greens={"2": 20, "4": 40})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--junction", default="gm_a56")
    args = parser.parse_args()
    spec = resolve_junction(args.junction)
    tuned = [f"{c}:tuned" for c in TUNABLE if tuned_file(spec, c).is_file()]
    names = [x for c in DEFAULTS for x in (c, f"{c}:tuned") if x in DEFAULTS or x in tuned]
    results = evaluate(names + ["random"], args.junction, ("low", "medium", "high"),
                       args.episodes, workers=args.workers)  # fmt: skip
    poor = evaluate([PoorFixedTime()], args.junction, ("low", "medium", "high"), args.episodes)
    results = pd.concat([results, poor], ignore_index=True)
    order = names + [PoorFixedTime.name, "random"]
    results["controller"] = pd.Categorical(results["controller"], order, ordered=True)
    results = results.sort_values(["controller"], kind="stable")
    results["controller"] = results["controller"].astype(str)
    table = summary_table(results)
    print(f"average waiting time (s), mean ± std over {args.episodes} test episodes\n")
    print("| controller | " + " | ".join(table.columns) + " |")
    print("|---|" + "---|" * len(table.columns))
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(row) + " |")
    for name in tuned:
        doc = json.loads(tuned_file(spec, name.removesuffix(":tuned")).read_text())
        v, b = doc["validation"], doc["budget"]
        print(f"\n{name}: {json.dumps(doc['params'])}; validation {v['tuned_wait_s']:.2f} s "
              f"(defaults {v['default_wait_s']:.2f} s) over {len(v['seeds'])} seeds x "
              f"{len(v['demands'])} demands; budget {b['trials']} trials, {b['episodes']} "
              f"episodes, {b['wall_s'] / 60:.0f} min")  # fmt: skip
    out = Path(__file__).resolve().parents[1] / "results" / "baseline_table.csv"
    out.parent.mkdir(exist_ok=True)
    results.to_csv(out, index=False)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
