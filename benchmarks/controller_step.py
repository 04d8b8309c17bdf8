"""The stage controller's cost per simulation step, against a SUMO step of the same junction.

Moved here from the tests (a wall-clock limit in a test flakes on a loaded machine): both are
timed in one run, and the ratio is what matters, since the controller runs once per SUMO step.

    .venv/bin/python benchmarks/controller_step.py [--steps 30000]
"""

from __future__ import annotations

import argparse
import json
import time

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.controller import StageController
from intergreen.junctions.network import build_network
from intergreen.junctions.simulation import Simulation


def controller_seconds_per_step(steps: int) -> float:
    spec = resolve_junction("gm_a56")
    ctl = StageController(spec, build_network(spec).links)
    ctl.reset(None)
    cycle = ["4", "2", "4", "2"]
    start = time.perf_counter()
    for i in range(steps):
        if i % 100 == 0:
            ctl.request(cycle[(i // 100) % 4])
        ctl.step()
    return (time.perf_counter() - start) / steps


def sumo_seconds_per_step(steps: int) -> float:
    sim = Simulation(resolve_junction("gm_a56"), "medium", seed=1, duration=steps * 0.6 + 10)
    sim.start()
    try:
        start = time.perf_counter()
        for _ in range(steps):
            sim.step()
        return (time.perf_counter() - start) / steps
    finally:
        sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30_000, help="controller steps")
    parser.add_argument("--sumo-steps", type=int, default=3_000, help="SUMO steps (0.6 s)")
    args = parser.parse_args()
    ctl = controller_seconds_per_step(args.steps)
    sumo = sumo_seconds_per_step(args.sumo_steps)
    result = {
        "controller_us_per_step": round(ctl * 1e6, 2),
        "sumo_us_per_step": round(sumo * 1e6, 1),
        "controller_share_of_a_sumo_step": round(ctl / sumo, 4),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
