"""Training throughput: today's path and the new one side by side, interleaved in one run.

    .venv/bin/python benchmarks/agents/train_throughput.py [--steps 20000] [--chunk 2000]
    .venv/bin/python benchmarks/agents/train_throughput.py --preset study_dqn --agents dqn

For each agent (presets ``dqn`` and ``ppo``, or ``--preset``; gm_a56, mixed demand, seed 1) it
trains, at the same time in separate processes, with:

- ``today``: the code of commit ``--baseline`` (default: main before the lean loops), one env:
  SB3's own collection loop over a DummyVecEnv, the env reading every sensor field;
- ``sb3``: this tree with ``collection="sb3"`` (SB3's loop, today's env-side code paths
  except what the env itself now does faster), one env;
- ``fast``: this tree (the default ``collection="fast"``), one env;
- ``fast x2``: this tree, ``n_envs=2`` (env 1 in a subprocess);
- with ``--today-two``, also ``today x2``: the baseline with ``n_envs=2``.

The runs take turns: each trains ``--chunk`` decisions while the others wait (blocked on a
pipe, using no CPU), in an order that rotates every round, so that whatever else loads the
machine loads every run alike. A callback added to SB3's ``learn()`` times each chunk inside
the run (wall and the process's CPU time) and pauses it; start-up (imports, SUMO, the model) is
not timed. Each round gives every run a rate; a ratio is the median over the rounds of the
ratio of two runs' rates (also given: the ratio of the rates over all rounds). The parallel
collectors call the callbacks after each collection, so a chunk ends at a collection's end:
keep ``--chunk`` a multiple of PPO's rollout of all envs (2 x n_steps). DQN's warm-up
(``learning_starts``) is cut to 1000 so that gradient steps count. The load average before
and after is printed and recorded: two-env ratios need two free cores.

Prints the table and writes benchmarks/results/train_throughput[_<preset>].json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
#: main just before the lean collection loops and the env's batched sensor reads landed
BASELINE = "6b87805"


# ----- inside a training process ------------------------------------------------------------
def child(cfg: dict[str, Any], go_fd: int, report_fd: int) -> None:
    """Train as ``cfg`` says, pausing every ``chunk`` decisions (see the module docstring)."""
    from stable_baselines3.common.callbacks import BaseCallback

    go = os.fdopen(go_fd, "r")
    report = os.fdopen(report_fd, "w", buffering=1)

    class Pacer(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.boundary = 0
            self.steps0 = 0
            self.wall0 = self.cpu0 = 0.0

        def _wait(self) -> None:
            if go.readline().strip() != "go":
                raise SystemExit(0)  # the parent went away
            self.steps0 = self.num_timesteps
            self.boundary = self.num_timesteps + cfg["chunk"]
            self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

        def _report(self, last: bool) -> None:
            wall, cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0
            steps = self.num_timesteps - self.steps0
            report.write(json.dumps({"steps": steps, "wall": wall, "cpu": cpu, "last": last}))
            report.write("\n")

        def _on_training_start(self) -> None:
            report.write(json.dumps({"ready": True}) + "\n")
            self._wait()

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.boundary:
                self._report(last=False)
                self._wait()
            return True

        def _on_training_end(self) -> None:
            self._report(last=True)

    pacer = Pacer()
    for cls in _algorithm_classes():
        original = cls.learn

        def paced_learn(self, total_timesteps, callback=None, _original=original, **kwargs):
            callbacks = [pacer] if callback is None else [callback, pacer]
            return _original(self, total_timesteps, callback=callbacks, **kwargs)

        cls.learn = paced_learn  # type: ignore[method-assign]
    from intergreen.agents.training import train

    hp: dict[str, Any] = {"learning_starts": 1000} if cfg["agent"] == "dqn" else {}
    if cfg["collection"] is not None:
        hp["collection"] = cfg["collection"]
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg["agent"], timesteps=cfg["steps"], seed=1, n_envs=cfg["n_envs"],
              run_dir=Path(tmp) / "run", hyperparams=hp, checkpoint_every=10**9,
              preset=cfg["preset"])  # fmt: skip


def _algorithm_classes() -> list[type]:
    """The algorithm classes train() uses, whichever version of the code runs."""
    from intergreen.agents.config import algorithm_class

    return [algorithm_class("dqn"), algorithm_class("ppo")]


# ----- the parent ---------------------------------------------------------------------------
class Run:
    """One training process and the chunks it reported."""

    def __init__(self, name: str, cfg: dict[str, Any], tree: Path) -> None:
        self.name = name
        go_r, self.go_w = os.pipe()
        self.report_r, report_w = os.pipe()
        env = {**os.environ, "PYTHONPATH": str(tree)}
        if tree != ROOT:  # the baseline builds its networks in its own cache's layout
            env["INTERGREEN_CACHE"] = str(tree.parent / "cache")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(cfg),
               str(go_r), str(report_w)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=(go_r, report_w), cwd=tree)
        os.close(go_r)
        os.close(report_w)
        self.go = os.fdopen(self.go_w, "w", buffering=1)
        self.report = os.fdopen(self.report_r, "r")
        self.chunks: list[dict[str, float]] = []
        self.done = False

    def read(self) -> dict[str, Any]:
        line = self.report.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"run {self.name} ended without a report (exit {code})")
        return json.loads(line)

    def chunk(self) -> dict[str, float]:
        """Let the run train one chunk; its report."""
        self.go.write("go\n")
        message = self.read()
        self.chunks.append(message)
        if message["last"]:
            self.done = True
            self.proc.wait()
        return message

    def close(self) -> None:
        for f in (self.go, self.report):
            with contextlib.suppress(OSError):
                f.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def baseline_tree(rev: str, folder: Path) -> Path:
    """The repository's files at ``rev``, unpacked into ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                             capture_output=True, check=True).stdout  # fmt: skip
    path = folder / "tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def rates(run: Run, key: str) -> list[float]:
    """Decisions per second of each whole chunk (the last, partial one left out)."""
    return [c["steps"] / c[key] for c in run.chunks if not c["last"] and c[key] > 0]


