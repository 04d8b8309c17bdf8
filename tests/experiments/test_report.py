"""Report: files, Table I values against results.parquet, statistics, reference, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from intergreen.experiments.reference import TABLE_I, reference_cell
from intergreen.experiments.report import build_report


def _table(md: str, heading: str) -> dict[str, dict[str, str]]:
    section = md.split(f"## {heading}")[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    return {
        cells[0]: dict(zip(header, cells, strict=True))
        for cells in ([c.strip() for c in r.strip("|").split("|")] for r in rows[1:])
    }


def test_report_files_and_table_values(batch_copy):
    paths = build_report(batch_copy, reference="study")
    md = paths["markdown"].read_text()
    page = paths["html"].read_text()
    assert (batch_copy / "plots" / "boxplots.png").stat().st_size > 1000
    assert (batch_copy / "plots" / "learning_curves.png").exists()
    assert page.count("data:image/png;base64,") == 2
    assert 'src="http' not in page and "plots/" not in page  # self-contained
    results = pd.read_parquet(batch_copy / "results.parquet")
    pooled = _table(md, "Secondary: Table I with episodes pooled")
    seed = _table(md, "Table I at seed level")
    for controller, key in (("queue", "queue"), ("max-occupancy", "max-occupancy")):
        sel = results[(results["demand"] == "high") & (results["controller"].str.startswith(key))]
        values = sel["avg_waiting_time"].to_numpy()
        mean, std = values.sum() / len(values), np.std(values, ddof=1)
        assert pooled[controller]["high"] == f"{mean:.2f} ± {std:.2f}"
    assert pooled["queue"]["high (study)"] == "16.21 ± 5.07"
    # one training seed: the seed-level mean is that seed's mean, with no interval
    queue = results[(results["demand"] == "high") & (results["reward"] == "queue")]
    assert seed["queue"]["high"] == f"{queue['avg_waiting_time'].mean():.2f} [n/a: 1 seed]"
    assert seed["queue"]["n"] == "1 seed" and seed["max-occupancy"]["n"] == "2 episodes (baseline)"
    assert "n/a — needs at least 2 training seeds" in md  # the comparisons, not a crash
    for section in ("Summary", "Set-up (generated", "Against the best reward",
                    "Against the baselines, paired", "Tails, arms and teleports", "Ranks",
                    "Learning curves"):  # fmt: skip
        assert section in md
    assert "Mann-Whitney" not in md and "bootstrap" not in md
    assert re.search(r"\*\*low\*\*: best reward \S+", md)
    assert "300 decisions per run" in md.split("## Set-up")[1]


def test_reference_table():
    assert len(TABLE_I) == 14
    assert reference_cell("average_speed_ad", "high") == "14.33 ± 4.97"
    assert reference_cell("time_lost_ad/dqn", "low").endswith("†")
    assert reference_cell("pressure", "low") is None
    # low_v1 is the study's stated total for low: compared with the study's low too
    assert reference_cell("average_speed_ad", "high_v1") == "14.33 ± 4.97"
    assert reference_cell("average_speed_ad", "high_calibrated") is None


def test_cli_report_and_bad_grid(batch_copy, tmp_path, capsys):
    from intergreen.cli import main

    (batch_copy / "report.md").unlink(missing_ok=True)
    main(["report", str(batch_copy)])  # returns normally on success
    assert (batch_copy / "report.md").exists()
    with pytest.raises(SystemExit) as code:
        main(["report", str(batch_copy), "--seed-test", "wilcoxon"])
    assert code.value.code == 2
    assert "--seed-test 'wilcoxon': use one of permutation, t" in capsys.readouterr().err
    main(["report", str(batch_copy), "--seed-test", "t"])
    assert "Welch t on per-seed means" in (batch_copy / "report.md").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("rewards: [queue, nope]\nagents: [dqn, sac]\nseeds: [1]\n"
                   "training: {timesteps: 10}\n")  # fmt: skip
    with pytest.raises(SystemExit) as code:
        main(["compare", str(bad), "--out", str(tmp_path / "o")])
    assert code.value.code == 2
    err = capsys.readouterr().err
    assert "nope" in err and "sac" in err
    assert not (tmp_path / "o").exists()


def _study_like(swap: bool = False) -> pd.DataFrame:
    """Two training seeds per reward around the study's Table I means (12 rewards + 2
    baselines, 3 levels)."""
    rng = np.random.default_rng(1)
    rows = []
    for name, cells in TABLE_I.items():
        kind = "baseline" if name in ("vehicle-actuated", "max-occupancy") else "agent"
        for d, (mean, _) in zip(("low", "medium", "high"), cells, strict=True):
            if swap and name == "throughput":
                mean = 1.0  # throughput best everywhere
            for seed in (1, 2) if kind == "agent" else (None,):
                for i in range(10):
                    rows.append({"kind": kind, "controller": name, "reward": name,
                                 "agent": "dqn", "train_seed": seed, "run_key": f"{name}{seed}",
                                 "demand": d, "eval_seed": i,
                                 "avg_waiting_time": mean + rng.normal(0, 0.01),
                                 "teleports": int(name == "throughput" and i < 5)})  # fmt: skip
    df = pd.DataFrame(rows)
    df["train_seed"] = df["train_seed"].astype("Int64")
    return df


def test_study_discussion_answers_from_the_statistics():
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.provenance import Setup
    from intergreen.experiments.study import discussion, study_agreement
    from intergreen.experiments.summaries import pooled_summary

    df = _study_like()
    level = seed_level(df)
    rewards = [r for r in TABLE_I if r not in ("vehicle-actuated", "max-occupancy")]
    agreement = study_agreement(level.summary, rewards)
    assert agreement.n == 11 and agreement.rho == pytest.approx(1.0)  # time_lost_ad left out
    assert agreement.p < 0.001 and not agreement.exact
    setup = Setup(source="test")
    text = "\n".join(discussion(level, df, setup))
    assert "speed maximisation again give the lowest waiting time?** Yes, at every" in text
    assert "again do worst?** Yes" in text  # the bottom three of the study
    assert "rho = 1.00 (permutation p < 0.001, 11 rewards)" in text
    assert "all 2048 draws" in text  # 2 seeds of 11 rewards: every combination
    # only throughput is worse than vehicle actuation; 2 seeds allow no verdict
    assert "**Against Vehicle Actuated**" in text
    assert "rewards with a lower mean low 11/12, no seed-level verdict" in text
    assert "cannot give p below 0.5" in text
    # throughput: 5 of each seed's 10 episodes with a teleport
    assert "**Starved arms.** 4% of the agents' test episodes" in text
    assert "vehicle-actuated 0%" in text and "By reward: throughput 50%." in text
    assert "0 of 24 training runs had one in more than half" in text
    assert "Maximum greens in these runs: not known" in text

    st_best = pooled_summary(df[df["train_seed"].fillna(1) == 1])
    selected = "\n".join(discussion(level, df, setup, st_best=st_best))
    assert "**With the study's selection**" in selected
    assert "lowest reward by its best run low average_speed_ad, medium average_speed_ad" in selected
    assert "bottom 3 delta_time_lost, delta_wait_time, throughput" in selected
    assert "Spearman rho = 1.00" in selected
    assert "rewards with a lower mean than vehicle actuation low 11/12" in selected

    swapped = _study_like(swap=True)
    text = "\n".join(discussion(seed_level(swapped), swapped, setup))
    assert "lowest waiting time?** No, by the mean of per-seed means on the test" in text
    assert "low: lowest mean throughput (1.00 s), also the best reward chosen on the test" in text


def test_published_report_regenerates_from_its_own_tables(batch_copy, tmp_path):
    from intergreen.cli import main
    from intergreen.experiments.report import publish_report

    dest = tmp_path / "docs" / "results" / "tiny"
    paths = publish_report(batch_copy, dest, reference="study")
    md = paths["markdown"].read_text()
    first = md.split("\n\n")[1]
    assert first.startswith("**Budget.** Agents: DQN (PPO not run)")
    assert "1 training seed per reward" in first and "300 decisions per run" in first
    assert "2 evaluation episodes per demand level per run (study: 100)" in first
    assert "## Discussion: the study's questions" in md and "## Where we differ" in md
    assert (dest / "plots" / "boxplots.png").exists() and not (dest / "report.html").exists()
    assert (dest / "results.parquet").exists() and (dest / "summary.csv").exists()
    configs = json.loads((dest / "run_configs.json").read_text())
    assert sorted(configs) == sorted(p.name for p in (batch_copy / "runs").iterdir())
    assert "runs' own config.json (2 of 2 runs)" in md
    (dest / "report.md").unlink()
    main(["report", str(dest), "--reference", "study", "--publish", str(dest)])
    assert (dest / "report.md").read_text() == md
    with pytest.raises(SystemExit) as code:
        main(["report", str(tmp_path / "nothing"), "--publish", str(dest)])
    assert code.value.code == 2


@pytest.mark.slow
def test_committed_study_report_regenerates_from_its_tables(tmp_path):
    import shutil
    from pathlib import Path

    published = Path(__file__).parents[2] / "docs" / "results" / "study_full"
    copy = tmp_path / "study_full"
    shutil.copytree(published, copy)
    (copy / "report.md").unlink()
    md = build_report(copy, reference="study", html=False)["markdown"].read_text()
    assert md == (published / "report.md").read_text()
    assert "seeded" not in md and "no sensor noise" in md and "(39 of 39 runs)" in md


def _val_and_test(make_results, test_means: dict, valid_means: dict, **kw) -> pd.DataFrame:
    """Test rows with ``test_means`` per training seed, validation rows with ``valid_means``
    (other episode seeds): the validation rows choose the best, the test rows score it."""
    base = {"vehicle-actuated": 45.0, "vehicle-actuated:tuned": 42.0}
    test = make_results(test_means, baselines=base, episode_sd=0.3, **kw)
    valid = make_results(valid_means, baselines=base, episodes=2, seed=1)
    valid["eval_seed"] += 100
    return pd.concat([test.assign(split="test"), valid.assign(split="validation")])


def test_speed_answer_is_on_the_test_means_not_the_validation_choice(make_results):
    """Validation chooses average_speed, the test episodes put queue lower: the answer is No,
    and the summary says where the best was chosen and which reward is lowest on test."""
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.provenance import Setup
    from intergreen.experiments.report import summary_text
    from intergreen.experiments.study import discussion

    df = _val_and_test(make_results, {"average_speed": [40, 41, 41], "queue": [38, 38.5, 38.6]},
                       {"average_speed": [30] * 3, "queue": [35] * 3})  # fmt: skip
    level = seed_level(df)
    means = level.summary.set_index("controller")["mean"]
    a, q = means["average_speed"], means["queue"]
    assert q < a
    text = discussion(level, df[df["split"] == "test"], Setup(source="test"))[1]
    assert text.startswith(
        "**Does speed maximisation again give the lowest waiting time?** No, by the mean of "
        "per-seed means on the test episodes (study: yes, at every level, Average Speed AD "
        f"first). Among our 2 rewards: low: lowest mean queue ({q:.2f} s; against the chosen "
        "best: n/a — too few seeds); the best reward chosen on validation episodes is "
        f"average_speed ({a:.2f} s, rank 2 of 2 rewards). The best reward at each level is "
        "chosen on validation episodes"
    )
    assert "Yes" not in text
    full = "\n".join(discussion(level, df, Setup(source="test")))
    assert "**Against Vehicle Actuated, tuned** (per training seed" in full
    assert "rewards with a lower mean low (the best baseline there) 2/2" in full
    assert "**Against Vehicle Actuated** (per training seed" in full
    assert "Paired tests against the other baselines: No verdicts" in full
    lines = summary_text(level, ["low"])
    chosen = level.vs_best.set_index("controller")["chosen_mean"]
    va, vq = chosen["average_speed"], chosen["queue"]
    assert 29 < va < 31 and 34 < vq < 36  # the validation rows' means, not the test rows'
    base = level.summary.set_index("controller")["mean"]
    tuned, default = base["vehicle-actuated:tuned"], base["vehicle-actuated"]
    primary = level.vs_baselines[level.vs_baselines["primary"]]
    assert set(primary["chosen_on"]) == {"validation"}
    vt = primary["chosen_mean"].iloc[0]
    assert lines[0] == (
        f"**low**: best reward average_speed, chosen on validation episodes ({va:.2f} s there; "
        f"the next, queue, {vq - va:.2f} s ({100 * (vq - va) / va:.1f} %) higher): {a:.2f} s on "
        f"the test episodes (mean of per-seed means). Lowest on the test episodes: queue "
        f"({q:.2f} s). Baselines on the same test episodes: vehicle-actuated:tuned {tuned:.2f} s, "
        f"vehicle-actuated {default:.2f} s; the best reward is {tuned - a:.2f} s "
        f"({100 * (tuned - a) / tuned:.1f} %) below the lowest of them. Best baseline "
        f"vehicle-actuated:tuned (lowest on validation episodes, {vt:.2f} s there)."
    )
    assert tuned < default and a < tuned
    # the same choice, and average_speed lowest on test too: Yes, and said to be the same
    df = _val_and_test(make_results, {"average_speed": [36, 36.5, 36.2], "queue": [38, 38.5, 39]},
                       {"average_speed": [30] * 3, "queue": [35] * 3})  # fmt: skip
    level = seed_level(df)
    a = level.summary.set_index("controller").loc["average_speed", "mean"]
    text = discussion(level, df[df["split"] == "test"], Setup(source="test"))[1]
    assert "lowest waiting time?** Yes, by the mean of per-seed means on the test" in text
    assert (
        f"low: lowest mean average_speed ({a:.2f} s), also the best reward chosen on validation "
        "episodes."
    ) in text
    first = summary_text(level, ["low"])[0]
    assert first.startswith("**low**: best reward average_speed, chosen on validation episodes (")
    assert f"higher): {a:.2f} s on the test episodes (mean of per-seed means). Baselines" in first
    assert "Lowest on the test episodes" not in first

    # no speed reward in the grid: the question is not answered (it said "No")
    df = _val_and_test(make_results, {"wait_time": [36, 36.5, 36.2], "queue": [38, 38.5, 39]},
                       {"wait_time": [30] * 3, "queue": [35] * 3})  # fmt: skip
    text = discussion(seed_level(df), df[df["split"] == "test"], Setup(source="test"))[1]
    assert text == (
        "**Does speed maximisation again give the lowest waiting time?** Not answered: no speed "
        "reward (average_speed, average_speed_ad) ran here (study: yes, at every level, Average "
        "Speed AD first)."
    )


def test_top_and_bottom_never_overlap():
    from intergreen.experiments.study import top_and_bottom

    assert top_and_bottom(["q"]) == "the only reward q"
    assert top_and_bottom(["q", "s"]) == "top 1 by mean rank q; bottom 1 s"
    assert top_and_bottom(list("abcde")) == "top 2 by mean rank a, b; bottom 2 d, e"
    assert top_and_bottom(list("abcdef")) == "top 3 by mean rank a, b, c; bottom 3 d, e, f"
    assert top_and_bottom(list("abcdefgh")) == "top 3 by mean rank a, b, c; bottom 3 f, g, h"


def test_two_rewards_study_selection_and_worst_question(make_results):
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.provenance import Setup
    from intergreen.experiments.study import discussion
    from intergreen.experiments.summaries import pooled_summary

    df = make_results({"queue": [38, 39], "throughput": [60, 61]}, episodes=4)
    st_best = pooled_summary(df[df["train_seed"] == 1])
    text = "\n".join(discussion(seed_level(df), df, Setup(source="test"), st_best=st_best))
    assert (
        "lowest reward by its best run low queue (not the Summary's best reward, which is "
        "chosen on every training seed); top 1 by mean rank queue; bottom 1 throughput."
    ) in text
    assert "again do worst?** Yes: mean rank over the levels (1 = best of 2" in text
    assert (  # said, not left out (a new user's trial looked for it)
        "**Agreement with the study's ordering.** Not computed: a rank correlation needs at "
        "least 3 rewards with a reliable study row, and only queue, throughput have one here."
    ) in text
    assert "the bottom 1 here is throughput (study:" in text
    alone = df[df["controller"] == "throughput"]
    text = "\n".join(discussion(seed_level(alone), alone, Setup(source="test")))
    assert "again do worst?** Not answered: with 1 reward there is no ordering to be last in." in (
        text
    )


def test_one_training_seed_gives_no_verdicts_in_the_summary(make_results):
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.report import summary_text

    df = make_results({"average_speed": [40], "queue": [38]},
                      baselines={"vehicle-actuated": 45}, episodes=3)  # fmt: skip
    lines = summary_text(seed_level(df), ["low"])
    q = df[df["controller"] == "queue"]["avg_waiting_time"].mean()
    b = df[df["controller"] == "vehicle-actuated"]["avg_waiting_time"].mean()
    assert lines == [
        f"**low**: best reward queue, chosen on the test episodes themselves (optimistic: they "
        f"also score it): {q:.2f} s on the test episodes (mean of per-seed means). Baselines on "
        f"the same test episodes: vehicle-actuated {b:.2f} s; the best reward is {b - q:.2f} s "
        f"({100 * (b - q) / b:.1f} %) below the lowest of them. Best baseline "
        f"vehicle-actuated (lowest on the test episodes, {b:.2f} s there).",
        "**Against the best reward:** No verdicts: with 1 training seed per arm there is no "
        "spread across seeds to test (a test needs at least 2 per arm); about 4 seeds per arm "
        "would allow a verdict with Holm over 1 comparison.",
        "**Against the best baseline:** No verdicts: with 1 training seed per arm there is no "
        "spread across seeds to test (a test needs at least 2 per arm); about 7 seeds per arm "
        "would allow a verdict with Holm over 2 comparisons.",
    ]
    # seeds enough for one reward only: verdicts where they can be given, the rest counted
    df = make_results({"a": [10, 11, 12], "b": [40], "c": [30, 31, 32]}, baselines={"va": 20},
                      episodes=3, episode_sd=0.1)  # fmt: skip
    (line,) = summary_text(seed_level(df, test="t"), ["low"])
    va = df.loc[df["controller"] == "va", "avg_waiting_time"].mean()
    assert line.endswith(
        "Worse at seed level (Holm): c. No verdict for b (n/a — needs at least 2 training "
        f"seeds). Best baseline va (lowest on the test episodes, {va:.2f} s there); the rewards "
        "against it (paired, Holm): 1 better, 1 worse, 1 without a verdict."
    )
    # only a one-seed reward against the best: not one test, and the note says why
    alone = df[df["controller"] != "a"]
    assert summary_text(seed_level(alone, test="t"), ["low"])[1] == (
        "**Against the best reward:** No verdicts: with 1 training seed in an arm there is no "
        "spread across seeds to test (a test needs at least 2 per arm); about 3 seeds per arm "
        "would allow a verdict with Holm over 1 comparison."
    )


def test_intervals_below_zero_say_what_narrows_them():
    from intergreen.experiments.report import below_zero_text, seed_table

    summary = pd.DataFrame(
        [("average_speed", "low", "seed", 3, 5.0, -1.0, 11.0),
         ("average_speed", "high", "seed", 3, 6.0, -2.0, 14.0),
         ("vehicle-actuated", "low", "episode", 2, 4.98, -20.0, 30.0),
         ("queue", "low", "seed", 3, 5.0, 1.0, 9.0),
         ("fixed-time", "high", "episode", 1, 7.5, np.nan, np.nan)],
        columns=["controller", "demand", "unit", "n", "mean", "ci_low", "ci_high"],
    )  # fmt: skip
    # the cause from the numbers: at 2 episodes t's quantile (12.7), not a wide spread (a
    # new user's baseline had sd 1.3 s and the interval [-7.1, 16.6]); at 3 seeds 4.3
    assert below_zero_text(summary) == [
        "2 agent intervals reach below 0 s (average_speed): at 3 seeds a 95 % t interval spans "
        "4.3 standard errors each side of the mean, so they cannot locate the mean; more "
        "training seeds narrow them.",
        "1 baseline interval reaches below 0 s (vehicle-actuated): at 2 episodes a 95 % t "
        "interval spans 12.7 standard errors each side of the mean, so it cannot locate the "
        "mean; more test episodes narrow it.",
    ]
    wide = summary.assign(n=10)
    assert below_zero_text(wide)[0] == (
        "2 agent intervals reach below 0 s (average_speed): the seed means spread widely for "
        "10 seeds, so they cannot locate the mean; more training seeds narrow them."
    )
    assert below_zero_text(summary[summary["ci_low"] > 0]) == []
    _, rows = seed_table(summary, ["fixed-time", "queue"], ["low", "high"])
    assert rows[0] == ["fixed-time", "–", "7.50 [n/a: 1 episode]", "1 episode (baseline)"]
    assert rows[1] == ["queue", "5.00 [1.00, 9.00]", "–", "3 seeds"]


def test_publishing_into_the_results_folder_is_refused_and_keeps_it(make_results, tmp_path,
                                                                    capsys):  # fmt: skip
    from cli_helpers import one_error_line, run_cli

    out = tmp_path / "out_a"
    out.mkdir()
    make_results({"queue": [38, 39]}, baselines={"vehicle-actuated": 45}).to_parquet(
        out / "results.parquet", index=False
    )
    assert run_cli(["report", str(out)], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "report.html" in before
    line = one_error_line(*run_cli(["report", str(out), "--publish", str(out)], capsys))
    assert line == (
        f"error: --publish {out}: that is the results folder itself (it holds report.html, "
        "which a published folder leaves out): give another folder, e.g. docs/results/out_a; "
        f"`intergreen report {out}` rewrites the report in place"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # another folder: published there, the results folder untouched
    assert run_cli(["report", str(out), "--publish", str(tmp_path / "pub")], capsys)[0] == 0
    assert (tmp_path / "pub" / "report.md").exists() and (out / "report.html").exists()


def test_counts_agree_with_their_nouns(make_results, tmp_path):
    """One training seed, one test episode, one demand level: every count in the report
    agrees with its noun."""
    df = make_results({"average_speed": [40], "queue": [38]},
                      baselines={"vehicle-actuated": 45}, episodes=1, demand="medium")  # fmt: skip
    df.to_parquet(tmp_path / "results.parquet", index=False)
    md = build_report(tmp_path, reference="study", html=False)["markdown"].read_text()
    plural = re.compile(r"\b1 (?:[a-z-]+ )?(?:runs|episodes|seeds|controllers|rewards|levels|"
                        r"comparisons|intervals)\b")  # fmt: skip
    assert not plural.findall(md)
    assert (
        "3 controllers, demand level medium; 1 test episode per run and level, the same episode "
        "seed for every controller."
    ) in md
    assert "1 evaluation episode per demand level per run (study: 100)" in md
    assert "training seed 1 (1 per reward and agent); evaluation: 1 test episode per demand" in md
    assert "episode seed 1000 for every controller" in md
    assert "We keep 1 training seed per reward as the unit of the statistics" in md
    assert "| vehicle-actuated | 45." in md and "[n/a: 1 episode] | 1 episode (baseline) |" in md


def test_learning_curves_say_what_the_training_demand_was():
    """The caption said 'training demand varies between episodes' for every grid, also one
    trained on medium alone (a new user's trial)."""
    from intergreen.experiments.report import _training_demand_text

    one = pd.DataFrame({"train_demand": ["medium"] * 3, "episode_demand": ["medium"] * 3})
    assert _training_demand_text(one) == "training demand medium in every episode"
    mixed = pd.DataFrame(
        {"train_demand": ["mixed"] * 3, "episode_demand": ["1800vph", "2400vph", "1800vph"]}
    )
    assert _training_demand_text(mixed) == (
        "training demand mixed, varying between episodes (2 demands)"
    )
    assert _training_demand_text(pd.DataFrame()) == "the training demand is not recorded"


def test_identical_results_are_said_to_be_one_result(make_results):
    """A new user's trial: on an imported junction with a 1 s step and decision interval,
    queue and wait_time runs were bit-identical, and the report ranked them as two results."""
    from intergreen.experiments.report import identical_text
    from intergreen.experiments.summaries import identical_agents

    df = make_results({"queue": [40, 41], "average_speed": [38, 39]}, baselines={"va": 45})
    same = df[df["controller"] == "queue"].assign(controller="wait_time", reward="wait_time")
    df = pd.concat([df, same], ignore_index=True)
    assert identical_agents(df) == [["queue", "wait_time"]]
    assert identical_text(identical_agents(df)) == [
        "**Identical results:** queue and wait_time gave the same waiting time in every test "
        "episode of every training seed: their models act alike (two rewards can coincide on "
        "a set-up, e.g. `wait_time` summed over a decision interval of one simulation step is "
        "`queue`), so they are one result shown 2 times: their ranks and their tests "
        "against each other below say nothing about the rewards."
    ]
    # one episode apart, or a seed the other lacks: not the same runs
    apart = df.copy()
    apart.loc[apart.index[-1], "avg_waiting_time"] += 1e-9
    assert identical_agents(apart) == []
    assert (
        identical_agents(df[~((df["controller"] == "wait_time") & (df["train_seed"] == 2))]) == []
    )


def test_report_refuses_a_missing_folder_and_one_a_compare_is_writing(batch_copy, tmp_path, capsys):
    """A new user's trial: `report` on a folder mid-run wrote a report of the previous grid's
    results without a word (or said to run compare first, while one ran); on a missing
    folder it said to run compare. The batch's own compare still reports when it ends."""
    import subprocess
    import sys

    from cli_helpers import one_error_line, run_cli

    line = one_error_line(*run_cli(["report", str(tmp_path / "nowhere")], capsys))
    assert line == (
        f"error: {tmp_path / 'nowhere'}: no such folder; give the --out folder of an intergreen "
        "compare"
    )
    holder = subprocess.Popen(  # another process's compare: it holds the folder's lock
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from intergreen.experiments.runner import BatchLock\n"
         "with BatchLock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)",
         str(batch_copy)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        report = batch_copy / "report.md"
        before = report.stat().st_mtime_ns if report.exists() else None
        line = one_error_line(*run_cli(["report", str(batch_copy)], capsys))
        assert line.startswith(
            f"error: {batch_copy}: a compare is running on it (pid {holder.pid} "
        )
        assert line.endswith(
            "so its results are not final; it writes the report when it ends (intergreen status "
            f"{batch_copy} shows how far it is)"
        )
        assert (report.stat().st_mtime_ns if report.exists() else None) == before  # unwritten
    finally:
        holder.kill()
        holder.wait()
    code, _, err = run_cli(["report", str(batch_copy)], capsys)  # a killed holder: reported
    assert code == 0, err


def test_training_curves_are_smoothed_over_at_most_a_fifth_of_the_shortest_run():
    from intergreen.experiments.plots import smoothing_text, smoothing_window

    def curves(lengths: dict[int, int]) -> pd.DataFrame:
        return pd.DataFrame(
            [{"reward": "queue", "agent": "dqn", "train_seed": s, "run_key": f"k{s}", "step": i}
             for s, n in lengths.items() for i in range(n)]
        )  # fmt: skip

    assert smoothing_window(curves({1: 333, 2: 40})) == 5
    assert smoothing_window(curves({1: 333, 2: 12})) == 2  # the shortest run decides
    assert smoothing_window(curves({1: 9})) == 1
    assert smoothing_window(pd.DataFrame()) == 5
    assert smoothing_text(5) == "rolling mean of 5" and smoothing_text(1) == "unsmoothed"


def test_baselines_position_states_the_gap_to_the_best_baseline_either_way(make_results):
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.report import baselines_position

    df = make_results({"queue": [30, 31], "wait_time": [33, 34]},
                      baselines={"fixed-time": 29, "vehicle-actuated": 35}, episodes=4)  # fmt: skip
    level = seed_level(df)
    means = level.summary.set_index("controller")["mean"]
    q, ft, va = means["queue"], means["fixed-time"], means["vehicle-actuated"]
    assert ft < q < va
    assert baselines_position(level.summary, level.vs_best) == (
        f"Baselines on the same test episodes: fixed-time {ft:.2f} s, vehicle-actuated "
        f"{va:.2f} s; the best reward is {q - ft:.2f} s ({100 * (q - ft) / ft:.1f} %) above the "
        "lowest of them. "
    )
    agents = df[df["kind"] == "agent"]
    assert baselines_position(seed_level(agents).summary, seed_level(agents).vs_best) == ""


def test_our_training_episodes_are_given_with_their_length_where_known() -> None:
    """'Where we differ' gave the study's episode length (1800 s) but not ours (a new user's
    trial with `episode_duration: 300`)."""
    from intergreen.experiments.provenance import Setup
    from intergreen.experiments.study import _training_episodes

    curves = pd.DataFrame({"run_key": ["a"] * 10 + ["b"] * 12, "step": range(22)})
    assert _training_episodes(Setup(source="t", episode_duration=300.0), curves) == (
        " (~11 training episodes of 300 s)"
    )
    assert _training_episodes(Setup(source="t"), curves) == " (~11 training episodes)"
    assert _training_episodes(Setup(source="t"), pd.DataFrame()) == ""


def test_the_report_names_the_best_baseline_of_each_level(make_results, tmp_path):
    """Two baselines: the one lowest on the validation episodes (va:tuned) is the primary
    comparison, although the other (ft) is lower on the test episodes."""
    arms, base = {"a": [10, 11, 12], "b": [14, 15, 16]}, {"ft": 19.0, "va:tuned": 20.0}
    test = make_results(arms, baselines=base, episodes=4, episode_sd=0.1)
    valid = make_results(arms, baselines=base | {"va:tuned": 18.0}, episodes=2, seed=1)
    valid["eval_seed"] += 100
    pd.concat([test.assign(split="test"), valid.assign(split="validation")]).to_parquet(
        tmp_path / "results.parquet", index=False
    )
    md = build_report(tmp_path, html=False)["markdown"].read_text()
    section = md.split("## Against the baselines, paired")[1].split("\n## ")[0]
    primary, other = section.split("**Against the other baselines** (secondary).")
    chosen = valid.loc[valid["controller"] == "va:tuned", "avg_waiting_time"].mean()
    assert f"Demand low: best baseline va:tuned, {chosen:.2f} s on the validation episodes." in (
        primary
    )
    assert "| a | va:tuned |" in primary and "| a | ft |" not in primary
    assert "| a | ft |" in other and "| a | va:tuned |" not in other
    assert "Best baseline va:tuned (lowest on validation episodes" in md.split("## Summary")[1]


def test_the_study_s_findings_are_judged_at_seed_level(make_results):
    """Eight seeds apart by 10 s: every comparison has a verdict, and the findings say
    holds or does not hold; with two seeds none has one, and they say not shown."""
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.study import seed_level_findings

    rng = np.random.default_rng(3)

    def seeds(mean: float, n: int = 8) -> list[float]:
        return list(rng.normal(mean, 0.3, n))

    held = make_results({"average_speed": seeds(10), "queue": seeds(20), "throughput": seeds(30)},
                        baselines={"va": 25.0}, episodes=4, episode_sd=0.1)  # fmt: skip
    text = seed_level_findings(seed_level(held), ["low"])
    assert text.startswith("**Which of the study's findings hold at seed level.**")
    assert "(1) Speed rewards give the lowest waiting time (study: at every level): low holds " in (
        text
    )
    assert "(average_speed the best chosen; every other reward worse)" in text
    assert "throughput holds as far as tested (worse than the best reward at low)" in text
    # the study had queue and average_speed below vehicle actuation at low, not throughput
    assert "(study: every reliable reward row but throughput at low; delta_wait_time, " in text
    assert "low holds (against va, of 2 such rewards: 2 better, 0 worse, 0 without" in text

    broken = make_results({"average_speed": seeds(20), "queue": seeds(12), "throughput": seeds(9)},
                          baselines={"va": 5.0}, episodes=4, episode_sd=0.1)  # fmt: skip
    text = seed_level_findings(seed_level(broken), ["low"])
    assert "low does not hold (throughput the best chosen; every speed reward worse)" in text
    assert "throughput does not hold (itself the best reward chosen at low)" in text
    assert "low does not hold (average_speed, queue worse) (against va, of 2 such rewards: " in text

    few = make_results({"average_speed": seeds(10, 2), "queue": seeds(20, 2)},
                       baselines={"va": 25.0}, episodes=4, episode_sd=0.1)  # fmt: skip
    text = seed_level_findings(seed_level(few), ["low"])
    assert "low not shown (average_speed the best chosen; queue without a verdict)" in text
    assert "low not shown (against va, of 2 such rewards: 0 better, 0 worse, 2 without" in text
    assert "(2)" not in text.replace("(2) The rewards", "")  # no reward the study had worst
    assert "holds" not in text.split("(1)")[1]
