"""A grid agent with a tune's hyperparameters (``tuned: PATH``) beside the defaults: labels,
hyperparameters, refusals (other junction, reward or algorithm; the tune's own training
seeds), and a tiny real batch whose report names both arms and states the tune."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from intergreen.agents.config import resolve_hyperparameters
from intergreen.agents.tuned_params import (
    AgentTunedError,
    read_agent_tuned,
    trial_train_seeds,
    write_agent_tuned,
)
from intergreen.experiments.grid import GridError, load_grid

TUNED_LR = 2.3e-4


def _tune_folder(root: Path, *, junction: str = "gm_a56", seeds: tuple[int, ...] = (0, 1, 2),
                 agents: int = 2) -> Path:  # fmt: skip
    """A tune folder whose tuned.json is written from hand-made trial records (the fields
    tune() writes): t0000 the defaults, t0002 the best, t0001 failed."""
    base = resolve_hyperparameters("ppo")
    best = {**base, "learning_rate": TUNED_LR, "n_steps": 64, "batch_size": 32, "n_epochs": 1}
    trials = [
        {"id": "t0000", "seed": seeds[0], "status": "done", "output": 12.5, "cost": 600,
         "hyperparams": base},
        {"id": "t0001", "seed": seeds[1], "status": "failed", "output": None, "cost": 300,
         "hyperparams": base},
        {"id": "t0002", "seed": seeds[2], "status": "done", "output": 10.25, "cost": 400,
         "hyperparams": best},
    ]  # fmt: skip
    spec = {"agent": "ppo", "reward": "average_speed", "junction": junction,
            "train_demand": "mixed", "preset": None, "eval_demands": ["medium"],
            "eval_episodes": 3, "train_seeds": agents, "eval_seeds": "validation",
            "cost": "steps"}  # fmt: skip
    out = root / "tune"
    out.mkdir(parents=True, exist_ok=True)
    write_agent_tuned(out, spec, trials, 200, base, {"limit": "7200 s wall clock"}, 100_000)
    return out


def _grid(root: Path, **changes) -> Path:
    doc = {
        "name": "tuned_vs_defaults",
        "junction": "gm_a56",
        "rewards": ["average_speed"],
        "agents": {
            "ppo": {"hyperparams": {"n_steps": 64, "batch_size": 32, "n_epochs": 1}},
            "ppo_tuned": {"tuned": "tune/tuned.json"},
        },  # fmt: skip
        "train_demands": ["mixed"],
        "seeds": [1000, 1001],
        "training": {"timesteps": 200, "checkpoint_every": 100},
        "evaluation": {"demands": ["medium"], "episodes": 2},
        "baselines": ["vehicle-actuated"],
        "episode_duration": 60,
        **changes,
    }
    path = root / "grid.yaml"
    path.write_text(json.dumps(doc))  # YAML is a superset of JSON
    return path


def test_tuned_json_records_the_best_and_every_training_seed(tmp_path) -> None:
    tuned = read_agent_tuned(_tune_folder(tmp_path))  # the folder or its tuned.json
    assert tuned.agent == "ppo" and tuned.hyperparams["learning_rate"] == TUNED_LR
    assert tuned.doc["best_trial"] == "t0002" and tuned.doc["timesteps"] == 200
    assert tuned.doc["validation"]["tuned_wait_s"] == 10.25
    assert tuned.doc["validation"]["default_wait_s"] == 12.5
    # two agents per trial: seeds s and s + stride, the failed trial's too
    assert tuned.train_seeds == [0, 1, 2, 100_000, 100_001, 100_002]
    assert trial_train_seeds([{"seed": 5}], 1, 100_000) == [5]
    assert tuned.doc["budget"] == {"limit": "7200 s wall clock", "trials": 3, "failed_trials": 1,
                                   "cost": 1300.0, "cost_unit": "steps"}  # fmt: skip


def test_grid_labels_both_arms_and_takes_the_tuned_hyperparameters(tmp_path) -> None:
    _tune_folder(tmp_path)
    grid = load_grid(_grid(tmp_path))
    cells = grid.cells()
    assert [(c.agent, c.agent_label, c.seed) for c in cells] == [
        ("ppo", "ppo", 1000), ("ppo", "ppo", 1001),
        ("ppo", "ppo_tuned", 1000), ("ppo", "ppo_tuned", 1001),
    ]  # fmt: skip
    tuned = cells[2].train_config()
    assert tuned.hyperparams["learning_rate"] == TUNED_LR
    assert cells[0].train_config().hyperparams.get("learning_rate") != TUNED_LR
    assert cells[0].key() != cells[2].key()
    assert cells[2].dir_name().startswith("average_speed-ppo_tuned-s1000-")
    assert grid.agents["ppo_tuned"].tuned["best_trial"] == "t0002"
    # grid.json (the runner writes the resolved grid) loads without the tune's file and keeps
    # the keys: resume and the report's reconstruction find the same runs
    saved = grid.model_dump(mode="json")
    shutil.rmtree(tmp_path / "tune")
    again = load_grid(saved).cells()
    assert [c.key() for c in again] == [c.key() for c in cells]
    # the grid file's own hyperparams win over the tune's
    _tune_folder(tmp_path)
    own = {"tuned": "tune/tuned.json", "hyperparams": {"learning_rate": 1e-3}}
    mine = _grid(tmp_path, agents={"ppo_tuned": own})
    (cell, *_) = load_grid(mine).cells()
    assert cell.train_config().hyperparams["learning_rate"] == 1e-3


def test_timesteps_tuned_takes_the_best_trials_decisions(tmp_path) -> None:
    _tune_folder(tmp_path)
    grid = load_grid(_grid(tmp_path, training={"timesteps": "tuned"}))
    assert grid.training.timesteps == 200 and {c.timesteps for c in grid.cells()} == {200}
    with pytest.raises(GridError, match="training.timesteps: tuned, but no agent has `tuned:`"):
        load_grid(_grid(tmp_path, training={"timesteps": "tuned"}, agents={"ppo": {}}))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"agents": {"ppo_tuned": {"tuned": "nowhere/tuned.json"}}},
         r"agents.ppo_tuned.tuned: .*nowhere/tuned.json: no such file; run `intergreen tune"),
        ({"agents": {"ppo_tuned": {"tuned": "tune/tuned.json", "agent": "dqn"}}},
         r"agents.ppo_tuned.agent: dqn but .* tuned ppo"),
        ({"junction": "gm_a56_max_green"},
         r"tuned on junction gm_a56, this grid runs gm_a56_max_green"),
        ({"rewards": ["average_speed", "queue"]},
         r"tuned for reward average_speed, this grid also trains queue"),
        ({"seeds": [1, 2, 3]},
         r"seeds: 1, 2 trained trials of the tune .* e.g. 1000-1002"),
        ({"agents": {"ppo2": {}}}, r"agents.ppo2: unknown agent; .*`ppo2: \{agent: ppo\}`"),
    ],
)  # fmt: skip
def test_grid_refuses_a_tune_that_does_not_apply(tmp_path, change, message) -> None:
    _tune_folder(tmp_path)
    with pytest.raises(GridError, match=message):
        load_grid(_grid(tmp_path, **change))


def test_an_unreadable_tune_is_the_only_problem_of_its_agent(tmp_path) -> None:
    """A wrong `tuned:` path: one problem, not the knock-on ones (`tuned` still a string,
    `timesteps: tuned` unresolved, the name not an algorithm); other problems still show."""
    wrong = {"ppo": {}, "ppo_tuned": {"tuned": "nowhere/tuned.json"}}
    with pytest.raises(GridError) as e:
        load_grid(_grid(tmp_path, agents=wrong, training={"timesteps": "tuned"}))
    assert len(e.value.problems) == 1
    assert e.value.problems[0].startswith("agents.ppo_tuned.tuned: ")
    assert e.value.problems[0].endswith(
        "nowhere/tuned.json: no such file; run `intergreen tune --agent ... --out DIR` first, "
        "then give DIR/tuned.json"
    )
    with pytest.raises(GridError) as e:
        load_grid(_grid(tmp_path, agents=wrong, seeds=[-1], baselines=["nope"]))
    assert [p.split(":")[0] for p in e.value.problems] == [
        "agents.ppo_tuned.tuned", "seeds", "baselines[0]"]  # fmt: skip


def test_tuned_sentence_states_defaults_budget_and_other_episodes(tmp_path) -> None:
    """The report's Tuned agents sentence from tuned.json and grid.json: counts in agreement,
    the budget used, the defaults as the best, another episode length or demand."""
    from intergreen.experiments.provenance import Setup, tuned_text

    base = resolve_hyperparameters("ppo")
    trials = [{"id": "t0000", "seed": 0, "status": "done", "output": 12.5, "cost": 4848,
               "hyperparams": base}]  # fmt: skip
    spec = {"agent": "ppo", "reward": "average_speed", "junction": "gm_a56",
            "train_demand": "mixed", "eval_demands": ["medium"], "eval_episodes": 1,
            "eval_duration": 300.0, "cost": "steps"}  # fmt: skip
    write_agent_tuned(tmp_path, spec, trials, 2784, base, {"limit": "3000 steps"}, 100_000,
                      suggested_timesteps=1900)  # fmt: skip
    summary = read_agent_tuned(tmp_path).summary()
    setup = Setup(source="x", tuned={"ppo_tuned": summary}, seeds=[1000],
                  eval_demands=["low", "medium", "high"], episode_duration=None)  # fmt: skip
    text = tuned_text(setup)
    assert "1 trial (0 failed), budget 3000 steps, used 4,848 steps" in text
    assert "scored on 1 validation episode per demand (medium) of each of 1 agent:" in text
    assert "best trial trained 2,784 decisions per agent (CARBS suggested 1,900)" in text
    assert "the best trial ran the defaults (no value differs beyond float rounding)" in text
    assert "values the" not in text
    assert (
        "The tune scored its trials on episodes of 300 s at medium; this grid evaluates "
        "episodes of each demand's own length at low, medium, high."
    ) in text
    assert "trained on 1 seed, none of this report's" in text
    same = Setup(source="x", tuned={"ppo_tuned": summary}, eval_demands=["medium"],
                 episode_duration=300.0)  # fmt: skip
    assert "The tune scored" not in tuned_text(same)


def test_a_baseline_tuned_json_is_refused_by_name(tmp_path) -> None:
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"format": "intergreen-baseline-params/1"}))
    with pytest.raises(AgentTunedError, match="not an agent tune's .*--param-file"):
        read_agent_tuned(path)
    path.write_text("{")
    with pytest.raises(AgentTunedError, match="not a readable tuned.json"):
        read_agent_tuned(path)


def test_tiny_batch_reports_tuned_and_default_arms(tmp_path) -> None:
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.report import build_report
    from intergreen.experiments.runner import run_batch

    _tune_folder(tmp_path)
    out = tmp_path / "out"
    summary = run_batch(load_grid(_grid(tmp_path)), out, LocalExecutor(2))
    assert summary.ok, summary.failed
    import pandas as pd

    results = pd.read_parquet(out / "results.parquet")
    agents = results[results["kind"] == "agent"]
    assert set(agents["controller"]) == {"average_speed/ppo", "average_speed/ppo_tuned"}
    assert agents.groupby("agent")["train_seed"].nunique().to_dict() == {"ppo": 2, "ppo_tuned": 2}
    tuned_run = next((out / "runs").glob("average_speed-ppo_tuned-s1000-*"))
    cfg = json.loads((tuned_run / "config.json").read_text())
    assert cfg["config"]["agent"] == "ppo"
    assert cfg["hyperparameters"]["learning_rate"] == TUNED_LR
    md = build_report(out)["markdown"].read_text()
    assert "average_speed/ppo_tuned" in md
    assert "PPO_TUNED (PPO, preset ppo: gamma 0.98, learning rate 0.00023" in md
    assert "PPO_TUNED takes the hyperparameters of the best trial (t0002)" in md
    assert "3 trials (1 failed), budget 7200 s wall clock" in md
    assert "10.25 s against the defaults' 12.5 s" in md
    assert "none of this report's" in md


def test_the_benchmark_grid_loads_and_compares_on_fresh_seeds(tmp_path) -> None:
    """benchmarks/tuning/carbs_ppo.yaml with a tune as tune_ppo.py gives it."""
    grid_file = Path(__file__).parents[2] / "benchmarks" / "tuning" / "carbs_ppo.yaml"
    tune = _tune_folder(tmp_path, junction="gm_a56_max_green")
    grid = load_grid(grid_file, {"agents.ppo_tuned.tuned": str(tune / "tuned.json")})
    cells = grid.cells()
    assert {c.agent_label for c in cells} == {"ppo", "ppo_tuned"} and len(cells) == 20
    assert {c.timesteps for c in cells} == {200} and grid.evaluation.episodes == 30
    assert not {c.seed for c in cells} & set(read_agent_tuned(tune).train_seeds)


def test_the_tunes_reward_written_otherwise_is_its_reward(tmp_path) -> None:
    """`{name: average_speed}` is the tune's `average_speed` (canonical_reward), not another."""
    _tune_folder(tmp_path)
    grid = load_grid(_grid(tmp_path, rewards=[{"name": "average_speed"}]))
    assert [c.train_config().reward for c in grid.cells()] == ["average_speed"] * len(grid.cells())
