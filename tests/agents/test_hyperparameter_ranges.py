"""Hyperparameters out of range are one line before anything is written; a value SB3 itself
refuses leaves no config.json behind; the corrected command then runs in the same --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.agents.config import AgentConfigError, TrainConfig, resolve_hyperparameters
from intergreen.agents.rundir import RunDirError, prepare_run_dir

TINY = ["--timesteps", "64", "--env", "duration=60", "--demand", "low"]


@pytest.mark.parametrize(
    ("agent", "hp", "needle"),
    [
        (
            "dqn",
            {"learning_rate": -1},
            "learning_rate=-1: the learning rate (Adam's step size) "
            "must be a number in (0, 1], e.g. 0.0005",
        ),
        ("dqn", {"learning_rate": float("nan")}, "learning_rate=NaN"),
        ("dqn", {"gamma": 2}, "gamma=2: the discount factor must be a number in (0, 1]"),
        ("ppo", {"gamma": 0}, "gamma=0: the discount factor"),
        (
            "ppo",
            {"n_steps": 0},
            "n_steps=0: the decisions per env in one rollout must be an "
            "integer in [2, 1,000,000], e.g. 1024",
        ),
        ("ppo", {"n_steps": 256.5}, "n_steps=256.5"),
        ("ppo", {"batch_size": 1}, "batch_size=1"),
        ("ppo", {"gae_lambda": 1.5}, "gae_lambda=1.5: GAE's lambda must be a number in [0, 1]"),
        ("ppo", {"ent_coef": -0.1}, "ent_coef=-0.1"),
        ("ppo", {"n_epochs": 0}, "n_epochs=0"),
        ("ppo", {"clip_range": 0}, "clip_range=0"),
        (
            "ppo",
            {"collection": "slow"},
            'collection="slow": the collection loop must be one of "fast", "sb3"',
        ),
        (
            "dqn",
            {"buffer_size": 10**12},
            "buffer_size=1000000000000: the replay buffer's size "
            "(transitions) must be an integer in [1, 10,000,000]",
        ),
        ("dqn", {"exploration_fraction": 0}, "exploration_fraction=0"),
        ("dqn", {"exploration_final_eps": 1.5}, "exploration_final_eps=1.5"),
        ("dqn", {"tau": 0}, "tau=0"),
        ("dqn", {"gradient_steps": 0}, "gradient_steps=0"),
        ("dqn", {"train_freq": [4, "decisions"]}, 'train_freq=[4, "decisions"]'),
        (
            "dqn",
            {"optimize_memory_usage": 1},
            "optimize_memory_usage=1: the switch must be one of true, false",
        ),
        ("dqn", {"policy_kwargs": {"net_arch": [64, 0]}}, "policy_kwargs.net_arch must list"),
        ("ppo", {"policy_kwargs": {"net_arch": {"pi": [10**6]}}}, "an integer in [1, 8192]"),
    ],
)
def test_values_out_of_range_are_refused_with_the_range(agent: str, hp: dict, needle: str):
    with pytest.raises(AgentConfigError) as e:
        resolve_hyperparameters(agent, overrides=hp)
    assert f"{agent} hyperparameter " in str(e.value) and needle in str(e.value)


def test_every_valid_form_is_taken() -> None:
    for preset, agent in (("dqn", "dqn"), ("ppo", "ppo"), ("study_dqn", "dqn")):
        assert resolve_hyperparameters(agent, preset)  # the shipped presets are in range
    dqn = {
        "gamma": 1,
        "learning_rate": lambda progress: 1e-3 * progress,
        "gradient_steps": -1,
        "train_freq": [1, "episode"],
        "exploration_fraction": 1.0,
        "learning_starts": 0,
        "exploration_final_eps": 0,
        "optimize_memory_usage": False,
        "collection": "sb3",
    }
    assert resolve_hyperparameters("dqn", overrides=dqn)["gradient_steps"] == -1
    ppo = {
        "target_kl": None,
        "clip_range_vf": 0.2,
        "sde_sample_freq": -1,
        "n_steps": 2,
        "policy_kwargs": {"net_arch": {"pi": [64], "vf": [64]}},
        "ent_coef": 0,
    }
    assert resolve_hyperparameters("ppo", overrides=ppo)["n_steps"] == 2


def test_a_bad_value_is_one_line_and_the_corrected_command_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user's two crashes: a traceback each, and a config.json that refused the fix."""
    out = tmp_path / "tr" / "18"
    line = one_error_line(*run_cli(["train", "--agent", "dqn", "--out", str(out), *TINY,
                                    "--hp", "learning_starts=100", "--hp", "learning_rate=-1"],
                                   capsys))  # fmt: skip
    assert "learning_rate=-1" in line and "e.g. 0.0005" in line
    assert not out.exists()
    line = one_error_line(*run_cli(["train", "--agent", "ppo", "--out", str(out), *TINY,
                                    "--hp", "n_steps=0"], capsys))  # fmt: skip
    assert "ppo hyperparameter n_steps=0" in line and not out.exists()
    code, _, err = run_cli(["train", "--agent", "ppo", "--out", str(out), *TINY, "--hp",
                            "n_steps=32", "--hp", "batch_size=16", "--hp", "n_epochs=1"],
                           capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "done.json").read_text())["timesteps"] == 64


