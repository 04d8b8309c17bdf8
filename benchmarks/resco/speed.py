"""How long importing a RESCO-sized network and simulating its first hour take.

    python benchmarks/resco/speed.py [--out benchmarks/resco/speed.json]

For cologne1 and ingolstadt1, each in a fresh process (no cache of the network in memory):
the import (read the network and program with sumolib, derive and write the junction YAML),
loading the YAML, and the scenario's first hour under the network's own program (SUMO runs it)
and under our controller (max pressure, a decision every 10 s); beside, plain SUMO running the
same network, routes and hour with no TraCI at all. The ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.resco import SCENARIOS, nets_folder
t_import_modules = time.perf_counter() - t0
name, out = sys.argv[1], sys.argv[2]
sc = SCENARIOS[name]
folder = nets_folder() / sc.folder
t = time.perf_counter()
path, _, _ = import_network(folder / sc.net, out, routes=[folder / r for r in sc.routes],
                            begin=sc.begin, end=sc.end, rules="program", transitions="all")
t_import = time.perf_counter() - t
t = time.perf_counter()
spec = resolve_junction(str(path))
t_load = time.perf_counter() - t
from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.env import make_env
from intergreen.junctions.rollout import run_episode
hours = {}
for controller in ("program", "max-pressure"):
    policy = make_baseline(controller)
    env = make_env(f"resco:{name}", "routes", seed=1, **getattr(policy, "env_kwargs", {}))
    t = time.perf_counter()
    run_episode(env, policy, 1)
    hours[controller] = time.perf_counter() - t
print(json.dumps({"import_s": t_import, "load_s": t_load, "modules_s": t_import_modules,
                  "hour_s": hours}))
"""


def plain_sumo_hour(name: str) -> float:
    from intergreen.junctions.resco import SCENARIOS, nets_folder
    from intergreen.junctions.sumo import sumo_binary

    sc = SCENARIOS[name]
    folder = nets_folder() / sc.folder
    cmd = [sumo_binary("sumo"), "-n", str(folder / sc.net), "-r",
           ",".join(str(folder / r) for r in sc.routes), "--begin", str(sc.begin), "--end",
           str(sc.end), "--no-step-log", "true", "--no-warnings", "true",
           "--time-to-teleport", "-1"]  # fmt: skip
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "speed.json")
    a = p.parse_args()
    results = {}
    for name in ("cologne1", "ingolstadt1"):
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run([sys.executable, "-c", CHILD, name, tmp], check=True,
                                  capture_output=True, text=True)  # fmt: skip
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["plain_sumo_hour_s"] = plain_sumo_hour(name)
        r["hour_vs_plain_sumo"] = {k: v / r["plain_sumo_hour_s"] for k, v in r["hour_s"].items()}
        results[name] = r
        print(f"{name}: import {r['import_s']:.2f} s, load {r['load_s']:.2f} s, first hour "
              f"{r['hour_s']['program']:.1f} s (program) / {r['hour_s']['max-pressure']:.1f} s "
              f"(max-pressure), plain SUMO {r['plain_sumo_hour_s']:.1f} s "
              f"(x{r['hour_vs_plain_sumo']['max-pressure']:.2f})")  # fmt: skip
    a.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
