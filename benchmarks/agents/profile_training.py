"""Where a training step's time goes: one env, one preset, sampled with py-spy.

    pip install py-spy   # a profiler, not a project dependency
    .venv/bin/python benchmarks/agents/profile_training.py --agent dqn --steps 20000
    .venv/bin/python benchmarks/agents/profile_training.py --agent ppo --collection sb3

Runs ``train()`` (gm_a56, the preset's env options, mixed demand, seed 1, one env) under
``py-spy record`` and sorts every sample taken inside ``learn()`` into one component, by the
first rule below that matches its stack (so a forward pass inside a gradient step counts as a
gradient step): gradient steps (SB3's ``train``, target-network copies); episode start and
end (SUMO start and close, the trip-output parse); SUMO step (``simulationStep``, setting the
signal state); sensors (detector reads, frames); observation (the stacked rows); reward;
controller; policy forward (the network's modules, action sampling); buffer insert
(replay/rollout buffer writes, returns and advantages); callbacks and logging (callbacks, the
info buffer, the logger, DQN's per-step schedule); and Python overhead: everything else (the
collection loop, SB3's ``predict`` conversions, the vectorised env and Monitor wrappers, info
dicts). Prints the table (share of samples and microseconds per decision) and writes
benchmarks/results/profile_<agent>_<collection>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*):(?P<line>\d+)\)$")

#: (component, [(function pattern, file pattern)]): the first component with a frame that
#: matches, searching the stack from its outermost frame, takes the sample.
RULES: list[tuple[str, list[tuple[str, str]]]] = [
    ("gradient steps", [(r"^(DQN|PPO|Parallel\w+|Lean\w+)\.train$", r""),
                        (r"^polyak_update$", r"")]),
    ("episode start/end", [(r"^JunctionEnv\.reset$", r""), (r"^Simulation\.finish$", r"")]),
    ("SUMO step", [(r"^(simulation\.step|simulationStep)$", r"libsumo"),
                   (r"^Simulation\.set_signal_state$", r"")]),
    ("sensors", [(r"^SensorArray\.", r"sensors\.py"), (r"^SensorFrame\.", r"frames\.py"),
                 (r"^Simulation\._halting$", r"")]),
    ("observation", [(r"^JunctionEnv\.(_sample|_observation|_lane_feature)$", r""),
                     (r"^ObservationRows\.", r"")]),
    ("reward", [(r"", r"intergreen/rewards/"), (r"^negative_queue$", r"")]),
    ("controller", [(r"^StageController\.", r"")]),
    ("policy forward", [(r"^Module\._call_impl$", r"torch"), (r"", r"torch/distributions"),
                        (r"^(PolicyActor|GreedyQ)\.__call__$", r"")]),
    ("buffer insert", [(r"^(ReplayBuffer|RolloutBuffer|DictReplayBuffer)\.", r"buffers\.py"),
                       (r"_store_transition$|^_write_transition$", r"")]),
    ("callbacks and logging", [(r"", r"callbacks\.py"), (r"", r"logger\.py"),
                               (r"_update_info_buffer$|_dump_logs$|dump_logs$", r""),
                               (r"^DQN\._on_step$|^\w+\._after_steps$", r""),
                               (r"^RunLogger\.", r""), (r"", r"tensorboard")]),
]  # fmt: skip
COMPONENTS = [name for name, _ in RULES] + ["Python overhead"]


def classify(stack: list[tuple[str, str]]) -> str | None:
    """The component of one sample's stack ((function, file) pairs, outermost first);
    None outside ``learn()``."""
    inside = [i for i, (func, _) in enumerate(stack) if func.endswith(".learn")]
    if not inside:
        return None
    frames = stack[inside[0] :]
    for name, patterns in RULES:
        for func, file in frames:
            if any(re.search(fp, func) and re.search(pp, file) for fp, pp in patterns):
                return name
    return "Python overhead"


def parse_raw(text: str, leaves: dict[str, int] | None = None) -> dict[str, int]:
    """Samples per component from py-spy's raw (collapsed stack) output; ``leaves`` collects
    the innermost frames of the Python overhead's samples."""
    counts = dict.fromkeys(COMPONENTS, 0)
    for line in text.splitlines():
        if not line.strip():
            continue
        stack_text, n = line.rsplit(" ", 1)
        stack = []
        for frame in stack_text.split(";"):
            m = FRAME.match(frame)
            stack.append((m["func"], m["file"]) if m else (frame, ""))
        name = classify(stack)
        if name is not None:
            counts[name] += int(n)
        if name == "Python overhead" and leaves is not None:
            leaf = stack_text.rsplit(";", 1)[-1]
            leaves[leaf] = leaves.get(leaf, 0) + int(n)
    return counts


