"""RESCO's own baselines, run by RESCO's own code, on a SUMO version of your choice.

    git clone https://github.com/Pi-Star-Lab/RESCO /tmp/RESCO   # at fc65e91 for the table
    pip install --target /tmp/sumo19 eclipse-sumo==1.9.2         # RESCO's SUMO, kept apart
    python benchmarks/resco/resco_reference.py --resco /tmp/RESCO --sumo-home /tmp/sumo19/sumo
    python benchmarks/resco/resco_reference.py --resco /tmp/RESCO \\
        --sumo-home .venv/lib/python3.11/site-packages/sumo        # ours (eclipse-sumo)

Tells a difference of SUMO versions from a difference of implementations: for cologne1 and
ingolstadt1, on the networks and routes of the RESCO checkout,

- ``Fixed Time``: plain SUMO running the network's program (``sumo -c SCENARIO.sumocfg``, no
  TraCI), as RESCO's ``FIXED`` rows, which have no agent in its code;
- ``Max Pressure`` and ``Greedy``: RESCO's ``MultiSignal`` environment with its ``MAXPRESSURE``
  and ``MAXWAVE`` agents and their ``agent_config.py`` settings (state, reward, detection
  distance), its ``map_config.py`` timing, over TraCI from the given SUMO's ``tools``;

each scored by the logic of RESCO's ``utils/avg_timeLoss.py`` (mean ``timeLoss`` plus
``departDelay`` over the tripinfo file written with ``--tripinfo-output.write-unfinished``,
plus RESCO's correction for never-departed ``<vehicle>`` entries, which these route files,
made of ``<trip>`` entries, never trigger). Two shims, nothing else changed: ``gym`` is
gymnasium (RESCO's environment uses only ``gym.Env`` and ``gym.spaces``), and RESCO's
``--random`` is replaced by ``--seed N`` (episode N of 1..``--episodes``) so that a run
repeats. Results are merged into ``--out`` (default ``docs/results/resco/reference.json``)
under the SUMO version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).parent
SCENARIOS = {"cologne1": 28800.0, "ingolstadt1": 61200.0}  # RESCO's map_config end_time
AGENTS = {"Max Pressure": "MAXPRESSURE", "Greedy": "MAXWAVE"}

#: runs in a child process whose traci comes from the SUMO under test (``SUMO_HOME/tools``)
CHILD = r"""
import os, sys
import gymnasium
sys.modules["gym"] = gymnasium  # RESCO uses gym.Env and gym.spaces only
resco, agent_name, map_name, episodes, log_dir = sys.argv[1:6]
sys.path[:0] = [os.path.join(resco, "resco_benchmark"), resco]
import traci
_start = traci.start
def start(cmd, *args, **kwargs):  # RESCO passes --random: episode n gets --seed n instead
    if "--random" in cmd:
        start.n += 1
        cmd = [c for c in cmd if c != "--random"] + ["--seed", str(start.n)]
    return _start(cmd, *args, **kwargs)
start.n = 0
traci.start = start
import resco_benchmark.rewards as rewards
import resco_benchmark.states as states
from resco_benchmark.agents.maxpressure import MAXPRESSURE
from resco_benchmark.agents.maxwave import MAXWAVE
from resco_benchmark.config.map_config import map_configs
from resco_benchmark.multi_signal import MultiSignal
# RESCO's agent_config.py entries for these two (that module imports every agent's libraries)
configs = {
    "MAXPRESSURE": {"agent": MAXPRESSURE, "state": states.mplight, "reward": rewards.wait,
                    "max_distance": 200},
    "MAXWAVE": {"agent": MAXWAVE, "state": states.wave, "reward": rewards.wait,
                "max_distance": 50},
}
agt, mc = configs[agent_name], map_configs[map_name]
env = MultiSignal(agent_name + "-tr1", map_name, os.path.join(resco, "resco_benchmark", mc["net"]),
                  agt["state"], agt["reward"], route=None, step_length=mc["step_length"],
                  yellow_length=mc["yellow_length"], step_ratio=mc["step_ratio"],
                  end_time=mc["end_time"], max_distance=agt["max_distance"], lights=mc["lights"],
                  log_dir=log_dir + os.sep, libsumo=False, warmup=mc["warmup"])
