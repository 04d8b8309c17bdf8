"""Environment throughput: simulated seconds per wall second, ours against raw SUMO and sumo-rl.

Usage:
    python benchmarks/env_throughput.py            # full run (about 1-2 minutes)
    python benchmarks/env_throughput.py --quick    # one repetition of everything
    python benchmarks/env_throughput.py --profile  # also cProfile one study episode

Prints a table and writes benchmarks/results/env_throughput.json. What is measured:

(a) raw libsumo stepping of gm_a56 under medium demand, no queries, with the SUMO command
    line of :class:`Simulation` (same net, routes, detectors, outputs, seed). ``replay``
    sets the signal state strings that run (b) emitted, at the same steps, so the vehicles
    are identical (checked from SUMO's tripinfo) and (b)/(a) is only our overhead;
    ``static`` runs netconvert's default static program, for reference.
(b) JunctionEnv at the study preset (0.6 s steps, a decision every 0.6 s) with seeded random
    legal actions (drawn from ``action_masks()``), full 1800 s episodes, reading the sensor
    fields its observation and (default) reward use, as training does
    (``sensor_fields="auto"``); and the same reading every field (``"all"``, the default of
    ``make_env``), which gives the same frames, observations and rewards.
(c) sumo-rl's SumoEnvironment (libsumo and traci) and JunctionEnv (libsumo) at 1 s steps and
    a decision every 5 s, on the same net file and route file, random actions.

Each environment runs in its own subprocess (warm-up once, then the timed episodes), which
reports its peak RSS; a traci SUMO server's peak RSS (VmHWM) is read before it is closed.
(a) and (b) take turns every ``--chunk`` decisions of (b) (b auto, b all, then a replaying
the signal states b set so far), each process timing its own chunks while the others wait,
so that load from elsewhere falls on all of them alike; their ratio is the median of the
per-episode ratios. An episode is timed from
reset (SUMO start) to the end of its close; "stepping" leaves out the reset. Rates are
medians over the repetitions. The load average before and after is printed and recorded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
JUNCTION = "gm_a56"
DEMAND = "medium"
WARMUP_S = 300.0  # simulated seconds of the warm-up episode in each process
RESULT_TAG = "ENV_THROUGHPUT_RESULT "
TARGETS = {"ours_over_raw": 0.9, "ours_over_sumo_rl": 1.5, "peak_rss_mb": 300.0}
WORKER_TIMEOUT_S = 150


# ----- helpers used in the worker processes -------------------------------------------------
def _study_spec():
    from intergreen.junctions.catalog import resolve_junction

    return resolve_junction(JUNCTION)


def _coarse_spec():
    """gm_a56 with 1 s steps and a decision every 5 s (the sumo-rl comparison); its
    sensors are read at each decision, as sumo-rl reads its lanes only then."""
    from intergreen.junctions.catalog import junction_path, read_yaml
    from intergreen.junctions.spec import parse_spec

    path = junction_path(JUNCTION)
    data = read_yaml(path)
    data["timing"] = {**data.get("timing", {}), "step_length": 1.0, "decision_interval": 5.0}
    data["sensors"] = {**data.get("sensors", {}), "sample_interval": 5.0}
    return parse_spec(data, source=f"{path} (1 s steps, 5 s decisions)")


def _self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _children() -> list[int]:
    """Live child processes of this process (from /proc)."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            out.append(int(entry))
    return out


def _child_hwm_mb() -> float:
    """Peak RSS (VmHWM) of the live children, e.g. a traci SUMO server, in MB."""
    peak = 0.0
    for pid in _children():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024.0)
        except OSError:
            continue
    return peak


def _episode_record(t0: float, t_reset: float, t_end: float, sim_s: float, **extra) -> dict:
    return {
        "wall_s": t_end - t0,
        "reset_s": t_reset - t0,
        "sim_s": sim_s,
        "rate": sim_s / (t_end - t0),
        "step_rate": sim_s / (t_end - t_reset),
        **extra,
    }


