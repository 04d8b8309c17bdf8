"""A tiny real tune on SUMO: 3 PPO trials of ~300 steps, a 120 s evaluation episode each;
it writes the checkpoint and report, and a re-run resumes without repeating a trial."""

from __future__ import annotations

import json

import pytest

from intergreen.agents.evaluation import evaluation_seeds
from intergreen.tuning import CARBS
from intergreen.tuning.loop import TuneSpec, tune

pytest.importorskip("stable_baselines3")

SPEC = TuneSpec(
    agent="ppo",
    hyperparams={"n_steps": 64, "batch_size": 32, "n_epochs": 1},
    timesteps=(300, 150, 600),
    eval_episodes=1,
    eval_duration=120.0,
    checkpoint_every=100_000,
)


def test_tiny_real_tune_writes_report_and_resumes(tmp_path) -> None:
    out = tmp_path / "ppo_speed"
    r = tune(SPEC, "10m", out, workers=2, max_trials=3, progress=False)
    assert [t["id"] for t in r.trials] == ["t0000", "t0001", "t0002"]
    assert all(t["status"] == "done" for t in r.trials), [t.get("error") for t in r.trials]
    test_seeds = set(evaluation_seeds(1000, role="test"))
    for t in r.trials:
        assert t["output"] > 0 and t["cost"] == t["timesteps"] >= t["values"]["timesteps"]
        # scored on the validation stream, never on a test seed (those serve reports only)
        assert t["eval_seeds"] == evaluation_seeds(1, role="validation")
        assert t["eval_seed_role"] == "validation" and not set(t["eval_seeds"]) & test_seeds
        run = out / "trials" / t["id"]
        assert (run / "model.zip").exists() and (run / "done.json").exists()
        # the record says what trained: whole rollouts, the minibatch as SB3 got it
        trained = json.loads((run / "done.json").read_text())["timesteps"]
        assert t["trained"]["timesteps"] == trained == t["planned_timesteps"]
        assert trained % t["hyperparams"]["n_steps"] == 0
        assert t["trained"]["batch_size"] == t["hyperparams"]["batch_size"]
        cfg = json.loads((run / "config.json").read_text())
        assert cfg["hyperparameters"]["learning_rate"] == pytest.approx(
            t["values"]["learning_rate"])
        assert cfg["hyperparameters"]["policy_kwargs"]["net_arch"] == [t["values"]["net_width"]] * 2
    carbs = CARBS.load(str(out / "carbs.json"))
    assert carbs.observation_count == 3 and not carbs.outstanding
    assert carbs.config.better_direction_sign == -1
    report = (out / "report.md").read_text()
    best = min(r.trials, key=lambda t: t["output"])
    assert json.loads((out / "tuned.json").read_text())["timesteps"] == best["timesteps"]
    assert "Pareto front" in report and "t0000" in report
    assert (out / "report.png").stat().st_size > 1000

    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/done.json")}
    again = tune(SPEC, "10m", out, workers=2, max_trials=3, progress=False)
    assert again.ran == []
    assert {p: p.stat().st_mtime_ns for p in out.glob("trials/*/done.json")} == mtimes
    assert CARBS.load(str(out / "carbs.json")).observation_count == 3


def test_two_training_seeds_per_trial_average_both_agents(tmp_path) -> None:
    from dataclasses import replace

    from intergreen.agents.evaluation import evaluate
    from intergreen.tuning.loop import SEED_STRIDE

    spec = replace(SPEC, train_seeds=2)
    out = tmp_path / "two_seeds"
    r = tune(spec, "10m", out, workers=1, max_trials=1, progress=False)
    (t,) = r.trials
    assert t["status"] == "done", t.get("error")
    runs = [out / "trials" / "t0000" / f"seed_{s}" for s in (t["seed"], t["seed"] + SEED_STRIDE)]
    steps = [json.loads((run / "done.json").read_text())["timesteps"] for run in runs]
    assert t["cost"] == t["timesteps"] == sum(steps) >= 2 * t["values"]["timesteps"]
    # the output is the mean over both agents' episodes, recomputed here from the saved models
    df = evaluate([str(run) for run in runs], "gm_a56", ["medium"], 1, duration=120.0,
                  role="validation")  # fmt: skip
    assert len(t["by_seed"]) == 2 and t["by_seed"] != [t["by_seed"][0]] * 2
    assert t["output"] == pytest.approx(df["avg_waiting_time"].mean())
    assert t["output"] == pytest.approx(sum(t["by_seed"]) / 2)
    assert "of each of 2 agents" in (out / "report.md").read_text()
