"""A report's convergence evidence: budgets from known curves, the section's sentences, the
curves kept with the report and its published copy, and sources refused by name."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from intergreen.experiments import convergence
from intergreen.experiments.convergence import ConvergenceError


def _curves() -> pd.DataFrame:
    """Two rewards x 2 seeds, validated every 100 decisions up to 500. ``a``: both seeds are
    within 5% of their best (10 and 12 at 400) from 300 on; ``b``: seed 1 is near its best
    from 200, seed 2 reaches its best only at 500, so the median gap (the mean of two) is
    2.17, 0.92, 0.04, 0, 0.01 for ``a`` and 5.46, 1.18, 0.67, 0.33, 0.006 for ``b``."""
    scores = {
        ("a", 1): [30, 20, 10.4, 10.0, 10.2],
        ("a", 2): [40, 22, 12.5, 12.0, 12.1],
        ("b", 1): [50, 8.2, 9.0, 8.0, 8.1],
        ("b", 2): [60, 30, 20, 15, 9.0],
    }
    rows = [
        {"run": f"{r}-s{s}", "reward": r, "seed": s, "step": 100 * (i + 1), "score": x,
         "episodes": 6, "score_kind": "geometric_mean"}
        for (r, s), xs in scores.items() for i, x in enumerate(xs)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _text(blocks) -> str:
    return " ".join(b.text for b in blocks if b.kind == "p")


def _b_never_within(curves: pd.DataFrame) -> None:
    """b's seed 1 at its best only at 200 (8.0) and >= 9 after: the seeds' bests lie apart and
    b's median run never comes within 5% of its best at a shared step."""
    seed1 = (curves["reward"] == "b") & (curves["seed"] == 1)
    curves.loc[seed1, "score"] = [50, 8.0, 9.0, 9.5, 9.5]


def test_evidence_gives_each_rewards_budget() -> None:
    ev = convergence.evidence(_curves(), 0.05).set_index("reward")
    assert ev.loc["a", "budget"] == 300 and ev.loc["a", "sustained"] == 300
    assert ev.loc["b", "budget"] == 500 and ev.loc["b", "sustained"] == 500
    assert ev.loc["a", "best"] == [("a-s1", 1, 10.0, 400), ("a-s2", 2, 12.0, 400)]
    assert ev.loc["a", "every"] == 100 and ev.loc["b", "last_step"] == 500
    loose = convergence.evidence(_curves(), 0.5).set_index("reward")
    assert loose.loc["b", "budget"] == 400 and loose.loc["a", "budget"] == 300


@pytest.mark.parametrize(
    "trained, verdict",
    [([500], "the check's budget"), ([300], "fewer than the check's budget"),
     ([800], "more than the check's budget")],
)  # fmt: skip
def test_section_states_the_check_and_compares_the_budget(tmp_path, trained, verdict) -> None:
    meta = {"source": "results/convergence", "tolerance": 0.05}
    blocks = convergence.convergence_blocks(_curves(), meta, trained, tmp_path / "c.png")
    text = _text(blocks)
    assert "a (2 runs, seeds 1, 2), b (2 runs, seeds 1, 2) up to 500 decisions" in text
    assert "every 100 decisions on validation episodes (6 episodes per point)" in text
    assert "the geometric mean of the point's validation episodes' waiting times" in text
    assert "a 300 (and stays within); b 500 (and stays within)" in text
    assert "The largest, 500 decisions, is the budget" in text
    assert f"This report's runs trained {trained[0]:,} decisions: {verdict}" in text
    table = next(b for b in blocks if b.kind == "table")
    assert ["a", "1", "10.00", "400", "a-s1"] in table.rows
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_section_states_what_stopping_at_the_budget_costs(tmp_path) -> None:
    # tolerance 0.5: budgets a 300, b 400; stopped at 400, b's seed 2 keeps 15 against its
    # best 9 (66.7% above), seed 1 already has its best 8.0; a has both bests by 400
    meta = {"tolerance": 0.5}
    blocks = convergence.convergence_blocks(_curves(), meta, [400], tmp_path / "c.png")
    text = _text(blocks)
    assert "The largest, 400 decisions, is the budget" in text
    assert "**Stopping at 400 decisions.**" in text
    assert "a 0.0% (runs: 0.0%, 0.0%; over 500 decisions)" in text
    assert "b 33.3% (runs: 0.0%, 66.7%; over 500 decisions)" in text
    strict = convergence.convergence_blocks(_curves(), {}, [500], tmp_path / "d.png")
    assert "b 0.0% (runs: 0.0%, 0.0%" in _text(strict)


def test_no_budget_when_a_reward_never_comes_within(tmp_path) -> None:
    curves = _curves()
    _b_never_within(curves)
    meta = {"tolerance": 0.05}
    blocks = convergence.convergence_blocks(curves, meta, [400], tmp_path / "c.png")
    text = _text(blocks)
    assert "a 300 (and stays within); b never." in text
    assert "so the check gives no budget" in text
    assert "a budget the check did not establish" in text
    assert "Stopping at" not in text  # no budget, nothing to stop at
    # runs as long as the check: stated as such, naming the reward that never came within
    full = convergence.convergence_blocks(curves, meta, [500], tmp_path / "d.png")
    text = _text(full)
    assert (
        "This report's runs trained 500 decisions: as long as the check itself trained, since "
        "it established no shorter budget; b never came within 5% of the best at a step the runs "
        "share, so this report's runs of it may not have converged either"
    ) in text


