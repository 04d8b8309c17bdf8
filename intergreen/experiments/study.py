"""The reward study's reproduction: the budget stated against the study's, a discussion
generated from the seed-level statistics, and where our set-up differs (no hand-edited
numbers, no hand-written claims about our set-up: each sentence about it is built from the
recorded configuration in ``provenance.Setup``).

Used by the report with ``--reference study``: `budget_lines` opens the report;
`discussion` answers the study's questions -- which reward gives the lowest waiting time,
whether the delta rewards and throughput again do worst, how far our ordering of the rewards
agrees with the study's (Spearman rho with a permutation p, and its spread when one training
seed per reward is drawn), how the agents fare against the baselines (paired over the test
episodes), starved arms -- and `differences` says where our set-up differs from the study's.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

import intergreen.experiments.provenance as provenance
from intergreen.experiments.comparisons import NOT_SHOWN, SeedLevel
from intergreen.experiments.reference import (
    BASELINE_ROWS,
    DECISION_INTERVAL_S,
    DECISIONS,
    DEMANDS,
    EPISODE_S,
    EPISODES,
    GAMMA,
    STUDY_ROWS,
    TABLE_I,
    TRAINING_EPISODES,
    TRAINING_RUNS,
    UNRELIABLE,
    study_level,
)
from intergreen.experiments.stats import METRIC, RankAgreement, spearman_test

SPEED = ("average_speed", "average_speed_ad")
WORST_IN_STUDY = ("delta_wait_time", "delta_time_lost", "throughput")
#: Draws of one training seed per reward for the spread of rho (all combinations if fewer).
SEED_DRAWS = 4096


def _training_episodes(setup: provenance.Setup, curves: pd.DataFrame) -> str:
    """``' (~333 training episodes of 300 s)'``: the median run's training episodes (from the
    learning curves) and, where the grid set it, their length; "" without curves."""
    if curves.empty or "run_key" not in curves:
        return ""
    n = int(np.median(curves.groupby("run_key").size()))
    length = f" of {setup.episode_duration:g} s" if setup.episode_duration else ""
    return f" (~{n} training episodes{length})"


def budget_lines(setup: provenance.Setup, df: pd.DataFrame, curves: pd.DataFrame) -> list[str]:
    """The first lines of the report: what we ran against what the study ran."""
    agents = sorted(df.loc[df["kind"] == "agent", "agent"].dropna().unique())
    seeds = df.loc[df["kind"] == "agent"].groupby("controller")["train_seed"].nunique()
    per_run = df.loc[df["kind"] == "agent"].groupby(["run_key", "demand"]).size()
    episodes = (
        "– evaluation episodes" if per_run.empty
        else provenance.counted((int(per_run.min()), int(per_run.max())), "evaluation episode")
    )  # fmt: skip
    train_eps = _training_episodes(setup, curves)
    missing = [a for a in ("dqn", "ppo") if a not in agents]
    steps = " / ".join(f"{t:,}" for t in setup.timesteps) or "?"
    lines = [
        f"**Budget.** Agents: {', '.join(a.upper() for a in agents) or 'none'}"
        + (f" ({', '.join(a.upper() for a in missing)} not run)" if missing else "")
        + "; "
        + provenance.counted(
            (int(seeds.min()), int(seeds.max())) if len(seeds) else 0, "training seed"
        )  # fmt: skip
        + " per reward, each a unit of the seed-level statistics (study: best of "
        f"{TRAINING_RUNS} runs, chosen on the test episodes); {steps} decisions per run"
        f"{train_eps} (study: {TRAINING_EPISODES} episodes of {EPISODE_S} s); {episodes} "
        f"per demand level per run (study: {EPISODES}).",
    ]
    if missing or (len(seeds) and seeds.max() < TRAINING_RUNS):
        lines.append(
            "This is fewer seeds, training and evaluation episodes than the study: compare the "
            "ordering of the rewards, not absolute values."
        )
    return lines


def reward_ranks(st: pd.DataFrame, rewards: list[str]) -> pd.DataFrame:
    """Rank of each reward among the rewards (1 = lowest mean waiting time) per demand level,
    with the mean rank over levels; ``st`` has controller, demand, mean."""
    sub = st[st["controller"].isin(rewards)]
    rank = sub.pivot(index="controller", columns="demand", values="mean").rank()
    rank["mean rank"] = rank.mean(axis=1)
    return rank.sort_values("mean rank")


def _study_mean(reward: str) -> float:
    return float(np.mean([m for m, _ in TABLE_I[reward]]))


def comparable(rewards: list[str]) -> list[str]:
    """The rewards with a reliable row in the study's Table I."""
    return [r for r in rewards if r.split("/")[0] in TABLE_I and r.split("/")[0] not in UNRELIABLE]


