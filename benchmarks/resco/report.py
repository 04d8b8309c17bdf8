"""Tables of the RESCO benchmark (run_benchmark.py's episodes) beside RESCO's own numbers.

    python benchmarks/resco/report.py results/resco [--publish docs/results/resco]

Per scenario and rule profile, each row gives our delay (RESCO's metric: mean time loss plus
insertion delay per trip) and waiting time: baselines as the mean over evaluation episodes with
a 95% t-interval; trained agents as the mean of their training seeds' means with a 95%
t-interval across seeds (the training seed is the unit of replication). Under ``rules:
program`` the RESCO column gives its published delay (``resco_published.json``) and our ratio
to it. ``--publish`` writes README.md and the episodes beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).parent
RESCO_NAME = {"program": "Fixed Time", "max-pressure": "Max Pressure", "greedy": "Greedy",
              "dqn": "IDQN", "ppo": "IPPO"}  # fmt: skip
ORDER = ("program", "max-pressure", "greedy", "vehicle-actuated", "dqn", "ppo")


def _interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval (nan with one value)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def _fmt(mean: float, half: float) -> str:
    return f"{mean:.2f}" if np.isnan(half) else f"{mean:.2f} ± {half:.2f}"


def load(folder: Path) -> list[dict]:
    path = folder / "episodes.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rows(episodes: list[dict], scenario: str, rules: str) -> list[dict]:
    published = json.loads((HERE / "resco_published.json").read_text())["scenarios"][scenario]
    out = []
    for controller in ORDER:
        eps = [e for e in episodes if (e["scenario"], e["rules"], e["controller"]) ==
               (scenario, rules, controller)]  # fmt: skip
        if not eps:
            continue
        seeds = sorted({e["train_seed"] for e in eps}, key=lambda s: (s is None, s))
        if seeds == [None]:
            delay = _interval([e["avg_delay"] for e in eps])
            wait = _interval([e["avg_waiting_time"] for e in eps])
            n = f"{len(eps)} episodes"
        else:
            per = [[e for e in eps if e["train_seed"] == s] for s in seeds]
            delay = _interval([float(np.mean([e["avg_delay"] for e in p])) for p in per])
            wait = _interval([float(np.mean([e["avg_waiting_time"] for e in p])) for p in per])
            n = f"{len(seeds)} seeds x {len(per[0])} episodes"
        ref = published.get(RESCO_NAME.get(controller, ""), {})
        ref_value = ref.get("mean", ref.get("mean_episodes_91_100"))
        if ref.get("kind") == "baseline" and ref.get("sd", 0) > ref_value:  # an outlier episode
            ref_value = ref["median"]
        out.append({
            "controller": controller, "n": n, "delay": delay, "wait": wait,
            "resco": ref_value if rules == "program" else None,
            "teleports": sum(e.get("teleports", 0) for e in eps),
        })  # fmt: skip
    return out


def table(episodes: list[dict]) -> str:
    lines = []
    for scenario in ("cologne1", "ingolstadt1"):
        for rules in ("program", "uk"):
            rs = rows(episodes, scenario, rules)
            if not rs:
                continue
            lines += [f"### {scenario}, rules: {rules}", ""]
            head = (
                "| controller | delay (s) | waiting (s) | RESCO delay (s) | ours / RESCO | runs |"
            )
            lines += [head, "|---|---|---|---|---|---|"]
            for r in rs:
                ratio = f"{r['delay'][0] / r['resco']:.2f}" if r["resco"] else "-"
                resco = f"{r['resco']:.2f}" if r["resco"] else "-"
                lines.append(f"| {r['controller']} | {_fmt(*r['delay'])} | {_fmt(*r['wait'])} | "
                             f"{resco} | {ratio} | {r['n']} |")  # fmt: skip
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--publish", type=Path, default=None)
    a = p.parse_args(argv)
    text = table(load(a.folder))
    print(text)
    if a.publish is not None:
        a.publish.mkdir(parents=True, exist_ok=True)
        shutil.copy(a.folder / "episodes.jsonl", a.publish / "episodes.jsonl")
        (a.publish / "tables.md").write_text(text + "\n")
        print(f"wrote {a.publish / 'tables.md'} and {a.publish / 'episodes.jsonl'}")


if __name__ == "__main__":
    main()
