"""One error base for user errors; the CLI shows them as one line and exit code 2, and shows
every other exception (a bug) with its traceback."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from intergreen import errors
from intergreen.cli import app
from intergreen.cli_common import IntergreenGroup, new_app
from intergreen.errors import (
    IntergreenError,
    OptionError,
    closest,
    did_you_mean,
    format_validation_error,
    validation_problems,
)

ROOT = Path(__file__).resolve().parents[2]


#: Exceptions of the package that are not user errors: bugs or internal signals, which keep
#: their traceback.
NOT_USER_ERRORS = {
    "intergreen.agents.training.TrainingNote",  # a warning: train()'s notes to a script
    "intergreen.agents.vecenv.WorkerError",  # an env failed in a worker: its traceback follows
    "intergreen.errors.Interrupted",  # Ctrl-C (a KeyboardInterrupt): exit 130, what was saved
    "intergreen.workers.WorkerDied",  # reported per job by the pools' callers
    "intergreen.yamlfile._DuplicateKey",  # internal: becomes a YamlError
}


def package_exceptions() -> dict[str, type]:
    """Every exception class defined in the package (all modules imported)."""
    found = {}
    for path in sorted((ROOT / "intergreen").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name.endswith("ray_searcher"):  # needs the optional Ray
            continue
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, BaseException)
                    and obj.__module__ == name):  # fmt: skip
                found[f"{name}.{obj.__qualname__}"] = obj
    return found


EXCEPTIONS = package_exceptions()


def test_the_package_defines_its_errors() -> None:
    assert {"intergreen.junctions.spec.SpecError", "intergreen.rewards.registry.RewardError",
            "intergreen.calibration.counts.CountsError", "intergreen.errors.OptionError",
            "intergreen.tuning.loop.TuneError"} <= set(EXCEPTIONS)  # fmt: skip
    assert set(EXCEPTIONS) >= NOT_USER_ERRORS


@pytest.mark.parametrize("name", sorted(set(EXCEPTIONS) - NOT_USER_ERRORS))
def test_every_user_error_derives_from_the_one_base(name: str) -> None:
    """A new error class is a user error (IntergreenError: one line in the CLI) unless it is
    listed in NOT_USER_ERRORS."""
    cls = EXCEPTIONS[name]
    assert issubclass(cls, IntergreenError)
    if cls is not IntergreenError:  # code written against the older bases keeps working
        assert issubclass(cls, ValueError | RuntimeError)


def invoke(args: list[str]):
    return CliRunner().invoke(app, args, env={"COLUMNS": "300"}, prog_name="intergreen")


def assert_one_line(result, *words: str) -> None:
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["compare", "no_such_grid", "--out", "{tmp}/c"], ["no_such_grid", "study_quick"]),
        (["tune", "--agent", "dqn", "--out", "{tmp}/t", "--budget", "soon"], ["budget 'soon'"]),
        (["train", "--agent", "dqn", "--out", "{tmp}/r", "--time-limit", "soon"],
         ["--time-limit 'soon'", "30m"]),
        (["train", "--agent", "dqn", "--out", "{tmp}/r", "--hp", "novalue"], ["--hp 'novalue'"]),
        (["train", "--agent", "sac", "--out", "{tmp}/r", "--timesteps", "10"], ["unknown agent"]),
        (["evaluate", "vehicle-actuated", "--protocol", "fast"], ["--protocol 'fast'"]),
        (["rewards", "show", "avrage_speed"], ["Did you mean 'average_speed'"]),
        (["simulate", "--controller", "fixed-time", "--param", "colour=red", "--duration", "30"],
         ["controller fixed-time", "colour"]),
        (["simulate", "--nope"], ["--nope", "intergreen simulate --help"]),
        (["train", "--agent", "dqn", "--out", "{tmp}/r", "--timesteps", "12", "--env",
          "signals=bogus"], ["signals='bogus'", "controller, program"]),
        (["train", "--agent", "dqn", "--out", "{tmp}/r", "--timesteps", "12", "--env",
          "duration=0"], ["--env duration=0: expected simulated seconds > 0"]),
        (["junctions", "import", "{net}", "--rules", "nonesuch", "--out", "{tmp}/j"],
         ["unknown signal-rule profile 'nonesuch'", "uk"]),
    ],
)  # fmt: skip
def test_user_errors_of_every_part_are_one_line(args: list[str], words: list[str], tmp_path):
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.network import build_network

    net = str(build_network(resolve_junction("gm_a56")).net_file) if "{net}" in args else ""
    result = invoke([a.replace("{tmp}", str(tmp_path)).replace("{net}", net) for a in args])
    assert_one_line(result, *words)


def test_param_for_a_trained_agent_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "my_run"
    run.mkdir()
    result = invoke(["simulate", "--controller", str(run), "--param", "max_green=40"])
    assert_one_line(result, "--param max_green", "trained agent", "takes no parameters")


def test_debug_shows_the_traceback_of_a_user_error() -> None:
    result = invoke(["--debug", "simulate", "--junction", "nowhere"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "SpecError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: unknown junction 'nowhere'")
    # without --debug: the line alone
    assert_one_line(invoke(["simulate", "--junction", "nowhere"]), "unknown junction")


def test_a_bug_is_not_disguised_as_a_user_error(monkeypatch) -> None:
    """A ValueError from numpy inside a command is a bug: traceback, not 'error: ...'."""
    import intergreen.junctions.catalog as catalog

    def broken() -> list[str]:
        return list(np.zeros(2) + np.zeros(3))  # operands could not be broadcast

    monkeypatch.setattr(catalog, "junction_names", broken)
    result = invoke(["junctions", "list"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert "broadcast" in str(result.exception)
    assert "error:" not in result.stderr


def test_an_app_of_the_project_separates_user_errors_from_bugs() -> None:
    demo = new_app()

    @demo.command()
    def user() -> None:
        raise OptionError("--size 0: must be >= 1")

    @demo.command()
    def bug() -> None:
        np.linalg.cholesky(-np.eye(2))

    assert_one_line(CliRunner().invoke(demo, ["user"]), "--size 0: must be >= 1")

    @demo.command()
    def brackets() -> None:
        raise OptionError("stages [2, 4] and [bold] in runs/a[/b]: not markup")

    # rich markup would drop '[bold]' and fail on '[/b]' (a traceback for a user error)
    assert_one_line(CliRunner().invoke(demo, ["brackets"]),
                    "stages [2, 4] and [bold] in runs/a[/b]: not markup")  # fmt: skip
    result = CliRunner().invoke(demo, ["bug"])
    assert result.exit_code == 1 and isinstance(result.exception, np.linalg.LinAlgError)


def test_every_command_group_handles_errors_the_same_way() -> None:
    import typer.main

    root = typer.main.get_command(app)
    assert isinstance(root, IntergreenGroup)
    assert {"simulate", "junctions", "rewards", "train", "evaluate", "tune", "compare",
            "report", "calibrate"} <= set(root.commands)  # fmt: skip


def test_a_broken_subcommand_import_is_not_swallowed() -> None:
    """A part whose import fails stops the command (before: `tune` silently vanished)."""
    code = (
        "import sys; sys.modules['intergreen.tuning.cli'] = None\n"
        "try:\n    import intergreen.cli\nexcept ImportError as e:\n    print('ImportError', e)\n"
        "else:\n    print('imported')\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env
    )
    assert out.stdout.startswith("ImportError"), out.stdout + out.stderr


def test_console_script_debug_and_exit_codes() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "intergreen.cli", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)  # fmt: skip

    plain = run("junctions", "show", "nope")
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1
    assert plain.stderr.startswith("error: unknown junction 'nope'")
    debug = run("--debug", "junctions", "show", "nope")
    assert debug.returncode == 2 and "Traceback (most recent call last)" in debug.stderr


def test_format_validation_error_names_source_and_fields() -> None:
    from pydantic import BaseModel, Field, ValidationError, field_validator

    class M(BaseModel):
        amber: float = Field(gt=0)
        name: str

        @field_validator("name")
        @classmethod
        def _name(cls, v: str) -> str:
            if not v:
                raise ValueError("must not be empty")
            return v

    with pytest.raises(ValidationError) as e:
        M(amber=-1, name="")
    text = format_validation_error(e.value, "j.yaml")
    assert text == "j.yaml: amber: Input should be greater than 0; name: must not be empty"
    assert errors.validation_problems(e.value) == text.removeprefix("j.yaml: ").split("; ")


def test_pydantic_errors_of_user_input_become_one_line_user_errors(tmp_path: Path) -> None:
    """Validation errors of arguments and files a user gives are IntergreenErrors naming the
    source and the field (they were pydantic tracebacks)."""
    from intergreen.agents.config import AgentConfigError
    from intergreen.agents.training import RunDirError, load_run_config, train
    from intergreen.junctions.env import make_env
    from intergreen.junctions.spec import SpecError

    with pytest.raises(AgentConfigError, match="^train: n_envs: Input should be greater than"):
        train("dqn", timesteps=10, n_envs=0, run_dir=tmp_path / "run")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text('{"config": {"agent": "dqn", "timesteps": -1}}')
    with pytest.raises(RunDirError, match="config.json: timesteps: Input should be greater"):
        load_run_config(bad)
    with pytest.raises(SpecError, match="^sensor_noise: miss_prob: Input should be less than"):
        make_env("gm_a56", sensor_noise={"miss_prob": 2})
    result = invoke(["train", "--agent", "dqn", "--out", str(tmp_path / "r"), "--timesteps", "10",
                     "--env", 'sensor_noise={"miss_prob": 2}'])  # fmt: skip
    assert_one_line(result, "sensor_noise: miss_prob")


def test_an_unknown_key_names_the_closest_and_the_keys_allowed_there(tmp_path) -> None:
    """A misspelt key in a grid (top level, nested model, a mapping of models) or a junction
    spec: the keys allowed at that place and the closest one, not pydantic's "Extra inputs
    are not permitted"; a key far from every allowed one gets no guess."""
    from intergreen.experiments.grid import GridError, load_grid

    grid = tmp_path / "typo.yaml"
    grid.write_text(
        "name: typo\njunction: gm_a56\nrewards: [queue]\n"
        "agents:\n  dqn: {preset: dqn, hyperparms: {}}\nseeds: [1, 2]\n"
        "training: {timesteps: 300, chekpoint_every: 100}\n"
        "evaluation: {demands: [low], episodes: 1}\nepisode_duraton: 60\nzzz: 1\n"
    )
    with pytest.raises(GridError) as err:
        load_grid(str(grid))
    problems = err.value.problems
    assert problems[0] == (
        "agents.dqn.hyperparms: unknown key (did you mean 'hyperparams'?); the keys here are "
        "agent, preset, hyperparams, tuned"
    )
    assert problems[1].startswith(
        "training.chekpoint_every: unknown key (did you mean 'checkpoint_every'?); the keys "
        "here are timesteps, n_envs, checkpoint_every,"
    )
    assert problems[2].startswith(
        "episode_duraton: unknown key (did you mean 'episode_duration'?); the keys here are "
        "name, junction, rewards, agents,"
    )
    assert problems[3].startswith("zzz: unknown key; the keys here are name, junction,")


def test_without_a_model_pydantics_message_stays() -> None:
    from pydantic import BaseModel, ConfigDict, ValidationError

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        speed: float = 1.0

    with pytest.raises(ValidationError) as err:
        Strict.model_validate({"sped": 2})
    assert validation_problems(err.value) == ["sped: Extra inputs are not permitted"]
    assert validation_problems(err.value, Strict) == [
        "sped: unknown key (did you mean 'speed'?); the keys here are speed"
    ]


def test_did_you_mean_ignores_case_and_gives_nothing_far() -> None:
    assert did_you_mean("Medium", ["low", "medium"]) == " (did you mean 'medium'?)"
    assert did_you_mean("rush", ["low", "medium", "high"]) == ""
    assert closest("mixd", ["mixed", "medium"]) == "mixed"