def study_agreement(st: pd.DataFrame, rewards: list[str]) -> RankAgreement:
    """Spearman rho between our and the study's mean waiting time over the levels, across
    the rewards both have (the study's unreliable rows left out), with its permutation p
    (exact for up to 8 rewards): a 3-reward grid cannot give p below 2/3! = 0.333."""
    ours = st[st["controller"].isin(rewards)].groupby("controller")["mean"].mean()
    keys = comparable([r for r in ours.index])
    return spearman_test([ours[r] for r in keys], [_study_mean(r.split("/")[0]) for r in keys])


@dataclass(frozen=True)
class SeedSpread:
    """rho with the study when one training seed per reward is drawn: over ``draws`` draws
    (``exhaustive``: every combination), the median, the 2.5 % and 97.5 % quantiles and the
    share of draws with rho > 0."""

    median: float
    low: float
    high: float
    positive: float
    draws: int
    exhaustive: bool


def agreement_across_seeds(
    df: pd.DataFrame, rewards: list[str], metric: str = METRIC, seed: int = 0
) -> SeedSpread | None:
    """The spread of rho when each reward is represented by one of its training seeds (the
    mean over levels of that seed's mean); None with fewer than 3 comparable rewards."""
    from scipy.stats import spearmanr

    keys = comparable(rewards)
    if len(keys) < 3:
        return None
    agents = df[(df["kind"] == "agent") & df["controller"].isin(keys)]
    per_seed = agents.groupby(["controller", "train_seed", "demand"])[metric].mean()
    per_seed = per_seed.groupby(["controller", "train_seed"]).mean()
    options = [per_seed.loc[k].to_numpy() for k in keys]
    theirs = [_study_mean(k.split("/")[0]) for k in keys]
    total = math.prod(len(o) for o in options)
    if total <= SEED_DRAWS:
        draws = np.array(list(itertools.product(*options)))
    else:
        rng = np.random.default_rng(seed)
        draws = np.column_stack([rng.choice(o, SEED_DRAWS) for o in options])
    rhos = np.array([spearmanr(row, theirs).statistic for row in draws])
    rhos = rhos[np.isfinite(rhos)]
    if not len(rhos):
        return None
    lo, med, hi = np.quantile(rhos, [0.025, 0.5, 0.975])
    return SeedSpread(
        float(med), float(lo), float(hi), float(np.mean(rhos > 0)), len(rhos), total <= SEED_DRAWS
    )


def agreement_text(agreement: RankAgreement, spread: SeedSpread | None, what: str) -> str:
    """'rho = 0.24 (exact permutation p = 0.484, 11 rewards; ...)' with its floor."""
    how = "exact permutation" if agreement.exact else "permutation"
    text = (
        f"rho = {agreement.rho:.2f} ({how} p {_pfmt(agreement.p)}, {agreement.n} {what}"
        + (
            f"; with {agreement.n} the smallest possible p is {agreement.floor:.3f}"
            if agreement.floor >= 0.001
            else ""
        )
        + ")"
    )
    if spread is not None:
        text += (
            f". Drawing one training seed per reward ({'all ' if spread.exhaustive else ''}"
            f"{spread.draws} draws), rho has median {spread.median:.2f} and 95 % range "
            f"[{spread.low:.2f}, {spread.high:.2f}]; {spread.positive:.0%} of draws are positive"
        )
    return text


