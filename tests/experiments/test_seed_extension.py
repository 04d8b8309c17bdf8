"""Seeds added where they decide (grid ``more_seeds``): the rule on validation scores, in one
batch on real SUMO runs, its record and the report's sentences; the grid's refusals."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intergreen.experiments.grid import GridError, load_grid
from intergreen.experiments.seed_extension import (
    EXTENSION_FILE,
    SeedExtensionError,
    extension_cells,
    select_rewards,
)
from intergreen.seeds import episode_seeds

#: Two rewards x 2 first seeds that learn enough in 200 decisions to score differently on
#: validation (90 s episodes, learning from decision 20); seed 3 for the close ones.
EXT: dict = {
    "name": "tiny_ext",
    "junction": "gm_a56",
    "rewards": ["queue", "average_speed"],
    "agents": {"dqn": {"hyperparams": {"learning_starts": 20, "train_freq": 1}}},
    "train_demands": ["mixed"],
    "seeds": [1, 2],
    "more_seeds": {"seeds": [3], "within": 0.0},
    "training": {
        "timesteps": 200,
        "checkpoint_every": 100,
        "validate_every": 100,
        "validate_episodes": 1,
    },  # fmt: skip
    "evaluation": {"demands": ["low"], "episodes": 1},
    "baselines": [],
    "episode_duration": 90,
}


def _grid(**changes):
    raw = copy.deepcopy(EXT)
    raw.update(changes)
    return load_grid(raw)


@pytest.fixture(scope="module")
def ext_batch(tmp_path_factory):
    """(out, summary) of EXT run once: 4 first-phase runs, then seed 3 for the best reward
    only (within 0: a reward must match the lowest mean)."""
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.runner import run_batch

    out = tmp_path_factory.mktemp("ext") / "out"
    summary = run_batch(_grid(), out, LocalExecutor(2))
    assert summary.ok, summary.failed
    return out, summary


def _means(out: Path) -> dict[str, float]:
    """Each reward's mean over seeds 1 and 2 of best.json's score, read here directly."""
    scores: dict[str, list[float]] = {}
    for reward in EXT["rewards"]:
        for seed in EXT["seeds"]:
            (run,) = (out / "runs").glob(f"{reward}-dqn-s{seed}-*")
            scores.setdefault(reward, []).append(
                json.loads((run / "best.json").read_text())["score"]
            )
    return {r: float(np.mean(v)) for r, v in scores.items()}


def test_the_best_reward_on_validation_gets_the_added_seed(ext_batch):
    out, summary = ext_batch
    means = _means(out)
    best, other = sorted(means, key=means.get)
    assert means[other] > means[best], f"the two rewards tie on validation: {means}"
    decision = json.loads((out / EXTENSION_FILE).read_text())
    assert decision["status"] == "decided" and decision["first"] == [1, 2]
    assert decision["added"] == [3] and decision["metric"] == "avg_waiting_time"
    by = {r["reward"]: r for r in decision["rewards"]}
    for reward, mean in means.items():
        assert by[reward]["mean"] == pytest.approx(mean, rel=1e-12)
        assert by[reward]["best"] == pytest.approx(means[best], rel=1e-12)
        assert by[reward]["best_reward"] == best
    assert by[best]["gap"] == 0 and by[best]["extended"] is True
    assert by[other]["gap"] == pytest.approx(means[other] / means[best] - 1, rel=1e-12)
    assert by[other]["extended"] is False
    # the added run trained and was evaluated in the same batch; the other reward has none
    assert summary.total == 5 and summary.done == 5
    assert len(list((out / "runs").glob(f"{best}-dqn-s3-*/done.json"))) == 1
    assert not list((out / "runs").glob(f"{other}-dqn-s3-*"))
    results = pd.read_parquet(out / "results.parquet")
    seeds = results.groupby("reward")["train_seed"].agg(lambda s: sorted(set(s)))
    assert seeds[best] == [1, 2, 3] and seeds[other] == [1, 2]
    assert json.loads((out / "batch.json").read_text())["seed_extension"] == decision


def test_the_margin_is_inclusive_and_measured_on_the_real_runs(ext_batch):
    from intergreen.experiments.runner import decide_seeds

    out, _ = ext_batch
    means = _means(out)
    best, other = sorted(means, key=means.get)
    gap = means[other] / means[best] - 1
    at = decide_seeds(_grid(more_seeds={"seeds": [3], "within": gap}), out)
    assert at.extended() == {(best, "dqn", "mixed"), (other, "dqn", "mixed")}
    below = decide_seeds(_grid(more_seeds={"seeds": [3], "within": gap * (1 - 1e-6)}), out)
    assert below.extended() == {(best, "dqn", "mixed")}
    grid = _grid(more_seeds={"seeds": [3, 4], "within": gap})
    cells = extension_cells(grid, decide_seeds(grid, out))
    assert sorted((c.reward, c.seed) for c in cells) == sorted(
        (r, s) for r in (best, other) for s in (3, 4)
    )


def test_the_decision_waits_for_unfinished_runs_and_refuses_runs_without_validation(
    ext_batch, tmp_path
):
    from intergreen.experiments.runner import decide_seeds, plan_tasks

    out = tmp_path / "out"
    shutil.copytree(ext_batch[0], out)
    grid = _grid()
    (run,) = (out / "runs").glob("average_speed-dqn-s2-*")
    (run / "done.json").rename(run / "done.json.kept")
    waiting = decide_seeds(grid, out)
    assert waiting.status == "waiting" and waiting.missing == [run.name]
    assert waiting.extended() == set()
    assert [t.cell.seed for t in plan_tasks(grid, out)] == [1, 2, 1, 2]  # no added run yet
    # status says what the decision may still add: seed 3 for both rewards, 200 decisions each
    from intergreen.experiments.status import batch_status, status_lines

    status = batch_status(out)
    assert (status.more_runs_at_most, status.more_decisions_at_most) == (2, 400)
    line = next(x for x in status_lines(status) if x.startswith("more seeds: "))
    assert line.startswith(
        "more seeds: decided once every first-seed run has trained; not yet (it adds at most 2 "
        "runs, 400 decisions, about "
    ) and line.endswith(" of one worker, not counted below)")
    assert status.remaining_decisions == 0  # its last checkpoint is at 200; no added run in it
    (run / "done.json.kept").rename(run / "done.json")
    (run / "best.json").unlink()
    with pytest.raises(SeedExtensionError, match=f"{run.name} finished training without"):
        decide_seeds(grid, out)
    (other,) = (out / "runs").glob("queue-dqn-s1-*")
    best = json.loads((other / "best.json").read_text())
    (other / "best.json").write_text(json.dumps(best | {"metric": "throughput"}))
    shutil.rmtree(run)  # unfinished again: the metric check still sees the other run
    with pytest.raises(SeedExtensionError, match="scored on 'throughput'"):
        decide_seeds(grid, out)


def test_report_states_validation_seed_rule_and_decision(ext_batch, tmp_path):
    from intergreen.experiments.report import build_report

    out = tmp_path / "out"
    shutil.copytree(ext_batch[0], out)
    md = build_report(out, html=False)["markdown"].read_text()
    means = _means(out)
    best, other = sorted(means, key=means.get)
    config = json.loads(next((out / "runs").glob("queue-dqn-s1-*/config.json")).read_text())
    assert config["validation"]["seeds"] == episode_seeds("validation", 1)
    assert (
        "**Validation and the evaluated model.** During training, every 100 decisions (and once "
        "at the end) the greedy policy played 1 episode per validation demand (mixed), reset "
        'with episode 0 of the validation seed stream: `intergreen.seeds.episode_seeds("'
        'validation", 1)` (the same at every point'
    ) in md
    assert "score is the mean of avg_waiting_time over them (s/veh, lower is better)" in md
    assert (
        "The test episodes evaluate, for each run, its checkpoint at its best validation "
        "point (5 runs)."
    ) in md
    gap = means[other] / means[best] - 1
    assert (
        "**Seeds added where they decide.** The grid's rule (`more_seeds`): once seeds 1, 2 of "
        "every reward had trained, each reward's mean over them of its runs' best validation "
        "score was compared with the lowest such mean; rewards within 0% of it (mean ≤ 1 × "
        "the lowest) trained on seed 3 too. Validation episodes decided this; no test episode "
        f"was read. Mean best validation scores: lowest mean {means[best]:.2f} s ({best}); more "
        f"seeds for {best} {means[best]:.2f} s (the best); seeds 1, 2 only for {other} "
        f"{means[other]:.2f} s (+{gap:.0%})."
    ) in md
    assert "**Budget and seeds.** 200 decisions per run" in md
    assert "1–3 training seeds" not in md and "training seeds 1–3 (2–3 per reward and agent)" in md


@pytest.mark.slow
def test_a_wider_margin_adds_the_other_reward_and_keeps_finished_runs(ext_batch, tmp_path):
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.runner import run_batch

    out = tmp_path / "out"
    shutil.copytree(ext_batch[0], out)
    means = _means(out)
    best, other = sorted(means, key=means.get)
    wider = _grid(more_seeds={"seeds": [3], "within": 1.01 * (means[other] / means[best] - 1)})
    summary = run_batch(wider, out, LocalExecutor(1))
    assert summary.ok and summary.total == 6 and summary.skipped == 5 and summary.done == 1
    assert [o.name.split("-")[0] for o in summary.outcomes if o.status == "done"] == [other]
    seeds = pd.read_parquet(out / "results.parquet").groupby("reward")["train_seed"].nunique()
    assert seeds.to_dict() == {best: 3, other: 3}


# ----- the selection alone ------------------------------------------------------------------
def _scores(rows: list[tuple[str, str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["agent", "train_demand", "reward", "seed", "score"])


def test_selection_lower_is_better_and_within_is_a_ratio_to_the_best():
    scores = _scores([
        ("dqn", "mixed", "a", 1, 10.0), ("dqn", "mixed", "a", 2, 10.0),   # best: 10
        ("dqn", "mixed", "b", 1, 12.0), ("dqn", "mixed", "b", 2, 14.0),   # 13: exactly +30%
        ("dqn", "mixed", "c", 1, 13.0), ("dqn", "mixed", "c", 2, 13.02),  # 13.01: +30.1%
        ("dqn", "mixed", "d", 1, 2.0), ("dqn", "mixed", "d", 2, 100.0),   # 51: far worse
        ("ppo", "mixed", "a", 1, 30.0), ("ppo", "mixed", "b", 1, 20.0),   # another agent
    ])  # fmt: skip
    sel = select_rewards(scores, 0.30).set_index(["agent", "reward"])
    assert sel.loc[("dqn", "b"), "mean"] == pytest.approx(13.0)
    assert sel.loc[("dqn", "b"), "gap"] == pytest.approx(0.30)
    assert sel.loc[("dqn", "c"), "gap"] == pytest.approx(0.301)
    assert sel["extended"].to_dict() == {
        ("dqn", "a"): True, ("dqn", "b"): True, ("dqn", "c"): False, ("dqn", "d"): False,
        ("ppo", "a"): False, ("ppo", "b"): True,
    }  # fmt: skip
    assert set(sel["best_reward"].items()) == {
        (("dqn", "a"), "a"), (("dqn", "b"), "a"), (("dqn", "c"), "a"), (("dqn", "d"), "a"),
        (("ppo", "a"), "b"), (("ppo", "b"), "b"),
    }  # fmt: skip
    assert sel.loc[("dqn", "d"), "seeds"] == [1, 2]
    zero = select_rewards(_scores([("dqn", "m", "a", 1, 0.0), ("dqn", "m", "b", 1, 0.5)]), 0.3)
    assert zero["extended"].tolist() == [True, False] and zero["gap"].tolist() == [0.0, np.inf]
    with pytest.raises(SeedExtensionError, match=r"finite waiting times >= 0.*-1\.0"):
        select_rewards(_scores([("dqn", "m", "a", 1, -1.0)]), 0.3)
    with pytest.raises(SeedExtensionError, match="within must be >= 0"):
        select_rewards(scores, -0.1)


# ----- the grid -----------------------------------------------------------------------------
def test_grid_refuses_a_seed_rule_it_cannot_decide():
    cases = {
        "set training.validate_every": {"training": {"timesteps": 200}},
        "seeds lists 1 seed: list at least 2 first seeds": {"seeds": [1]},
        "more_seeds.seeds repeat seeds already in seeds: [2]": {
            "more_seeds": {"seeds": [2, 3], "within": 0.3}},
        "more_seeds.within: Input should be greater than or equal to 0": {
            "more_seeds": {"seeds": [3], "within": -0.3}},
        "more_seeds.within: Input should be less than or equal to 10": {
            "more_seeds": {"seeds": [3], "within": float("nan")}},
        "more_seeds.seeds: List should have at least 1 item": {
            "more_seeds": {"seeds": [], "within": 0.3}},
    }  # fmt: skip
    for needle, change in cases.items():
        with pytest.raises(GridError) as err:
            _grid(**change)
        assert needle in str(err.value), (needle, str(err.value))
    assert _grid().more_seeds.within == 0.0  # the base grid itself is accepted


def test_shipped_study_v2_runs_only_with_a_chosen_budget():
    from intergreen.rewards import STUDY_REWARDS

    with pytest.raises(GridError) as err:
        load_grid("study_v2")
    assert err.value.problems == [
        "training.timesteps: not set in the file; choose it from a convergence check "
        "(`intergreen validation-curve RESULTS/runs/*/ --tolerance 0.05`) and give it with "
        "`--set training.timesteps=N` (or in a copy of the file)"
    ]
    assert "study_v2.yaml" in str(err.value)
    grid = load_grid("study_v2", {"training.timesteps": 300_000})
    assert set(grid.rewards) == set(STUDY_REWARDS) | {"vehicles_in_view"}
    assert len(grid.rewards) == 13 and len(grid.cells()) == 65
    assert grid.seeds == [1, 2, 3, 4, 5]
    assert grid.more_seeds.seeds == [6, 7, 8, 9, 10] and grid.more_seeds.within == 0.30
    assert sorted(grid.baselines) == sorted(
        f"{b}{t}"
        for b in ("vehicle-actuated", "max-occupancy", "fixed-time")
        for t in ("", ":tuned")
    )
    assert grid.train_demands == ["mixed"]
    assert (grid.evaluation.demands, grid.evaluation.episodes, grid.evaluation.seeds) == (
        ["low", "medium", "high"], 30, "test")  # fmt: skip
    # the convergence check's agent and validation, so that its curves chose this budget
    convergence = load_grid("convergence")
    assert grid.agents == convergence.agents
    for name in ("validate_every", "validate_episodes", "validate_demands", "validate_score",
                 "n_envs"):  # fmt: skip
        assert getattr(grid.training, name) == getattr(convergence.training, name), name
    config = grid.cells()[0].train_config()
    assert config.timesteps == 300_000 and config.validation_plan()["role"] == "validation"


def test_overrides_set_nested_fields_and_name_their_errors():
    grid = load_grid("study_quick", {"training.timesteps": 123, "evaluation.episodes": 2})
    assert grid.training.timesteps == 123 and grid.evaluation.episodes == 2
    assert load_grid("study_quick").training.timesteps == 10_000  # the file is unchanged
    with pytest.raises(GridError) as err:
        load_grid("study_quick", {"training.timestep": 5})
    assert "study_quick.yaml with --set training.timestep=5" in str(err.value)
    assert err.value.problems == [
        "training.timestep: unknown key (did you mean 'timesteps'?); the keys here are "
        "timesteps, n_envs, checkpoint_every, env_kwargs, validate_every, validate_episodes, "
        "validate_demands, validate_score"
    ]
    # values are echoed as they would be typed (JSON), not in Python's form
    with pytest.raises(GridError) as err:
        load_grid("study_quick", {"rewards": ["queue", "nope"], "training.validate_every": None})
    assert '--set rewards=["queue", "nope"] --set training.validate_every=null' in str(err.value)
    assert "['queue'" not in str(err.value) and "None" not in str(err.value)
    with pytest.raises(GridError, match="--set rewards.x: rewards is not a mapping"):
        load_grid("study_quick", {"rewards.x": 1})


def test_compare_without_a_budget_is_one_line_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from intergreen.cli import app

    out = tmp_path / "never"
    res = CliRunner().invoke(app, ["compare", "study_v2", "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith("error: ") and "study_v2.yaml" in line
    assert "--set training.timesteps=N" in line and not out.exists()
    res = CliRunner().invoke(
        app, ["compare", "study_v2", "--out", str(out), "--set", "training.timesteps=-5"]
    )
    assert res.exit_code == 2 and "training.timesteps: Input should be greater than 0" in res.output
    assert not out.exists()
    res = CliRunner().invoke(  # a typo's 10^12 decisions would train for years
        app, ["compare", "study_v2", "--out", str(out), "--set", "training.timesteps=1e12"]
    )
    assert res.exit_code == 2 and "training.timesteps" in res.output
    assert "less than or equal to 1000000000" in res.output and not out.exists()


def test_compare_notes_a_grid_that_can_give_no_seed_level_verdict(tmp_path, tiny_cfg):
    from typer.testing import CliRunner

    from intergreen.cli import app

    grid = tmp_path / "one_seed.yaml"
    grid.write_text(json.dumps(tiny_cfg))  # JSON is YAML; the tiny grid lists one seed
    # --address without Ray stops compare after the grid is read, before anything runs
    res = CliRunner().invoke(app, ["compare", str(grid), "--out", str(tmp_path / "o"),
                                   "--address", "auto"])  # fmt: skip
    assert res.exit_code == 2
    assert (
        f"note: {grid} trains one seed per reward: the report can state no seed-level verdict "
        "(list 2 or more under seeds for one)"
    ) in res.output
    two = tmp_path / "two_seeds.yaml"
    two.write_text(json.dumps(dict(tiny_cfg, seeds=[1, 2])))
    res = CliRunner().invoke(app, ["compare", str(two), "--out", str(tmp_path / "o"),
                                   "--address", "auto"])  # fmt: skip
    assert res.exit_code == 2 and "note:" not in res.output


def test_seed_rule_sentences_for_a_waiting_and_a_decided_study():
    from intergreen.experiments import provenance

    rule = {"seeds": [6, 7, 8, 9, 10], "within": 0.3}
    setup = provenance.Setup(source="test", seeds=[1, 2, 3, 4, 5], more_seeds=rule)
    head = (
        "**Seeds added where they decide.** The grid's rule (`more_seeds`): once seeds 1–5 of "
        "every reward had trained, each reward's mean over them of its runs' best validation "
        "score was compared with the lowest such mean; rewards within 30% of it (mean ≤ 1.3 × "
        "the lowest) trained on seeds 6–10 too. Validation episodes decided this; no test "
        "episode was read."
    )
    assert provenance.seed_extension_text(setup) == (
        head + " Its decision (seed_extension.json) is not in this folder."
    )
    setup.seed_decision = {"status": "waiting", "first": [1, 2, 3, 4, 5], "missing": ["a", "b"]}
    assert provenance.seed_extension_text(setup) == head + (
        " It has not been applied: 2 first-phase runs had not finished training, so no reward "
        "has the added seeds yet."
    )
    row = {"agent": "dqn", "train_demand": "mixed", "best": 10.0, "best_reward": "queue"}
    setup.seed_decision = {"status": "decided", "first": [1, 2, 3, 4, 5], "rewards": [
        row | {"reward": "throughput", "mean": 14.0, "gap": 0.4, "extended": False},
        row | {"reward": "queue", "mean": 10.0, "gap": 0.0, "extended": True},
        row | {"reward": "wait_time", "mean": 12.5, "gap": 0.25, "extended": True},
    ]}  # fmt: skip
    assert provenance.seed_extension_text(setup) == head + (
        " Mean best validation scores: lowest mean 10.00 s (queue); more seeds for queue "
        "10.00 s (the best), wait_time 12.50 s (+25%); seeds 1–5 only for throughput 14.00 s "
        "(+40%)."
    )
    setup.seed_decision["rewards"] = setup.seed_decision["rewards"][1:]  # every reward extended
    assert provenance.seed_extension_text(setup) == head + (
        " Mean best validation scores: lowest mean 10.00 s (queue); more seeds for queue "
        "10.00 s (the best), wait_time 12.50 s (+25%); none kept to the first seeds."
    )
    assert provenance.seed_extension_text(provenance.Setup(source="test")) is None
