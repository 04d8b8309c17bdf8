"""Seed-level statistics on synthetic results tables whose right answer is known."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from intergreen.experiments import comparisons, stats, summaries
from intergreen.experiments.comparisons import NEEDS_SEEDS, NOT_SHOWN, TOO_FEW


@pytest.mark.parametrize("test", stats.TESTS)
def test_equal_seed_means_with_many_episodes_are_not_called_different(test, make_results):
    # seed means as two draws from one population would give (spread 4 s, arm means 20.0
    # and 21.2 s); 400 episodes per seed make the pooled episodes look wildly different
    a, b = [14.0, 18.0, 20.0, 22.0, 26.0], [16.0, 19.0, 21.0, 23.0, 27.0]
    df = make_results({"a": a, "b": b}, episodes=400, episode_sd=1.0)
    pooled = mannwhitneyu(df.loc[df.controller == "a", "avg_waiting_time"],
                          df.loc[df.controller == "b", "avg_waiting_time"]).pvalue  # fmt: skip
    assert pooled < 1e-6  # what the pooled episode test (the old report) would call different
    rows, notes = comparisons.against_best(df, test=test)
    other = rows[rows["controller"] != rows["best"]].iloc[0]
    assert other["p"] > 0.05 and other["verdict"] == NOT_SHOWN
    assert other["n"] == 5 and other["n_best"] == 5 and notes["low"] == ""


@pytest.mark.parametrize("test", stats.TESTS)
def test_arms_different_at_seed_level_are_found(test, make_results):
    rng = np.random.default_rng(4)
    df = make_results(
        {"good": list(rng.normal(10, 1, 8)), "bad": list(rng.normal(20, 1, 8)),
         "close": list(rng.normal(10.2, 1, 8))},
        episodes=5,
    )  # fmt: skip
    rows, _ = comparisons.against_best(df, test=test)
    by = rows.set_index("controller")
    assert (by["best"] == "good").all() or (by["best"] == "close").all()
    assert by.loc["bad", "verdict"] == "worse" and by.loc["bad", "p_holm"] < 0.001
    worse_than_best = by.loc["bad", "mean"] - by.loc["bad", "mean_best"]
    assert by.loc["bad", "diff"] == pytest.approx(worse_than_best) and worse_than_best > 8
    loser = "close" if by.loc["good", "verdict"].startswith("best") else "good"
    assert by.loc[loser, "verdict"] == NOT_SHOWN
    # Holm within the level: the adjusted p-values are Holm's of the raw ones
    raw = rows["p"].to_numpy()
    np.testing.assert_allclose(rows["p_holm"].to_numpy(), stats.holm(raw), equal_nan=True)


def test_holm_against_hand_computed():
    # sorted p: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04)
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    assert np.isnan(stats.holm([np.nan, 0.01])[0])
    assert stats.holm([np.nan, 0.01])[1] == pytest.approx(0.01)  # NaN is not counted in m


def test_three_seeds_give_no_verdict_and_say_why(make_results):
    df = make_results({"a": [10, 11, 12], "b": [30, 31, 32], "c": [50, 51, 52]}, episodes=5)
    rows, notes = comparisons.against_best(df, test="permutation")
    assert set(rows.loc[rows["controller"] != "a", "verdict"]) == {TOO_FEW}
    np.testing.assert_allclose(rows.loc[rows["controller"] != "a", "p"], 0.1)
    assert "cannot give p below 0.1" in notes["low"] and "about 5 seeds per arm" in notes["low"]
    # Welch t can separate them: the floor is a property of the permutation test
    rows, notes = comparisons.against_best(df, test="t")
    assert set(rows.loc[rows["controller"] != "a", "verdict"]) == {"worse"} and not notes["low"]


def test_one_seed_per_arm_gives_na_not_a_crash(make_results):
    df = make_results({"a": [10], "b": [30]}, baselines={"vehicle-actuated": 20}, episodes=5)
    level = comparisons.seed_level(df)
    assert set(level.vs_best["verdict"]) == {"best (chosen on test data)", NEEDS_SEEDS}
    assert set(level.vs_baselines["verdict"]) == {NEEDS_SEEDS}
    assert level.summary.set_index("controller").loc["a", "n"] == 1
    assert np.isnan(level.summary.set_index("controller").loc["a", "ci_low"])
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.independent_test([1.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="use one of permutation, t"):
        comparisons.seed_level(df, test="mannwhitney")


def test_paired_baseline_comparison_uses_the_shared_episodes(make_results):
    # the episode's demand moves every controller by up to +-30 s; the agent is 1 s better
    # than the baseline on every episode, whatever its seed
    episodes = 20
    shared = np.random.default_rng(5).normal(0, 30, episodes)
    df = make_results(
        {"good": [19.0] * 7, "mixed": [18, 22, 19, 21, 20, 18.5, 21.5]},
        baselines={"vehicle-actuated": 20.0},
        episodes=episodes, episode_sd=0.3, shared=shared,
    )  # fmt: skip
    rows, notes, _ = comparisons.against_baselines(df, test="permutation")
    by = rows.set_index("controller")
    assert by.loc["good", "diff"] == pytest.approx(-1.0, abs=0.2)
    assert by.loc["good", "episodes"] == episodes and by.loc["good", "n"] == 7
    assert by.loc["good", "p"] == pytest.approx(2 / 2**7)  # every seed below: the exact floor
    assert by.loc["good", "verdict"] == "better" and by.loc["mixed", "verdict"] == NOT_SHOWN
    assert by.loc["good", "ci_high"] < 0 < by.loc["mixed", "ci_high"]
    # unpaired, the episode effect hides the difference
    agent = df[df.controller == "good"].groupby("eval_seed")["avg_waiting_time"].mean()
    base = df[df.controller == "vehicle-actuated"]["avg_waiting_time"]
    assert mannwhitneyu(agent, base).pvalue > 0.3
    d, shared_n = comparisons.paired_differences(df, "good", "vehicle-actuated", "low")
    assert len(d) == 7 and shared_n == episodes and np.all(d < 0)


def test_paired_with_three_seeds_reports_its_floor(make_results):
    df = make_results({"a": [5, 6, 7]}, baselines={"fixed-time": 50}, episodes=4)
    rows, notes, _ = comparisons.against_baselines(df)
    assert rows["verdict"].iloc[0] == TOO_FEW and rows["floor"].iloc[0] == pytest.approx(0.25)
    assert "cannot give p below 0.25" in notes["low"]


def test_best_is_chosen_on_validation_rows_when_present(make_results):
    test = make_results({"a": [10, 10.5], "b": [12, 12.5]}, episodes=3)
    valid = make_results({"a": [15, 15.5], "b": [11, 11.5]}, episodes=3)
    df = pd.concat([test.assign(split="test"), valid.assign(split="validation")])
    assert comparisons.choose_best(df, "low") == ("b", "validation")
    assert comparisons.choose_best(test, "low") == ("a", "test")
    rows, _ = comparisons.against_best(df, test="t")
    assert set(rows["best"]) == {"b"} and set(rows["chosen_on"]) == {"validation"}
    # scored on the test rows only: a is better than the validation pick
    assert rows.set_index("controller").loc["a", "mean"] == pytest.approx(
        test.loc[test.controller == "a", "avg_waiting_time"].mean()
    )
    assert len(summaries.test_rows(df)) == len(test)


def test_seed_summary_is_the_mean_of_seed_means_with_a_t_interval(make_results):
    from scipy import stats as sps

    df = make_results({"a": [10, 20, 30]}, baselines={"ft": 15}, episodes=4)
    df = df[~((df.controller == "a") & (df.train_seed == 3) & (df.episode > 0))]  # 4, 4, 1 eps
    st = summaries.seed_summary(df).set_index("controller")
    seed_means = df[df.controller == "a"].groupby("train_seed")["avg_waiting_time"].mean()
    assert st.loc["a", "mean"] == pytest.approx(seed_means.mean())
    pooled = df.loc[df.controller == "a", "avg_waiting_time"].mean()
    assert st.loc["a", "mean"] != pytest.approx(pooled)
    half = sps.t.ppf(0.975, 2) * seed_means.std(ddof=1) / np.sqrt(3)
    assert st.loc["a", "ci_low"] == pytest.approx(seed_means.mean() - half)
    assert st.loc["a", "n"] == 3 and st.loc["a", "unit"] == "seed" and st.loc["a", "episodes"] == 9
    assert st.loc["ft", "unit"] == "episode" and st.loc["ft", "n"] == 4


def test_rank_agreement_with_three_rewards_is_not_significant():
    r = stats.spearman_test([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    assert r.rho == pytest.approx(-1.0) and r.exact
    assert r.p == pytest.approx(2 / 6) and r.floor == pytest.approx(2 / 6)
    big = stats.spearman_test(np.arange(11.0), np.arange(11.0) ** 2)
    assert big.rho == pytest.approx(1.0) and big.p < 0.001 and not big.exact


def test_study_agreement_and_its_spread_across_seeds(make_results):
    from intergreen.experiments.study import agreement_across_seeds, agreement_text, study_agreement

    # three rewards in the study's order, reversed here; two seeds each
    df = make_results({"average_speed_ad": [30, 31], "queue": [20, 35], "throughput": [5, 15]},
                      episodes=3, episode_sd=0.01)  # fmt: skip
    st = summaries.seed_summary(df)
    rewards = ["average_speed_ad", "queue", "throughput"]
    agreement = study_agreement(st, rewards)
    assert agreement.n == 3 and agreement.p == pytest.approx(1 / 3)
    text = agreement_text(agreement, None, "rewards")
    assert "p = 0.333" in text and "< 0.001" not in text and "smallest possible p is 0.333" in text
    spread = agreement_across_seeds(df, rewards)
    assert spread is not None and spread.exhaustive and spread.draws == 8
    # queue's seed 1 (20 s) keeps the reversed order (rho -1); its seed 2 (35 s) puts queue
    # last and average_speed_ad second (rho -0.5); the other seeds change no rank
    assert spread.low == pytest.approx(-1.0) and spread.high == pytest.approx(-0.5)
    assert spread.median == pytest.approx(-0.75) and spread.positive == 0.0


def test_tails_show_a_starved_arm(make_results):
    df = make_results({"fair": [10, 11], "starver": [10, 11]}, episodes=3)
    df["arm_wait_N"] = 8.0
    df["arm_wait_E"] = np.where(df.controller == "starver", 250.0, 12.0)
    df["wait_p95"] = np.where(df.controller == "starver", 280.0, 30.0)
    df["wait_max"] = np.where(df.controller == "starver", 300.0 + df.episode, 40.0)
    df["teleports"] = np.where((df.controller == "starver") & (df.episode == 0), 2, 0)
    table, missing = summaries.tails(df)
    by = table.set_index("controller")
    assert missing == []
    assert by.loc["starver", "worst_arm"] == "E" and by.loc["starver", "arm_wait_E"] == 250.0
    assert by.loc["fair", "worst_arm"] == "E" and by.loc["fair", "arm_wait_E"] == 12.0
    assert by.loc["starver", "wait_max"] == 302.0 and by.loc["starver", "wait_p95"] == 280.0
    assert by.loc["starver", "teleport_share"] == pytest.approx(1 / 3)
    _, missing = summaries.tails(df.drop(columns=["wait_p95", "arm_wait_N", "arm_wait_E"]))
    assert missing == ["wait_p95", "arm_wait_<arm>"]


def test_box_plot_is_on_a_log_axis_with_a_legend(make_results):
    from intergreen.experiments.plots import boxplot_figure

    df = make_results({"a": [8, 9], "b": [250, 260]}, baselines={"va": 14}, episodes=5)
    fig = boxplot_figure(df, ["a", "b", "va"], ["low"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "median" in labels and "mean" in labels and "mean of one training seed" in labels
    dots = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata()) == 2]
    assert len(dots) == 2  # the seed means of a and b, none for the baseline
    # plain numbers on the log axis (10, 100), never 4×10¹ or mathtext
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
    assert {"10", "100"} <= set(labels) and all(re.fullmatch(r"\d+", t) for t in labels)
    # within one decade the minor ticks are labelled, plainly too
    narrow = make_results({"a": [38, 40], "b": [42, 45]}, baselines={"va": 60}, episodes=5,
                          episode_sd=0.5)  # fmt: skip
    fig = boxplot_figure(narrow, ["a", "b", "va"], ["low"])
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    shown = [t.get_text() for t in ax.get_yticklabels(which="both")
             if t.get_text() and low <= t.get_position()[1] <= high]  # fmt: skip
    assert shown == ["40", "50", "60"]


def test_a_t_test_on_two_seeds_gives_no_verdict(make_results):
    """Two nearly equal seed means gave a paired t test p < 0.001 with 1 degree of freedom,
    and the summary counted it "worse"; now no verdict, and the note says why."""
    df = make_results({"a": [10.0, 10.01], "b": [14.0, 14.02]}, baselines={"va": 12},
                      episodes=3, episode_sd=0.01)  # fmt: skip
    level = comparisons.seed_level(df, test="t")
    assert set(level.vs_baselines["verdict"]) == {TOO_FEW}
    assert set(level.vs_best.loc[level.vs_best["controller"] == "b", "verdict"]) == {TOO_FEW}
    rows, notes = comparisons.against_best(df, test="t")
    assert "the Welch t test has 1 degree of freedom" in notes["low"]
    assert "at least 3 seeds per arm would allow a verdict" in notes["low"]
    # with 3 seeds the t test gives verdicts again
    df3 = make_results({"a": [10.0, 10.01, 10.02], "b": [14.0, 14.02, 14.01]}, episodes=3,
                       episode_sd=0.01)  # fmt: skip
    rows, notes = comparisons.against_best(df3, test="t")
    assert set(rows.loc[rows["controller"] == "b", "verdict"]) == {"worse"} and not notes["low"]


def test_the_best_baseline_on_validation_is_the_primary_comparison(make_results):
    """The reward study's shape: 13 rewards, 6 baselines, 10 seeds. Holm over all 78 pairs
    needs p < 0.00064, below what 10 seeds can give (2 / 2**10 = 0.00195), so the old single
    family could never give a verdict; against the best baseline alone (Holm over 13) the
    rewards every seed of which beats it are called better."""
    rng = np.random.default_rng(7)
    good = {f"good{i}": list(rng.normal(10, 0.5, 10)) for i in range(11)}
    arms = good | {"close": list(rng.normal(15, 3, 10)), "bad": list(rng.normal(30, 1, 10))}
    # on the test episodes "va:tuned" is lowest; on the validation episodes "mo:tuned" is
    baselines = {"va": 16.0, "va:tuned": 14.5, "mo": 17.0, "mo:tuned": 15.0, "ft": 20.0,
                 "ft:tuned": 19.0}  # fmt: skip
    test = make_results(arms, baselines=baselines, episodes=6, episode_sd=0.3)
    valid = make_results(arms, baselines=baselines | {"mo:tuned": 13.0}, episodes=3, seed=1)
    valid["eval_seed"] += 100
    df = pd.concat([test.assign(split="test"), valid.assign(split="validation")])
    rows, notes, other_notes = comparisons.against_baselines(df)
    primary = rows[rows["primary"]].set_index("controller")
    assert set(primary["baseline"]) == {"mo:tuned"} and set(primary["chosen_on"]) == {"validation"}
    assert primary["chosen_mean"].iloc[0] == pytest.approx(
        valid.loc[valid.controller == "mo:tuned", "avg_waiting_time"].mean()
    )
    assert len(primary) == 13 and notes["low"] == ""
    assert all(primary.loc[f"good{i}", "verdict"] == "better" for i in range(11))
    assert primary.loc["bad", "verdict"] == "worse"
    assert primary.loc["close", "verdict"] in (NOT_SHOWN, "better", "worse")
    np.testing.assert_allclose(primary["p_holm"], stats.holm(primary["p"].to_numpy()))
    # the other 65 pairs: Holm over all of them, and the note says why no verdict
    other = rows[~rows["primary"]]
    assert len(other) == 65 and set(other["verdict"]) == {TOO_FEW}
    assert "Holm over 65 comparisons needs p < 0.000769" in other_notes["low"]
    # without validation rows, the baseline lowest on the test episodes, and said so
    rows, _, _ = comparisons.against_baselines(test)
    assert set(rows.loc[rows["primary"], "baseline"]) == {"va:tuned"}
    assert set(rows["chosen_on"]) == {"test"}