def total_rate(run: Run, key: str = "wall") -> float:
    """Decisions per second over all the run's chunks."""
    return sum(c["steps"] for c in run.chunks) / sum(c[key] for c in run.chunks)


def paired(a: Run, b: Run, key: str = "wall") -> dict[str, Any]:
    """Per-round ratios of a's rate to b's, their median, and the ratio of the total rates."""
    ratios = [x / y for x, y in zip(rates(a, key), rates(b, key), strict=False)]
    return {"ratios": [round(r, 3) for r in ratios],
            "median": round(statistics.median(ratios), 3) if ratios else None,
            "of_totals": round(total_rate(a, key) / total_rate(b, key), 3)}  # fmt: skip


def measure(agent: str, args: argparse.Namespace, today: Path) -> dict[str, Any]:
    """Train every run of ``agent`` in turns; their rates and ratios."""
    base = {"agent": agent, "preset": args.preset, "steps": args.steps, "chunk": args.chunk}
    plan = [("today", today, None, 1), ("sb3", ROOT, "sb3", 1), ("fast", ROOT, None, 1),
            ("fast x2", ROOT, None, 2)]  # fmt: skip
    if args.today_two:
        plan.append(("today x2", today, None, 2))
    runs: list[Run] = []
    try:
        for name, tree, collection, n_envs in plan:
            cfg = base | {"collection": collection, "n_envs": n_envs}
            runs.append(Run(name, cfg, tree))
        for run in runs:  # each pauses before its first step
            if not run.read().get("ready"):
                raise RuntimeError(f"run {run.name} did not start")
        rounds = 0
        while not all(r.done for r in runs):
            k = rounds % len(runs)
            for run in runs[k:] + runs[:k]:
                if not run.done:
                    run.chunk()
            rounds += 1
    finally:
        for run in runs:
            run.close()
    by = {r.name: r for r in runs}
    row: dict[str, Any] = {"agent": agent, "preset": args.preset or agent, "steps": args.steps,
                           "chunk": args.chunk, "runs": {}}  # fmt: skip
    for run in runs:
        walls = rates(run, "wall")
        row["runs"][run.name] = {
            "decisions_per_s": round(statistics.median(walls), 1) if walls else None,
            "decisions_per_s_total": round(total_rate(run), 1),
            "per_chunk": [round(x, 1) for x in walls],
            "cpu_decisions_per_s": round(statistics.median(rates(run, "cpu")), 1)
            if walls
            else None,
        }
    row["fast_over_today"] = paired(by["fast"], by["today"])
    row["fast_over_sb3"] = paired(by["fast"], by["sb3"])
    row["sb3_over_today"] = paired(by["sb3"], by["today"])
    row["two_over_one"] = paired(by["fast x2"], by["fast"])
    row["fast_over_today_cpu"] = paired(by["fast"], by["today"], "cpu")
    if "today x2" in by:
        row["today_two_over_one"] = paired(by["today x2"], by["today"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="decisions per run")
    parser.add_argument(
        "--chunk",
        type=int,
        default=2_048,
        help="decisions per turn (a multiple of PPO's rollout of all envs)",
    )
    parser.add_argument("--agents", nargs="+", default=["dqn", "ppo"], choices=["dqn", "ppo"])
    parser.add_argument("--preset", default=None, help="e.g. study_dqn (default: the agent's)")
    parser.add_argument("--baseline", default=BASELINE, help="the commit of 'today'")
    parser.add_argument("--today-two", action="store_true", help="also today's n_envs=2")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child[0]), int(args.child[1]), int(args.child[2]))
        return
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        today = baseline_tree(args.baseline, Path(tmp))
        for agent in args.agents:
            row = measure(agent, args, today)
            rows.append(row)
            runs = row["runs"]
            print(
                f"{agent} ({row['preset']}), decisions/s (median of {args.chunk}-decision "
                "chunks): " + ", ".join(f"{k} {v['decisions_per_s']}" for k, v in runs.items())
            )
            print(f"  fast / today {row['fast_over_today']['median']} "
                  f"(of the totals {row['fast_over_today']['of_totals']}) "
                  f"(rounds {row['fast_over_today']['ratios']}); "
                  f"fast / sb3 loop {row['fast_over_sb3']['median']}; "
                  f"sb3 loop / today {row['sb3_over_today']['median']}; "
                  f"fast x2 / fast {row['two_over_one']['median']} "
                  f"(of the totals {row['two_over_one']['of_totals']}) "
                  f"(rounds {row['two_over_one']['ratios']}); "
                  f"CPU time: fast / today {row['fast_over_today_cpu']['median']}")  # fmt: skip
            if "today_two_over_one" in row:
                print(f"  today x2 / today {row['today_two_over_one']['median']}")
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    name = f"train_throughput_{args.preset}.json" if args.preset else "train_throughput.json"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / name
    out.write_text(json.dumps({"command": " ".join(sys.argv), "baseline": args.baseline,
                               "load_before": load_before, "load_after": load_after,
                               "rows": rows}, indent=2))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
