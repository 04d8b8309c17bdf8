"""Grid files: validation (all problems at once), shipped configs, stable run keys."""

from __future__ import annotations

import json

import pytest

from intergreen.experiments.grid import GridError, load_grid, resolve_grid_path


def test_all_problems_listed_at_once():
    bad = {
        "rewards": ["queue", "no_such_reward", "averge_speed"],
        "agents": ["dqn", "a2c"],
        "seeds": [1],
        "training": {"timesteps": 100},
        "baselines": ["max-occupancy", "sydney"],
        "evaluation": {"demands": ["low", "rush"]},
    }
    with pytest.raises(GridError) as err:
        load_grid(bad)
    problems = err.value.problems
    text = str(err.value)
    assert len(problems) == 5, problems
    for needle in ("no_such_reward", "averge_speed", "a2c", "sydney", "rush"):
        assert needle in text
    assert "5 problems" in text
    # each unknown reward in the registry's words: the near name and --reward-module (the
    # first had neither, a new user's trial)
    rewards = [p for p in problems if p.startswith("rewards[")]
    assert rewards[0].startswith("rewards[1]: unknown reward 'no_such_reward'.")
    assert rewards[1].startswith("rewards[2]: unknown reward 'averge_speed'. Did you mean "
                                 "'average_speed'?")  # fmt: skip
    assert all(p.endswith("or give the command line --reward-module MODULE)") for p in rewards)


def test_training_ranges_train_but_never_evaluate(tiny_cfg):
    """mixed and mixed_v1 (the range before issue 16) are training demands only."""
    ok = dict(tiny_cfg, train_demands=["mixed_v1", "mixed"])
    assert {c.train_demand for c in load_grid(ok).cells()} == {"mixed_v1", "mixed"}
    bad = dict(tiny_cfg, train_demands=["mixed_v9"])
    bad["evaluation"] = {"demands": ["mixed_v1", "low_v1"]}
    with pytest.raises(GridError) as err:
        load_grid(bad)
    problems = err.value.problems
    assert len(problems) == 2, problems
    assert problems[0].startswith("train_demands[0]: unknown demand 'mixed_v9'")
    assert problems[1] == "evaluation.demands[0]: evaluate on fixed levels, not 'mixed_v1'"


def test_structure_and_meaning_reported_together(tiny_cfg):
    bad = dict(tiny_cfg, seeds=[1, 1], training={"timesteps": 0}, rewards=["nope"])
    bad["agents"] = {"dqn": {"hyperparams": {"learning_rat": 0.1}}}
    with pytest.raises(GridError) as err:
        load_grid(bad)
    text = str(err.value)
    assert "seeds" in text and "training.timesteps" in text and "nope" in text
    assert "learning_rat" in text and "learning_rate" in text  # the hint


def test_shipped_configs():
    quick, full = load_grid("study_quick"), load_grid("study_full.yaml")
    assert len(quick.cells()) == 6
    assert len(full.cells()) == 13 * 3 and {c.agent for c in full.cells()} == {"dqn"}
    from intergreen.rewards import STUDY_REWARDS

    assert set(STUDY_REWARDS) | {"pressure"} == set(full.rewards)
    assert resolve_grid_path("study_quick").name == "study_quick.yaml"
    with pytest.raises(GridError, match="study_quick"):
        resolve_grid_path("study_nope")


def test_run_keys_stable(tiny_cfg):
    TINY = tiny_cfg
    cell = load_grid(TINY).cells()[0]
    # the key is a hash of the resolved training config and of the package and reward versions
    # (intergreen 0.2.0, queue 1): fixed across processes
    assert cell.key() == "16010723f5d30c57"
    assert cell.dir_name() == "queue-dqn-s1-16010723f5d30c57"
    again = load_grid(dict(TINY, rewards=["average_speed", "queue"])).cells()[1]
    assert again.key() == cell.key()  # the order of the grid does not matter
    other = load_grid(dict(TINY, training={"timesteps": 301, "checkpoint_every": 150}))
    assert other.cells()[0].key() != cell.key()
    keys = [c.key() for c in load_grid(TINY).cells()]
    assert len(set(keys)) == len(keys)


def test_evaluation_plan_seeds_and_versions(tiny_cfg, monkeypatch):
    import intergreen.version
    from intergreen.seeds import episode_seeds, role_of

    plan = load_grid(tiny_cfg).eval_plan()
    assert plan.seed_role == "test" and plan.seeds() == episode_seeds("test", 2)
    selecting = load_grid(dict(tiny_cfg, evaluation={"episodes": 2, "seeds": "validation"}))
    assert {role_of(s) for s in selecting.eval_plan().seeds()} == {"validation"}
    assert selecting.eval_plan().key() != plan.key()
    key = plan.key()
    monkeypatch.setattr(intergreen.version, "__version__", "9.9.9")
    assert plan.key() != key  # baselines evaluated under other code are evaluated again


