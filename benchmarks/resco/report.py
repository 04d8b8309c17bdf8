"""The RESCO benchmark's report: our delays beside RESCO's published ones.

    python benchmarks/resco/report.py /work/results/resco [--publish docs/results/resco]

Reads what ``run_benchmark.py`` wrote in the folder (``episodes.jsonl``, ``config.json``,
``trained.jsonl``, the training runs' ``config.json``) and, when there, ``reference.json``
(``resco_reference.py``: RESCO's own code on SUMO 1.9.2 and on ours) and
``benchmarks/resco/speed.json`` (``speed.py``). Per scenario and rule profile, each row gives
our delay (RESCO's metric: mean time loss plus insertion delay per trip), baselines as the
mean over evaluation episodes with a 95% t-interval and the median, trained agents as the mean
of their training seeds' means with a 95% t-interval across seeds (the training seed is the
unit of replication). Every set-up sentence is generated from the recorded configuration.
``--publish`` writes ``report.md``, ``episodes.csv``, ``training_episodes.csv`` (the last ten
training episodes of every run), ``config.json`` and ``reference.json`` into the given folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).parent
RESCO_NAME = {"program": "Fixed Time", "max-pressure": "Max Pressure", "greedy": "Greedy",
              "dqn": "IDQN", "ppo": "IPPO"}  # fmt: skip
ORDER = ("program", "max-pressure", "greedy", "vehicle-actuated", "dqn", "ppo")
LEARNERS = ("dqn", "ppo")
CSV_COLUMNS = ["scenario", "rules", "controller", "train_seed", "seed", "avg_delay",
               "avg_waiting_time", "vehicles", "throughput", "backlog", "teleports",
               "mean_queue", "decisions", "wall_s"]  # fmt: skip
#: an episode whose delay is this many times its row's median is counted as a lock-up
LOCKED = 3.0
TRAINING_COLUMNS = ["scenario", "rules", "controller", "train_seed", "episode", "avg_delay",
                    "avg_waiting_time"]  # fmt: skip
#: a learner row whose greedy evaluation is this many times its last training episodes' delay
#: is named in the learners' section
COLLAPSE = 2.0


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval (half-width nan for one value)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def fmt(mean: float, half: float) -> str:
    return f"{mean:.2f}" if np.isnan(half) else f"{mean:.2f} ± {half:.2f}"


def load(folder: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Episodes (one row each), the run configuration and RESCO's own code's numbers."""
    lines = (folder / "episodes.jsonl").read_text().splitlines()
    episodes = pd.DataFrame([json.loads(line) for line in lines if line.strip()])
    config = json.loads((folder / "config.json").read_text())
    ref_path = folder / "reference.json"
    reference = json.loads(ref_path.read_text()) if ref_path.exists() else {}
    return episodes, config, reference


def training_episodes(folder: Path, config: dict[str, Any]) -> pd.DataFrame:
    """The last ten training episodes of every finished run (RESCO's learner rows are the
    mean of episodes 91-100 of 100), one row each (``TRAINING_COLUMNS``), from each run's
    ``metrics.csv``; empty when the folder has no finished run."""
    path = folder / "trained.jsonl"
    if "train_episodes" not in config or not path.exists():
        return pd.DataFrame(columns=TRAINING_COLUMNS)
    last = config["train_episodes"]
    frames = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        run = json.loads(line)
        metrics = pd.read_csv(Path(run["run_dir"]) / "metrics.csv")
        window = metrics[metrics.episode.between(last - 9, last)]
        frames.append(
            window.assign(scenario=run["scenario"], rules=run["rules"], controller=run["agent"],
                          train_seed=run["train_seed"])
        )  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=TRAINING_COLUMNS)
    return pd.concat(frames, ignore_index=True)[TRAINING_COLUMNS]