def test_the_checks_own_report_says_it_is_the_check(tmp_path) -> None:
    curves = _curves()
    runs = set(curves["run"])
    blocks = convergence.convergence_blocks(curves, {}, [500], tmp_path / "c.png", own_runs=runs)
    text = _text(blocks)
    assert "**The check.** This batch is the convergence check: it trained a (2 runs" in text
    assert "A batch that relies on this check trains 500 decisions per run." in text
    assert "This report's runs trained" not in text and "Before this batch" not in text
    _b_never_within(curves)
    blocks = convergence.convergence_blocks(curves, {}, [500], tmp_path / "d.png", own_runs=runs)
    text = _text(blocks)
    assert (
        "A batch that relies on this check trains as long as the check did, 500 decisions per "
        "run, since no shorter budget was established, and cannot claim that its runs of b "
        "have converged."
    ) in text
    # another batch's runs beside the check's: not the check's own report
    other = convergence.convergence_blocks(curves, {}, [500], tmp_path / "e.png",
                                           own_runs={"a-s1"})  # fmt: skip
    assert "Before this batch" in _text(other) and "include the check's" not in _text(other)
    # a batch that reused the check's runs among its own is not the check either
    more = convergence.convergence_blocks(curves, {}, [500], tmp_path / "f.png",
                                          own_runs=runs | {"c-s1", "c-s2"})  # fmt: skip
    text = _text(more)
    assert "**The check.** Before this batch, a convergence check trained a (2 runs" in text
    assert f"This batch's runs include the check's {len(runs)} runs (the same run keys), " in text
    assert "beside 2 others." in text and "This batch is the convergence check" not in text


def test_attach_keeps_the_curves_and_refuses_bad_sources(tmp_path) -> None:
    csv = tmp_path / "curves.csv"
    _curves().to_csv(csv, index=False)
    out = tmp_path / "out"
    out.mkdir()
    convergence.attach(out, csv, 0.1)
    curves, meta = convergence.read(out)
    pd.testing.assert_frame_equal(curves, _curves())
    assert meta == {"source": str(csv), "tolerance": 0.1}
    # a published folder holding the curves is a source too
    assert convergence.curves_from(out).equals(_curves())
    with pytest.raises(ConvergenceError, match="no such file or folder"):
        convergence.curves_from(tmp_path / "nowhere")
    with pytest.raises(ConvergenceError, match="no validation curves there"):
        convergence.curves_from(tmp_path / "out" / ".." / "out" / "..")
    _curves().drop(columns=["score"]).to_csv(csv, index=False)
    with pytest.raises(ConvergenceError, match="the curves lack score"):
        convergence.curves_from(csv)
    with pytest.raises(ConvergenceError, match="must be >= 0"):
        convergence.attach(out, out, -0.1)


def test_report_opens_with_the_check_and_its_published_copy_keeps_it(batch_copy,
                                                                    tmp_path) -> None:  # fmt: skip
    from intergreen.experiments.report import build_report, publish_report

    csv = tmp_path / "curves.csv"
    _curves().to_csv(csv, index=False)
    md = build_report(batch_copy, convergence_source=csv)["markdown"].read_text()
    head, rest = md.split("## Set-up", 1)
    assert "## Budget from the convergence check" in head  # before the set-up
    assert "This report's runs trained 300 decisions: fewer than the check's budget" in head
    assert (batch_copy / "plots" / "convergence.png").exists()
    dest = tmp_path / "published"
    publish_report(batch_copy, dest)  # the attached curves travel with the tables
    csv.unlink()
    shutil.rmtree(batch_copy)
    again = build_report(dest)["markdown"].read_text()
    assert "## Budget from the convergence check" in again
    assert json.loads((dest / "convergence.json").read_text())["source"] == str(csv)


def test_runs_stopped_at_other_steps_are_said_to_be_unfinished(tmp_path) -> None:
    curves = _curves()
    curves = curves[~((curves["reward"] == "a") & (curves["seed"] == 2) & (curves["step"] > 300))]
    blocks = convergence.convergence_blocks(curves, {}, [500], tmp_path / "c.png")
    text = " ".join(b.text for b in blocks)
    assert "Its runs did not all reach the same step (a 300 / 500 decisions)" in text
    assert "the check is not finished" in text
    one = convergence.convergence_blocks(curves[curves["seed"] == 1], {}, [500], tmp_path / "d.png")
    assert "a (1 run, seed 1), b (1 run, seed 1)" in " ".join(b.text for b in one)


def test_a_median_that_leaves_the_tolerance_again_is_said_so(tmp_path) -> None:
    curves = _curves()
    late = (curves["reward"] == "a") & (curves["seed"] == 1) & (curves["step"] == 500)
    curves.loc[late, "score"] = 11.0  # gaps at 500: 0.1 and 0.008, median 0.054
    ev = convergence.evidence(curves, 0.05).set_index("reward")
    assert ev.loc["a", "budget"] == 300 and ev.loc["a", "sustained"] is None
    blocks = convergence.convergence_blocks(curves, {}, [500], tmp_path / "c.png")
    assert "a 300 (and leaves it again later)" in " ".join(b.text for b in blocks)