# ----- workers ---------------------------------------------------------------------------
def worker_ours(cfg: dict) -> dict:
    """JunctionEnv episodes with seeded random legal actions; records the signal states."""
    import numpy as np

    from intergreen.junctions.env import JunctionEnv
    from intergreen.junctions.simulation import Simulation

    spec = _study_spec() if cfg["preset"] == "study" else _coarse_spec()
    log: list[tuple[int, str]] = []
    original = Simulation.set_signal_state

    def recording(self, state: str) -> None:  # a list append per signal change, no query
        log.append((self.steps, state))
        original(self, state)

    Simulation.set_signal_state = recording  # type: ignore[method-assign]
    fields = cfg.get("sensor_fields", "auto")
    env = JunctionEnv(spec, DEMAND, seed=cfg["seed"], backend="libsumo", sensor_fields=fields)
    rng = np.random.default_rng([cfg["seed"], cfg.get("first", 0)])

    def act() -> int:
        return int(rng.choice(np.flatnonzero(env.action_masks())))

    # warm-up: part of an episode with another seed
    env.reset(seed=cfg["seed"] + 10_000)
    while env.sim.time < WARMUP_S:
        env.step(act())
    env.close()

    episodes = []
    for r in range(cfg.get("first", 0), cfg.get("first", 0) + cfg["reps"]):
        log.clear()
        t0 = time.perf_counter()
        env.reset(seed=cfg["seed"] + r)
        t_reset = time.perf_counter()
        done, decisions = False, 0
        while not done:
            _, _, terminated, truncated, info = env.step(act())
            done = terminated or truncated
            decisions += 1
        env.close()
        t_end = time.perf_counter()
        m = info["episode_metrics"]
        episodes.append(
            _episode_record(
                t0, t_reset, t_end, m["simulated_s"],
                decisions=decisions,
                sumo_seed=env.sim.seed,
                sim_steps=env.sim.steps,
                vehicles=m["vehicles"],
                avg_delay=m["avg_delay"],
                signal_log=list(log),
            )
        )  # fmt: skip
    Simulation.set_signal_state = original  # type: ignore[method-assign]
    return {"episodes": episodes, "peak_rss_mb": _self_rss_mb()}


def worker_raw(cfg: dict) -> dict:
    """Raw libsumo stepping, no queries; replays signal logs (or the static program)."""
    import libsumo

    from intergreen.junctions.simulation import Simulation
    from intergreen.junctions.sumo_outputs import read_trips

    spec = _study_spec()
    step, set_state = libsumo.simulationStep, libsumo.trafficlight.setRedYellowGreenState

    def run(seed: int, n_steps: int, changes: list[tuple[int, str]] | None) -> tuple:
        out = Path(tempfile.mkdtemp(prefix="env-throughput-"))
        cmd = Simulation(spec, DEMAND, seed=seed).command(out)
        pending = list(reversed(changes or []))
        nxt = pending.pop() if pending else (-1, "")
        t0 = time.perf_counter()
        libsumo.start(cmd)
        t_reset = time.perf_counter()
        for i in range(n_steps):
            if i == nxt[0]:
                set_state("TL", nxt[1])
                nxt = pending.pop() if pending else (-1, "")
            step()
        libsumo.close()
        t_end = time.perf_counter()
        trips = read_trips(out / "tripinfo.xml", n_steps * spec.timing.step_length)
        for f in out.iterdir():
            f.unlink()
        out.rmdir()
        return t0, t_reset, t_end, trips

    warm_steps = round(WARMUP_S / spec.timing.step_length)
    run(cfg["episodes"][0]["sumo_seed"] + 10_000, warm_steps, None)
    episodes = []
    for ep in cfg["episodes"]:
        changes = [tuple(c) for c in ep["signal_log"]] if cfg["replay"] else None
        t0, t_reset, t_end, trips = run(ep["sumo_seed"], ep["sim_steps"], changes)
        n = max(len(trips), 1)
        episodes.append(
            _episode_record(
                t0, t_reset, t_end, ep["sim_steps"] * spec.timing.step_length,
                sumo_seed=ep["sumo_seed"],
                vehicles=len(trips),
                avg_delay=float(trips.delay.sum()) / n,
                identical=len(trips) == ep["vehicles"]
                and math.isclose(float(trips.delay.sum()) / n, ep["avg_delay"], rel_tol=1e-12),
            )
        )  # fmt: skip
    return {"episodes": episodes, "peak_rss_mb": _self_rss_mb()}


