"""Greedy validation during training on real SUMO and SB3: validation.csv, the best checkpoint,
resume, the training it must not disturb, and evaluate's choice of checkpoint."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from intergreen.agents.config import AgentConfigError, TrainConfig, algorithm_class
from intergreen.agents.curves import read_validation, validation_curves, validation_scores
from intergreen.agents.evaluation import evaluate
from intergreen.agents.policy import AgentPolicy, choose_model, load_policy
from intergreen.agents.runenv import RunEnv
from intergreen.agents.training import RunDirError, train
from intergreen.agents.validation import VALIDATING_MODEL
from intergreen.errors import OptionError
from intergreen.seeds import episode_seeds

HP = {"learning_starts": 100, "train_freq": 4, "batch_size": 32, "buffer_size": 5000,
      "target_update_interval": 100, "exploration_fraction": 0.5,
      "policy_kwargs": {"net_arch": [32]}}  # fmt: skip
#: 60 s episodes of 99 decisions (0.6 s each), a demand level drawn per episode (from the
#: training range before issue 16, cars only, on which the numbers below were measured).
KWARGS = dict(agent="dqn", demand="mixed_v1", reward="queue", timesteps=700, seed=7, hyperparams=HP,
              env_kwargs={"duration": 60, "decisions": "every_interval"}, checkpoint_every=300,
              resume=True)  # fmt: skip
VALIDATION = {"validate_every": 150, "validate_episodes": 2}
#: Validation points: the first collection at or after each 150 decisions starts (collections
#: of train_freq=4 decisions), and the end.
STEPS = [152, 300, 452, 600, 700]
METRICS = ["avg_waiting_time", "avg_delay", "throughput", "mean_queue", "teleports", "backlog"]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_policy(path).model.policy.state_dict()


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The same DQN run with validation on and off."""
    root = tmp_path_factory.mktemp("validation")
    train(run_dir=root / "validated", **KWARGS, **VALIDATION)
    train(run_dir=root / "plain", **KWARGS)
    return {"validated": root / "validated", "plain": root / "plain"}


def test_validation_rows_best_checkpoint_and_record(runs: dict[str, Path]) -> None:
    run = runs["validated"]
    rows = read_validation(run)
    seeds = episode_seeds("validation", 2)
    assert len(rows) == len(STEPS) * 2
    assert rows["step"].tolist() == [s for s in STEPS for _ in range(2)]
    assert rows["seed"].tolist() == seeds * len(STEPS)  # the same episodes at every point
    assert rows["episode"].tolist() == [0, 1] * len(STEPS)
    assert set(rows["demand"]) == {"mixed_v1"} and rows["decisions"].eq(99).all()
    assert rows["avg_waiting_time"].gt(0).all() and rows["reward"].lt(0).all()  # queue < 0
    scores = validation_scores(rows)
    assert scores["step"].tolist() == STEPS and scores["episodes"].eq(2).all()
    i = scores["score"].idxmin()
    best = json.loads((run / "best.json").read_text())
    assert best["step"] == scores["step"][i] and best["score"] == pytest.approx(scores["score"][i])
    assert best["metric"] == "avg_waiting_time" and (run / "best_model.zip").is_file()
    # on this seed the best point is not the end: the two models differ
    assert best["step"] == 600 and not _same_weights(run / "best_model.zip", run / "model.zip")
    record = json.loads((run / "config.json").read_text())
    plan = record["validation"]
    assert plan["every"] == 150 and plan["episodes"] == 2 and plan["demands"] == ["mixed_v1"]
    assert plan["seeds"] == seeds and plan["role"] == "validation"
    assert plan["backend"] == "libsumo"  # in the run's validation worker
    assert not (run / VALIDATING_MODEL).exists()  # the point's model: moved to best or removed
    assert "validation" not in json.loads((runs["plain"] / "config.json").read_text())
    assert not (runs["plain"] / "validation.csv").exists()
    assert not (runs["plain"] / "best_model.zip").exists()