def test_grid_refuses_an_unknown_seed_role_and_a_training_duration(tiny_cfg):
    bad = dict(tiny_cfg, evaluation={"seeds": "train"},
               training={"timesteps": 300, "env_kwargs": {"duration": 90}})  # fmt: skip
    with pytest.raises(GridError) as e:
        load_grid(bad)
    text = str(e.value)
    assert "evaluation.seeds: Input should be 'test' or 'validation'" in text
    assert "training.env_kwargs" in text and "episode_duration" in text


def test_shipped_convergence_grid_validates_every_run():
    grid = load_grid("convergence")
    cells = grid.cells()
    assert len(cells) == 9 and {c.reward for c in cells} == {
        "average_speed", "queue", "delta_wait_time"}  # fmt: skip
    config = cells[0].train_config()
    assert config.timesteps == 1_000_000 and config.validate_every == 50_000
    plan = config.validation_plan()
    assert plan["episodes"] == 2 and plan["demands"] == ["low", "medium", "high"]
    assert plan["score_kind"] == "geometric_mean"


def test_compare_help_names_every_shipped_grid() -> None:
    from intergreen.experiments.cli import SHIPPED_GRIDS
    from intergreen.experiments.grid import CONFIG_DIR

    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) == SHIPPED_GRIDS
    assert {"study_quick", "study_full", "study_v2", "convergence"} <= set(SHIPPED_GRIDS)


# ----- a new user's trial: a baseline the junction cannot run is refused with the grid --------
def test_compare_refuses_a_baseline_the_junction_cannot_run_before_writing(
    tmp_path, monkeypatch, capsys
) -> None:
    """The program baseline on gm_a56 (no signal programme of its own) failed only when its
    episodes ran, after every run had trained; evaluate's own check of a baseline
    (evaluation.check_baseline) now refuses it with the grid, as a tuned baseline without its
    file for the junction."""
    from cli_helpers import one_error_line, run_cli

    monkeypatch.chdir(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "rewards: [queue]\nagents: {ppo: {hyperparams: {n_steps: 32, batch_size: 32}}}\n"
        "seeds: [1]\ntraining: {timesteps: 32}\nevaluation: {demands: [low], episodes: 1}\n"
        "episode_duration: 60\nbaselines: [fixed-time, program]\n"
    )
    line = one_error_line(*run_cli(["compare", str(grid), "--out", "out"], capsys))
    assert line == (
        f"error: {grid}: 1 problem: - baselines[1]: controller program: junction gm_a56 has no "
        "signal programme of its own (its network holds only netconvert's default one, which "
        "does not follow its signal rules); the program baseline runs the programme of a "
        "junction imported from a SUMO network (`intergreen junctions import`): choose another "
        "controller"
    )  # was: the run trained, then the baseline FAILED (exit 1)
    assert not (tmp_path / "out").exists()
    variant = {"junction": "gm_a56_max_green", "rewards": ["queue"], "agents": ["ppo"],
               "seeds": [1], "training": {"timesteps": 32},
               "baselines": ["fixed-time:tuned", "program", "vehicle-actuated"]}  # fmt: skip
    with pytest.raises(GridError) as err:
        load_grid(variant)
    assert [p.split(":")[0] for p in err.value.problems] == ["baselines[0]", "baselines[1]"]
    assert err.value.problems[0].endswith(
        "fixed-time.json: holds fixed-time parameters for junction gm_a56, not fixed-time on "
        "gm_a56_max_green"
    )
    assert load_grid(dict(variant, baselines=["vehicle-actuated"])).baselines == [
        "vehicle-actuated"
    ]


def test_keys_of_named_and_canonical_rewards_stay(tiny_cfg):
    """The canonical reward form (intergreen.rewards.registry.canonical_reward) keeps the keys
    of named rewards and of specs written canonically (values from before it existed), and
    gives a reward written in another order or with 1.0 for 1 the same key."""
    from intergreen.agents.config import TrainConfig

    def key(reward) -> str:
        return TrainConfig(agent="dqn", reward=reward, timesteps=300).key()

    assert key("queue") == "e5f1ec32241a6803" and key({"name": "queue"}) == key("queue")
    assert key({"name": "average_speed_ad", "demand_floor": 0.1}) == "b4c30e5e7bcf8591"
    weighted = {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}
    assert key(weighted) == "778ab72f3594290e"
    assert key({"weights": {"queue": 0.1, "average_speed": 1.0}, "name": "weighted"}) == (
        "778ab72f3594290e"
    )