def worker_sumo_rl(cfg: dict) -> dict:
    """sumo-rl's SumoEnvironment on our net and route files, random actions."""
    from intergreen.junctions.demand import resolve_demand, write_routes
    from intergreen.junctions.network import build_network
    from intergreen.junctions.sumo import sumo_home

    sumo_home()  # sumo-rl needs SUMO_HOME at import
    spec = _coarse_spec()
    net = build_network(spec)
    routes = write_routes(spec, resolve_demand(spec, DEMAND))
    from sumo_rl import SumoEnvironment
    from sumo_rl.environment import env as sumo_rl_env

    env = SumoEnvironment(
        net_file=str(net.net_file),
        route_file=str(routes),
        use_gui=False,
        num_seconds=1800,
        delta_time=5,
        yellow_time=3,
        min_green=7,
        single_agent=True,
        sumo_seed=cfg["seed"],
        sumo_warnings=False,
    )
    ts = env.traffic_signals[env.ts_ids[0]]
    phases = [p.state for p in ts.all_phases]
    env.action_space.seed(cfg["seed"])

    def episode(seed: int, until: float) -> tuple:
        t0 = time.perf_counter()
        env.reset(seed=seed)
        t_reset = time.perf_counter()
        done, decisions, info = False, 0, {"step": 0.0}
        while not done and info["step"] < until:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
            decisions += 1
        t_loop = time.perf_counter()
        hwm = _child_hwm_mb()  # the traci SUMO server, before it is closed (not timed)
        t_close = time.perf_counter()
        env.close()
        t_end = time.perf_counter()
        return t0, t_reset, t_end - (t_close - t_loop), float(info["step"]), decisions, hwm

    episode(cfg["seed"] + 10_000, WARMUP_S)
    episodes, server_mb = [], 0.0
    for r in range(cfg["reps"]):
        t0, t_reset, t_end, sim_s, decisions, hwm = episode(cfg["seed"] + r, math.inf)
        server_mb = max(server_mb, hwm)
        episodes.append(_episode_record(t0, t_reset, t_end, sim_s, decisions=decisions))
    return {
        "episodes": episodes,
        "peak_rss_mb": _self_rss_mb(),
        "sumo_server_rss_mb": server_mb if not sumo_rl_env.LIBSUMO else None,
        "libsumo": bool(sumo_rl_env.LIBSUMO),
        "green_phases": ts.num_green_phases,
        "phases": phases,
    }


class Pacing:
    """A worker's end of the pacing pipes: it waits for a message before each chunk of work
    and reports each chunk's wall and CPU time (see `interleaved`)."""

    def __init__(self, go_fd: int, report_fd: int) -> None:
        self.go = os.fdopen(go_fd, "r")
        self.out = os.fdopen(report_fd, "w", buffering=1)

    def wait(self) -> dict | None:
        line = self.go.readline()
        return json.loads(line) if line else None

    def report(self, message: dict) -> None:
        self.out.write(json.dumps(message) + "\n")


