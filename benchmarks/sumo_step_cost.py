"""What SUMO's own step on gm_a56 spends on what the project loads into it: CPU time of 3000
raw libsumo steps (0.6 s, `medium` demand, netconvert's static program, no queries) with the
full command line of :class:`Simulation` and with parts of it left out: the 18 System D
induction loops, every detector, the trip output. The vehicles are the same in every variant
(detectors and outputs do not move them).

    .venv/bin/python benchmarks/sumo_step_cost.py [--reps 4] [--steps 3000]

Prints each variant's median CPU time over ``--reps`` seeds (the variants take turns per
seed) and its share of the full command line's step.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import libsumo

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.simulation import Simulation


def _sensors_without(full: Path, drop: str, folder: Path) -> Path:
    """The sensor file without the detectors whose XML element is ``drop`` ("sysd": the
    System D loops; "all": every detector)."""
    keep = []
    for line in full.read_text().splitlines():
        text = line.strip()
        detector = text.startswith(("<laneAreaDetector", "<inductionLoop"))
        if detector and (drop == "all" or 'id="sysd_' in text):
            continue
        keep.append(line)
    path = folder / f"sensors-{drop}.add.xml"
    path.write_text("\n".join(keep))
    return path


def _cpu_seconds(cmd: list[str], steps: int) -> float:
    libsumo.start(cmd)
    start = time.process_time()
    for _ in range(steps):
        libsumo.simulationStep()
    took = time.process_time() - start
    libsumo.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    spec = resolve_junction("gm_a56")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full = Path(Simulation(spec, "medium", seed=1).network.sensors_file)
        sensors = {"without System D loops": _sensors_without(full, "sysd", folder),
                   "without detectors": _sensors_without(full, "all", folder)}  # fmt: skip

        def command(variant: str, seed: int) -> list[str]:
            cmd = Simulation(spec, "medium", seed=seed).command(folder)
            if variant in sensors:
                cmd[cmd.index("-a") + 1] = str(sensors[variant])
            if variant == "without trip output":
                i = cmd.index("--tripinfo-output")
                del cmd[i : i + 6]  # the trip output and its two options
            return cmd

        variants = ["full command line", *sensors, "without trip output"]
        _cpu_seconds(command(variants[0], 99), args.steps)  # warm-up
        times: dict[str, list[float]] = {v: [] for v in variants}
        for rep in range(args.reps):
            for variant in variants:
                times[variant].append(_cpu_seconds(command(variant, rep + 1), args.steps))
    full_s = statistics.median(times[variants[0]])
    for variant in variants:
        median = statistics.median(times[variant])
        print(f"{variant:24s} {median:.3f} s CPU for {args.steps} steps; "
              f"what it leaves out: {1 - median / full_s:.1%} of the full step")  # fmt: skip


if __name__ == "__main__":
    main()