def test_best_model_replays_its_validation_episodes(runs: dict[str, Path]) -> None:
    """best_model.zip is the model of the best point: its greedy episodes on the validation
    seeds (here through libsumo, in a fresh env) are the rows logged at that point."""
    run = runs["validated"]
    best = json.loads((run / "best.json").read_text())
    rows = read_validation(run)
    logged = rows[rows["step"] == best["step"]].reset_index(drop=True)
    again = evaluate([str(run)], demands=["mixed_v1"], episodes=2, role="validation",
                     checkpoint="best")  # fmt: skip
    pd.testing.assert_frame_equal(again[METRICS], logged[METRICS], check_dtype=False)
    # and not the rows of another point (the check can fail)
    other = rows[rows["step"] != best["step"]].groupby("step")
    assert all(not g[METRICS].reset_index(drop=True).equals(again[METRICS]) for _, g in other)


def test_worker_validation_gives_the_rows_of_traci_in_the_training_process(
    runs: dict[str, Path],
) -> None:
    """Until 0.2.0 the episodes ran in the training process through traci (libsumo there is
    the training env's). The checkpoint of a validation point, played that way, gives the rows
    the run's libsumo worker logged at that point, to the last digit."""
    run = runs["validated"]
    config = TrainConfig.model_validate(json.loads((run / "config.json").read_text())["config"])
    model = algorithm_class("dqn").load(run / "checkpoints" / "model_600.zip", device="cpu")
    traci = RunEnv(config.junction, config.resolved_env_kwargs() | {"backend": "traci"})
    played = evaluate([AgentPolicy(model, "old", traci, config.reward)], demands=["mixed_v1"],
                      seeds=episode_seeds("validation", 2), detail=False)  # fmt: skip
    rows = read_validation(run)
    logged = rows[rows["step"] == 600].reset_index(drop=True)
    pd.testing.assert_frame_equal(played[METRICS], logged[METRICS], check_dtype=False)
    assert played["reward_queue"].tolist() == logged["reward"].tolist()
    earlier = rows[rows["step"] == 452].reset_index(drop=True)
    assert not earlier[METRICS].equals(played[METRICS])  # another point's rows differ


def test_validation_does_not_change_training(runs: dict[str, Path]) -> None:
    a = pd.read_csv(runs["validated"] / "metrics.csv").drop(columns="wall_s")
    b = pd.read_csv(runs["plain"] / "metrics.csv").drop(columns="wall_s")
    assert len(a) >= 6
    pd.testing.assert_frame_equal(a, b)
    # the final models (a run folder alone would give the validated run's best one)
    assert _same_weights(runs["validated"] / "model.zip", runs["plain"] / "model.zip")


