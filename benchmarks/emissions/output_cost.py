"""What the optional SUMO outputs cost: a Simulation stepped under the network's static
programme, plain against ``trace=True`` (edgeData on the approaches, signal switches),
``emissions=True`` (SUMO's emissions device) and both, as ratios of CPU time in one run.

Run: ``python benchmarks/emissions/output_cost.py [--demand high] [--steps 3000] [--reps 5]``.
Each variant is run ``--reps`` times, interleaved; the ratio is of the medians of the CPU
seconds (``time.process_time``, this process: libsumo runs in it) of stepping, finishing and
reading the outputs. Prints one line per variant.
"""

from __future__ import annotations

import argparse
import statistics
import time


def run(spec, demand: str, steps: int, seed: int, **options) -> float:
    from intergreen.junctions.simulation import Simulation

    sim = Simulation(spec, demand, seed=seed, duration=steps * spec.timing.step_length, **options)
    sim.start()
    t0 = time.process_time()
    for _ in range(steps):
        sim.step()
    sim.finish()
    return time.process_time() - t0


def main() -> None:
    from intergreen.junctions.catalog import resolve_junction

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand", default="high")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    spec = resolve_junction("gm_a56")
    variants = {
        "plain": {},
        "trace": {"trace": True},
        "emissions": {"emissions": True},
        "trace+emissions": {"trace": True, "emissions": True},
    }
    run(spec, args.demand, 300, 99)  # warm-up (network and routes built and cached)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(args.reps):
        for name, options in variants.items():
            times[name].append(run(spec, args.demand, args.steps, rep + 1, **options))
    base = statistics.median(times["plain"])
    print(f"gm_a56, {args.demand}, {args.steps} steps, median of {args.reps} runs")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"{name:<16} {m:6.3f} s CPU   x{m / base:.2f}")


if __name__ == "__main__":
    main()