def test_a_reward_listed_twice_is_refused(tiny_cfg, tmp_path):
    import yaml

    path = tmp_path / "twice.yaml"
    path.write_text(
        yaml.safe_dump(dict(tiny_cfg, rewards=["queue", "average_speed", {"name": "queue"}]))
    )
    with pytest.raises(GridError) as err:
        load_grid(str(path))
    assert str(err.value) == (
        f"{path}: 1 problem:\n"
        '  - rewards[2]: {"name": "queue"} is the reward of rewards[0] (queue) again; list each '
        "reward once"
    )
    weights = [{"name": "weighted", "weights": {"queue": 1, "average_speed": 0.5}},
               {"name": "weighted", "weights": {"average_speed": 0.5, "queue": 1.0}}]  # fmt: skip
    with pytest.raises(GridError, match=r"rewards\[1\]: .* is the reward of rewards\[0\]"):
        load_grid(dict(tiny_cfg, rewards=weights))
    assert len(load_grid(dict(tiny_cfg, rewards=["queue", "average_speed"])).rewards) == 2


def test_dqn_agents_too_short_to_learn_are_refused(tiny_cfg, tmp_path, capsys):
    """A DQN arm trained fewer decisions than its learning_starts ran and was reported as an
    agent, untrained (beside a tuned arm whose tune had lowered learning_starts); a note said
    so, and a new user's batch of such arms was reported as "identical results" that "learned
    the same". compare refuses it before anything runs."""
    from cli_helpers import one_error_line, run_cli

    from intergreen.experiments.grid import untrained_agents

    assert untrained_agents(load_grid(tiny_cfg)) == []  # learning_starts 100 < 300
    short = dict(tiny_cfg, agents={"dqn": {}, "dqn_fast": {"agent": "dqn", "hyperparams":
                                                           {"learning_starts": 100}}})  # fmt: skip
    assert untrained_agents(load_grid(short)) == [
        "agents.dqn: DQN makes its first gradient step after learning_starts 2,000 decisions "
        "and each run trains 300: its models stay untrained (raise training.timesteps, or set "
        "agents.dqn.hyperparams.learning_starts below 300)"
    ]
    grid = tmp_path / "short.yaml"
    grid.write_text(json.dumps(short))
    line = one_error_line(*run_cli(["compare", str(grid), "--out", str(tmp_path / "out")], capsys))
    assert line == f"error: {grid}: " + untrained_agents(load_grid(short))[0]
    assert not (tmp_path / "out").exists()


def test_a_schedule_that_cannot_select_or_resume_is_noted(tiny_cfg):
    """Validation every 5,000 decisions of a 1,000-decision run validated once, at the end,
    and the report said each run's best checkpoint was evaluated; checkpoints every 50,000
    left nothing to resume from. Neither was said."""
    from intergreen.experiments.grid import schedule_notes

    training = dict(tiny_cfg["training"], timesteps=1000, checkpoint_every=500)
    assert schedule_notes(load_grid(dict(tiny_cfg, training=training))) == []
    training |= {"validate_every": 5000, "checkpoint_every": 50_000}
    assert schedule_notes(load_grid(dict(tiny_cfg, training=training))) == [
        "training.validate_every 5,000 >= training.timesteps 1,000: each run validates once, at "
        "its end, so the checkpoint the batch evaluates is the final model (nothing is "
        "selected; give validate_every below 1,000)",
        "training.checkpoint_every 50,000 >= training.timesteps 1,000: a run stopped partway "
        "restarts from nothing (give checkpoint_every below 1,000 to resume runs where they "
        "stopped)",
    ]


def test_a_grid_path_that_is_a_folder_says_so(tmp_path, capsys):
    """A new user's `compare grids --out x` (grids, the folder of their YAMLs) was told "no
    such file"; a missing path still is."""
    from cli_helpers import one_error_line, run_cli

    folder = tmp_path / "grids"
    folder.mkdir()
    line = one_error_line(*run_cli(["compare", str(folder), "--out", str(tmp_path / "x")], capsys))
    assert line.startswith(f"error: {folder}: 1 problem: - a folder, not a grid file; give a "
                           "grid YAML, or a shipped config (")  # fmt: skip
    line = one_error_line(*run_cli(["compare", str(tmp_path / "nope.yaml"), "--out",
                                    str(tmp_path / "x")], capsys))  # fmt: skip
    assert "no such file, nor a shipped config" in line
    assert not (tmp_path / "x").exists()
