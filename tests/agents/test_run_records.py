"""What a run records (versions, seeds, env options) and how its env is rebuilt from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import intergreen
from intergreen.agents.config import TrainConfig
from intergreen.agents.evaluation import evaluate
from intergreen.agents.policy import junction_misfit, load_policy
from intergreen.agents.runenv import RunEnv, common_junction, merge_env_options
from intergreen.agents.training import RunDirError, train
from intergreen.rewards import BaseReward, registry
from intergreen.seeds import episode_seed

FAST = {"learning_starts": 50, "buffer_size": 1000, "policy_kwargs": {"net_arch": [16]}}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    """A DQN trained with ``--env duration=120`` (the CLI's form)."""
    from intergreen.cli import main

    run = tmp_path_factory.mktemp("runs") / "short"
    main(["train", "--agent", "dqn", "--demand", "low", "--reward", "queue", "--timesteps", "200",
          "--seed", "3", "--out", str(run), "--env", "duration=120", "--hp", "learning_starts=50",
          "--hp", "buffer_size=1000", "--checkpoint-every", "100"])  # fmt: skip
    return run


def test_config_records_versions_seeds_and_options(short_run: Path) -> None:
    record = json.loads((short_run / "config.json").read_text())
    assert record["intergreen_version"] == intergreen.__version__ == "0.2.0"
    assert record["reward_version"] == "1"
    assert record["env"] == {"decisions": "every_interval", "duration": 120}
    assert record["config"]["junction"] == "gm_a56" and "junction_file" not in record  # a name
    seeds = record["seeds"]
    assert seeds["base"] == 3 and seeds["role"] == "train"
    assert seeds["first_episode_seeds"] == [episode_seed(3, "train", 0, 0)]
    # the SUMO and learner versions it ran under (not part of the key)
    from importlib.metadata import version

    software = record["software"]
    assert software["eclipse-sumo"] == version("eclipse-sumo") and software["libsumo"]
    assert software["stable-baselines3"] == version("stable-baselines3") and software["torch"]


def test_an_agent_trained_with_a_duration_evaluates_and_simulates(
    short_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: TypeError: make_env() got multiple values for keyword argument 'duration'."""
    from intergreen.cli import main

    rows = evaluate([str(short_run)], demands=["low"], episodes=1)
    assert rows["simulated_s"].tolist() == [pytest.approx(120, abs=0.61)]  # the run's
    rows = evaluate([str(short_run), "fixed-time"], demands=["low"], episodes=1, duration=60)
    assert rows["simulated_s"].tolist() == [pytest.approx(60, abs=0.61)] * 2  # the caller's

    main(["evaluate", str(short_run), "--demands", "low", "--episodes", "1", "--baselines", "",
          "--output", str(tmp_path / "eval.csv")])  # fmt: skip
    assert (tmp_path / "eval.csv").read_text().count("\n") == 2
    main(["simulate", "--controller", str(short_run), "--demand", "low",
          "--output", str(tmp_path / "sim")])  # fmt: skip
    metrics = json.loads((tmp_path / "sim" / "metrics.json").read_text())
    assert metrics["simulated_s"] == pytest.approx(120, abs=0.61)
    assert metrics["env"]["decisions"] == "every_interval"  # the run's own option
    capsys.readouterr()

    policy = load_policy(short_run)
    env = policy.make_env("low", seed=1)
    assert env.duration == 120 and env.decisions == "every_interval"
    env = policy.make_env("low", seed=1, duration=30, junction="gm_a56_max_green")
    assert env.duration == 30 and env.spec_.name == "gm_a56_max_green"


def test_one_precedence_for_env_options() -> None:
    recorded = {"duration": 120, "n_stack": 5}
    assert merge_env_options(recorded, {"duration": None, "gui": False}) == {
        "duration": 120, "n_stack": 5, "gui": False}  # fmt: skip
    assert merge_env_options(recorded, {"duration": 60})["duration"] == 60
    runs = [RunEnv("gm_a56_max_green"), RunEnv("gm_a56_max_green", {"duration": 30})]
    assert common_junction(runs, None) == "gm_a56_max_green"
    assert common_junction([], None) == "gm_a56" and common_junction(runs, "x") == "x"
    with pytest.raises(ValueError, match=r"different junctions \(gm_a56, gm_a56_max_green\)"):
        common_junction([*runs, RunEnv("gm_a56")], None)


@pytest.fixture
def versioned_reward():
    """A reward registered as version 1, then re-registered with a changed formula."""

    class Halting(BaseReward):
        fields = ("halting",)

        def compute(self, frames) -> float:
            return -float(frames[-1].halting.sum())

    registry.register("halting_test", Halting, replace=True)
    yield Halting
    registry.unregister("halting_test")


def test_a_changed_reward_formula_is_a_new_run(versioned_reward, tmp_path: Path) -> None:
    cfg = TrainConfig(agent="dqn", reward="halting_test", timesteps=10)
    assert cfg.versions()["reward_version"] == "1"
    before = cfg.key()
    registry.register("halting_test", versioned_reward, replace=True, version="2")
    assert cfg.versions()["reward_version"] == "2" and cfg.key() != before
    weighted = {"name": "weighted", "weights": {"halting_test": 1, "queue": 0.5}}
    assert registry.reward_version(weighted) == "1(halting_test=2, queue=1)"

    from intergreen.experiments.grid import load_grid

    grid = {"rewards": ["halting_test"], "agents": ["dqn"], "seeds": [1],
            "training": {"timesteps": 10}}  # fmt: skip
    now = load_grid(grid).cells()[0].dir_name()
    registry.register("halting_test", versioned_reward, replace=True, version="3")
    assert load_grid(grid).cells()[0].dir_name() != now  # a new run folder in the batch


def test_a_resume_removes_the_temporaries_of_writes_the_kill_interrupted(tmp_path) -> None:
    run = tmp_path / "run"
    kwargs = dict(demand="low", reward="queue", timesteps=100, seed=1, hyperparams=FAST,
                  run_dir=run, env_kwargs={"duration": 30}, checkpoint_every=50)  # fmt: skip
    train("dqn", **kwargs)
    (run / "done.json").unlink()
    stale = [run / ".best_model.k2x9q.tmp.zip", run / "checkpoints" / ".latest.a1b2c.tmp.json"]
    for p in stale:
        p.write_text("half written")
    (run / ".keep").write_text("not ours")
    # config.json keeps the software the run started under; each resume records its own
    record = json.loads((run / "config.json").read_text())
    record["software"] = {"eclipse-sumo": "1.0.0-then"}
    (run / "config.json").write_text(json.dumps(record))
    train("dqn", **kwargs, resume=True)
    assert not any(p.exists() for p in stale) and (run / ".keep").exists()
    assert (run / "done.json").exists()
    assert json.loads((run / "config.json").read_text())["software"] == {
        "eclipse-sumo": "1.0.0-then"
    }
    from intergreen.agents.rundir import read_resumes
    from intergreen.version import software_versions

    assert [r["software"] for r in read_resumes(run)] == [software_versions()]


def test_resume_over_a_run_of_another_version_is_refused(versioned_reward, tmp_path) -> None:
    run = tmp_path / "run"
    kwargs = dict(demand="low", reward="halting_test", timesteps=100, seed=1, hyperparams=FAST,
                  run_dir=run, env_kwargs={"duration": 30}, checkpoint_every=50)  # fmt: skip
    train("dqn", **kwargs)
    (run / "done.json").unlink()
    registry.register("halting_test", versioned_reward, replace=True, version="2")
    with pytest.raises(RunDirError, match=r"made under reward version 1 \(this is 2\)"):
        train("dqn", **kwargs, resume=True)
    record = json.loads((run / "config.json").read_text())
    record["intergreen_version"] = "0.1.0"
    (run / "config.json").write_text(json.dumps(record))
    with pytest.raises(RunDirError, match=r"made under intergreen version 0.1.0 \(this is 0.2"):
        train("dqn", **kwargs, resume=True)


def test_reward_versions_are_recorded_and_checked() -> None:
    assert registry.describe("queue")["version"] == "1"
    assert registry.get("average_speed").version == "1"
    assert registry.reward_metadata(registry.get("queue"))["version"] == "1"
    with pytest.raises(registry.RewardError, match="version must be a non-empty string"):
        registry.register("bad_version", lambda frames, context: 0.0, version="  ")
    assert "bad_version" not in registry.names()


def test_version_of_the_source_tree_matches_pyproject() -> None:
    import tomllib

    pyproject = Path(intergreen.__file__).parent.parent / "pyproject.toml"
    assert intergreen.__version__ == tomllib.loads(pyproject.read_text())["project"]["version"]


def test_one_reward_written_differently_is_one_run(tmp_path) -> None:
    """Key order and 1.0 for 1 make neither another key nor another reward version; a resume
    over a run of another reward names the reward."""
    first = {"name": "weighted", "weights": {"queue": 0.1, "average_speed": 1}}
    same = {"weights": {"average_speed": 1.0, "queue": 0.1}, "name": "weighted"}
    cfg, again = (TrainConfig(agent="dqn", reward=r, timesteps=10) for r in (first, same))
    assert cfg.key() == again.key()
    assert cfg.versions()["reward_version"] == "1(average_speed=1, queue=1)"
    assert cfg.reward == {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}
    # a name keeps its key, and {"name": NAME} is that name
    assert TrainConfig(agent="dqn", reward={"name": "queue"}, timesteps=10).reward == "queue"

    run = tmp_path / "run"
    kwargs = dict(demand="low", timesteps=100, seed=1, hyperparams=FAST, run_dir=run,
                  env_kwargs={"duration": 30}, checkpoint_every=50)  # fmt: skip
    train("dqn", reward=first, **kwargs)
    (run / "done.json").unlink()
    train("dqn", reward=same, **kwargs, resume=True)  # refused before the fix
    assert (run / "done.json").exists()
    record = json.loads((run / "config.json").read_text())
    assert record["config"]["reward"] == cfg.reward
    (run / "done.json").unlink()
    other = {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.2}}
    with pytest.raises(RunDirError) as refused:
        train("dqn", reward=other, **kwargs, resume=True)
    assert str(refused.value) == (
        f"{run} holds a run trained on reward {json.dumps(cfg.reward)} (this is "
        f"{json.dumps(other)}); use another --out, or --force to replace it"
    )
    # the recorded and the given values, as compare shows a grid's (was "differs in seed")
    with pytest.raises(
        RunDirError, match=r"another configuration \(recorded -> given: seed: 1 -> 2\)"
    ):
        train("dqn", reward=first, **(kwargs | {"seed": 2}), resume=True)


def test_an_agent_on_another_junction_names_both_junctions(
    short_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "trained on observations of shape (221,), the environment gives (261,): use the
    run's env settings ...", which does not say that the junction is the problem."""
    from cli_helpers import one_error_line, run_cli

    result = run_cli(
        ["evaluate", str(short_run), "--junction", "resco:cologne1", "--demands", "routes",
         "--episodes", "1", "--baselines", ""],
        capsys,
    )  # fmt: skip
    message = (
        "agent {} was trained on junction gm_a56 and cannot act on junction cologne1 (its "
        "observations describe gm_a56's approach lanes): leave out --junction to run it on "
        "its own, or train an agent on cologne1"
    )
    assert one_error_line(*result) == f"error: {message.format(short_run)}"
    assert result[1] == ""  # before the plan's lines (they were printed, then the error)
    # a junction of other lanes is refused whatever the shapes: a new user's agent trained on
    # an imported grid ran on gm_a56 (221 entries both) after following "give --stages 1,2";
    # a variant of its own junction (the same lanes) is not
    policy = load_policy(short_run)
    from intergreen.junctions.catalog import resolve_junction

    assert junction_misfit(
        policy.run_env, resolve_junction("resco:cologne1"), "short"
    ) == message.format("short")
    assert junction_misfit(policy.run_env, resolve_junction("gm_a56_max_green"), "short") is None
    # the same lane names, other arms (two signals of one imported grid: N_0 ... W_1 both)
    gm = resolve_junction("gm_a56")
    longer = {k: arm.model_copy(update={"length": arm.length + 10}) for k, arm in gm.arms.items()}
    elsewhere = gm.model_copy(update={"name": "elsewhere", "arms": longer})
    assert elsewhere.approach_lane_ids == gm.approach_lane_ids
    assert "trained on junction gm_a56 and cannot act on junction elsewhere" in junction_misfit(
        policy.run_env, elsewhere, "short"
    )
    # one policy on two junctions in turn: each env's junction is judged, not the first's
    from intergreen.agents.policy import AgentPolicy
    from intergreen.junctions.env import make_env

    fresh = AgentPolicy(policy.model, "short", policy.run_env)
    profile = Path(intergreen.__file__).parent / "junctions/library/gm_a56/demands/am_peak.yaml"
    own, other = policy.make_env("medium", seed=1), make_env(elsewhere, str(profile), seed=1)
    try:
        fresh.reset(own)  # its own junction: no error
        with pytest.raises(RunDirError, match="cannot act on junction elsewhere"):
            fresh.reset(other)
        fresh.reset(own)
    finally:
        own.close()
        other.close()
    # a run's config.json given for the run (a new user's trial: "not a baseline parameter
    # file (expected "format": ...)")
    for command in (["evaluate", str(short_run / "config.json"), "--episodes", "1"],
                    ["simulate", "--controller", str(short_run / "config.json")]):  # fmt: skip
        assert one_error_line(*run_cli(command, capsys)) == (
            f"error: {short_run / 'config.json'}: is a training run's record (config.json), not "
            f"a controller; give the run folder itself, {short_run}"
        )
    # simulate says it before anything else (a stage warning came first)
    args = ["simulate", "--controller", str(short_run), "--junction", "resco:cologne1",
            "--stages", "1,2", "--duration", "10"]  # fmt: skip
    assert one_error_line(*run_cli(args, capsys)) == f"error: {message.format(short_run)}"
