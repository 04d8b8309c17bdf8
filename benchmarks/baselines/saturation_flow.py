"""Measure the saturation flow of every approach lane of a junction in SUMO and write it,
with its provenance, to the junction's saturation_flows.yaml (which Webster's fixed-time
plan reads).

    .venv/bin/python benchmarks/baselines/saturation_flow.py [--junction gm_a56] [--seeds 5]
        [--duration 3600] [--demand 4500] [--out PATH] [--dry-run]

Method: :mod:`intergreen.junctions.saturation` (discharge headways of the queue standing at
the start of each green, the first four left out; RRL Road Note 34, TRL RR67). Prints a
table; ``--dry-run`` prints the YAML instead of writing it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import yaml

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import load_assumptions
from intergreen.junctions.fixed_time import SATURATION_FILE
from intergreen.junctions.saturation import (
    START_UP_VEHICLES,
    measure_headways,
    saturation_flows,
)
from intergreen.junctions.sumo import sumo_binary

ROOT = Path(__file__).resolve().parents[2]


def _sumo_version() -> str:
    out = subprocess.run([sumo_binary("sumo"), "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    return out.stdout.strip() or "unknown"


def _vehicles(spec) -> str:
    """The vehicles the measured demand is made of, from the junction's demand.yaml."""
    mix = load_assumptions(spec).version(None).vehicle_mix
    if not mix:
        return "cars only (SUMO's default passenger car)"
    shares = ", ".join(f"{name} {100 * share:.1f}%" for name, share in mix.items())
    return f"the vehicle mix of its demand.yaml ({shares}; vehicle types of vehicles.py)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junction", default="gm_a56")
    parser.add_argument("--seeds", type=int, default=5, help="runs, seeds 1..N")
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated s per run")
    parser.add_argument("--demand", type=float, default=4500.0, help="veh/h into the junction")
    parser.add_argument("--out", type=Path, default=None, help="default: the junction's file")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    spec = resolve_junction(args.junction)
    seeds = list(range(1, args.seeds + 1))
    start = time.perf_counter()
    headways = measure_headways(spec, seeds, demand=args.demand, duration=args.duration)
    lanes = saturation_flows(headways)
    wall = time.perf_counter() - start
    print(f"{spec.name}: saturation flow per approach lane ({len(seeds)} runs of "
          f"{args.duration:g} s at {args.demand:g} veh/h, {wall:.0f} s)\n")  # fmt: skip
    print("| lane | veh/h | 95% interval | mean headway s | headways | greens |")
    print("|---|---|---|---|---|---|")
    for lane, r in lanes.items():
        if r["saturation_flow"] is None:
            sys.exit(f"lane {lane}: no saturated discharge measured; raise --demand or --seeds")
        lo, hi = r["ci95"]
        print(f"| {lane} | {r['saturation_flow']:.0f} | {lo:.0f}-{hi:.0f} | "
              f"{r['mean_headway_s']:.3f} | {r['headways']} | {r['greens']} |")  # fmt: skip
    cmd = "python benchmarks/baselines/saturation_flow.py " + " ".join(sys.argv[1:])
    doc = {
        "junction": spec.name,
        "provenance": {
            "measured_by": "benchmarks/baselines/saturation_flow.py",
            "command": cmd.strip(),
            "method": (
                "mean discharge headway of the vehicles standing in the lane's queue at the "
                f"start of green, the first {START_UP_VEHICLES} left out (start-up lost time), "
                "crossing times interpolated within the step; saturation flow = 3600 / mean "
                "headway; 95% interval by bootstrap over greens. Standard method: RRL Road "
                "Note 34 (1963); definition: TRL RR67 (Kimber, McDonald & Hounsell 1986)."
            ),
            "conditions": (
                f"{args.demand:g} veh/h into the junction with the shares and turning "
                "proportions of its demand.yaml, fixed plan 40 s main road / 30 s side roads, "
                f"{len(seeds)} runs of {args.duration:g} s (seeds {seeds[0]}-{seeds[-1]}); "
                + _vehicles(spec)
            ),
            "sumo": _sumo_version(),
            "intergreen_commit": _commit(),
            "date": dt.date.today().isoformat(),
        },
        "lanes": lanes,
    }
    text = yaml.safe_dump(doc, sort_keys=False, width=100)
    if args.dry_run:
        print("\n" + text)
        return
    out = args.out or ROOT / "intergreen" / "junctions" / "library" / spec.name / SATURATION_FILE
    out.write_text(
        f"# Saturation flows of {spec.name}'s approach lanes (veh/h), measured in SUMO; read by\n"
        "# the fixed-time (Webster) baseline. Regenerate with the command under provenance.\n"
        + text
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