def paced_ours(cfg: dict, pacing: Pacing) -> None:
    """JunctionEnv episodes (seeded random legal actions), ``chunk`` decisions at a time; each
    report carries the signal states set since the previous one, for the raw replay."""
    import numpy as np

    from intergreen.junctions.env import JunctionEnv
    from intergreen.junctions.simulation import Simulation

    spec = _study_spec()
    log: list[tuple[int, str]] = []
    original = Simulation.set_signal_state

    def recording(self, state: str) -> None:  # a list append per signal change, no query
        log.append((self.steps, state))
        original(self, state)

    Simulation.set_signal_state = recording  # type: ignore[method-assign]
    env = JunctionEnv(spec, DEMAND, seed=cfg["seed"], backend="libsumo",
                      sensor_fields=cfg["sensor_fields"])  # fmt: skip
    rng = np.random.default_rng(cfg["seed"])
    env.reset(seed=cfg["seed"] + 10_000)  # warm-up: part of an episode with another seed
    while env.sim.time < WARMUP_S:
        env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
    env.close()
    pacing.report({"ready": True})
    while (message := pacing.wait()) is not None:
        r = message["episode"]
        rng = np.random.default_rng([cfg["seed"], r])
        log.clear()
        sent, reset_s, wall, cpu = 0, 0.0, 0.0, 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        env.reset(seed=cfg["seed"] + r)
        reset_s = time.perf_counter() - t0
        done, decisions = False, 0
        while not done:
            action = int(rng.choice(np.flatnonzero(env.action_masks())))
            _, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            decisions += 1
            if decisions % cfg["chunk"] == 0 and not done:
                w, c = time.perf_counter() - t0, time.process_time() - c0
                wall, cpu = wall + w, cpu + c
                pacing.report({"wall": w, "cpu": c, "to_step": env.sim.steps,
                               "changes": log[sent:], "sumo_seed": env.sim.seed,
                               "last": False})  # fmt: skip
                sent = len(log)
                pacing.wait()
                t0, c0 = time.perf_counter(), time.process_time()
        env.close()
        w, c = time.perf_counter() - t0, time.process_time() - c0
        wall, cpu = wall + w, cpu + c
        m = info["episode_metrics"]
        record = {"wall_s": wall, "cpu_s": cpu, "reset_s": reset_s, "sim_s": m["simulated_s"],
                  "rate": m["simulated_s"] / wall, "step_rate": m["simulated_s"] / (wall - reset_s),
                  "decisions": decisions, "sumo_seed": env.sim.seed, "sim_steps": env.sim.steps,
                  "vehicles": m["vehicles"], "avg_delay": m["avg_delay"]}  # fmt: skip
        pacing.report({"wall": w, "cpu": c, "to_step": env.sim.steps, "changes": log[sent:],
                       "sumo_seed": env.sim.seed, "last": True, "episode": record,
                       "peak_rss_mb": _self_rss_mb()})  # fmt: skip
    Simulation.set_signal_state = original  # type: ignore[method-assign]


def paced_raw(cfg: dict, pacing: Pacing) -> None:
    """Raw libsumo stepping, no queries, replaying (b)'s signal states chunk by chunk."""
    import libsumo

    from intergreen.junctions.simulation import Simulation
    from intergreen.junctions.sumo_outputs import read_trips

    spec = _study_spec()
    step, set_state = libsumo.simulationStep, libsumo.trafficlight.setRedYellowGreenState
    out = Path(tempfile.mkdtemp(prefix="env-throughput-"))
    libsumo.start(Simulation(spec, DEMAND, seed=cfg["seed"] + 10_000).command(out))  # warm-up
    for _ in range(round(WARMUP_S / spec.timing.step_length)):
        step()
    libsumo.close()
    pacing.report({"ready": True})
    i = 0
    wall = cpu = reset_s = 0.0
    while (message := pacing.wait()) is not None:
        t0, c0 = time.perf_counter(), time.process_time()
        if message["first"]:
            i, wall, cpu = 0, 0.0, 0.0
            libsumo.start(Simulation(spec, DEMAND, seed=message["sumo_seed"]).command(out))
            reset_s = time.perf_counter() - t0
        changes = {k: state for k, state in message["changes"]}
        for k in range(i, message["to_step"]):
            state = changes.get(k)
            if state is not None:
                set_state("TL", state)
            step()
        i = message["to_step"]
        if not message["last"]:
            w, c = time.perf_counter() - t0, time.process_time() - c0
            wall, cpu = wall + w, cpu + c
            pacing.report({"wall": w, "cpu": c})
            continue
        libsumo.close()
        w, c = time.perf_counter() - t0, time.process_time() - c0
        wall, cpu = wall + w, cpu + c
        sim_s = i * spec.timing.step_length
        trips = read_trips(out / "tripinfo.xml", sim_s)
        vehicles, delay = len(trips), float(trips.delay.sum())
        n = max(vehicles, 1)
        ours = message["ours"]
        same = vehicles == ours["vehicles"] and math.isclose(
            delay / n, ours["avg_delay"], rel_tol=1e-12
        )
        record = {"wall_s": wall, "cpu_s": cpu, "reset_s": reset_s, "sim_s": sim_s,
                  "rate": sim_s / wall, "step_rate": sim_s / (wall - reset_s),
                  "sumo_seed": message["sumo_seed"], "vehicles": vehicles,
                  "avg_delay": delay / n, "identical": same}  # fmt: skip
        pacing.report({"wall": w, "cpu": c, "episode": record, "peak_rss_mb": _self_rss_mb()})


