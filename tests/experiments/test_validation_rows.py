"""Validation rows beside the test rows (grid ``evaluation.validation_episodes``): every
controller meets the validation stream's episodes, the best reward is chosen on them, and
every reported number stays on the test rows."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from intergreen.experiments import comparisons, summaries
from intergreen.experiments.executors import LocalExecutor
from intergreen.experiments.grid import GridError, _hash, load_grid
from intergreen.experiments.report import ReportError, build_report
from intergreen.experiments.runner import run_batch
from intergreen.seeds import episode_seeds, role_of

SHIPPED = ("study_quick", "study_full", "convergence", "study_v2")


def _load(name: str, **evaluation):
    grid = load_grid(name, {"training.timesteps": 1000} if name == "study_v2" else None)
    if not evaluation:
        return grid
    raw = grid.model_dump(mode="json")
    raw["evaluation"] |= evaluation
    return load_grid(raw)


@pytest.mark.parametrize("name", SHIPPED)
def test_validation_episodes_change_no_run_or_plan_key(name):
    """A new field must not rename finished run or baseline folders: the cells' keys and the
    test plan's key are those of the same grid without validation episodes, and the plan's
    key is still the hash of exactly its old fields."""
    import intergreen.version as version

    grid = _load(name)
    without = _load(name, validation_episodes=0)
    more = _load(name, validation_episodes=7)
    keys = [c.key() for c in without.cells()]
    assert [c.key() for c in grid.cells()] == keys == [c.key() for c in more.cells()]
    plan = without.eval_plan()
    assert grid.eval_plan().key() == plan.key() == more.eval_plan().key()
    old_fields = ("junction", "demands", "episodes", "duration", "seed_role")
    old = {k: getattr(plan, k) for k in old_fields} | {"intergreen_version": version.__version__}
    assert plan.key() == _hash(old)
    expected = 10 if name == "study_v2" else 0
    assert grid.evaluation.validation_episodes == expected
    assert (grid.validation_plan() is None) == (expected == 0)


def test_validation_plan_draws_the_validation_stream_disjoint_from_the_test_one():
    grid = _load("study_v2")
    valid, test = grid.validation_plan(), grid.eval_plan()
    assert valid is not None and valid.episodes == 10 and valid.seed_role == "validation"
    assert valid.demands == test.demands == ["low", "medium", "high"]
    assert valid.seeds() == episode_seeds("validation", 10)
    assert {role_of(s) for s in valid.seeds()} == {"validation"}
    assert {role_of(s) for s in test.seeds()} == {"test"}
    assert not set(valid.seeds()) & set(test.seeds())
    assert valid.key() != test.key()


def test_grid_refuses_bad_validation_episodes(tiny_cfg):
    for bad, where in ((-1, "greater than or equal to 0"), (101, "less than or equal to 100")):
        cfg = tiny_cfg | {"evaluation": {"episodes": 2, "validation_episodes": bad}}
        with pytest.raises(GridError) as e:
            load_grid(cfg)
        assert f"evaluation.validation_episodes: Input should be {where}" in str(e.value)
    both = tiny_cfg | {"evaluation": {"seeds": "validation", "validation_episodes": 2}}
    with pytest.raises(GridError) as e:
        load_grid(both)
    assert "evaluation: validation_episodes adds validation episodes" in str(e.value)
    assert "drop one of the two" in str(e.value)


def test_validation_rows_on_real_sumo_and_resume(batch_copy, tiny_cfg):
    """The tiny batch (trained, test-evaluated) gets 1 validation episode per level: only the
    validation evaluations run (models and test rows kept), rows carry split = validation and
    the validation stream's seeds; a run whose validation evaluation was lost (a killed
    batch) evaluates it again, alone, to the same rows; the best is chosen on them and the
    seed-level summary holds the test rows only."""
    before = pd.read_parquet(batch_copy / "results.parquet")
    assert set(before["split"]) == {"test"}
    models = {p: p.stat().st_mtime_ns for p in batch_copy.glob("runs/*/model.zip")}
    tests = {p: p.stat().st_mtime_ns for p in batch_copy.glob("*/*/eval.parquet")}
    assert len(models) == 2 and len(tests) == 3
    grid = load_grid(tiny_cfg | {"evaluation": tiny_cfg["evaluation"] | {"validation_episodes": 1}})
    summary = run_batch(grid, batch_copy, LocalExecutor(1))
    assert summary.ok and summary.done == 3 and summary.skipped == 0
    assert {p: p.stat().st_mtime_ns for p in batch_copy.glob("runs/*/model.zip")} == models
    assert {p: p.stat().st_mtime_ns for p in batch_copy.glob("*/*/eval.parquet")} == tests

    results = pd.read_parquet(batch_copy / "results.parquet")
    test = summaries.test_rows(results).reset_index(drop=True)
    pd.testing.assert_frame_equal(test, before)
    valid = summaries.validation_rows(results)
    assert len(valid) == 3 * 2 * 1  # 2 rewards + 1 baseline, 2 levels, 1 episode
    (seed,) = episode_seeds("validation", 1)
    assert set(valid["eval_seed"]) == {seed} and role_of(seed) == "validation"
    assert not set(valid["eval_seed"]) & set(before["eval_seed"])
    assert set(before["eval_seed"]) == set(episode_seeds("test", 2))
    assert set(valid["controller"]) == set(before["controller"])
    # the same model of each run as its test rows
    agents = results[results["kind"] == "agent"]
    assert agents.groupby("run_key")["checkpoint_step"].nunique().eq(1).all()
    for run in (batch_copy / "runs").iterdir():
        info = json.loads((run / "eval_validation.json").read_text())
        assert info["seed_role"] == "validation" and info["seeds"] == [seed]
        assert info["checkpoint"] == json.loads((run / "eval.json").read_text())["checkpoint"]

    # a killed batch lost one validation evaluation: it alone runs again, to the same rows
    lost = next((batch_copy / "runs").iterdir())
    (lost / "eval_validation.json").unlink()
    again = run_batch(grid, batch_copy, LocalExecutor(1))
    assert again.done == 1 and again.skipped == 2
    pd.testing.assert_frame_equal(
        _no_wall_times(pd.read_parquet(batch_copy / "results.parquet")), _no_wall_times(results)
    )

    level = comparisons.seed_level(results)
    assert set(level.vs_best["chosen_on"]) == {"validation"}
    assert level.choice.startswith("The best reward at each level is chosen on validation")
    assert "(1 per run and level, from the validation seed stream" in level.choice
    for (controller, demand), rows in before.groupby(["controller", "demand"]):
        row = level.summary.set_index(["controller", "demand"]).loc[(controller, demand)]
        assert row["mean"] == pytest.approx(rows["avg_waiting_time"].mean())
        assert row["episodes"] == 2


def _no_wall_times(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame if c.endswith("wall_s")])


def _split_table(make_results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test rows where ``a`` is best, validation rows where ``b`` is best and every value is
    far from any test value (so a leaked validation row moves every mean it enters)."""
    test = make_results({"a": [10, 11], "b": [12, 13]}, baselines={"fixed-time": 20}, episodes=3)
    valid = make_results({"a": [500, 510], "b": [400, 410]}, baselines={"fixed-time": 600},
                         episodes=2, seed=1)  # fmt: skip
    valid["eval_seed"] += 100
    return test.assign(split="test"), valid.assign(split="validation")