def run_training(agent: str, preset: str | None, steps: int, collection: str) -> dict:
    """Train in this process (the profiled one); returns done.json."""
    from intergreen.agents.training import train

    hp: dict = {"learning_starts": 1000} if agent == "dqn" else {}
    if collection != "default":
        hp["collection"] = collection
    with tempfile.TemporaryDirectory() as tmp:
        train(agent, timesteps=steps, seed=1, n_envs=1, run_dir=Path(tmp) / "run",
              hyperparams=hp, checkpoint_every=10**9, preset=preset)  # fmt: skip
        return json.loads((Path(tmp) / "run" / "done.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="dqn", choices=["dqn", "ppo"])
    parser.add_argument("--preset", default=None, help="e.g. study_dqn (default: the agent's)")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--collection", default="default",
                        help="sb3 or fast (the algorithms' collection hyperparameter)")  # fmt: skip
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=0, help="list the overhead's top frames")
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw samples here")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        done = run_training(args.agent, args.preset, args.steps, args.collection)
        print("DONE " + json.dumps(done))
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("py-spy not found: pip install py-spy (a profiler; not a project dependency)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.txt"
        cmd = [spy, "record", "--nonblocking", "--format", "raw", "-r", str(args.rate),
               "-o", str(raw), "--", sys.executable, __file__, "--run", "--agent", args.agent,
               "--steps", str(args.steps), "--collection", args.collection]  # fmt: skip
        if args.preset:
            cmd += ["--preset", args.preset]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if "DONE " not in proc.stdout:
            sys.exit(f"the profiled training failed:\n{proc.stderr[-3000:]}")
        leaves: dict[str, int] = {}
        counts = parse_raw(raw.read_text(), leaves)
        if args.raw is not None:
            shutil.copy(raw, args.raw)
    done = json.loads(proc.stdout.split("DONE ", 1)[1].splitlines()[0])
    total = sum(counts.values())
    us_per_step = 1e6 * done["wall_s"] / done["timesteps"]
    name = args.preset or args.agent
    print(f"{name}, collection={args.collection}: {done['steps_per_s']} decisions/s under "
          f"py-spy ({us_per_step:.0f} us per decision), {total} samples in learn()")  # fmt: skip
    rows = []
    for comp in COMPONENTS:
        share = counts[comp] / total if total else 0.0
        rows.append({"component": comp, "samples": counts[comp], "share": round(share, 4),
                     "us_per_decision": round(share * us_per_step, 1)})  # fmt: skip
        print(f"  {comp:<24} {100 * share:5.1f} %  {share * us_per_step:6.1f} us")
    top = sorted(leaves.items(), key=lambda kv: -kv[1])[: args.top]
    if top:
        print("  Python overhead, innermost frames:")
        for leaf, n in top:
            print(f"    {100 * n / total:5.1f} %  {leaf}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"profile_{name}_{args.collection}.json"
    path.write_text(json.dumps({"agent": args.agent, "preset": name, "steps": args.steps,
                                "collection": args.collection, "done": done, "wall_s": wall,
                                "rows": rows}, indent=2))  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
