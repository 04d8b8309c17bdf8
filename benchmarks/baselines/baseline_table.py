"""Average waiting time of every baseline at the study's three demand levels.

    .venv/bin/python benchmarks/baselines/baseline_table.py [--episodes 10]

Episodes use the evaluation seeds (1e9 + i), the same for every controller. The
"poor fixed plan" gives the side roads twice the main road's green (20 s / 40 s),
the wrong way round for this demand. Prints a Markdown table (mean ± std, s) and
writes benchmarks/results/baseline_table.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from intergreen.agents.evaluation import evaluate, summary_table
from intergreen.junctions.baselines import (
    CameraActuated,
    FixedTime,
    MaxOccupancy,
    RandomPolicy,
    VehicleActuated,
)


class PoorFixedTime(FixedTime):
    name = "fixed-time (poor: 20 s / 40 s)"

    def __init__(self) -> None:
        super().__init__(greens={"2": 20, "4": 40})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()
    controllers = [
        VehicleActuated(),
        CameraActuated(),
        MaxOccupancy(),
        FixedTime(),
        PoorFixedTime(),
        RandomPolicy(),
    ]
    results = evaluate(controllers, demands=("low", "medium", "high"), episodes=args.episodes)
    table = summary_table(results)
    print(f"average waiting time (s), mean ± std over {args.episodes} episodes\n")
    print("| controller | " + " | ".join(table.columns) + " |")
    print("|---|" + "---|" * len(table.columns))
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(row) + " |")
    out = Path(__file__).resolve().parents[1] / "results" / "baseline_table.csv"
    out.parent.mkdir(exist_ok=True)
    pd.DataFrame(results).to_csv(out, index=False)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
