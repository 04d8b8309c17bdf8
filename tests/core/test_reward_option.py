"""``--reward`` takes a reward with parameters as a JSON object in every command that has it
(train, simulate, evaluate, tune), checked by the registry before anything runs; and
``intergreen train`` and Python's ``intergreen.train`` share their defaults (real SUMO, real
stable-baselines3)."""

from __future__ import annotations

import inspect
import json
import math
import shlex
from pathlib import Path

import pandas as pd
import pytest
import typer
from cli_helpers import one_error_line, run_cli

from intergreen.agents.cli import _resume_command, train_command
from intergreen.agents.config import DEFAULT_TRAIN_SEED, DEFAULT_TRAIN_TIMESTEPS, TrainConfig
from intergreen.agents.training import train
from intergreen.cli import app
from intergreen.errors import OptionError
from intergreen.rewards.option import REWARD_HELP, parse_reward
from intergreen.rewards.registry import RewardError

WEIGHTS = {"average_speed": 1, "queue": 0.1}
WEIGHTED = json.dumps({"name": "weighted", "weights": WEIGHTS})
#: What each command needs besides --reward to get as far as reading it.
COMMANDS = {
    "train": ["train", "--agent", "dqn", "--timesteps", "100"],
    "simulate": ["simulate", "--duration", "30"],
    "evaluate": ["evaluate", "fixed-time", "--episodes", "1"],
    "tune": ["tune", "--agent", "dqn", "--max-trials", "1"],
}


def test_parse_reward_reads_a_name_or_a_json_object() -> None:
    assert parse_reward("queue") == "queue"
    assert parse_reward(f"  {WEIGHTED} ") == {"name": "weighted", "weights": WEIGHTS}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            '{"name": 5}',
            "--reward '{\"name\": 5}': a reward's 'name' must be a string, the name of a "
            "registered reward (intergreen rewards list), got 5; e.g. --reward '{",
        ),
        (
            '{"name": "weighted", "weights": {"weighted": 1}}',
            "reward 'weighted': weights.weighted: a weighted reward cannot be one of its own "
            "components; give its components' weights here instead",
        ),
        (
            "[1,2]",
            "--reward '[1,2]': neither a reward name nor a JSON object; give a reward's name "
            "(intergreen rewards list) or its name and parameters as a JSON object, e.g. --reward",
        ),
        (
            '{"name": "weighted", "weights": {"queue": true, "average_speed": 1}}',
            "reward 'weighted': parameter weights.queue must be a number, got True",
        ),
    ],
)
def test_reward_messages_say_what_is_wrong(given: str, message: str) -> None:
    """Each of these was accepted or answered with a misleading message (a new-user trial)."""
    with pytest.raises(OptionError) as refused:
        parse_reward(given)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("queu", "--reward 'queu': unknown reward 'queu'. Did you mean 'queue'?"),
        (
            '{"name": "weighted", "weights": {"average_sped": 1}}',
            "unknown reward 'average_sped'. Did you mean 'average_speed'?",
        ),
        (
            '{"name": "queue", "threshold": 3}',
            '--reward \'{"name": "queue", "threshold": 3}\': reward \'queue\' has no '
            "parameter 'threshold'; valid parameters: none",
        ),
        (
            "weighted",
            "--reward 'weighted': reward 'weighted' needs parameter(s) weights; valid "
            "parameters: weights; give them as JSON, e.g. --reward "
            '\'{"name": "weighted", ...}\' (intergreen rewards show weighted lists them)',
        ),
        (
            '{"name": weighted}',
            "--reward '{\"name\": weighted}': not a JSON object (Expecting value, column 10); "
            "give a reward name or its name and parameters as JSON, e.g. --reward",
        ),
        (
            '{"weights": {"queue": 1}}',
            "a reward given as a mapping needs a 'name' key (got keys: ['weights']); e.g. "
            '--reward \'{"name": "weighted"',
        ),
    ],
)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_reward_is_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, given: str, message: str
) -> None:
    out = tmp_path / "out"
    args = [*COMMANDS[command], "--reward", given]
    if command in ("train", "tune"):
        args += ["--out", str(out)]
    line = one_error_line(*run_cli(args, capsys))
    assert line.startswith(f"error: --reward {given!r}: "), line
    assert message in line
    assert not out.exists()  # refused before anything is written


def test_every_reward_option_says_it_takes_json() -> None:
    """--help of each command with --reward describes both forms."""
    group = typer.main.get_command(app)
    for name in COMMANDS:
        option = next(p for p in group.commands[name].params if p.name == "reward")
        assert REWARD_HELP in option.help and "JSON object" in REWARD_HELP, name


