"""The ``intergreen rewards`` CLI and the README section's example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reward_scenarios import ALL_RED, Scenario
from typer.testing import CliRunner

from intergreen.rewards import registry
from intergreen.rewards.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(title: str = "## Writing your own reward") -> str:
    """The README's section with that heading, up to the next section."""
    text = README.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end != -1 else None]


def test_list_shows_every_reward() -> None:
    result = CliRunner().invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in registry.names():
        assert name in result.output
    assert "count, mean_speed, speed_limit" in result.output  # the fields column


def test_show_gives_formula_and_parameter_defaults() -> None:
    result = CliRunner().invoke(app, ["show", "average_speed_ad"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "r = d_hat * S" in result.output
    for param, default in [("empty_value", "1.0"), ("demand_time_constant", "300.0")]:
        assert re.search(rf"{param}\s*│\s*{re.escape(default)}", result.output)


def test_show_weighted_says_weights_is_required_and_fields_are_its_components() -> None:
    result = CliRunner().invoke(app, ["show", "weighted"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "fields:  those its components read" in lines
    assert "needs a demand estimate: when one of its components does" in lines
    row = next(line for line in lines if "weights" in line and "│" in line)
    assert row.replace("│", " ").split() == ["weights", "(required)"]
    listed = CliRunner().invoke(app, ["list"], env={"COLUMNS": "250"}).output
    row = next(line for line in listed.splitlines() if line.startswith("│ weighted "))
    assert row.rstrip(" │").endswith("its components' fields")
    # each reward's version, in the list and in show (the README said they list it)
    row = next(line for line in listed.splitlines() if line.startswith("│ wait_time "))
    assert row.replace("│", " ").split()[:2] == ["wait_time", "2"]
    shown = CliRunner().invoke(app, ["show", "wait_time"], env={"COLUMNS": "200"}).output
    assert "version: 2 (runs record it; a changed formula gets a new one)" in shown


def test_unknown_reward_is_a_one_line_user_error() -> None:
    result = CliRunner().invoke(app, ["show", "avrage_speed"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Did you mean 'average_speed'" in lines[0]
    assert "Traceback" not in result.output


def test_user_errors_exit_2_when_mounted_in_the_main_cli(capsys) -> None:
    cli = pytest.importorskip("intergreen.cli")
    with pytest.raises(SystemExit) as e:
        cli.main(["rewards", "show", "queue_sqared"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Did you mean 'queue_squared'" in err and "Traceback" not in err


def test_readme_example_works_as_written(scenario: Scenario, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", readme_section(), flags=re.S)
    assert len(blocks) == 2
    assert len(blocks[0].strip().splitlines()) <= 14
    try:
        namespace: dict = {}
        for code in blocks:
            exec(compile(code, str(README), "exec"), namespace)
        assert "long_queues {'threshold': 3.0} ('halting',)" in capsys.readouterr().out
        scenario.signals(ALL_RED)
        for i, dist in enumerate((5, 15, 25, 35)):
            scenario.add(f"s{i}", "S_0", dist, 0)
        scenario.add("e", "E_0", 5, 0)
        long_queues = registry.get("long_queues", threshold=3)
        growth = registry.get("queue_growth")
        for r in (long_queues, growth):
            r.reset(scenario.context)
        assert growth(scenario.run(5)) == 0.0
        assert long_queues(scenario.run(5)) == -1.0  # only S_0 queues more than 3
        scenario.add("w", "W_0", 5, 0)
        assert growth(scenario.run(5)) == -1.0  # the total queue grew from 5 to 6
    finally:
        registry.unregister("long_queues")
        registry.unregister("queue_growth")


DUP_MODULE = """
from intergreen.rewards import registry


@registry.register("{name}")
def first(frames, context) -> float:
    return 0.0


@registry.register("{name}")
def second(frames, context) -> float:
    return 1.0
"""

ONE_REWARD = """
from intergreen.rewards import registry


@registry.register("{name}")
def only(frames, context) -> float:
    return 0.0
"""


@pytest.fixture
def rewards_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty working folder for user reward modules; the rewards ``rw_*`` and modules
    ``rw_*`` it gets are forgotten afterwards."""
    import sys

    from intergreen.rewards.registry import REWARD_MODULES_ENV

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(REWARD_MODULES_ENV, "")  # restored afterwards, also when the CLI sets it
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in [n for n in registry.names() if n.startswith("rw_")]:
        registry.unregister(name)
    for name in [m for m in sys.modules if "rw_" in m]:
        del sys.modules[name]


def test_a_name_registered_twice_in_one_module_names_that_module(
    rewards_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli_helpers import one_error_line, run_cli

    (rewards_folder / "rw_dup.py").write_text(DUP_MODULE.format(name="rw_dup_r"))
    line = one_error_line(*run_cli(["--reward-module", "rw_dup", "rewards", "list"], capsys))
    assert line == (
        "error: reward 'rw_dup_r' is registered twice in module rw_dup: rename one, or pass "
        "replace=True to the later register to replace the earlier"
    )
    # across two modules the message names the module that registered it first
    (rewards_folder / "rw_one.py").write_text(ONE_REWARD.format(name="rw_taken"))
    (rewards_folder / "rw_two.py").write_text(ONE_REWARD.format(name="rw_taken"))
    args = ["--reward-module", "rw_one", "--reward-module", "rw_two", "rewards", "list"]
    line = one_error_line(*run_cli(args, capsys))
    assert line == (
        "error: reward 'rw_taken' is already registered (module rw_one); pass replace=True to "
        "replace it"
    )
    # a built-in keeps its word
    (rewards_folder / "rw_queue.py").write_text(ONE_REWARD.format(name="queue"))
    line = one_error_line(*run_cli(["--reward-module", "rw_queue", "rewards", "list"], capsys))
    assert line.endswith("reward 'queue' is already registered (built-in); pass replace=True "
                         "to replace it")  # fmt: skip


def test_the_variable_is_read_as_the_option_is(
    rewards_folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """$INTERGREEN_REWARD_MODULES with a missing module was a warning printed twice and exit
    0, and 'a;b' one module name: now one line and exit 2, as --reward-module."""
    from cli_helpers import one_error_line, run_cli

    from intergreen.rewards.registry import REWARD_MODULES_ENV

    monkeypatch.setenv(REWARD_MODULES_ENV, "rw_absent")
    line = one_error_line(*run_cli(["rewards", "list"], capsys))
    assert line.startswith("error: reward module 'rw_absent': no such module in the working ")
    assert line.endswith(f"(named in ${REWARD_MODULES_ENV})")
    (rewards_folder / "rw_one.py").write_text(ONE_REWARD.format(name="rw_one_r"))
    (rewards_folder / "rw_two.py").write_text(ONE_REWARD.format(name="rw_two_r"))
    monkeypatch.setenv(REWARD_MODULES_ENV, "rw_one;rw_two")
    line = one_error_line(*run_cli(["rewards", "list"], capsys))
    assert line == (
        f"error: ${REWARD_MODULES_ENV}='rw_one;rw_two': 'rw_one;rw_two' is not a module name "
        "or .py path; separate modules with commas, e.g. my_rewards,other_rewards"
    )
    monkeypatch.setenv(REWARD_MODULES_ENV, "rw_one, rw_two")
    code, out, err = run_cli(["rewards", "list"], capsys)
    assert code == 0 and "rw_one_r" in out and "rw_two_r" in out, err


@pytest.mark.parametrize("first_as_file", [False, True])
def test_one_module_named_twice_is_loaded_once(
    rewards_folder: Path, capsys: pytest.CaptureFixture[str], first_as_file: bool
) -> None:
    from cli_helpers import run_cli

    (rewards_folder / "rw_mine.py").write_text(ONE_REWARD.format(name="rw_mine_r"))
    specs = ["rw_mine", "rw_mine.py"][:: -1 if first_as_file else 1]
    args = ["--reward-module", specs[0], "--reward-module", specs[1], "rewards", "show"]
    code, out, err = run_cli([*args, "rw_mine_r"], capsys)
    assert (code, err) == (0, "")
    assert f"source:  module {specs[0]}\n" in out  # where it was loaded from: the first spec


def test_the_pressure_deprecation_prints_one_warning_line() -> None:
    """In a fresh process with Python's default warning filters (pytest's show every
    DeprecationWarning, which Python hides): one line, as every library warning prints."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    drop = ("PYTHONWARNINGS", REWARD_MODULES_ENV)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    proc = subprocess.run(
        [sys.executable, "-m", "intergreen", "simulate", "--reward", "pressure",
         "--duration", "30"],
        capture_output=True, text=True, timeout=300, cwd=root,
        env={**env, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "reward_pressure" in proc.stdout
    assert proc.stderr.splitlines() == [PRESSURE_LINE]


PRESSURE_LINE = (
    "warning (intergreen): reward 'pressure' is deprecated (it is not max-pressure): use "
    "'vehicles_in_view'"
)


def _build_pressure(folder: str) -> int:
    """In a worker: meet the other job in ``folder``, then build the reward."""
    from meeting import meet

    pid = meet(folder, 2)
    registry.get("pressure")
    return pid


def test_the_pressure_deprecation_of_workers_shows_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers (training envs, evaluate's pool) build the reward again: their deprecation
    warnings go to the user's process, which has shown it already (it built the reward too),
    so one command gives one line."""
    from intergreen.common import folded_warnings
    from intergreen.rewards.registry import REWARD_MODULES_ENV
    from intergreen.workers import CrashSafePool

    monkeypatch.delenv(REWARD_MODULES_ENV, raising=False)
    outcomes = []
    with folded_warnings(), CrashSafePool(2, "spawn") as pool:
        registry.get("pressure")
        for i in range(2):
            pool.submit(i, _build_pressure, str(tmp_path))
        while pool.pending:
            outcomes += pool.wait()
    assert all(o.error is None for o in outcomes) and len({o.result for o in outcomes}) == 2
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert lines == [PRESSURE_LINE]


@pytest.mark.slow
def test_training_on_three_envs_prints_the_pressure_deprecation_once(tmp_path: Path) -> None:
    """`train --n-envs 3` (two envs in worker processes) with validation (a worker of its
    own, whose warning came back after loading torch had reset the once-per-location record:
    twice before) in a fresh process with Python's default warning filters: one line."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    drop = ("PYTHONWARNINGS", REWARD_MODULES_ENV)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    proc = subprocess.run(
        [sys.executable, "-m", "intergreen", "train", "--agent", "ppo", "--reward", "pressure",
         "--n-envs", "3", "--timesteps", "24", "--hp", "n_steps=8", "--hp", "batch_size=8",
         "--env", "duration=30", "--out", str(tmp_path / "run"), "--validate-every", "24",
         "--validate-episodes", "1"],
        capture_output=True, text=True, timeout=600, cwd=root,
        env={**env, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "model.zip").is_file()
    assert proc.stderr.splitlines() == [PRESSURE_LINE]


def test_readme_says_what_list_and_show_print() -> None:
    section = readme_section("## Built-in rewards")
    assert (
        "`intergreen rewards list` lists them (name, version, one-line description, the sensor "
        "fields\neach reads); `intergreen rewards show NAME` gives one's formula, parameters with "
        "their\ndefaults, source and version" in section
    )
    listed = CliRunner().invoke(app, ["list"], env={"COLUMNS": "250"}).output
    header = next(line for line in listed.splitlines() if "name" in line)
    assert header.replace("┃", " ").split() == ["name", "version", "description", "fields"]
    assert "r = -Q" not in listed  # the formula is show's
    shown = CliRunner().invoke(app, ["show", "queue"], env={"COLUMNS": "250"}).output
    assert "formula: r = -Q,  Q = sum over lanes of halting vehicles at the last frame" in shown
    for word in ("parameters:", "source:  built-in"):
        assert word in shown


def test_a_run_trained_on_pressure_prints_its_deprecation_once(tmp_path: Path) -> None:
    """`evaluate RUN` and `simulate --controller RUN` build the run's reward for their checks
    and again in the episode's env, after loading the model has changed the warning filters
    (which clears Python's once-per-location record): one line each, not two."""
    import os
    import subprocess
    import sys

    from intergreen.agents.training import train
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    run = tmp_path / "run"
    with pytest.warns(FutureWarning, match="'pressure' is deprecated"):
        train("dqn", reward="pressure", timesteps=100, run_dir=run, env_kwargs={"duration": 36},
              hyperparams={"learning_starts": 50, "buffer_size": 1000})  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    drop = ("PYTHONWARNINGS", REWARD_MODULES_ENV)
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONPATH": str(root)}
    commands = (
        ["simulate", "--controller", str(run), "--reward", "pressure", "--duration", "30"],
        ["evaluate", str(run), "--baselines", "vehicle-actuated", "--episodes", "1",
         "--demands", "low", "--timelines", "0", "--output", str(tmp_path / "episodes.csv")],
    )  # fmt: skip
    for command in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "intergreen", *command],
            capture_output=True, text=True, timeout=300, cwd=root, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines() == [PRESSURE_LINE], command
