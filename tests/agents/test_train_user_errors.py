"""A new user's mistakes with ``intergreen train`` and ``evaluate``: one line, exit code 2,
nothing left that refuses the corrected command (real SUMO, real stable-baselines3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.agents.rundir import holds_run

TINY = ["--agent", "dqn", "--timesteps", "100", "--env", "duration=36"]
NAN_TRAIN = ["--reward-module", "te_rewards", "train", *TINY, "--reward", "te_nan_reward"]

USER_REWARDS = '''
import numpy as np

from intergreen.rewards import registry


@registry.register("te_nan_reward", fields=("halting",))
def te_nan_reward(frames, context) -> float:
    """Not a number, always."""
    return float("nan")


@registry.register("te_buggy", fields=("halting",))
def te_buggy(frames, context) -> float:
    """A typo: raises NameError at the first decision."""
    return -float(frames[-1].halting.sum()) / undefined_name  # noqa: F821


@registry.register("te_long_queues", fields=("halting",))
def te_long_queues(frames, context) -> float:
    """Minus the number of lanes queueing more than 5 vehicles."""
    return -float(np.sum(frames[-1].halting > 5))
'''


@pytest.fixture
def user_rewards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``te_rewards.py`` in the working folder; its rewards are forgotten afterwards."""
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    (tmp_path / "te_rewards.py").write_text(USER_REWARDS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(REWARD_MODULES_ENV, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    _forget_user_rewards()


def _forget_user_rewards() -> None:
    """As a fresh process without --reward-module: the rewards, their modules and the
    variable the option set are gone."""
    import os

    from intergreen.rewards import registry
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    os.environ.pop(REWARD_MODULES_ENV, None)

    for name in ("te_nan_reward", "te_long_queues", "te_buggy"):
        if name in registry.names():
            registry.unregister(name)
    for name in [m for m in sys.modules if "te_rewards" in m]:  # te_rewards_v2 too
        del sys.modules[name]


# ----- item 1: --env values and the keys train sets with options of its own -----------------
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("duration=abc", "error: --env duration='abc': expected a number (input should be "
         "a valid number, unable to parse string as a number)"),
        ("n_stack=2.5", "error: --env n_stack=2.5: expected a whole number (input should be a "
         "valid integer, got a number with a fractional part)"),
        ("backend=fast", "error: --env backend='fast': expected one of 'libsumo', 'traci' "
         "(input should be 'libsumo' or 'traci')"),
        ("duration=-5", "error: --env duration=-5: expected simulated seconds > 0, e.g. --env "
         "duration=3600"),
        ("n_stack=0", "error: --env (env_kwargs): n_stack must be >= 1, got 0"),
        ("bogus=1", "error: --env (env_kwargs): unknown environment option(s) bogus; valid: "
         "n_stack, features, time_scale, duration, backend, gui, action_stages, sensor_noise, "
         "pedestrians, decisions, signals, simulation_factory, render_mode, sensor_fields, "
         "check_rules"),
        ("reward=queue", "error: --env reward: set by --reward, not --env; use --reward"),
        ("demand=low", "error: --env demand: set by --demand, not --env; use --demand"),
        ("junction=gm_a56", "error: --env junction: set by --junction, not --env; use "
         "--junction"),
        ("seed=3", "error: --env seed: set by --seed, not --env; use --seed"),
    ],
)  # fmt: skip
def test_bad_env_option_is_one_line_before_anything_is_written(
    given: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["train", "--agent", "dqn", "--timesteps", "100", "--env", given, "--out", str(out)]
    line = one_error_line(*run_cli(args, capsys))
    assert line == message
    assert not out.exists()


def test_corrected_env_option_trains_in_the_same_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    one_error_line(*run_cli(["train", *TINY, "--env", "seed=3", "--out", str(out)], capsys))
    code, _, err = run_cli(["train", *TINY, "--seed", "3", "--out", str(out)], capsys)
    assert code == 0, err
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["seed"] == 3 and record["env"]["duration"] == 36


# ----- item 2: a run that failed before its first checkpoint is no run ----------------------
def test_failed_start_leaves_nothing_that_refuses_the_corrected_run(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = user_rewards / "runs" / "bad"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")  # the user's: stays
    line = one_error_line(*run_cli([*NAN_TRAIN, "--out", str(out)], capsys))
    assert line == "error: reward 'te_nan_reward' returned nan (not finite); check its inputs"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # config, metrics, tb gone
    code, _, err = run_cli(["train", *TINY, "--reward", "queue", "--out", str(out)], capsys)
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["config"]["reward"] == "queue"
    assert (out / "model.zip").exists() and (out / "notes.txt").read_text() == "mine"


def test_a_folder_the_failed_run_created_goes_with_it(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = user_rewards / "fresh"
    one_error_line(*run_cli([*NAN_TRAIN, "--out", str(out)], capsys))
    assert not out.exists()


def test_holds_run_needs_a_checkpoint_or_a_model(tmp_path: Path) -> None:
    for name in ("config.json", "metrics.csv", "validation.csv", "tb/progress.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    assert not holds_run(tmp_path)
    (tmp_path / "model.zip").write_text("x")
    assert holds_run(tmp_path)
    (tmp_path / "model.zip").unlink()
    (tmp_path / "checkpoints").mkdir()
    assert holds_run(tmp_path)


# ----- item 3: evaluate checks the run's own reward before it prints -------------------------
def test_evaluate_checks_the_runs_own_reward_before_printing(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = user_rewards / "lq"
    code, _, err = run_cli(
        ["--reward-module", "te_rewards", "train", *TINY, "--reward", "te_long_queues",
         "--out", str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    _forget_user_rewards()  # a fresh process without --reward-module
    code, stdout, err = run_cli(
        ["evaluate", str(out), "--episodes", "1", "--demands", "medium", "--baselines", ""],
        capsys,
    )
    line = one_error_line(code, stdout, err)
    module = user_rewards / "te_rewards.py"  # recorded by the run: named, not guessed at
    assert line == (
        f"error: {out}: its training reward 'te_long_queues' is registered by the reward "
        f"module(s) it was trained with: give intergreen --reward-module {module} before the "
        "command"
    )
    assert stdout == ""
    # the reward's formula changed since (version 2): evaluated, with a warning (was silent)
    v2 = USER_REWARDS.replace('"te_long_queues", fields=', '"te_long_queues", version="2", fields=')
    (user_rewards / "te_rewards_v2.py").write_text(v2)
    code, stdout, err = run_cli(
        ["--reward-module", "te_rewards_v2", "evaluate", str(out), "--episodes", "1",
         "--demands", "medium", "--baselines", ""], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert (
        err.count(
            f"warning (intergreen): {out} was trained under reward te_long_queues version 1, which "
            "is version 2 here: its reward_te_long_queues column sums version 2's formula"
        )
        == 1
    ), err


# ----- a new user's trial: the program baseline on gm_a56 is refused before the plan ---------
def test_evaluate_refuses_the_program_baseline_on_gm_a56_before_printing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """gm_a56 has no signal programme of its own: evaluate printed its whole plan (the run's
    model, the episodes) and only then the refusal."""
    out = tmp_path / "run"
    code, _, err = run_cli(["train", *TINY, "--out", str(out)], capsys)
    assert code == 0, err
    for controllers in ([str(out)], ["fixed-time"]):
        code, stdout, err = run_cli(
            ["evaluate", *controllers, "--baselines", "program", "--episodes", "1",
             "--demands", "low"], capsys,
        )  # fmt: skip
        line = one_error_line(code, stdout, err)
        assert line.startswith("error: controller program: junction gm_a56 has no signal ")
        assert line.endswith("(`intergreen junctions import`): choose another controller")
        assert stdout == ""  # was: the run's model and "episodes: 1 per demand, ..." first


def test_train_with_a_function_as_reward_says_to_register_it(tmp_path) -> None:
    """make_env takes a function; train records its reward by name and took pydantic's
    'reward.str: Input should be a valid string; reward.dict[str,any]: ...'."""
    from intergreen.agents.config import AgentConfigError
    from intergreen.agents.training import train

    def mine(frames, context) -> float:
        return 0.0

    with pytest.raises(AgentConfigError) as err:
        train("dqn", reward=mine, timesteps=64, run_dir=tmp_path / "r")
    assert str(err.value).startswith("train: reward must be a registered reward's name or a ")
    assert "registry.register('my_reward', f)) and give reward='my_reward'" in str(err.value)
    assert not (tmp_path / "r").exists()


def test_a_bug_inside_a_users_reward_is_one_line_naming_its_file_and_line(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: an 89-line traceback through typer and intergreen, exit 1. The user's own code is
    at fault: one line naming the reward, the error and where, exit 2, no run left."""
    out = user_rewards / "runs" / "buggy"
    args = ["--reward-module", "te_rewards", "train", *TINY, "--reward", "te_buggy"]
    line = one_error_line(*run_cli([*args, "--out", str(out)], capsys))
    assert line == (
        "error: reward 'te_buggy' raised NameError: name 'undefined_name' is not defined "
        "(te_rewards.py, line 16, in te_buggy); fix the reward's code (--debug shows the "
        "traceback)"
    )
    assert not out.exists()


def test_a_bad_validation_demand_names_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["train", *TINY, "--validate-every", "50", "--validate-demands", "meduim", "--out",
            str(out)]  # fmt: skip
    line = one_error_line(*run_cli(args, capsys))
    assert line.startswith(
        "error: --validate-demands (validate_demands): unknown demand 'meduim' for junction "
        "gm_a56 (did you mean 'medium'?)"
    )
    assert not out.exists()


def test_a_dqn_run_too_short_to_learn_is_told_before_it_trains(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: said only after training, so a run that failed or was stopped never said it. Now
    before the first decision: the note is there although the reward fails at once."""
    out = user_rewards / "runs" / "short"
    args = ["--reward-module", "te_rewards", "train", *TINY, "--reward", "te_buggy"]
    code, _, err = run_cli([*args, "--out", str(out)], capsys)
    assert code == 2
    note = (
        "note: DQN makes its first gradient step after learning_starts 2,000 decisions and this "
        "run trains 100, so its model will not be trained: give more --timesteps, or --hp "
        "learning_starts=N below 100"
    )
    assert err.splitlines()[0] == note and err.splitlines()[1].startswith("error: reward")
    # (a run that reaches its first gradient step is not told: test_imported_defaults)


def test_python_train_warns_what_the_command_line_notes(tmp_path: Path) -> None:
    """train() from a script was silent where ``intergreen train`` notes a DQN run too short
    to learn and a PPO run rounded up to whole collections: both are TrainingNote warnings at
    the script's line, in train()'s arguments rather than the command line's options."""
    from intergreen.agents.training import TrainingNote, train

    with pytest.warns(TrainingNote) as caught:
        train("dqn", timesteps=100, run_dir=tmp_path / "dqn", env_kwargs={"duration": 36})
    assert [str(w.message) for w in caught if w.category is TrainingNote] == [
        "DQN makes its first gradient step after learning_starts 2,000 decisions and this run "
        "trains 100, so its model will not be trained: give more timesteps, or "
        "hyperparams={'learning_starts': N} with N below 100"
    ]
    assert {w.filename for w in caught if w.category is TrainingNote} == {__file__}
    with pytest.warns(TrainingNote) as caught:
        train("ppo", timesteps=100, hyperparams={"n_steps": 64, "batch_size": 32},
              run_dir=tmp_path / "ppo", env_kwargs={"duration": 36})  # fmt: skip
    assert [str(w.message) for w in caught if w.category is TrainingNote] == [
        "PPO collects 64 decisions at a time (n_steps 64) and stops only between collections: "
        "training 128 decisions for the 100 asked (give timesteps as a multiple of 64 to train "
        "exactly that)"
    ]
    assert json.loads((tmp_path / "ppo" / "done.json").read_text())["timesteps"] == 128


def test_a_run_that_fails_leaves_no_file_open(user_rewards: Path) -> None:
    """A reward that raises at the first decision left metrics.csv and the CSV log open (two
    ResourceWarnings once collected) and a progress bar running."""
    import gc
    import warnings

    from intergreen.agents.training import train
    from intergreen.rewards import RewardError

    sys.path.insert(0, str(user_rewards))
    import te_rewards  # noqa: F401 - registers te_buggy

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RewardError, match="te_buggy"):
            train("dqn", reward="te_buggy", timesteps=100, run_dir=user_rewards / "run",
                  env_kwargs={"duration": 36}, progress=True)  # fmt: skip
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_one_rule_says_which_runs_stay_untrained():
    """train, tune and compare all ask this one rule whether a DQN run ends before its first
    gradient step: SB3 learns only once num_timesteps exceeds learning_starts (its default
    where the hyperparameters leave it), and PPO learns from its first collection."""
    import inspect

    from stable_baselines3 import DQN

    from intergreen.agents.config import first_learning_step, stays_untrained

    sb3_default = inspect.signature(DQN.__init__).parameters["learning_starts"].default
    assert first_learning_step("dqn", {}) == sb3_default == 100
    assert first_learning_step("DQN", {"learning_starts": 2000}) == 2000
    assert first_learning_step("ppo", {"learning_starts": 2000}) == 0
    assert stays_untrained("dqn", {"learning_starts": 500}, 500)
    assert not stays_untrained("dqn", {"learning_starts": 500}, 501)
    assert stays_untrained("dqn", {}, 100) and not stays_untrained("dqn", {}, 104)
    assert not stays_untrained("ppo", {"n_steps": 64}, 1)


def test_an_output_path_of_the_wrong_kind_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new user's trial: train --out naming a file (or a path inside one) was a traceback
    (FileExistsError, NotADirectoryError); evaluate --output naming a folder played every
    episode and then failed with IsADirectoryError, its results lost."""
    afile = tmp_path / "grid.net.xml"
    afile.write_text("<net/>")
    for out, message in [
        (afile, f"error: --out {afile}: a file, not a folder; give a folder's path"),
        (afile / "run", f"error: --out {afile / 'run'}: {afile} is a file, not a folder; give "
                        "a folder's path"),
    ]:  # fmt: skip
        line = one_error_line(*run_cli(["train", *TINY, "--out", str(out)], capsys))
        assert line == message
    assert afile.read_text() == "<net/>"
    folder = tmp_path / "results"
    folder.mkdir()
    args = ["evaluate", "fixed-time", "--episodes", "1", "--duration", "30", "--output"]
    line = one_error_line(*run_cli([*args, str(folder)], capsys))
    assert line == f"error: --output {folder} is a folder; give a file path, e.g. {folder}/eval.csv"
    assert not any(folder.iterdir())
    # a new user's trial: --output my_script.py replaced the script with the CSV, and
    # --output newdir/ (the slash gone in the path) wrote a file called newdir
    script = tmp_path / "keep_me.py"
    script.write_text("print('mine')\n")
    newdir = tmp_path / "newdir"
    for given, instead in [(script, tmp_path / "keep_me.csv"), (newdir, tmp_path / "newdir.csv")]:
        line = one_error_line(*run_cli([*args, str(given)], capsys))
        assert line == (
            f"error: --output {given}: it is written as a .csv file; give a path ending in "
            f".csv, e.g. {instead}"
        )
    assert script.read_text() == "print('mine')\n" and not newdir.exists()
    # and simulate's --output is a folder: a name with a file's suffix is a file meant
    line = one_error_line(*run_cli(["simulate", "--duration", "5", "--output",
                                    str(tmp_path / "sim.csv")], capsys))  # fmt: skip
    assert line == (
        f"error: --output {tmp_path / 'sim.csv'}: a folder is written there (several files), "
        f"not a .csv file; give a folder's name, e.g. {tmp_path / 'sim'}"
    )
    assert not (tmp_path / "sim.csv").exists()


def test_a_complete_run_is_called_complete(tmp_path: Path, capsys) -> None:
    """The same train command on a finished run said it held checkpoints and to --resume it;
    --resume then printed the old summary silently."""
    out = tmp_path / "run"
    args = ["train", *TINY, "--out", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    line = one_error_line(*run_cli(args, capsys))
    assert line == (
        f"error: {out} already holds this run, complete (100 decisions); evaluate it "
        f"(intergreen evaluate {out}), or --force to train it again"
    )
    code, printed, err = run_cli([*args, "--resume"], capsys)
    assert code == 0 and '"timesteps": 100' in printed
    assert err.strip() == (
        f"note: {out} holds this run, complete (100 decisions): nothing to train (--force "
        "trains it again)"
    )


def test_resume_of_a_folder_without_a_run_says_it_starts_a_new_one(tmp_path: Path, capsys) -> None:
    """A mistyped --out with --resume trained a new run from nothing without a word."""
    out = tmp_path / "runs" / "typo"
    code, _, err = run_cli(["train", *TINY, "--out", str(out), "--resume"], capsys)
    assert code == 0, err
    assert f"note: {out} holds no checkpoint to resume from: training a new run" in err