def test_simulate_reports_a_weighted_reward(tmp_path: Path, capsys) -> None:
    """metrics.json records the weights as given (canonical form): no component's default
    parameters filled in while another's are left out."""
    given = json.dumps(
        {"name": "weighted", "weights": {"queue": 0.1, "average_speed": {"weight": 1.0}}}
    )
    code, out, err = run_cli(
        ["simulate", "--duration", "60", "--reward", given, "--output", str(tmp_path)], capsys
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["env"]["reward"]["name"] == "weighted"
    weights = metrics["env"]["reward"]["params"]["weights"]
    assert weights == {"average_speed": {"weight": 1}, "queue": 0.1}
    # the column carries the weights' label, as a batch labels the reward (weighted[HASH])
    from intergreen.experiments.grid import label
    from intergreen.rewards.registry import canonical_reward

    column = f"reward_{label(canonical_reward(json.loads(given)))}"  # a grid's entry's label
    assert column.startswith("reward_weighted[") and column.endswith("]")
    assert math.isfinite(metrics[column]) and metrics[column] != 0


def test_a_run_trained_on_a_weighted_reward_records_it_whole(tmp_path: Path, capsys) -> None:
    """config.json holds the parameters; evaluate sums the run's own reward with them; a
    resume with other parameters is another run; the resume command repeats the JSON."""
    run = tmp_path / "run"
    tiny = ["train", "--agent", "dqn", "--timesteps", "100", "--env", "duration=36"]
    code, _, err = run_cli([*tiny, "--reward", WEIGHTED, "--out", str(run)], capsys)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["reward"] == {"name": "weighted", "weights": WEIGHTS}
    csv = tmp_path / "episodes.csv"
    code, _, err = run_cli(
        ["evaluate", str(run), "--demands", "low", "--episodes", "1", "--baselines", "",
         "--output", str(csv), "--timelines", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    rows = pd.read_csv(csv)
    (column,) = rows.filter(like="reward_").columns
    from intergreen.experiments.grid import label

    assert column == f"reward_{label(config['config']['reward'])}"  # as a batch labels it
    assert column.startswith("reward_weighted[")
    assert math.isfinite(rows[column].iloc[0])
    other = json.dumps({"name": "weighted", "weights": {"average_speed": 1, "queue": 0.2}})
    line = one_error_line(
        *run_cli([*tiny, "--reward", other, "--out", str(run), "--resume"], capsys)
    )
    assert (
        f"holds a run trained on reward {json.dumps(config['config']['reward'])} (this is {other})"
        in line
    )
    again = shlex.split(_resume_command(agent="dqn", out=run, reward=WEIGHTED))
    assert again[again.index("--reward") + 1] == WEIGHTED


# ----- one set of defaults for intergreen train and intergreen.train ------------------------
def test_train_defaults_are_the_command_lines() -> None:
    """Every option the command and the function share has one default; seed and timesteps
    are the README's (200000 decisions, seed 1), also TrainConfig's seed."""
    python = inspect.signature(train).parameters
    cli = inspect.signature(train_command).parameters
    shared = [name for name in cli if name in python]
    assert {"timesteps", "seed", "reward", "junction", "n_envs", "checkpoint_every"} <= set(shared)
    for name in shared:
        assert python[name].default == cli[name].default, name
    assert python["timesteps"].default == DEFAULT_TRAIN_TIMESTEPS == 200_000
    assert python["seed"].default == DEFAULT_TRAIN_SEED == 1
    assert TrainConfig(agent="dqn", timesteps=10).seed == DEFAULT_TRAIN_SEED


def test_the_parameters_hint_only_where_parameters_are_missing() -> None:
    """'give them as JSON' followed every refusal of a known name, also a class without
    compute (a new user's trial), which has no parameters to give."""
    from intergreen.rewards import BaseReward, registry

    class NoCompute(BaseReward):
        pass

    # refused when registered now, in the same words, without the parameters' hint
    with pytest.raises(RewardError) as refused:
        registry.register("ro_nocompute", NoCompute)
    assert str(refused.value) == (
        "reward 'ro_nocompute': class NoCompute defines no compute(self, frames) -> float; a "
        "BaseReward subclass computes its value there"
    )
    with pytest.raises(OptionError) as refused:
        parse_reward("ro_nocompute")
    assert "give them as JSON" not in str(refused.value)