PACED = {"ours": paced_ours, "raw": paced_raw}


WORKERS = {"ours": worker_ours, "raw": worker_raw, "sumo_rl": worker_sumo_rl}


def worker_main(kind: str, cfg_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    result = WORKERS[kind](cfg)
    result["sumo_processes_left"] = len(_children())
    Path(cfg["result_file"]).write_text(json.dumps(result))


# ----- the parent ------------------------------------------------------------------------
def run_worker(kind: str, cfg: dict, env_vars: dict[str, str] | None = None) -> dict:
    """Run one worker in a fresh interpreter; returns its result dict."""
    with tempfile.TemporaryDirectory(prefix="env-throughput-") as tmp:
        cfg_file, result_file = Path(tmp) / "cfg.json", Path(tmp) / "result.json"
        cfg_file.write_text(json.dumps({**cfg, "result_file": str(result_file)}))
        env = {k: v for k, v in os.environ.items() if k != "LIBSUMO_AS_TRACI"}
        env.update(env_vars or {})
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(cfg_file)]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and any SUMO it started
            proc.communicate()
            raise RuntimeError(f"worker {kind} ran past {WORKER_TIMEOUT_S} s") from None
        if proc.returncode != 0 or not result_file.exists():
            raise RuntimeError(f"worker {kind} failed (exit {proc.returncode}):\n{output[-3000:]}")
        return json.loads(result_file.read_text())