def test_what_sb3_refuses_leaves_no_config_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    bad = ["--hp", 'policy_kwargs={"activation": "relu", "net_arch": [16]}']
    line = one_error_line(*run_cli(["train", "--agent", "dqn", "--out", str(out), *TINY, *bad],
                                   capsys))  # fmt: skip
    assert "stable-baselines3 cannot build a dqn model" in line
    assert (
        "unexpected keyword argument 'activation'" in line
        and "fix the hyperparameters (--hp)" in line
    )
    assert not out.exists()  # the folder it made is gone again
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    one_error_line(*run_cli(["train", "--agent", "dqn", "--out", str(out), *TINY, *bad], capsys))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # the user's file stays
    # the corrected command (and with validation: the best model's line) in the same --out
    code, stdout, err = run_cli(
        ["train", "--agent", "dqn", "--out", str(out), *TINY, "--hp",
         'policy_kwargs={"net_arch": [16]}', "--hp",
         "learning_starts=32", "--hp", "buffer_size=500", "--validate-every", "64",
         "--validate-episodes", "1"], capsys,
    )  # fmt: skip
    assert code == 0 and (out / "model.zip").exists(), err
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("best checkpoint by validation (step 64, validation score ")
    assert last.endswith(f": {out / 'best_model.zip'}") and "best by validation" not in stdout


def test_a_config_alone_holds_no_run(tmp_path: Path) -> None:
    """A folder whose run never reached a checkpoint (config.json, logs) takes another
    configuration; one holding a checkpoint is still refused without --force."""
    run = tmp_path / "run"
    prepare_run_dir(run, TrainConfig(agent="dqn", timesteps=10), resume=False, force=False)
    other = TrainConfig(agent="dqn", timesteps=10, hyperparams={"gamma": 0.9})
    prepare_run_dir(run, other, resume=False, force=False)
    assert json.loads((run / "config.json").read_text())["key"] == other.key()
    (run / "metrics.csv").write_text("step\n")
    prepare_run_dir(run, TrainConfig(agent="dqn", timesteps=10), resume=False, force=False)
    (run / "checkpoints").mkdir()
    with pytest.raises(RunDirError, match="holds a run with another configuration"):
        prepare_run_dir(run, other, resume=False, force=False)


def test_a_grid_lists_values_out_of_range_before_anything_runs(tiny_grid_cfg: dict) -> None:
    from intergreen.experiments.grid import GridError, load_grid

    tiny_grid_cfg["agents"] = {"dqn": {"hyperparams": {"gamma": 2, "learning_rate": -1}}}
    with pytest.raises(GridError) as e:
        load_grid(tiny_grid_cfg)
    assert e.value.problems == [
        "agents.dqn: dqn hyperparameter learning_rate=-1: the learning rate (Adam's step size) "
        "must be a number in (0, 1], e.g. 0.0005; dqn hyperparameter gamma=2: the discount "
        "factor must be a number in (0, 1], e.g. 0.98"
    ]


def test_a_run_sb3_refuses_is_recorded_as_failed_and_the_batch_goes_on(tmp_path: Path) -> None:
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.grid import load_grid
    from intergreen.experiments.runner import run_batch

    fast = {"learning_starts": 32, "buffer_size": 500, "policy_kwargs": {"net_arch": [16]}}
    grid = load_grid({
        "rewards": ["queue"], "seeds": [1], "training": {"timesteps": 64},
        "agents": {"dqn": {"hyperparams": fast},
                   "broken": {"agent": "dqn", "hyperparams": {**fast, "policy_kwargs": {
                       "activation": "relu"}}}},
        "evaluation": {"demands": ["low"], "episodes": 1}, "baselines": [],
        "episode_duration": 30,
    })  # fmt: skip
    summary = run_batch(grid, tmp_path / "out", LocalExecutor(1))
    assert [f["name"].split("-")[1] for f in summary.failed] == ["broken"], summary.failed
    assert "stable-baselines3 cannot build a dqn model" in summary.failed[0]["error"]
    assert summary.done == 1


@pytest.fixture
def tiny_grid_cfg() -> dict:
    return {"rewards": ["queue"], "agents": ["dqn"], "seeds": [1],
            "training": {"timesteps": 10}}  # fmt: skip


def test_a_budget_of_years_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--timesteps above a billion decisions (a week of one process) is a typo: one line."""
    out = tmp_path / "r"
    line = one_error_line(*run_cli(["train", "--agent", "dqn", "--out", str(out),
                                    "--timesteps", "2000000000"], capsys))  # fmt: skip
    assert "--timesteps" in line and "1000000000" in line and not out.exists()
    with pytest.raises(ValueError, match="less than or equal to 1000000000"):
        TrainConfig(agent="dqn", timesteps=2_000_000_000)
    assert TrainConfig(agent="dqn", timesteps=1_000_000_000).timesteps == 1_000_000_000
    line = one_error_line(*run_cli(["tune", "--agent", "dqn", "--out", str(tmp_path / "t"),
                                    "--max-timesteps", "2000000000"], capsys))  # fmt: skip
    assert "--max-timesteps" in line and not (tmp_path / "t").exists()