def _pfmt(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def discussion(
    level: SeedLevel,
    df: pd.DataFrame,
    setup: provenance.Setup,
    st_best: pd.DataFrame | None = None,
) -> list[str]:
    """Paragraphs answering the study's questions from the seed-level statistics ``level``
    of the test rows ``df``; from ``st_best`` (the best training run per reward, the study's
    selection) too if given."""
    rewards = list(dict.fromkeys(df.loc[df["kind"] == "agent", "controller"]))
    if not rewards:
        return ["No agent results: nothing to discuss."]
    st = level.summary
    demands = list(dict.fromkeys(df["demand"]))
    ranks = reward_ranks(st, rewards)
    n = len(rewards)
    out = []
    findings = seed_level_findings(level, demands)
    if findings:
        out.append(findings)

    out.append(speed_question(level, demands, ranks, rewards))

    # 2. delta rewards and throughput: among the bottom k (never more than half the rewards)
    present = [r for r in ranks.index if r.split("/")[0] in WORST_IN_STUDY]
    k = min(len(WORST_IN_STUDY), n // 2)
    if present and (not k or len(present) == n):
        why = (
            f"with {provenance.counted(n, 'reward')} there is no ordering to be last in"
            if not k else "every reward run here is one of them"
        )  # fmt: skip
        out.append(f"**Do the delta rewards and throughput again do worst?** Not answered: {why}.")
    elif present:
        bottom = list(ranks.index[-k:])
        in_bottom = [r for r in present if r in bottom]
        verdict = "yes" if len(in_bottom) == len(present) else ("partly" if in_bottom else "no")
        desc = ", ".join(f"{r} {ranks.loc[r, 'mean rank']:.1f}" for r in present)
        text = (
            f"**Do the delta rewards and throughput again do worst?** {verdict.capitalize()}: "
            f"mean rank over the levels (1 = best of {n}, by the mean of per-seed means) {desc}; "
            f"the bottom {k} here {'is' if k == 1 else 'are'} {', '.join(bottom)} (study: "
            "throughput last by far, the delta rewards of stopped time and time lost among the "
            "worst)."
        )
        dq = [r for r in ranks.index if r.split("/")[0] == "delta_queue"]
        if dq:
            text += (
                " Delta queues, which did well in the study, ranks "
                f"{ranks.loc[dq[0], 'mean rank']:.1f} here."
            )
        out.append(text)

    # 3. agreement
    agreement = study_agreement(st, rewards)
    if np.isfinite(agreement.rho):
        spread = agreement_across_seeds(df, rewards)
        out.append(
            "**Agreement with the study's ordering.** Spearman rank correlation of the mean "
            "waiting time over the levels (mean of per-seed means), across the rewards with a "
            f"reliable study row: {agreement_text(agreement, spread, 'rewards')}."
        )
    elif len(shared := comparable(list(dict.fromkeys(r.split("/")[0] for r in rewards)))) < 3:
        out.append(  # said, not left out: a reader looks for it
            "**Agreement with the study's ordering.** Not computed: a rank correlation needs at "
            "least 3 rewards with a reliable study row, and "
            + (f"only {', '.join(shared)} {'has' if len(shared) == 1 else 'have'} one here."
               if shared else "none of these rewards has one.")
        )  # fmt: skip

    # 4. baselines, paired over the test episodes
    base = level.vs_baselines
    for name in dict.fromkeys(base["baseline"]) if not base.empty else []:
        parts = []
        for d in demands:
            rows = base[(base["baseline"] == name) & (base["demand"] == d)]
            if rows.empty:
                continue
            lower = int((rows["diff"] < 0).sum())
            better = int((rows["verdict"] == "better").sum())
            worse = int((rows["verdict"] == "worse").sum())
            testable = rows["verdict"].isin(["better", "worse", NOT_SHOWN]).sum()
            verdicts = (
                f", significantly better {better}, worse {worse}"
                if testable
                else ", no seed-level verdict"
            )
            family = " (the best baseline there)" if bool(rows["primary"].iloc[0]) else ""
            parts.append(f"{d}{family} {lower}/{len(rows)}{verdicts}")
        plain, _, variant = name.partition(":")
        label = (
            f"{STUDY_ROWS[plain]}, {variant}"
            if variant and plain in STUDY_ROWS
            else STUDY_ROWS.get(name, name)
        )
        out.append(
            f"**Against {label}** (per training seed, the mean over the shared test episodes of "
            "agent minus baseline; Holm over the rewards where it is the level's best baseline, "
            "else over every reward and other baseline of the level): rewards with a lower mean "
            + "; ".join(parts)
            + "."
        )
    for family, notes in (("the best baseline", level.vs_baselines_notes),
                          ("the other baselines", level.vs_other_baselines_notes)):  # fmt: skip
        if _notes(notes):
            out.append(f"Paired tests against {family}:" + _notes(notes))
    if st_best is not None:
        out.append(best_run_summary(st_best, rewards, demands))
    starved = starvation(df, setup)
    if starved:
        out.append(starved)
    return out


def seed_level_findings(level: SeedLevel, demands: list[str]) -> str:
    """The study's findings, each per level with what the seed-level tests say of it:
    ``holds`` (every comparison it rests on has a verdict for it), ``does not hold`` (a
    verdict against it), ``not shown`` (some comparison it rests on has no verdict, or the
    tests do not reach it). From ``level.vs_best`` (each reward against the best chosen on
    validation) and ``level.vs_baselines`` (the rewards against the best baseline);
    "" without agents."""
    vb = level.vs_best
    if vb.empty:
        return ""
    parts = []
    speed = {d: _speed_finding(vb[vb["demand"] == d]) for d in demands}
    if any(speed.values()):
        parts.append(
            "Speed rewards give the lowest waiting time (study: at every level): "
            + "; ".join(f"{d} {status}" for d, status in speed.items() if status)
        )
    worst = _worst_finding(vb, demands)
    if worst:
        parts.append(
            "Throughput and the delta rewards of stopped time and time lost do worst (study: "
            "throughput last by far, the two delta rewards among the worst): " + worst
        )
    agents = _baseline_finding(level.vs_baselines, demands)
    if agents:
        parts.append(
            "The rewards the study had below System D vehicle actuation beat it (study: every "
            f"reliable reward row but {_above_va_in_study()}); here against the best baseline "
            "of each level, among the rewards the study had below it there: " + agents
        )
    if not parts:
        return ""
    return (
        "**Which of the study's findings hold at seed level.** Each finding per level: holds "
        "(every comparison it rests on has a Holm-corrected verdict for it), does not hold (a "
        "verdict against it, or a reward the study had among the worst is the best chosen "
        "here), not shown (a comparison it rests on has no verdict). "
        + ". ".join(f"({i}) {p}" for i, p in enumerate(parts, start=1))
        + ". The rewards are compared with the best reward only, never with each other, so "
        "'the worst' is not tested as such: a reward worse than the best is not shown to be "
        "the worst."
    )


def _speed_finding(rows: pd.DataFrame) -> str:
    """One level's status of 'speed rewards give the lowest waiting time' from that level's
    rows of ``SeedLevel.vs_best``; "" where no speed reward ran."""
    if rows.empty:
        return ""
    by = rows.set_index("controller")["verdict"]
    best = str(rows["best"].iloc[0])
    speed = [r for r in by.index if r.split("/")[0] in SPEED]
    if not speed:
        return ""
    if best in speed:
        others = [r for r in by.index if r not in speed]
        better = [r for r in others if by[r] == "better"]
        open_ = [r for r in others if by[r] != "worse"]
        if better:
            return f"does not hold ({', '.join(better)} better than {best}, the best chosen)"
        if not open_:
            return f"holds ({best} the best chosen; every other reward worse)"
        return f"not shown ({best} the best chosen; {_open(open_, by)})"
    if all(by[r] == "worse" for r in speed):
        return f"does not hold ({best} the best chosen; every speed reward worse)"
    return f"not shown ({best}, not a speed reward, the best chosen; {_open(speed, by)})"


def _open(rewards: list[str], verdicts: pd.Series) -> str:
    """``'a, b not shown to differ; c without a verdict'`` for rewards with no verdict."""
    unshown = [r for r in rewards if verdicts[r] == NOT_SHOWN]
    none = [r for r in rewards if verdicts[r].startswith("n/a")]
    out = [f"{_names(unshown)} not shown to differ"] if unshown else []
    out += [f"{_names(none)} without a verdict"] if none else []
    return "; ".join(out) or "no verdict against it"


def _names(rewards: list[str], most: int = 4) -> str:
    """The rewards' names, or how many when there are more than ``most``."""
    if len(rewards) <= most:
        return ", ".join(rewards)
    return provenance.counted(len(rewards), "reward")


def _worst_finding(vb: pd.DataFrame, demands: list[str]) -> str:
    """Per reward of the study's worst (throughput, delta stopped time, delta time lost) that
    ran: at which levels it is worse than the best reward, the best itself, or neither."""
    out = []
    for reward in dict.fromkeys(vb["controller"]):
        if reward.split("/")[0] not in WORST_IN_STUDY:
            continue
        rows = vb[vb["controller"] == reward].set_index("demand")
        worse = [d for d in demands if d in rows.index and rows.loc[d, "verdict"] == "worse"]
        best = [d for d in demands if d in rows.index and rows.loc[d, "best"] == reward]
        better = [d for d in demands if d in rows.index and rows.loc[d, "verdict"] == "better"]
        rest = [d for d in demands if d in rows.index and d not in worse + best + better]
        if best or better:
            status = "does not hold"
        elif rest:
            status = "not shown"
        else:
            status = "holds as far as tested"
        where = [f"worse than the best reward at {', '.join(worse)}"] if worse else []
        where += [f"itself the best reward chosen at {', '.join(best)}"] if best else []
        where += [f"better than the best chosen at {', '.join(better)}"] if better else []
        where += [f"no verdict against the best at {', '.join(rest)}"] if rest else []
        out.append(f"{reward} {status} ({'; '.join(where)})")
    return "; ".join(out)


def _baseline_finding(base: pd.DataFrame, demands: list[str]) -> str:
    """Per level: how many rewards are better or worse than the best baseline at seed level
    (the primary family of ``SeedLevel.vs_baselines``); the finding holds when every reward
    the study's Table I had below vehicle actuation at that level is better, and does not hold
    when one of them is worse. "" without baselines or such rewards."""
    if base.empty:
        return ""
    out = []
    for d in demands:
        rows = base[(base["demand"] == d) & base["primary"]]
        claimed = rows[[below_va_in_study(r, d) is True for r in rows["controller"]]]
        if claimed.empty:
            continue
        better = int((claimed["verdict"] == "better").sum())
        worse = list(claimed.loc[claimed["verdict"] == "worse", "controller"])
        status = (
            f"does not hold ({_names(worse)} worse)" if worse
            else "holds" if better == len(claimed)
            else "not shown"
        )  # fmt: skip
        out.append(
            f"{d} {status} (against {rows['baseline'].iloc[0]}, of "
            f"{provenance.counted(len(claimed), 'such reward')}: {better} better, {len(worse)} "
            f"worse, {len(claimed) - better - len(worse)} without a verdict for either)"
        )
    return "; ".join(out)


def below_va_in_study(reward: str, demand: str) -> bool | None:
    """Whether the study's Table I has ``reward`` below System D vehicle actuation at the
    study's level of ``demand``; None where the study has no reliable row or level for it."""
    key, at = reward.split("/")[0], study_level(demand)
    if key not in TABLE_I or key in UNRELIABLE or at is None:
        return None
    i = DEMANDS.index(at)
    return TABLE_I[key][i][0] < TABLE_I["vehicle-actuated"][i][0]


def _above_va_in_study() -> str:
    """``'throughput at low; delta_wait_time, throughput at medium, high'``: the study's
    reward rows above vehicle actuation, per level (levels with the same ones together)."""
    rewards = [r for r in TABLE_I if r not in BASELINE_ROWS]
    above = {d: ", ".join(r for r in rewards if below_va_in_study(r, d) is False) for d in DEMANDS}
    grouped: dict[str, list[str]] = {}
    for d, names in above.items():
        grouped.setdefault(names, []).append(d)
    return "; ".join(f"{names or 'none'} at {', '.join(ds)}" for names, ds in grouped.items())


def speed_question(
    level: SeedLevel, demands: list[str], ranks: pd.DataFrame, rewards: list[str]
) -> str:
    """The paragraph on the study's first question, whether speed maximisation gives the
    lowest waiting time: by the lowest mean of per-seed means on the test episodes at each
    level, beside the best chosen on validation; "Not answered" when no speed reward ran."""
    question = "**Does speed maximisation again give the lowest waiting time?**"
    study = "(study: yes, at every level, Average Speed AD first)"
    if not any(r.split("/")[0] in SPEED for r in rewards):
        return f"{question} Not answered: no speed reward ({', '.join(SPEED)}) ran here {study}."
    parts, speed_lowest = [], []
    vb = level.vs_best
    for d in demands:
        rows = vb[vb["demand"] == d] if not vb.empty else vb
        if rows.empty:
            continue
        text, lowest = speed_level(rows, ranks)
        parts.append(text)
        if lowest:
            speed_lowest.append(d)
    if len(speed_lowest) == len(demands):
        verdict = "Yes, at every demand level" if len(demands) > 1 else "Yes"
    else:
        verdict = f"At {', '.join(speed_lowest)} only" if speed_lowest else "No"
    chosen = " " + level.choice if level.choice else ""
    return (
        f"{question} {verdict}, by the mean of per-seed means on the test episodes {study}. "
        f"Among our {provenance.counted(len(rewards), 'reward')}: "
        + "; ".join(parts)
        + "."
        + chosen
        + _notes(level.vs_best_notes)
    )


def speed_level(rows: pd.DataFrame, ranks: pd.DataFrame) -> tuple[str, bool]:
    """One level's answer to the speed question, from that level's rows of
    ``SeedLevel.vs_best`` (test means; the best as chosen, on validation or test rows) and
    ``reward_ranks``: (the clause, whether a speed reward has the lowest test mean)."""
    d = str(rows["demand"].iloc[0])
    by = rows.set_index("controller")
    means = by["mean"]
    best, on = str(rows["best"].iloc[0]), str(rows["chosen_on"].iloc[0])
    low = float(means.min())
    lowest = str(means.idxmin())
    where = "validation episodes" if on == "validation" else "the test episodes"

    def rank(r: str) -> str:
        return f"rank {ranks.loc[r, d]:g} of {len(means)} rewards"

    def verdict(r: str) -> str:
        return f"against the chosen best: {by.loc[r, 'verdict']}"

    if means[best] == low:
        text = f"{d}: lowest mean {best} ({low:.2f} s), also the best reward chosen on {where}"
        named = {best}
    else:
        text = (
            f"{d}: lowest mean {lowest} ({low:.2f} s; {verdict(lowest)}); the best reward "
            f"chosen on {where} is {best} ({means[best]:.2f} s, {rank(best)})"
        )
        named = {best, lowest}
    speed = [r for r in means.index if r.split("/")[0] in SPEED]
    others = [f"{r} {means[r]:.2f} s ({rank(r)}, {verdict(r)})" for r in speed if r not in named]
    text += ("; " + ", ".join(others)) if others else ""
    return text, any(means[r] == low for r in speed)


def _notes(notes: dict[str, str]) -> str:
    """The levels' notes: once when every level has the same one, else per level."""
    distinct = list(dict.fromkeys(notes.values()))
    if not any(distinct):
        return ""
    if len(distinct) == 1:
        return " " + distinct[0]
    return " " + " ".join(f"{d}: {v}" for d, v in notes.items() if v)


def best_run_summary(st_best: pd.DataFrame, rewards: list[str], demands: list[str]) -> str:
    """The same questions under the study's selection (best training run per reward)."""
    ranks = reward_ranks(st_best, rewards)
    best = ", ".join(f"{d} {_best_reward(st_best, rewards, d)}" for d in demands)
    text = (
        "**With the study's selection** (per reward the training seed with the lowest mean "
        "waiting time; optimistic, see the best-run table): lowest reward by its best run "
        f"{best} (not the Summary's best reward, which is chosen on every training seed); "
        + top_and_bottom(list(ranks.index))
    )
    agreement = study_agreement(st_best, rewards)
    if np.isfinite(agreement.rho):
        text += f"; Spearman {agreement_text(agreement, None, 'rewards')}"
    by = st_best.set_index(["controller", "demand"])
    if all(("vehicle-actuated", d) in by.index for d in demands):
        beat = [
            sum(by.loc[(r, d), "mean"] < by.loc[("vehicle-actuated", d), "mean"]
                for r in rewards if (r, d) in by.index)
            for d in demands
        ]  # fmt: skip
        text += "; rewards with a lower mean than vehicle actuation " + ", ".join(
            f"{d} {b}/{len(rewards)}" for d, b in zip(demands, beat, strict=True)
        )
    return text + "."


def top_and_bottom(ordered: list[str], k: int = 3) -> str:
    """``'top 3 by mean rank a, b, c; bottom 3 x, y, z'`` for rewards ``ordered`` best
    first; with fewer than 2 k rewards, top and bottom floor(n / 2) (never overlapping), and
    with fewer than 2 the order alone."""
    k = min(k, len(ordered) // 2)
    if not k:
        return f"the only reward {', '.join(ordered)}"
    top = f"top {k}"
    return f"{top} by mean rank {', '.join(ordered[:k])}; bottom {k} {', '.join(ordered[-k:])}"


def _best_reward(st: pd.DataFrame, rewards: list[str], demand: str) -> str:
    level = st[(st["demand"] == demand) & st["controller"].isin(rewards)]
    return str(level.loc[level["mean"].idxmin(), "controller"])


def starvation(df: pd.DataFrame, setup: provenance.Setup) -> str:
    """How often a test episode had a teleport (SUMO removed a vehicle stuck for its
    time-to-teleport): the sign of a greedy policy holding one stage for minutes."""
    if "teleports" not in df:
        return ""
    hit = df.assign(starved=df["teleports"] > 0)
    agents = hit[hit["kind"] == "agent"]
    if agents.empty:
        return ""
    by_reward = agents.groupby("controller")["starved"].mean().sort_values()
    bases = hit[hit["kind"] != "agent"].groupby("controller")["starved"].mean()
    runs = agents.groupby(["controller", "train_seed"])["starved"].mean()
    mostly = int((runs > 0.5).sum())
    worst = ", ".join(f"{r} {_share(v)}" for r, v in by_reward[::-1].items() if v > 0)
    greens = provenance.max_green_text(setup)
    return (
        f"**Starved arms.** {agents['starved'].mean():.0%} of the agents' test episodes had a "
        "teleport (SUMO removes a vehicle stuck too long), against "
        + (", ".join(f"{b} {v:.0%}" for b, v in bases.items()) or "no baseline")
        + f"; {mostly} of {provenance.counted(len(runs), 'training run')} had one in more "
        "than half of their "
        f"episodes. Maximum greens in these runs: {greens}. "
        + (f"By reward: {worst}." if worst else "")
    )


def _share(v: float) -> str:
    """A share as a percentage; a small non-zero one as '<1%', never '0%'."""
    return "<1%" if 0 < v < 0.005 else f"{v:.0%}"


def differences(
    setup: provenance.Setup, df: pd.DataFrame, level: SeedLevel, curves: pd.DataFrame
) -> list[str]:
    """Where our set-up differs from the study's, each of our facts from ``setup`` (the
    recorded configuration) and the results, each of the study's from ``reference``."""
    out = []
    seeds = df.loc[df["kind"] == "agent"].groupby("controller")["train_seed"].nunique()
    lo, hi = (int(seeds.min()), int(seeds.max())) if len(seeds) else (0, 0)
    n_seeds = provenance.counted((lo, hi), "training seed")
    train_eps = _training_episodes(setup, curves)
    on_test = not level.vs_best.empty and (level.vs_best["chosen_on"] == "test").any()
    out.append(
        f"**Training budget and selection.** Our runs train for "
        f"{' / '.join(f'{t:,}' for t in setup.timesteps) or '?'} decisions{train_eps}, the "
        "study's "
        f"for {TRAINING_EPISODES} episodes of {EPISODE_S} s. We keep {'all ' if hi > 1 else ''}"
        f"{n_seeds} per reward as {'units' if hi > 1 else 'the unit'} of the statistics, where "
        "the study kept the best of "
        f"{TRAINING_RUNS} runs chosen on its test episodes; our best reward is chosen on "
        + (
            "the test episodes too (no validation scores recorded)."
            if on_test
            else "validation episodes."
        )  # fmt: skip
        + " Rewards whose signal is sparse or noisy may need more training to settle than "
        "the dense ones, so a small budget can move the ordering."
    )
    study_timing = (
        f"the study's agent was asked every {DECISION_INTERVAL_S:g} s once the minimum green "
        f"had run (`decisions: {DECISIONS}`), gamma {GAMMA:g}"
    )
    gammas = " / ".join(map(str, setup.gammas)) or "not recorded"
    ours = (
        f"ours were {provenance.decision_text(setup)}" if setup.decisions
        else "our decision mode is not recorded (no run configuration here)"
    ) + f", gamma {gammas}"  # fmt: skip
    same = setup.decisions == [DECISIONS] and setup.gammas == [GAMMA]
    text = f"**Decision timing.** {ours[0].upper()}{ours[1:]}; {study_timing}."
    if same:
        text += " The same as the study."
    elif "every_interval" in setup.decisions:
        text += (
            " With `every_interval` a reward summed over a decision (throughput, the "
            "time-lost family) sees a shorter window than the study's after a stage change."
        )
    out.append(text)
    out.append(
        f"**Maximum greens.** Ours: {provenance.max_green_text(setup)}; the study's: none "
        '("the extension can be chosen indefinitely"), and a real UK controller has them.'
    )
    if "teleports" in df:
        runs = df[df["kind"] == "agent"].groupby(["controller", "train_seed"])["teleports"]
        mostly = int((runs.apply(lambda t: (t > 0).mean()) > 0.5).sum())
        if mostly:
            out.append(
                f"**Maturity of the agents.** {mostly} of "
                f"{provenance.counted(runs.ngroups, 'training run')} had a "
                "teleport in more than half of their test episodes; such a run dominates the "
                "mean of its reward, and the study's selection of the best of "
                f"{TRAINING_RUNS} runs would hide it (our best-run table shows that selection)."
            )
    out.append(
        "**The junction details the study withheld.** Lane lengths, detector lengths, "
        "intergreens, turning ratios, side-road flows and the vehicle-actuated maximum greens "
        f"are not published; ours are the stated assumptions of junction {setup.junction_name} "
        "and its demand files. Absolute waiting times therefore differ; so can the margins "
        "between rewards where the side roads matter."
    )
    spec = setup.junction
    if spec is not None:
        ad = [r for r in df.loc[df["kind"] == "agent", "reward"].dropna().unique()
              if str(r).endswith("_ad")]  # fmt: skip
        text = (
            f"**Sensors.** Our rewards see {spec.sensors.camera_range:g} m camera zones"
            + (" and stop-line loops" if spec.sensors.stop_line_loops else "")
            + f", with {provenance.noise_text(setup)}; the study's lane-area detectors are of "
            "unknown length."
        )
        if ad:
            text += (
                f" The demand estimate d̂ of the AD rewards ({', '.join(sorted(ad))}) is ours "
                "(`intergreen.rewards.library.DemandEstimator`): the study does not say how it "
                "estimated demand, so the AD rows are the least comparable."
            )
        out.append(text)
    return out