class PacedWorker:
    """A paced worker process (``PACED``): ``send`` a chunk's orders, ``receive`` its report."""

    def __init__(self, kind: str, cfg: dict) -> None:
        self.kind = kind
        go_r, go_w = os.pipe()
        report_r, report_w = os.pipe()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--paced", kind, json.dumps(cfg),
               str(go_r), str(report_w)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "LIBSUMO_AS_TRACI"}
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=(go_r, report_w),
                                     start_new_session=True)  # fmt: skip
        os.close(go_r)
        os.close(report_w)
        self.go = os.fdopen(go_w, "w", buffering=1)
        self.reports = os.fdopen(report_r, "r")
        self.peak_rss_mb = 0.0

    def send(self, message: dict) -> None:
        self.go.write(json.dumps(message) + "\n")

    def receive(self) -> dict:
        line = self.reports.readline()
        if not line:
            raise RuntimeError(f"paced worker {self.kind} failed (exit {self.proc.wait()})")
        message = json.loads(line)
        self.peak_rss_mb = max(self.peak_rss_mb, message.get("peak_rss_mb", 0.0))
        return message

    def close(self) -> int:
        """Ends the worker; the number of its child processes still alive (SUMO's)."""
        self.go.close()
        try:
            self.proc.wait(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.reports.close()
        return 0 if self.proc.returncode == 0 else 1


def interleaved(reps: int, seed: int, chunk: int) -> dict[str, dict]:
    """(b) with sensor_fields "auto" and "all", and (a) replaying (b)'s signal states, taking
    turns every ``chunk`` decisions of (b) (the raw run steps to where (b) got); each process
    times its own chunks, so a load on the machine falls on all of them alike."""
    workers = {
        "ours": PacedWorker("ours", {"seed": seed, "chunk": chunk, "sensor_fields": "auto"}),
        "ours_all": PacedWorker("ours", {"seed": seed, "chunk": chunk, "sensor_fields": "all"}),
        "replay": PacedWorker("raw", {"seed": seed}),
    }
    episodes: dict[str, list[dict]] = {k: [] for k in workers}
    left = {}
    try:
        for w in workers.values():
            if not w.receive().get("ready"):
                raise RuntimeError(f"paced worker {w.kind} did not start")
        for r in range(reps):
            first, go = True, {"episode": r}
            while True:  # one process at a time: the others wait
                workers["ours"].send(go)
                mine = workers["ours"].receive()
                workers["ours_all"].send(go)
                theirs = workers["ours_all"].receive()
                if theirs["to_step"] != mine["to_step"] or theirs["last"] != mine["last"]:
                    raise RuntimeError("sensor_fields 'auto' and 'all' ran different episodes")
                workers["replay"].send({"first": first, "last": mine["last"],
                                        "to_step": mine["to_step"], "changes": mine["changes"],
                                        "sumo_seed": mine["sumo_seed"],
                                        "ours": mine.get("episode")})  # fmt: skip
                replay = workers["replay"].receive()
                first = False
                if mine["last"]:
                    episodes["ours"].append(mine["episode"])
                    episodes["ours_all"].append(theirs["episode"])
                    episodes["replay"].append(replay["episode"])
                    break
                go = {}
    finally:
        for name, w in workers.items():
            left[name] = w.close()
    return {
        name: {"episodes": episodes[name], "peak_rss_mb": workers[name].peak_rss_mb,
               "sumo_processes_left": left[name]}
        for name in workers
    }  # fmt: skip


def _merged(results: list[dict]) -> dict:
    """Worker results of single episodes as one result."""
    return {
        "episodes": [e for r in results for e in r["episodes"]],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "sumo_processes_left": max(r["sumo_processes_left"] for r in results),
    }


def summarise(name: str, result: dict, **meta: Any) -> dict:
    eps = result["episodes"]
    rates = [e["rate"] for e in eps]
    step_rates = [e["step_rate"] for e in eps]
    rss = result["peak_rss_mb"]
    server = result.get("sumo_server_rss_mb")
    return {
        "name": name,
        **meta,
        "reps": len(eps),
        "rate_median": statistics.median(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "step_rate_median": statistics.median(step_rates),
        "reset_s_median": statistics.median(e["reset_s"] for e in eps),
        "wall_s_median": statistics.median(e["wall_s"] for e in eps),
        "decisions_median": statistics.median(e["decisions"] for e in eps)
        if "decisions" in eps[0]
        else None,
        "peak_rss_mb": rss,
        "sumo_server_rss_mb": server,
        "total_rss_mb": rss + (server or 0.0),
        "sumo_processes_left": result["sumo_processes_left"],
        "episodes": [{k: v for k, v in e.items() if k != "signal_log"} for e in eps],
    }


def profile_episode(seed: int) -> str:
    """cProfile one study-preset episode in this process; the top of the profile."""
    import cProfile
    import io
    import pstats

    import numpy as np

    from intergreen.junctions.env import JunctionEnv

    env = JunctionEnv(JUNCTION, DEMAND, seed=seed)
    rng = np.random.default_rng(seed)
    env.reset()
    prof = cProfile.Profile()
    prof.enable()
    done = False
    while not done:
        _, _, _, done, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
    prof.disable()
    env.close()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime")
    stats.print_stats(25)
    return buf.getvalue()


def sumo_version() -> str:
    try:
        from importlib.metadata import version

        return version("eclipse-sumo")
    except Exception:
        return "unknown"


def sumo_rl_missing() -> str | None:
    """Why part (c) cannot run (sumo-rl, an optional extra, is not installed), or None."""
    if importlib.util.find_spec("sumo_rl") is not None:
        return None
    return (
        "sumo-rl is not installed: skipping (c), the comparison with sumo-rl "
        "(pip install 'intergreen[benchmark]' to run it)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="one repetition of everything")
    ap.add_argument("--reps", type=int, default=10, help="episodes for (a) and (b)")
    ap.add_argument("--reps-c", type=int, default=5, help="episodes per env for (c)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-sumo-rl", action="store_true", help="leave out (c)")
    ap.add_argument("--profile", action="store_true", help="cProfile one study episode")
    ap.add_argument("--out", type=Path, default=RESULTS / "env_throughput.json")
    ap.add_argument("--chunk", type=int, default=20, help="decisions of (b) per turn")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "CONFIG"), help=argparse.SUPPRESS)
    ap.add_argument("--paced", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    if args.paced:
        kind, cfg, go_fd, report_fd = args.paced
        PACED[kind](json.loads(cfg), Pacing(int(go_fd), int(report_fd)))
        return 0
    reps, reps_c = (1, 1) if args.quick else (args.reps, args.reps_c)
    if not args.skip_sumo_rl and (why := sumo_rl_missing()) is not None:
        print(why, flush=True)
        args.skip_sumo_rl = True
    started = time.perf_counter()

    # build the network and routes once, here, so no worker times a netconvert run
    from intergreen.junctions.demand import resolve_demand, write_routes
    from intergreen.junctions.network import build_network

    spec = _study_spec()
    build_network(spec)
    write_routes(spec, resolve_demand(spec, DEMAND))

    rows: list[dict] = []

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    log(f"(b) JunctionEnv study preset and (a) raw libsumo, interleaved, {reps} episodes")
    load_before = os.getloadavg()
    paced = interleaved(reps, args.seed, args.chunk)
    load_after = os.getloadavg()
    ours, ours_all, replay = paced["ours"], paced["ours_all"], paced["replay"]
    eps = [{k: e[k] for k in ("sumo_seed", "sim_steps", "vehicles", "avg_delay")}
           for e in ours["episodes"]]  # fmt: skip
    log("(a) raw libsumo, static program")
    static = run_worker("raw", {"episodes": eps, "replay": False})
    study = {"step_length": 0.6, "decision_interval": 0.6, "backend": "libsumo"}
    rows.append(summarise("b_ours_study", ours, label="(b) JunctionEnv", **study))
    rows.append(summarise("b_ours_all", ours_all, label="(b) JunctionEnv, all fields", **study))
    rows.append(summarise("a_raw_replay", replay, label="(a) raw libsumo, replay", **study))
    rows.append(summarise("a_raw_static", static, label="(a) raw libsumo, static", **study))
    identical = all(e["identical"] for e in replay["episodes"]) and all(
        (a["vehicles"], a["avg_delay"]) == (b["vehicles"], b["avg_delay"])
        for a, b in zip(ours["episodes"], ours_all["episodes"], strict=True)
    )

    coarse = {"step_length": 1.0, "decision_interval": 5.0}
    if not args.skip_sumo_rl:
        log(f"(c) JunctionEnv 1 s / 5 s, {reps_c} episodes")
        c_ours = run_worker("ours", {"preset": "coarse", "seed": args.seed, "reps": reps_c})
        rows.append(
            summarise("c_ours", c_ours, label="(c) JunctionEnv", backend="libsumo", **coarse)
        )
        for backend, env_vars in (("libsumo", {"LIBSUMO_AS_TRACI": "1"}), ("traci", None)):
            log(f"(c) sumo-rl under {backend}, {reps_c} episodes")
            res = run_worker("sumo_rl", {"seed": args.seed, "reps": reps_c}, env_vars)
            if res["libsumo"] != (backend == "libsumo"):
                raise RuntimeError(f"sumo-rl did not run under {backend}")
            row = summarise(f"c_sumo_rl_{backend}", res, label="(c) sumo-rl", backend=backend,
                            **coarse)  # fmt: skip
            row["phases"] = res["phases"]
            rows.append(row)

    by = {r["name"]: r for r in rows}
    ratios: dict[str, float] = {
        "b_over_a_replay": by["b_ours_study"]["rate_median"] / by["a_raw_replay"]["rate_median"],
        "b_over_a_replay_stepping": by["b_ours_study"]["step_rate_median"]
        / by["a_raw_replay"]["step_rate_median"],
        "b_over_a_replay_paired": statistics.median(
            b["rate"] / a["rate"] for b, a in zip(ours["episodes"], replay["episodes"], strict=True)
        ),
        "b_over_a_static": by["b_ours_study"]["rate_median"] / by["a_raw_static"]["rate_median"],
        "b_over_a_replay_cpu_paired": statistics.median(
            a["cpu_s"] / b["cpu_s"]
            for b, a in zip(ours["episodes"], replay["episodes"], strict=True)
        ),
        "b_all_over_a_replay_paired": statistics.median(
            b["rate"] / a["rate"]
            for b, a in zip(ours_all["episodes"], replay["episodes"], strict=True)
        ),
    }
    if "c_ours" in by:
        for backend in ("libsumo", "traci"):
            other = by[f"c_sumo_rl_{backend}"]
            ratios[f"ours_over_sumo_rl_{backend}"] = (
                by["c_ours"]["rate_median"] / other["rate_median"]
            )
            ratios[f"ours_over_sumo_rl_{backend}_stepping"] = (
                by["c_ours"]["step_rate_median"] / other["step_rate_median"]
            )
    env_rows = [r for r in rows if not r["name"].startswith("a_")]
    checks = {
        "b_over_a_replay": ratios["b_over_a_replay_paired"] >= TARGETS["ours_over_raw"],
        "replay_traffic_identical": identical,
        "peak_rss_under_300mb": all(r["total_rss_mb"] < TARGETS["peak_rss_mb"] for r in env_rows),
        "no_sumo_left": all(r["sumo_processes_left"] == 0 for r in rows),
    }
    if "c_ours" in by:
        for backend in ("libsumo", "traci"):
            checks[f"ours_over_sumo_rl_{backend}"] = (
                ratios[f"ours_over_sumo_rl_{backend}"] >= TARGETS["ours_over_sumo_rl"]
            )

    print_table(rows, ratios, checks, identical)
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    profile = None
    if args.profile:
        log("cProfile of one study-preset episode")
        profile = profile_episode(args.seed)
        print(profile)
    total = time.perf_counter() - started
    log(f"done in {total:.0f} s")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "env_throughput",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "junction": JUNCTION,
        "demand": DEMAND,
        "episode_s": 1800,
        "reps": reps,
        "reps_c": reps_c,
        "seed": args.seed,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sumo": sumo_version(),
        },
        "targets": TARGETS,
        "results": rows,
        "ratios": ratios,
        "checks": checks,
        "load_before": load_before,
        "load_after": load_after,
        "profile": profile,
        "wall_s": total,
    }
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")
    return 0