obs_act = {k: [env.obs_shape[k], len(env.phases[k])] for k in env.obs_shape}
agent = agt["agent"]({**agt, "save_freq": 10**9, "load": False}, obs_act, map_name, 1)
for _ in range(int(episodes)):
    obs, done = env.reset(), False
    while not done:
        obs, rew, done, info = env.step(agent.act(obs))
env.close()
print(os.path.join(log_dir, env.connection_name))
"""


def resco_delay(tripinfo: Path, routes: Path, end_time: float) -> tuple[float, int]:
    """RESCO's ``avg_timeLoss.py`` for one episode: (delay in s per trip, trips counted)."""
    num_trips, total, last_departure, last_id = 0, 0.0, 0.0, ""
    for child in ET.parse(tripinfo).getroot():
        try:
            num_trips += 1
            total += float(child.attrib["timeLoss"]) + float(child.attrib["departDelay"])
            if float(child.attrib["depart"]) > last_departure:
                last_departure, last_id = float(child.attrib["depart"]), child.attrib["id"]
        except (KeyError, ValueError):
            break
    root = ET.parse(routes).getroot()
    planned = [float(c.attrib["depart"]) for c in root if c.attrib.get("id") == last_id]
    never = [
        float(c.attrib["depart"])
        for c in root
        if c.tag == "vehicle" and planned and float(c.attrib["depart"]) > planned[-1]
    ]
    total += sum(end_time - d for d in never)
    return total / (num_trips + len(never)), num_trips + len(never)


def run(resco: Path, sumo_home: Path, scenario: str, episodes: int, tmp: Path) -> dict:
    env = dict(os.environ, SUMO_HOME=str(sumo_home), PYTHONPATH=str(sumo_home / "tools"))
    folder = resco / "resco_benchmark" / "environments" / scenario
    routes, end = folder / f"{scenario}.rou.xml", SCENARIOS[scenario]
    out: dict[str, list] = {"Fixed Time": []}
    for n in range(1, episodes + 1):
        trips = tmp / f"{scenario}-fixed-{n}.xml"
        subprocess.run(
            [str(sumo_home / "bin" / "sumo"), "-c", str(folder / f"{scenario}.sumocfg"),
             "--seed", str(n), "--time-to-teleport", "-1", "--tripinfo-output", str(trips),
             "--tripinfo-output.write-unfinished", "--no-step-log", "--no-warnings"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        out["Fixed Time"].append(resco_delay(trips, routes, end))
    for name, agent in AGENTS.items():
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(resco), agent, scenario, str(episodes), str(tmp)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        logs = Path(proc.stdout.strip().splitlines()[-1])
        out[name] = [
            resco_delay(logs / f"tripinfo_{n}.xml", routes, end) for n in range(1, episodes + 1)
        ]
    return {k: {"delay": [d for d, _ in v], "trips": [t for _, t in v]} for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resco", type=Path, required=True, help="a checkout of Pi-Star-Lab/RESCO")
    p.add_argument("--sumo-home", type=Path, required=True, help="SUMO_HOME of the SUMO to use")
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--out", type=Path, default=Path("docs/results/resco/reference.json"))
    a = p.parse_args()
    for path, what in (
        (a.resco / "resco_benchmark", "--resco"),
        (a.sumo_home / "bin", "--sumo-home"),
    ):
        if not path.is_dir():
            print(f"error: {what}: {path} does not exist; see this script's docstring",
                  file=sys.stderr)  # fmt: skip
            sys.exit(2)
    banner = subprocess.run([str(a.sumo_home / "bin" / "sumo"), "--version"], capture_output=True,
                            text=True).stdout  # fmt: skip
    version = re.search(r"\d+\.\d+\.\d+", banner.split("\n")[0]).group()  # "1.9.2"
    commit = subprocess.run(["git", "-C", str(a.resco), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    results = json.loads(a.out.read_text()) if a.out.exists() else {}
    entry = {"resco_commit": commit, "episodes": a.episodes, "scenarios": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in a.scenarios.split(","):
            entry["scenarios"][scenario] = run(
                a.resco, a.sumo_home, scenario, a.episodes, Path(tmp)
            )
            for name, r in entry["scenarios"][scenario].items():
                mean = sum(r["delay"]) / len(r["delay"])
                print(f"SUMO {version} {scenario} {name}: {mean:.2f} s "
                      f"({', '.join(f'{d:.1f}' for d in r['delay'])})")  # fmt: skip
    results[version] = entry
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