def learners_section(
    episodes: pd.DataFrame, training: pd.DataFrame, config: dict[str, Any]
) -> list[str]:
    """Each learner's greedy evaluation beside the delay of its own last ten training
    episodes (actions sampled, exploration at its final rate: what RESCO's learner rows are),
    mean ± 95% t-interval over the training seeds that have both; rows whose greedy evaluation
    is ``COLLAPSE`` times the training episodes' delay or more are named."""
    if training.empty:
        return []
    last = config["train_episodes"]
    full = len(config["evaluation_seeds"])
    lines = [
        "## Learners: greedy evaluation against their own training episodes",
        "",
        f"RESCO's learner rows are the mean delay of training episodes {last - 9}-{last}, "
        "actions drawn as in training; ours above are greedy evaluations of the final model "
        "on the evaluation seeds. Both for our learners, per training seed, then mean ± 95% "
        "t-interval over the seeds that have both:",
        "",
        f"| scenario | rules | learner | seeds | greedy evaluation (s) | training episodes "
        f"{last - 9}-{last} (s) | greedy / training | RESCO published, episodes "
        f"{last - 9}-{last} (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pub = published()["scenarios"]
    collapsed = []
    keys = ["scenario", "rules", "controller"]
    for (scenario, rules, learner), runs in training.groupby(keys, sort=False):
        eps = episodes[(episodes.scenario == scenario) & (episodes.rules == rules)
                       & (episodes.controller == learner)]  # fmt: skip
        sizes = eps.groupby("train_seed").size()
        seeds = sorted(set(sizes[sizes >= full].index) & set(runs.train_seed))
        if not seeds:
            continue
        greedy = eps[eps.train_seed.isin(seeds)].groupby("train_seed").avg_delay.mean()
        trained = runs[runs.train_seed.isin(seeds)].groupby("train_seed").avg_delay.mean()
        ratio = float(greedy.mean() / trained.mean())
        entry = pub.get(scenario, {}).get(RESCO_NAME[learner], {}) if rules == "program" else {}
        theirs = f"{entry['mean_episodes_91_100']:.2f}" if entry else "-"
        lines.append(f"| {scenario} | {rules} | {learner} | {len(seeds)} | "
                     f"{fmt(*interval(greedy.tolist()))} | {fmt(*interval(trained.tolist()))} | "
                     f"{ratio:.2f} | {theirs} |")  # fmt: skip
        if ratio >= COLLAPSE:
            collapsed.append(f"{scenario} under `rules: {rules}`, {learner.upper()}")
    if collapsed:
        lines += [
            "",
            f"Greedy evaluation at least {COLLAPSE:g} times the training episodes' delay: "
            + "; ".join(collapsed)
            + ". The greedy policy plays the most likely action at every decision, and where "
            "training leaves that action the same whatever the junction shows, it holds one "
            "stage (see the arms starved below); the policy that was trained, sampling its "
            "actions, does not. Which of the two to report is a choice: RESCO reports the "
            "training episodes, this benchmark both.",
        ]
    return [*lines, ""]


def published() -> dict[str, Any]:
    return json.loads((HERE / "resco_published.json").read_text())


def resco_value(entry: dict[str, Any]) -> float | None:
    """RESCO's published delay of a row: a baseline's mean (its median where one locked
    episode makes the standard deviation exceed the mean), a learner's episodes 91-100."""
    if not entry:
        return None
    if entry["kind"] == "baseline":
        return entry["median"] if entry["sd"] > entry["mean"] else entry["mean"]
    return entry["mean_episodes_91_100"]


def reference_mean(reference: dict[str, Any], version: str, scenario: str, name: str) -> float:
    rows = reference.get(version, {}).get("scenarios", {}).get(scenario, {}).get(name)
    return float(np.median(rows["delay"])) if rows else float("nan")


def ours_version(reference: dict[str, Any], config: dict[str, Any]) -> str | None:
    """The reference entry run on our SUMO (config's ``v1.28.0`` is reference's ``1.28.0``)."""
    ours = config.get("sumo", "").lstrip("v")
    return ours if ours in reference else None


def rows(episodes: pd.DataFrame, scenario: str, rules: str, reference: dict, config: dict):
    pub = published()["scenarios"][scenario]
    ref_version = ours_version(reference, config)
    out = []
    for controller in ORDER:
        eps = episodes[(episodes.scenario == scenario) & (episodes.rules == rules)
                       & (episodes.controller == controller)]  # fmt: skip
        if eps.empty:
            continue
        learner = controller in LEARNERS
        if learner:  # only training seeds with every evaluation episode in
            sizes = eps.groupby("train_seed").size()
            complete = sizes[sizes >= len(config["evaluation_seeds"])].index
            eps = eps[eps.train_seed.isin(complete)]
            if eps.empty:
                continue
            per_seed = eps.groupby("train_seed").avg_delay.mean()
            delay = interval(per_seed.tolist())
            n = (f"{len(per_seed)} seed{'s' if len(per_seed) > 1 else ''} x "
                 f"{eps.groupby('train_seed').size().min()} episodes")  # fmt: skip
            median, locked = float(np.median(per_seed)), 0
        else:
            delay = interval(eps.avg_delay.tolist())
            median = float(eps.avg_delay.median())
            locked = int((eps.avg_delay > LOCKED * median).sum())
            n = f"{len(eps)} episodes"
        name = RESCO_NAME.get(controller, "")
        resco = resco_value(pub.get(name, {})) if rules == "program" else None
        ref = (
            reference_mean(reference, ref_version, scenario, name)
            if ref_version and rules == "program" and not learner
            else float("nan")
        )
        out.append({"controller": controller, "delay": delay, "median": median, "n": n,
                    "locked": locked, "teleports": int(eps.teleports.sum()), "resco": resco,
                    "ref": ref, "wait": float(eps.avg_waiting_time.mean())})  # fmt: skip
    return out


def table(rs: list[dict], rules: str) -> list[str]:
    """Markdown rows: ours (mean ± 95% CI, median), RESCO's published and RESCO's own code
    on our SUMO (rules: program only)."""
    head = ("| controller | delay (s) | median (s) | locked episodes | teleports | waiting (s) | "
            "runs | / max-pressure |")  # fmt: skip
    line = "|---|---|---|---|---|---|---|---|"
    if rules == "program":
        head += (" RESCO published (s) | RESCO's / its Max Pressure | ours / published | "
                 "RESCO's code, our SUMO (s) | ours / it |")  # fmt: skip
        line += "---|---|---|---|---|"
    mp = {r["controller"]: r for r in rs}.get("max-pressure")
    mp_resco = mp["resco"] if mp else None
    lines = [head, line]
    for r in rs:
        rel = f"{r['median'] / mp['median']:.2f}" if mp else "-"
        text = (f"| {r['controller']} | {fmt(*r['delay'])} | {r['median']:.2f} | {r['locked']} | "
                f"{r['teleports']} | "
                f"{r['wait']:.2f} | {r['n']} | {rel} |")  # fmt: skip
        if rules == "program":
            rel = f"{r['resco'] / mp_resco:.2f}" if r["resco"] and mp_resco else "-"
            pub = (
                f"{r['resco']:.2f} | {rel} | {r['median'] / r['resco']:.2f}"
                if r["resco"]
                else "- | - | -"
            )
            ref = (
                f"{r['ref']:.2f} | {r['median'] / r['ref']:.2f}"
                if not np.isnan(r["ref"])
                else "- | -"
            )
            text += f" {pub} | {ref} |"
        lines.append(text)
    return lines


def setup(config: dict[str, Any], folder: Path) -> list[str]:
    """The set-up paragraph, generated from the run's configuration (and the training runs'
    ``resumes.jsonl``)."""
    from intergreen.agents.rundir import read_resumes
    from intergreen.experiments.provenance import resume_text
    from intergreen.rewards.registry import describe

    sc = config["scenarios"]
    windows = ", ".join(f"{n} {v['begin']:g}-{v['end']:g} s" for n, v in sc.items())
    lines = [
        f"- Scenarios: RESCO's single-junction networks and routes ({windows} of SUMO time), "
        f"loaded from the installed sumo-rl wheel as `resco:NAME` (`rules: program`) and "
        f"`resco:NAME:uk` (`rules: uk`).",
        f"- Timing: a decision every {config['decision_interval_s']:g} s, under `rules: "
        f"program` a {config['yellow_s']:g} s yellow and no all-red between any two green "
        f"phases (RESCO's); detection up to {config['detection_m']:g} m, cut to the approach "
        f"lanes; no jam teleports (SUMO's `--time-to-teleport -1`, as RESCO's).",
        f"- Evaluation: {len(config['evaluation_seeds'])} episodes per row, the same "
        f"{len(config['evaluation_seeds'])} seeds of the `test` stream for every row (paired).",
        f"- SUMO {config['sumo']} (RESCO used 1.9), intergreen {config['intergreen']}.",
    ]
    if "agents" in config:
        runs = sorted((folder / "runs").glob("*/config.json"))
        hyper = {}
        for path in runs:
            rc = json.loads(path.read_text())
            hyper.setdefault(rc["config"]["agent"], (rc["hyperparameters"], rc.get("env", {})))
        reward = describe(config["reward"])
        lines.append(
            f"- Learners: {', '.join(a.upper() for a in config['agents'])} "
            f"(stable-baselines3), each trained for {config['train_episodes']} episodes "
            f"({config['train_episodes'] * config['decisions_per_episode']} decisions, "
            f"RESCO's budget) on up to {config['train_seeds']} training seeds, reward "
            f"`{config['reward']}` ({reward['description'].rstrip('.')}), then evaluated "
            f"greedily (final model) on the evaluation episodes."
        )
        for agent, (hp, env) in sorted(hyper.items()):
            text = ", ".join(f"{k} {v}" for k, v in hp.items())
            lines.append(f"  - {agent.upper()}: {text}; env {json.dumps(env)}.")
        resumes = {p.parent.name: r for p in runs if (r := read_resumes(p.parent))}
        if resumes:
            lines.append("- " + resume_text(resumes))
    commits: dict[str, list[str]] = {}
    for c in config["commands"]:
        commits.setdefault(c["command"], []).append(c["commit"])
    made = [f"`python benchmarks/resco/{command}` at commit {', then '.join(at)}"
            for command, at in commits.items()]  # fmt: skip
    lines.append("- Made by (a command resumed on newer code lists each commit): "
                 + "; ".join(made) + ".")  # fmt: skip
    return lines


def learner_target(episodes: pd.DataFrame, config: dict, reference: dict) -> list[str]:
    """Issue 17's target: our best learner at RESCO's budget against RESCO's best learner,
    in delay and relative to the same SUMO's max pressure (rules: program)."""
    lines = []
    for scenario in config["scenarios"]:
        rs = {r["controller"]: r for r in rows(episodes, scenario, "program", reference, config)}
        ours = [rs[c] for c in LEARNERS if c in rs]
        if not ours:
            continue
        best = min(ours, key=lambda r: r["delay"][0])
        pub = published()["scenarios"][scenario]
        learners = {k: v for k, v in pub.items() if v["kind"] == "learner"}
        name, theirs = min(learners.items(), key=lambda kv: kv[1]["mean_episodes_91_100"])
        value = theirs["mean_episodes_91_100"]
        mean, half = best["delay"]
        if np.isnan(half):
            verdict = ("below it (one seed: no interval)" if mean <= value
                       else f"{mean / value - 1:.0%} above it (one seed: no interval)")  # fmt: skip
        elif mean + half <= value:
            verdict = "at or below it, the whole interval"
        elif mean <= value:
            verdict = "below it in the mean, not the whole interval"
        else:
            verdict = f"{mean / value - 1:.0%} above it"
        text = (f"- {scenario}: our best learner, {best['controller'].upper()}, "
                f"{fmt(mean, half)} s ({best['n']}), against RESCO's best learner at 100 "
                f"episodes, {name} {value:.2f} s (SUMO 1.9): {verdict}")  # fmt: skip
        mp_ours, mp_resco = rs.get("max-pressure"), resco_value(pub.get("Max Pressure", {}))
        if mp_ours and mp_resco:
            ours_rel, theirs_rel = mean / mp_ours["median"], value / mp_resco
            side = "better" if ours_rel <= theirs_rel else "worse"
            text += (f"; each relative to max pressure on its own SUMO, ours "
                     f"{ours_rel:.2f} against RESCO's {theirs_rel:.2f}, "
                     f"{abs(ours_rel / theirs_rel - 1):.0%} {side}")  # fmt: skip
        lines.append(text + ".")
    for scenario in config["scenarios"]:
        for r in rows(episodes, scenario, "program", reference, config):
            if r["controller"] not in ("program", "max-pressure") or not r["resco"]:
                continue
            pub, ref = r["median"] / r["resco"] - 1, r["median"] / r["ref"] - 1
            lines.append(
                f"- {scenario} `{r['controller']}` under `rules: program`: {pub:+.0%} against "
                f"RESCO's published {RESCO_NAME[r['controller']]} "
                f"({'within' if abs(pub) <= 0.15 else 'outside'} 15%), {ref:+.0%} against "
                f"RESCO's own code on our SUMO ({'within' if abs(ref) <= 0.15 else 'outside'} "
                f"15%)."
            )
    if not lines:
        return []
    return ["## Targets", "", *lines, ""]


#: an arm is "not served" when its row let through less than this share of its vehicles over
#: its evaluation episodes. Half, fixed before the last 19 learner runs were in: on the rows in
#: by then every controller let through either at least 93 % of each arm's vehicles or at most
#: 6.4 % (the PPO-under-uk rows), so any line between the two draws the same split.
UNSERVED = 0.5


def unserved_arms(episodes: pd.DataFrame) -> list[str]:
    """Rows (per training seed for a learner) with an arm that got less than ``UNSERVED`` of
    its vehicles through the junction over the row's episodes: a controller that never (or
    almost never) gives it green. From the episodes' ``arm_vehicles_<arm>`` and
    ``arm_throughput_<arm>`` (an arm with no vehicles, an exit-only arm, is skipped)."""
    arms = sorted(
        c.removeprefix("arm_vehicles_") for c in episodes if c.startswith("arm_vehicles_")
    )
    found, served_shares = [], []
    keys = ["scenario", "rules", "controller", "train_seed"]
    for key, eps in episodes.groupby(keys, dropna=False, sort=False):
        scenario, rules, controller, seed = key
        for arm in arms:
            came = eps.get(f"arm_vehicles_{arm}")
            served = eps.get(f"arm_throughput_{arm}")
            if came is None or served is None or came.isna().all() or came.sum() == 0:
                continue
            share = served.sum() / came.sum()
            if share >= UNSERVED:
                served_shares.append(share)
            else:
                who = controller if pd.isna(seed) else f"{controller} (training seed {int(seed)})"
                found.append((scenario, rules, who, arm, int(served.sum()), int(came.sum()),
                              len(eps), share))  # fmt: skip
    if not found:
        return []
    lines = [
        "## Arms a controller starved",
        "",
        f"Rows whose controller let through less than {UNSERVED:.0%} of an arm's vehicles over "
        "its evaluation episodes (from the per-arm counts of every episode"
        + (
            f"; every other row let through at least {min(served_shares):.0%} of each arm's "
            "vehicles"
            if served_shares
            else ""
        )
        + "):",
        "",
    ]
    for scenario, rules, who, arm, served, came, n, share in found:
        episodes = f"{n} episode{'s' if n != 1 else ''}"
        lines.append(f"- {scenario}, rules: {rules}, {who}: arm {arm} let through {served} of "
                     f"{came} vehicles in {episodes} ({share:.1%}).")  # fmt: skip
    lines += [
        "",
        "Such a policy keeps choosing the stage it holds, and nothing ends that stage: the "
        "imported junctions carry no maximum green (nor does RESCO's set-up), so the delay of "
        "the arm left on red grows with the hour (these rows' delays of hundreds of seconds). "
        "A controller on a UK street would have a maximum green; these rows show what the "
        "learned policy does without one, not what a UK controller would let it do.",
        "",
    ]
    return lines


def reference_section(reference: dict[str, Any]) -> list[str]:
    """RESCO's own code on RESCO's SUMO and on ours (resco_reference.py)."""
    if not reference:
        return []
    pub = published()["scenarios"]
    versions = sorted(reference, key=lambda v: [int(x) for x in v.split(".")])
    eps = {v: reference[v]["episodes"] for v in versions}
    lines = [
        "## RESCO's own code on RESCO's SUMO and on ours",
        "",
        "`benchmarks/resco/resco_reference.py` runs RESCO's baselines with RESCO's own code "
        f"(commit {reference[versions[0]]['resco_commit'][:7]}: Fixed Time as plain SUMO running "
        "the network's program, Max Pressure and Greedy through its `MultiSignal` environment "
        "and agents) and scores them with the logic of its `avg_timeLoss.py`. Median delay over "
        + ", ".join(f"{eps[v]} episodes on SUMO {v}" for v in versions)
        + ":",
        "",
        "| scenario | row | RESCO published (s) | "
        + " | ".join(f"RESCO's code, SUMO {v} (s)" for v in versions)
        + " |",
        "|---|---|---|" + "---|" * len(versions),
    ]
    for scenario in pub:
        for name in ("Fixed Time", "Max Pressure", "Greedy"):
            cells = []
            for v in versions:
                r = reference[v]["scenarios"].get(scenario, {}).get(name)
                if r is None:
                    cells.append("-")
                    continue
                locked = sum(t < max(r["trips"]) * 0.9 for t in r["trips"])
                text = f"{np.median(r['delay']):.2f}"
                cells.append(text + (f" ({locked} locked)" if locked else ""))
            value = resco_value(pub[scenario][name])
            lines.append(f"| {scenario} | {name} | {value:.2f} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def missing(episodes: pd.DataFrame, config: dict[str, Any], folder: Path) -> list[str]:
    """What the configured grid still lacks, and the command that completes it."""
    if "agents" not in config:
        return []
    lines = []
    for scenario in config["scenarios"]:
        for rules in ("program", "uk"):
            for agent in config["agents"]:
                eps = episodes[(episodes.scenario == scenario) & (episodes.rules == rules)
                               & (episodes.controller == agent)]  # fmt: skip
                full = len(config["evaluation_seeds"])
                n = int((eps.groupby("train_seed").size() >= full).sum()) if not eps.empty else 0
                if n < config["train_seeds"]:
                    lines.append(f"{scenario} {rules} {agent}: {n} of {config['train_seeds']} "
                                 f"seeds")  # fmt: skip
    if not lines:
        return []
    cmd = (
        f"python benchmarks/resco/run_benchmark.py --out {folder} --episodes "
        f"{len(config['evaluation_seeds'])} --workers 2 --rules program,uk --agents "
        f"{','.join(config['agents'])} --train-seeds {config['train_seeds']} --train-episodes "
        f"{config['train_episodes']}"
    )
    trained = folder / "trained.jsonl"
    rows_t = trained.read_text().splitlines() if trained.exists() else []
    walls = [json.loads(x)["wall_s"] for x in rows_t if x.strip()]
    took = (f" A training run took {min(walls) / 60:.0f}-{max(walls) / 60:.0f} minutes here, two "
            f"at a time." if walls else "")  # fmt: skip
    return [
        "## Not finished",
        "",
        "These cells of the configured grid have fewer trained seeds than configured (a seed "
        "counts once its evaluation episodes are in):",
        "",
        *[f"- {line}" for line in lines],
        "",
        f"The runner resumes where it stopped (finished runs and episodes are skipped, a killed "
        f"training run continues from its newest checkpoint): `{cmd}`, then this report "
        f"again.{took}",
        "",
    ]


def speed_section() -> list[str]:
    path = HERE / "speed.json"
    if not path.exists():
        return []
    speed = json.loads(path.read_text())
    lines = [
        "## Speed (`benchmarks/resco/speed.py`)",
        "",
        "| scenario | import (s) | load YAML (s) | first hour, program (s) | first hour, "
        "max-pressure (s) | plain SUMO hour (s) | max-pressure / plain SUMO |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in speed.items():
        lines.append(
            f"| {name} | {r['import_s']:.2f} | {r['load_s']:.2f} | {r['hour_s']['program']:.1f} "
            f"| {r['hour_s']['max-pressure']:.1f} | {r['plain_sumo_hour_s']:.1f} | "
            f"{r['hour_vs_plain_sumo']['max-pressure']:.1f} |"
        )
    return [*lines, ""]


def reference_commands(reference: dict[str, Any], folder: Path) -> list[str]:
    """The commands that made ``reference.json`` (RESCO's commit and each SUMO version)."""
    if not reference:
        return []
    commit = next(iter(reference.values()))["resco_commit"]
    lines = [f"git clone https://github.com/Pi-Star-Lab/RESCO && git -C RESCO checkout {commit}"]
    for version, entry in reference.items():
        home = f"sumo-{version}/sumo"
        lines += [
            f"pip install --target sumo-{version} eclipse-sumo=={version}  # apart from the venv",
            f"python benchmarks/resco/resco_reference.py --resco RESCO --sumo-home {home} "
            f"--episodes {entry['episodes']} --out {folder}/reference.json",
        ]
    return lines


def report(folder: Path, notes: str = "") -> str:
    episodes, config, reference = load(folder)
    lines = ["# RESCO's single-junction benchmark on intergreen", "", "## Set-up", ""]
    lines += setup(config, folder) + [""]
    lines += [
        "Columns: delay is RESCO's metric (mean `timeLoss` plus `departDelay` per trip from "
        "SUMO's tripinfo, unfinished and never-inserted vehicles included), as mean ± 95% "
        "t-interval over episodes (baselines) or over training seeds' means (learners); the "
        "median over the same; locked episodes: delay above "
        f"{LOCKED:g}x the row's median (vehicles locked inside the junction: SUMO teleports "
        "no jammed vehicle here); teleports: vehicles SUMO teleported after a collision "
        "(its default collision action, RESCO's too), summed over the row's episodes; waiting "
        "is our mean waiting time per vehicle. Ratios use our median "
        "(RESCO's published Max Pressure on cologne1 is its median for the same reason: one "
        "locked episode of 30). RESCO's learner rows are its mean of training episodes "
        "91-100. `/ max-pressure`: the row's median over the same table's max-pressure median "
        "(RESCO's: over its published Max Pressure), a comparison that a change of SUMO "
        "version moves less than the delays themselves.",
        "",
    ]
    for scenario in config["scenarios"]:
        for rules in ("program", "uk"):
            rs = rows(episodes, scenario, rules, reference, config)
            if rs:
                lines += [f"### {scenario}, rules: {rules}", "", *table(rs, rules), ""]
    lines += learner_target(episodes, config, reference)
    lines += learners_section(episodes, training_episodes(folder, config), config)
    lines += unserved_arms(episodes)
    lines += reference_section(reference)
    lines += missing(episodes, config, folder)
    if notes:
        lines += [notes.strip(), ""]
    lines += speed_section()
    # the commands as recorded, with this machine's results folder as RESULTS (any folder)
    commands = [
        f"python benchmarks/resco/{c}".replace(f"--out {folder}", "--out RESULTS")
        for c in dict.fromkeys(c["command"] for c in config["commands"])
    ]
    lines += [
        "## Regenerate",
        "",
        "RESULTS is any folder (the runs above wrote into one on the machine that made them):",
        "",
        "```bash",
        *commands,
        *reference_commands(reference, Path("RESULTS")),
        "python benchmarks/resco/speed.py",
        "python benchmarks/resco/report.py RESULTS --publish docs/results/resco",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--publish", type=Path, default=None)
    a = p.parse_args(argv)
    notes_path = HERE / "deviations.md"
    text = report(a.folder, notes_path.read_text() if notes_path.exists() else "")
    print(text)
    if a.publish is not None:
        a.publish.mkdir(parents=True, exist_ok=True)
        (a.publish / "report.md").write_text(text)
        episodes, _, _ = load(a.folder)
        episodes[CSV_COLUMNS].to_csv(a.publish / "episodes.csv", index=False)
        training = training_episodes(a.folder, json.loads((a.folder / "config.json").read_text()))
        training.to_csv(a.publish / "training_episodes.csv", index=False)
        for name in ("config.json", "reference.json"):
            if (a.folder / name).exists():
                shutil.copy(a.folder / name, a.publish / name)
        print(f"wrote {a.publish / 'report.md'}, episodes.csv, training_episodes.csv, "
              "config.json, reference.json")  # fmt: skip


if __name__ == "__main__":
    main()