def print_table(rows: list[dict], ratios: dict, checks: dict, identical: bool) -> None:
    head = (
        f"{'run':<28} {'backend':<8} {'step':>5} {'dec':>5} {'reps':>4} "
        f"{'sim s/wall s':>12} {'min..max':>13} {'stepping':>9} {'reset s':>8} {'RSS MB':>12}"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        rss = f"{r['peak_rss_mb']:.0f}"
        if r["sumo_server_rss_mb"]:
            rss += f"+{r['sumo_server_rss_mb']:.0f}"
        dec = "-" if r["name"].startswith("a_") else f"{r['decision_interval']:g}"
        print(
            f"{r['label']:<28} {r['backend']:<8} {r['step_length']:>5g} {dec:>5} {r['reps']:>4} "
            f"{r['rate_median']:>12.0f} {r['rate_min']:>6.0f}..{r['rate_max']:<6.0f} "
            f"{r['step_rate_median']:>9.0f} {r['reset_s_median']:>8.3f} {rss:>12}"
        )
    print()
    t = TARGETS

    def mark(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    print(
        f"(b)/(a replay), median of the interleaved per-episode ratios "
        f"{ratios['b_over_a_replay_paired']:.3f} (target >= {t['ours_over_raw']}) "
        f"{mark(checks['b_over_a_replay'])}; of the median rates {ratios['b_over_a_replay']:.3f}"
        f", stepping only {ratios['b_over_a_replay_stepping']:.3f}; in CPU time "
        f"{ratios['b_over_a_replay_cpu_paired']:.3f}"
    )
    print(
        f"(b) reading every sensor field (sensor_fields='all') / (a replay): "
        f"{ratios['b_all_over_a_replay_paired']:.3f} (median of the per-episode ratios)"
    )
    print(f"replayed traffic identical to (b) (SUMO tripinfo): {identical}")
    print(f"(b)/(a static)  {ratios['b_over_a_static']:.2f}  (reference)")
    for backend in ("libsumo", "traci"):
        key = f"ours_over_sumo_rl_{backend}"
        if key in ratios:
            print(
                f"ours/sumo-rl ({backend}) {ratios[key]:.2f}  (target >= "
                f"{t['ours_over_sumo_rl']}) {mark(checks[key])}; stepping only "
                f"{ratios[key + '_stepping']:.2f}"
            )
    print(
        f"peak RSS per env process < {t['peak_rss_mb']:.0f} MB: "
        f"{mark(checks['peak_rss_under_300mb'])}; SUMO processes left: "
        f"{'none' if checks['no_sumo_left'] else 'SOME'}"
    )


if __name__ == "__main__":
    sys.exit(main())
