"""``evaluate``: every controller, baselines included, plays the trained run's episodes (its
length, pedestrians and sensor noise) on the same seeds; a mistake is one line before anything
is printed; what the output says about the episodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import one_error_line, run_cli, run_cli_flat

from intergreen.agents.evaluation import evaluate, evaluation_seeds
from intergreen.agents.runenv import RunEnv, common_episode
from intergreen.errors import OptionError


@pytest.fixture(scope="module")
def run_120(tmp_path_factory) -> Path:
    """A DQN trained on 120 s episodes (``--env duration=120``), as the user's run on 300 s."""
    from intergreen.cli import main

    run = tmp_path_factory.mktemp("runs") / "dqn_speed"
    main(["train", "--agent", "dqn", "--demand", "low", "--reward", "average_speed",
          "--timesteps", "200", "--seed", "1", "--out", str(run), "--env", "duration=120",
          "--hp", "learning_starts=50", "--hp", "buffer_size=1000"])  # fmt: skip
    return run


def test_baselines_play_the_runs_episodes(run_120: Path) -> None:
    """Was: the agent on 120 s episodes, the baselines on the demand's 1800 s."""
    rows = evaluate([str(run_120), "vehicle-actuated", "vehicle-actuated:tuned"],
                    demands=["low", "high"], episodes=2)  # fmt: skip
    assert rows["controller"].unique().tolist() == [
        "dqn_speed", "vehicle-actuated", "vehicle-actuated:tuned"]  # fmt: skip
    assert rows["simulated_s"].tolist() == [pytest.approx(120, abs=0.61)] * 12
    seeds = rows.groupby("controller", sort=False)["seed"].apply(list)
    assert seeds.tolist() == [evaluation_seeds(2) * 2] * 3  # the same episodes for each
    # a baseline alone still plays its demand's length
    alone = evaluate(["vehicle-actuated"], demands=["low"], episodes=1, detail=False)
    assert alone["simulated_s"].tolist() == [pytest.approx(1800, abs=0.61)]


def test_the_command_line_compares_on_the_runs_episodes(
    run_120: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "eval" / "episodes.csv"
    code, out, err = run_cli_flat(
        ["evaluate", str(run_120), "--episodes", "1", "--demands", "high", "--baselines",
         "vehicle-actuated,vehicle-actuated:tuned", "--output", str(csv), "--timelines", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    rows = pd.read_csv(csv)
    assert rows["simulated_s"].tolist() == [pytest.approx(120, abs=0.61)] * 3
    assert rows["seed"].nunique() == 1
    assert (
        "episodes: 1 per demand, 120 s each (the runs' duration), the same for every "
        "controller" in out
    )
    assert "average waiting time (s), 1 episode per demand" in out  # not "1 episodes"
    assert "standard deviation" not in out  # one episode: no spread shown
    # the caller's --duration is every controller's
    code, out, err = run_cli_flat(
        ["evaluate", str(run_120), "--episodes", "1", "--demands", "low", "--baselines",
         "fixed-time", "--duration", "60", "--output", str(csv), "--timelines", "0"], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert pd.read_csv(csv)["simulated_s"].tolist() == [pytest.approx(60, abs=0.61)] * 2
    assert "60 s each (--duration)" in out and "2 episodes per demand" not in out


def _copy_with_env(run: Path, dst: Path, **env: object) -> Path:
    """A copy of ``run`` whose config.json records other environment options."""
    shutil.copytree(run, dst)
    record = json.loads((dst / "config.json").read_text())
    record["config"]["env_kwargs"].update(env)
    (dst / "config.json").write_text(json.dumps(record))
    return dst


def test_runs_on_different_episodes_need_one_named(run_120: Path, tmp_path: Path) -> None:
    other = _copy_with_env(run_120, tmp_path / "dqn_90", duration=90)
    with pytest.raises(OptionError) as e:
        evaluate([str(run_120), str(other)], demands=["low"], episodes=1)
    text = str(e.value)
    assert f"{run_120}: duration=120" in text and f"{other}: duration=90" in text
    assert "give --duration to play one for all" in text
    rows = evaluate([str(run_120), str(other), "random"], demands=["low"], episodes=1,
                    duration=30, detail=False)  # fmt: skip
    assert rows["simulated_s"].tolist() == [pytest.approx(30, abs=0.61)] * 3


def test_the_runs_sensor_noise_and_pedestrians_are_every_controllers() -> None:
    noise = {"miss_prob": 0.2}
    runs = {
        "a": RunEnv(options={"duration": 120, "sensor_noise": noise, "n_stack": 5}),
        "b": RunEnv(options={"duration": 120, "sensor_noise": noise}),
        "fixed-time": None,
    }
    # the controller's own options (n_stack, decisions, ...) are not the episode's
    assert common_episode(runs) == {"duration": 120, "sensor_noise": noise}
    assert common_episode(runs, {"duration": 60, "pedestrians": None})["duration"] == 60
    assert common_episode({"fixed-time": None}) == {}
    runs["c"] = RunEnv(options={"duration": 120, "pedestrians": True})
    with pytest.raises(OptionError, match=r"a: the default, b: the default, c: pedestrians=Tr"):
        common_episode(runs)
    with pytest.raises(OptionError, match="evaluate them separately"):
        common_episode(runs)


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--demands", "lowish", "unknown demand 'lowish'"),
        ("--demands", ",", "--demands: no demand named"),
        ("--baselines", "vehicle-actuatd", "did you mean 'vehicle-actuated'"),
        ("--reward", "speed", "unknown reward 'speed'"),
        ("--duration", "700000", "--duration 700000: more than 604800 s"),
    ],
)
def test_a_mistake_is_one_line_before_anything_is_printed(
    run_120: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, needle: str
) -> None:
    code, out, err = run_cli(["evaluate", str(run_120), "--episodes", "1", option, value], capsys)
    assert needle in one_error_line(code, out, err)
    assert out == ""  # was: the model line first, then the error


def test_the_reward_columns_are_said_to_be_sums_over_each_controllers_decisions(
    run_120: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agent deciding every 0.6 s sums its reward over more decisions than vehicle-actuated:
    the output's note and the README say that the sums are not comparable across them."""
    csv = tmp_path / "e.csv"
    code, out, err = run_cli_flat(
        ["evaluate", str(run_120), "--baselines", "vehicle-actuated", "--demands", "low",
         "--episodes", "1", "--reward", "queue", "--output", str(csv), "--timelines", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    decisions = pd.read_csv(csv).set_index("controller")["decisions"]
    assert decisions["dqn_speed"] > decisions["vehicle-actuated"]
    made = ", ".join(f"{c} {n:,.0f}" for c, n in decisions.items())
    assert (
        "note: reward_queue: each episode's reward summed over the controller's own decisions "
        f"(column decisions; per episode here: {made}), so the sums are not comparable across "
        "controllers that decide at different rates; divide by decisions for a mean per "
        "decision" in out
    )
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert (
        "It is summed over the controller's own decisions (column `decisions`, which differs "
        "between controllers: an agent deciding every 0.6 s on gm_a56 makes more than "
        "vehicle-actuated), so the sums are not comparable across controllers that decide at "
        "different rates; evaluate and simulate print a note saying so, with each controller's "
        "decisions per episode." in readme
    )