def test_choice_on_validation_differs_from_the_test_choice(make_results):
    test, valid = _split_table(make_results)
    both = pd.concat([test, valid], ignore_index=True)
    assert comparisons.choose_best(both, "low") == ("b", "validation")
    assert comparisons.choose_best(test, "low") == ("a", "test")
    level = comparisons.seed_level(both)
    assert level.choice.startswith("The best reward at each level is chosen on validation")
    assert "(2 per run and level" in level.choice
    assert "optimistic" in comparisons.seed_level(test).choice
    assert "no reward has validation scores" in comparisons.seed_level(test).choice
    # a level without validation rows for every reward is chosen on the test rows, and said so
    high = test.assign(demand="high")
    mixed = comparisons.seed_level(pd.concat([both, high], ignore_index=True)).choice
    assert "at low, and at high on the test episodes, so the choice is optimistic" in mixed
    assert "not every reward has validation scores" in mixed


def test_no_validation_row_leaks_into_a_reported_number(make_results, tmp_path):
    """Every table of the report and summary.csv from a table with both splits equals the
    one from its test rows alone; only the best's choice (and the sentence saying so)
    differs."""
    test, valid = _split_table(make_results)
    with_valid, alone = tmp_path / "both", tmp_path / "test"
    for folder, frame in ((with_valid, pd.concat([test, valid])), (alone, test)):
        folder.mkdir()
        frame.to_parquet(folder / "results.parquet", index=False)
    md = build_report(with_valid, html=False)["markdown"].read_text()
    md_test = build_report(alone, html=False)["markdown"].read_text()
    pd.testing.assert_frame_equal(
        pd.read_csv(with_valid / "summary.csv"), pd.read_csv(alone / "summary.csv")
    )
    summary = pd.read_csv(with_valid / "summary.csv").set_index(["controller", "demand"])
    assert summary.loc[("a", "low"), "mean"] == pytest.approx(
        test.loc[test.controller == "a", "avg_waiting_time"].mean()
    )
    for heading in ("Table I at seed level", "Tails, arms and teleports",
                    "Secondary: Table I with episodes pooled", "Ranks by the mean"):  # fmt: skip
        section = md.split(f"## {heading}")[1].split("\n## ")[0]
        assert section == md_test.split(f"## {heading}")[1].split("\n## ")[0], heading
    # against the baselines, only where the best baseline was chosen differs
    heading = "## Against the baselines, paired"
    base, base_test = (m.split(heading)[1].split("\n## ")[0] for m in (md, md_test))
    assert "lowest mean on the validation episodes;" in base
    assert "s on the validation episodes." in base
    assert "lowest mean on the test episodes (not every" in base_test
    assert "s on the test episodes." in base_test

    def choice_left_out(text: str) -> str:
        text = re.sub(r"lowest mean on .*?; Holm", "lowest mean on …; Holm", text)
        return re.sub(r"[\d.]+ s on the (validation|test) episodes\.", "…", text)

    assert choice_left_out(base) == choice_left_out(base_test)
    assert "best reward b" in md and "best reward a" in md_test
    # the choice's own numbers are shown, labelled as validation, beside the test columns
    vb = md.split("## Against the best reward")[1].split("\n## ")[0]
    vb_test = md_test.split("## Against the best reward")[1].split("\n## ")[0]
    assert "| controller | seeds | validation | mean | Δ |" in vb
    assert "validation" not in vb_test and "| controller | seeds | mean | Δ |" in vb_test
    per_seed = valid.groupby(["controller", "train_seed"])["avg_waiting_time"].mean()
    chosen = per_seed.dropna().groupby("controller").mean()
    b_test = test[test.controller == "b"].groupby("train_seed")["avg_waiting_time"].mean().mean()
    assert f"| b | 2 | {chosen['b']:.2f} | {b_test:.2f} | 0.00 |" in vb
    assert (
        f"chosen on validation episodes ({chosen['b']:.2f} s there; the next, a, "
        f"{chosen['a'] - chosen['b']:.2f} s"
    ) in md
    assert not any(f"{v:.2f}" in md for v in valid["avg_waiting_time"])
    # only validation rows: nothing to report, said in one line
    only = tmp_path / "only"
    only.mkdir()
    valid.to_parquet(only / "results.parquet", index=False)
    with pytest.raises(ReportError, match="holds only validation episodes"):
        build_report(only, html=False)