def test_evaluate_picks_the_best_checkpoint_by_default(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from intergreen.cli import main

    run, plain = runs["validated"], runs["plain"]
    best = json.loads((run / "best.json").read_text())
    choice = choose_model(run)
    assert (choice.checkpoint, choice.step, choice.path.name) == (
        "best", best["step"], "best_model.zip")  # fmt: skip
    assert choose_model(run, "final").path.name == "model.zip"
    assert choose_model(run, "final").step == 700
    assert choose_model(plain).checkpoint == "final"  # no validation: the final model
    assert load_policy(run).choice == choice
    main(["evaluate", str(run), "--demands", "low", "--episodes", "1", "--baselines", ""])
    out = " ".join(capsys.readouterr().out.split())
    assert f"best checkpoint by validation (step {best['step']}, validation score" in out
    assert "(the default: the run has one)" in out
    main(["evaluate", str(plain), "--demands", "low", "--episodes", "1", "--baselines", ""])
    assert "final model (step 700)" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(RunDirError, match="has no best checkpoint.*--checkpoint final"):
        choose_model(plain, "best")
    with pytest.raises(OptionError, match="--checkpoint 'last': use one of best, final"):
        evaluate([str(run)], demands=["low"], episodes=1, checkpoint="last")
    with pytest.raises(OptionError, match="needs a run folder"):
        choose_model(run / "model.zip", "best")
    with pytest.raises(SystemExit) as e:
        main(["evaluate", str(plain), "--checkpoint", "best", "--baselines", ""])
    assert e.value.code == 2
    assert "has no best checkpoint" in capsys.readouterr().err


def test_validation_curve_cli(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    from intergreen.cli import main

    main(["validation-curve", str(runs["validated"]), "--output", str(tmp_path / "c.csv")])
    out = " ".join(capsys.readouterr().out.split())
    assert "queue: greedy validation score" in out and "3.25*" in out  # the best point
    # one run: the first point within 5% of its best is the best itself (the others are 10%+)
    assert "queue: the median run is within 5% of its best from step 600" in out
    curves = pd.read_csv(tmp_path / "c.csv")
    assert curves["step"].tolist() == STEPS and set(curves["seed"]) == {7}
    assert set(curves["reward"]) == {"queue"}
    pd.testing.assert_frame_equal(curves, validation_curves([runs["validated"]]))
    with pytest.raises(SystemExit) as e:
        main(["validation-curve", str(runs["plain"])])
    assert e.value.code == 2 and "has no validation.csv" in capsys.readouterr().err


# ----- resume ---------------------------------------------------------------------------------
def _processes_with(marker: str) -> list[int]:
    """The processes whose environment holds ``marker`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def _train_until(run_dir: str, kwargs: dict, env_steps: int) -> None:
    """Train, dying abruptly (``os._exit``, as under SIGKILL) when env 0 is asked for its step
    ``env_steps + 1``."""
    from intergreen.agents.episodes import EpisodeStream

    step, taken = EpisodeStream.step, [0]

    def dying(self, action):
        taken[0] += 1
        if taken[0] > env_steps:
            os._exit(9)
        return step(self, action)

    EpisodeStream.step = dying
    train(run_dir=run_dir, **kwargs)


def test_killed_and_resumed_run_validates_as_the_uninterrupted_one(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "killed"
    kwargs = KWARGS | VALIDATION
    child = mp.get_context("spawn").Process(target=_train_until, args=(str(run), kwargs, 550))
    marker = f"INTERGREEN_TEST_RUN={os.getpid()}-killed"
    os.environ["INTERGREEN_TEST_RUN"] = marker.split("=")[1]  # inherited by the child only
    try:
        child.start()
    finally:
        del os.environ["INTERGREEN_TEST_RUN"]
    child.join(timeout=600)
    assert child.exitcode == 9
    # its validation worker (and that worker's forkserver) ended with it
    deadline = time.monotonic() + 30
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_with(marker)
    saved = json.loads((run / "checkpoints" / "latest.json").read_text())["step"]
    assert saved == 300
    # the killed run validated past its checkpoint, and found a new best there: a resume must
    # drop those rows and put back the best model as it stood at the checkpoint
    assert read_validation(run)["step"].max() == 452
    assert json.loads((run / "best.json").read_text())["step"] == 452
    train(run_dir=run, **kwargs)
    whole = runs["validated"]
    pd.testing.assert_frame_equal(read_validation(run), read_validation(whole))
    assert (run / "best.json").read_text() == (whole / "best.json").read_text()
    assert _same_weights(run / "best_model.zip", whole / "best_model.zip")
    assert _same_weights(run / "model.zip", whole / "model.zip")
    assert not mp.active_children()


# ----- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "match"),
    [({"validate_every": 0}, "validate_every"),
     ({"validate_every": 100, "validate_episodes": 0}, "validate_episodes"),
     ({"validate_every": 100, "validate_episodes": 101}, "validate_episodes"),
     ({"validate_every": 100, "validate_demands": []}, "validate_demands")],
)  # fmt: skip
def test_bad_validation_options_are_refused_before_anything_is_written(
    tmp_path: Path, option: dict, match: str
) -> None:
    with pytest.raises(AgentConfigError, match=match):
        train("dqn", timesteps=10, run_dir=tmp_path / "run", **option)
    assert not (tmp_path / "run").exists()


def test_unknown_validation_demand_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from intergreen.cli import main

    with pytest.raises(SystemExit) as e:
        main(["train", "--agent", "dqn", "--timesteps", "10", "--out", str(tmp_path / "run"),
              "--validate-every", "5", "--validate-demands", "low,rush"])  # fmt: skip
    assert e.value.code == 2 and not (tmp_path / "run").exists()


def test_geometric_mean_score_selects_and_records_its_best(tmp_path: Path) -> None:
    """A run validated with the geometric mean of its episodes' waits: best.json holds the
    lowest geometric mean (computed here from validation.csv), config.json and best.json
    say which score, and validation-curve refuses to mix it with arithmetic-mean runs."""
    kwargs = KWARGS | {"timesteps": 400}
    run = tmp_path / "geo"
    train(run_dir=run, **kwargs, validate_every=150, validate_episodes=2,
          validate_score="geometric_mean")  # fmt: skip
    rows = read_validation(run)
    geo = rows.groupby("step")["avg_waiting_time"].apply(lambda x: float(np.exp(np.log(x).mean())))
    best = json.loads((run / "best.json").read_text())
    assert best["score_kind"] == "geometric_mean"
    assert best["score"] == pytest.approx(geo.min()) and best["step"] == int(geo.idxmin())
    # the arithmetic mean would be higher at every point with unequal episodes
    assert (rows.groupby("step")["avg_waiting_time"].mean() >= geo - 1e-9).all()
    record = json.loads((run / "config.json").read_text())
    assert record["validation"]["score_kind"] == "geometric_mean"
    curves = validation_curves([run])
    assert curves["score"].tolist() == pytest.approx(geo.tolist())
    train(run_dir=tmp_path / "mean", **kwargs, validate_every=150, validate_episodes=2)
    with pytest.raises(OptionError, match="validation scores differ"):
        validation_curves([run, tmp_path / "mean"])


def test_validation_scores_mean_and_geometric_mean() -> None:
    rows = pd.DataFrame({"step": [1, 1, 2, 2], "avg_waiting_time": [2.0, 8.0, 0.0, 1.0]})
    mean = validation_scores(rows)
    geo = validation_scores(rows, kind="geometric_mean")
    assert mean["score"].tolist() == [5.0, 0.5]
    # sqrt(2 * 8) = 4; a zero wait counts as the floor, 0.01 s: sqrt(0.01 * 1) = 0.1
    assert geo["score"].tolist() == pytest.approx([4.0, 0.1])
    assert geo["episodes"].tolist() == [2, 2] and geo["step"].tolist() == [1, 2]
    with pytest.raises(OptionError, match="unknown validation score 'median'"):
        validation_scores(rows, kind="median")  # type: ignore[arg-type]


def test_validation_score_keeps_old_keys_and_refuses_unknown_kinds() -> None:
    # the key of a validated run made before the choice existed (main at d8d0509)
    config = TrainConfig(agent="dqn", reward="queue", timesteps=1000, seed=1, validate_every=500)
    assert config.key() == "35e380cb73fc505c"
    geo = config.model_copy(update={"validate_score": "geometric_mean"})
    assert geo.key() != config.key()
    assert geo.validation_plan()["score"].startswith("geometric mean of avg_waiting_time")
    with pytest.raises(AgentConfigError, match="validate_score"):
        train(agent="dqn", timesteps=10, run_dir="/nonexistent/never", validate_every=5,
              validate_score="median")  # fmt: skip


def test_validation_options_enter_the_key_only_when_validation_is_on() -> None:
    base = TrainConfig(agent="dqn", timesteps=100)
    assert TrainConfig(agent="dqn", timesteps=100, validate_episodes=9).key() == base.key()
    on = TrainConfig(agent="dqn", timesteps=100, validate_every=50)
    assert on.key() != base.key()
    assert on.key() != TrainConfig(agent="dqn", timesteps=100, validate_every=60).key()
    assert on.validation_demands() == ["mixed"] and base.validation_plan() is None


@pytest.mark.parametrize(
    ("agent", "hp", "n_envs", "steps"),
    # PPO: points as the collections after 200 and 400 decisions start (rollouts of 100 per
    # env); two DQN envs (collections of 2 x train_freq decisions): env 0 in this process holds
    # libsumo while validation runs beside it
    [pytest.param("ppo", {"n_steps": 100, "batch_size": 50, "n_epochs": 2,
                          "policy_kwargs": {"net_arch": [32]}}, 1, [200, 400, 500], id="ppo"),
     pytest.param("dqn", HP, 2, [200, 400, 504], id="dqn-2envs", marks=pytest.mark.slow)],
)  # fmt: skip
def test_validation_leaves_training_alone_for_ppo_and_two_envs(
    tmp_path: Path, agent: str, hp: dict, n_envs: int, steps: list[int]
) -> None:
    kwargs = KWARGS | {"agent": agent, "hyperparams": hp, "n_envs": n_envs, "timesteps": 500}
    train(run_dir=tmp_path / "on", **kwargs, validate_every=200, validate_episodes=1)
    train(run_dir=tmp_path / "off", **kwargs)
    assert validation_scores(read_validation(tmp_path / "on"))["step"].tolist() == steps
    assert _same_weights(tmp_path / "on" / "model.zip", tmp_path / "off" / "model.zip")
    a = pd.read_csv(tmp_path / "on" / "metrics.csv").drop(columns="wall_s")
    b = pd.read_csv(tmp_path / "off" / "metrics.csv").drop(columns="wall_s")
    pd.testing.assert_frame_equal(a, b)
