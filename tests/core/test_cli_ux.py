"""What a user meets at the command line (issue 20, items 7-12): messages that say what to do,
the version, progress and numbers as people read them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.cli import main
from intergreen.version import __version__


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"intergreen {__version__}"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["evaluate", "vehicle-actuatd", "--episodes", "1"],
         ["unknown controller 'vehicle-actuatd'", "did you mean 'vehicle-actuated'"]),
        (["evaluate", "runs/nonexistent", "--episodes", "1"],
         ["runs/nonexistent: no such run folder or model file"]),
        (["simulate", "--controller", "runs/nonexistent", "--duration", "10"],
         ["runs/nonexistent: no such run folder or model file"]),
        (["simulate", "--controller", "vehicle-actuatd", "--duration", "10"],
         ["did you mean 'vehicle-actuated'"]),
        (["simulate", "--controller", "System_D", "--duration", "10"],  # an engineer's term
         ["System D vehicle actuation is the vehicle-actuated baseline: did you mean "
          "'vehicle-actuated'?"]),
        (["evaluate", "webster", "--episodes", "1"],
         ["Webster's plan is the fixed-time baseline's: did you mean 'fixed-time'?"]),
        (["simulate", "--param", "max_gren=40", "--duration", "10"],
         ["unknown parameter 'max_gren'", "did you mean 'max_green'", "valid: extension"]),
        (["simulate", "--param", "max_green=abc", "--duration", "10"],
         ["max_green", "expected seconds > 0", "'abc'"]),
        (["simulate", "--controller", "random", "--param", "seed=abc", "--duration", "10"],
         ["controller random", "seed='abc'"]),
    ],
)  # fmt: skip
def test_controller_messages(
    capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    line = one_error_line(*run_cli(args, capsys))
    for w in words:
        assert w in line, line


def test_calibrate_suggests_tfgm_prefix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    raw = tmp_path / "rawpvr.csv"
    raw.write_text(
        "date,Site ID,LaneNumber,LaneDescription,LaneDirection,DirectionDescription,Volume,Flags\n"
        "01/02/18 00:00:00,00001415,1,NB_NS,1,North,12,0\n"
    )
    line = one_error_line(
        *run_cli(["calibrate", "--counts", str(raw), "--out", str(tmp_path / "c")], capsys)
    )
    assert "TfGM rawpvr export" in line
    assert f"--counts tfgm:{raw}" in line
    assert not (tmp_path / "c").exists()


def test_ray_address_without_cluster_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # `auto` finds a cluster through RAY_TMPDIR's ray_current_cluster file: a private folder,
    # so that a local cluster of another test running beside this one (tests/experiments/
    # test_ray.py under xdist) is not found
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray_tmp"))
    line = one_error_line(
        *run_cli(
            ["compare", "study_quick", "--out", str(tmp_path / "r"), "--executor", "ray",
             "--address", "auto"],
            capsys,
        )
    )  # fmt: skip
    assert "--address auto: no Ray cluster" in line
    assert "ray start --head" in line and "drop --address" in line
    line = one_error_line(
        *run_cli(
            ["compare", "study_quick", "--out", str(tmp_path / "r"), "--address", "auto"], capsys
        )  # fmt: skip
    )
    assert "add --executor ray" in line


# ----- item 12: set-up and docs ---------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]


def test_install_has_no_license_deprecation() -> None:
    """setuptools warns on ``project.license`` as a table (twice per install): an SPDX string
    and a setuptools that reads it leave the configuration warning-free."""
    import tomllib
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(pyproject["project"]["license"], str)
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [str(w.message) for w in caught] == []


def test_saved_files_and_folders_follow_the_umask(tmp_path: Path) -> None:
    """Calibrated demands and reports are written through atomic_write and temp_folder:
    readable by others as a plain open/mkdir would make them, not tempfile's 0600/0700."""
    import os
    import stat

    from intergreen.common import atomic_write, temp_folder

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "demands" / "gm_a56" / "x.yaml", "a: 1\n")
        folder = temp_folder(tmp_path, ".report-")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "demands" / "gm_a56" / "x.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_readme_states_the_default_decision_timing() -> None:
    """The README's timing sentence follows the code: JunctionEnv's default and the presets
    that use another timing."""
    import inspect

    import yaml

    from intergreen.junctions.env import JunctionEnv

    default = inspect.signature(JunctionEnv.__init__).parameters["decisions"].default
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"`{default}` is the environment's default" in readme
    presets = yaml.safe_load((ROOT / "intergreen/agents/presets.yaml").read_text())
    other = [n for n, p in presets.items() if p.get("env", {}).get("decisions", default) != default]
    assert other == ["dqn", "ppo"]
    assert (
        "the `dqn` and `ppo` presets, and so `intergreen train` without `--preset`, use "
        "`every_interval`"
    ) in readme


def test_study_quick_comment_matches_what_it_runs() -> None:
    """The grid's comment says how many training episodes its decisions make."""
    import re

    import yaml

    from intergreen.junctions.catalog import resolve_junction

    path = ROOT / "intergreen/experiments/configs/study_quick.yaml"
    text = path.read_text()
    grid = yaml.safe_load(text)
    presets = yaml.safe_load((ROOT / "intergreen/agents/presets.yaml").read_text())
    assert presets[grid["agents"]["dqn"]["preset"]]["env"]["decisions"] == "every_interval"
    step = resolve_junction(grid["junction"]).timing.decision_interval  # one decision, s
    timesteps = grid["training"]["timesteps"]
    episodes = timesteps * step / grid["episode_duration"]
    comment = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    m = re.search(r"(\d[\d ]*) decisions per run \(about ([\d.]+) training episodes of (\d+) s",
                  comment)  # fmt: skip
    assert m is not None, comment
    assert int(m.group(1).replace(" ", "")) == timesteps
    assert float(m.group(2)) == round(episodes, 1)
    assert int(m.group(3)) == grid["episode_duration"]


def test_bench_skips_sumo_rl_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make bench` without the optional sumo-rl: one line saying (c) is skipped."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("env_tp", ROOT / "benchmarks/env_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "sumo_rl", None)  # find_spec then finds nothing
    why = module.sumo_rl_missing()
    assert why is not None and "sumo-rl is not installed: skipping (c)" in why
    assert "intergreen[benchmark]" in why


# ----- item 7: numbers as people read them ------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0001331479454434271, "1.33e-4"), (0.0133, "0.0133"), (0.98, "0.98"), (1024, "1024"),
     (999.5, "1000"), (12345.678, "12346"), (2.05e6, "2.05e6"), (1e-5, "1e-5"), ("tanh", "tanh"),
     (True, "True"), (0.0, "0")],
)  # fmt: skip
def test_fmt_number(value: object, text: str) -> None:
    from intergreen.common import fmt_number

    assert fmt_number(value) == text


def test_single_episode_spread_is_na() -> None:
    import pandas as pd

    from intergreen.agents.evaluation import summary_table

    rows = [
        {"controller": "a", "demand": "low", "avg_waiting_time": 42.58},
        {"controller": "b", "demand": "low", "avg_waiting_time": 10.0},
        {"controller": "b", "demand": "low", "avg_waiting_time": 12.0},
    ]
    table = summary_table(pd.DataFrame(rows))
    assert table.loc["a", "low"] == "42.58 ± n/a"
    assert table.loc["b", "low"] == "11.00 ± 1.41"


def test_library_warnings_are_one_line_each() -> None:
    """stable-baselines3's multi-line UserWarning (a PPO minibatch that does not divide the
    rollout) prints as one line naming the package, without a site-packages path; the same
    printer runs in the worker processes of CrashSafePool."""
    import subprocess
    import sys

    code = (
        "import gymnasium as gym\n"
        "from intergreen.common import folded_warnings\n"
        "from stable_baselines3 import PPO\n"
        "with folded_warnings():\n"
        "    PPO('MlpPolicy', gym.make('CartPole-v1'), n_steps=100, batch_size=64, device='cpu')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("warning (stable_baselines3): You have specified a mini-batch")
    assert "site-packages" not in done.stderr and "warnings.warn(" not in done.stderr


def test_a_warning_of_two_pool_workers_shows_once_as_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Two jobs that meet (so each runs in its own worker) raise the same warning: the owner
    prints it once, in its own format (the CLI's one line here), not each worker in Python's
    two-line form; a job that fails still hands its warnings over."""
    from intergreen.common import folded_warnings
    from intergreen.workers import CrashSafePool

    outcomes = []
    with folded_warnings(), CrashSafePool(2, "spawn") as pool:
        for i in range(2):
            pool.submit(i, _warn, str(tmp_path), "first line\n  second line")
        while pool.pending:
            outcomes += pool.wait()
        pool.submit("fails", _warn, "", "before failing")
        (failed,) = pool.wait()
    assert all(o.error is None for o in outcomes) and len({o.result for o in outcomes}) == 2
    assert isinstance(failed.error, ValueError)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert lines == [
        "warning (test_cli_ux): first line second line",
        "warning (test_cli_ux): before failing",
    ]


def _warn(folder: str, text: str) -> int:
    """In a worker: meet the other job in ``folder``, then warn ``text``; without a folder,
    warn and fail."""
    import warnings

    from meeting import meet

    pid = meet(folder, 2) if folder else 0
    warnings.warn(text, UserWarning, stacklevel=1)
    if not folder:
        raise ValueError("failed after warning")
    return pid


# ----- item 9: train what is said ---------------------------------------------------------------
def test_train_says_it_rounds_to_whole_rollouts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """PPO stops only between rollouts: 200 decisions asked with n_steps 128 trains 256, and
    the command says so before training."""
    import json

    from intergreen.agents.config import collection_unit, planned_timesteps

    assert collection_unit("ppo", {"n_steps": 1024}, 2) == 2048
    assert planned_timesteps(0, 5000, 2048) == 6144  # the run
    assert planned_timesteps(0, 4096, 2048) == 4096
    assert collection_unit("dqn", {"train_freq": [1, "episode"]}, 1) is None
    out = tmp_path / "ppo"
    code, stdout, err = run_cli(
        ["train", "--agent", "ppo", "--timesteps", "200", "--hp", "n_steps=128",
         "--hp", "batch_size=64", "--env", "duration=60", "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "training 256 decisions for the 200 asked" in " ".join(err.split())
    assert json.loads((out / "done.json").read_text())["timesteps"] == 256
    # the summary is one JSON line a script can parse, whatever the terminal's width
    assert json.loads(stdout.strip().splitlines()[-1])["timesteps"] == 256


# ----- item 8: Ctrl-C says what was saved -------------------------------------------------------
#: ``python -m intergreen.cli`` with Ctrl-C (SIGINT) raising KeyboardInterrupt even where the
#: test runner was started as a background job of a non-interactive shell, whose children
#: inherit SIGINT ignored (and Python then installs no handler for it).
CLI_WITH_CTRL_C = [
    sys.executable, "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('intergreen.cli', run_name='__main__', alter_sys=True)",
]  # fmt: skip


def test_ctrl_c_in_train_says_what_was_saved_and_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import shlex
    import signal
    import subprocess
    import time

    out = tmp_path / "dqn run"
    args = ["train", "--agent", "dqn", "--timesteps", "100000", "--checkpoint-every", "150",
            "--env", "duration=60", "--hp", "learning_starts=50", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*CLI_WITH_CTRL_C, *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine starts slowly
        while not (out / "checkpoints" / "latest.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    text = " ".join(stderr.split())
    assert "interrupted: training stopped at decision" in text
    assert "the newest checkpoint is at decision" in text
    assert "--resume continues from there" in text
    command = stderr.split("resume with: ", 1)[1].strip()
    assert shlex.split(command) == [
        "intergreen", "train", "--agent", "dqn", "--out", str(out), "--timesteps", "100000",
        "--hp", "learning_starts=50", "--env", "duration=60", "--checkpoint-every", "150",
        "--resume",
    ]  # fmt: skip
    # the killed run has no model.zip: evaluate takes its newest checkpoint and says so
    import json

    assert not (out / "model.zip").exists()
    step = json.loads((out / "checkpoints" / "latest.json").read_text())["step"]
    code, stdout, err = run_cli(
        ["evaluate", str(out), "--episodes", "1", "--demands", "low", "--baselines", "",
         "--duration", "30", "--output", str(tmp_path / "e.csv"), "--timelines", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert f"latest checkpoint (step {step}): the run has no model.zip" in " ".join(stdout.split())
    assert len(__import__("pandas").read_csv(tmp_path / "e.csv")) == 1


TINY_GRID = """name: tiny
junction: gm_a56
rewards: [queue]
agents:
  dqn:
    preset: dqn
    hyperparams: {learning_starts: 20}
train_demands: [low]
seeds: [1, 2]
training:
  timesteps: 60
  n_envs: 1
  checkpoint_every: 1000
evaluation:
  demands: [low]
  episodes: 1
baselines: [vehicle-actuated]
episode_duration: 36
"""


@pytest.mark.parametrize(
    ("how", "code", "word"), [("ctrl-c", 130, "interrupted"), ("sigterm", 143, "terminated")]
)
def test_ctrl_c_in_compare_counts_the_runs_on_disk(
    tmp_path: Path, how: str, code: int, word: str
) -> None:
    """Interrupted after some runs finished: the count is of the runs complete on disk. Ctrl-C
    reaches every process of the terminal's group; SIGTERM (``kill PID``, a scheduler) only
    the command's, which ends it the same way (its workers stopped, no traceback, no library
    warning about what the killed workers held) with exit code 143."""
    import os
    import re
    import signal
    import subprocess
    import time

    from intergreen.experiments.grid import load_grid
    from intergreen.experiments.runner import is_complete, plan_tasks

    grid = tmp_path / "tiny.yaml"
    grid.write_text(TINY_GRID)
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*CLI_WITH_CTRL_C, "compare", str(grid), "--out", str(out),
         "--workers", "1", "--no-report"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    tasks = plan_tasks(load_grid(str(grid)), out)
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine starts slowly
        while sum(is_complete(t.folder, t.plan, t.kind) for t in tasks) < 1:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: every process
        else:
            proc.terminate()
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    # runs and baselines counted apart (the line said "0 of 11 runs" of 9 runs and 2
    # baselines), and where the command to continue is
    said = " ".join(stderr.split())
    counts = []
    for kind, noun in (("run", "runs"), ("baseline", "baselines")):
        of_kind = [t for t in tasks if t.kind == kind]
        done = sum(is_complete(t.folder, t.plan, t.kind) for t in of_kind)
        counts.append(f"{done} of {len(of_kind)} {noun}")
    m = re.search(rf"{word}: (\d+ of \d+ runs and \d+ of \d+ baselines) complete", said)
    assert m is not None, stderr
    assert m.group(1) == " and ".join(counts)
    assert f"(`intergreen status {out}` prints it)" in said
    assert sum(is_complete(t.folder, t.plan, t.kind) for t in tasks) >= 1


def test_ctrl_c_while_the_command_line_imports_is_one_line() -> None:
    """Ctrl-C in the first second, while ``intergreen`` imports SUMO, torch and SB3: the
    console script's entry (``intergreen.__main__:main``) says ``interrupted`` and exits 130,
    no traceback (the interrupt is raised where the import of the command line is)."""
    import subprocess

    script = (
        "import builtins, intergreen.__main__ as entry\n"
        "real = builtins.__import__\n"
        "def imp(name, *a, **k):\n"
        "    if name == 'intergreen.cli':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = imp\n"
        "entry.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert (proc.returncode, proc.stderr) == (130, "interrupted\n")


def test_the_console_script_runs_the_entry_that_catches_that() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"intergreen": "intergreen.__main__:main"}


# ----- item 11: user rewards on the command line -------------------------------------------------
USER_REWARDS = '''
import numpy as np

from intergreen.rewards import registry


@registry.register("ux_long_queues", fields=("halting",))
def ux_long_queues(frames, context, *, threshold: float = 5.0) -> float:
    """Minus the number of lanes queueing more than `threshold` vehicles."""
    return -float(np.sum(frames[-1].halting > threshold))
'''


@pytest.fixture
def user_rewards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder holding ``ux_rewards.py``, as the working folder; the reward and the module
    are forgotten afterwards."""
    import sys

    from intergreen.rewards import registry
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    (tmp_path / "ux_rewards.py").write_text(USER_REWARDS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(REWARD_MODULES_ENV, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    registry.unregister("ux_long_queues")
    for name in [m for m in sys.modules if "ux_rewards" in m]:
        del sys.modules[name]


def test_reward_module_makes_user_rewards_visible(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from intergreen.rewards.registry import REWARD_MODULES_ENV

    line = one_error_line(*run_cli(["rewards", "show", "ux_long_queues"], capsys))
    assert "unknown reward 'ux_long_queues'" in line
    code, out, err = run_cli(
        ["--reward-module", "ux_rewards", "rewards", "show", "ux_long_queues"], capsys
    )
    assert code == 0, err
    assert "Minus the number of lanes queueing" in out
    assert "module ux_rewards" in out  # its source
    assert "threshold" in out and "5.0" in out
    assert os.environ[REWARD_MODULES_ENV] == "ux_rewards"  # for worker processes
    code, out, err = run_cli(["--reward-module", "ux_rewards", "rewards", "list"], capsys)
    assert code == 0 and "ux_long_queues" in out


def test_reward_module_trains_and_evaluates(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    run = user_rewards / "run"
    code, _, err = run_cli(
        ["--reward-module", "ux_rewards", "train", "--agent", "dqn", "--reward", "ux_long_queues",
         "--timesteps", "64", "--env", "duration=30", "--out", str(run)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["config"]["reward"] == "ux_long_queues"
    csv_path = user_rewards / "eval.csv"
    code, out, err = run_cli(
        ["--reward-module", "ux_rewards", "evaluate", str(run),
         "--episodes", "1", "--demands", "low", "--baselines", "vehicle-actuated",
         "--duration", "30", "--workers", "2", "--reward", "ux_long_queues",
         "--output", str(csv_path), "--timelines", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    import pandas as pd

    assert pd.read_csv(csv_path)["reward_ux_long_queues"].notna().all()
    # the run records the module by its file, and evaluate without it names it (a new user's
    # trial: "unknown reward ... Did you mean 'delta_queue'?")
    module = str(user_rewards / "ux_rewards.py")
    assert json.loads((run / "config.json").read_text())["reward_modules"] == [module]
    import os
    import sys

    from intergreen.rewards import registry
    from intergreen.rewards.registry import REWARD_MODULES_ENV

    registry.unregister("ux_long_queues")  # as a fresh process without the option
    os.environ.pop(REWARD_MODULES_ENV, None)
    for name in [m for m in sys.modules if "ux_rewards" in m]:
        del sys.modules[name]
    line = one_error_line(*run_cli(["evaluate", str(run), "--episodes", "1", "--duration",
                                    "30"], capsys))  # fmt: skip
    assert line == (
        f"error: {run}: its training reward 'ux_long_queues' is registered by the reward "
        f"module(s) it was trained with: give intergreen --reward-module {module} before the "
        "command"
    )


def test_reward_module_from_a_file(user_rewards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from intergreen.rewards import registry

    path = user_rewards / "sub" / "ux_rewards_file.py"
    path.parent.mkdir()
    path.write_text(USER_REWARDS.replace('"ux_long_queues"', '"ux_file_reward"'))
    try:
        code, out, err = run_cli(["--reward-module", str(path), "rewards", "show",
                                  "ux_file_reward"], capsys)  # fmt: skip
        assert code == 0, err
        assert f"module {path}" in out.replace("\n", "")
    finally:
        registry.unregister("ux_file_reward")


def test_bad_reward_module_is_one_line(
    user_rewards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(*run_cli(["--reward-module", "no_such_mod", "rewards", "list"], capsys))
    assert "reward module 'no_such_mod': no such module" in line


def test_a_program_option_after_the_command_says_where_it_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's trial: `intergreen train --reward-module my_rewards ...` said "No such
    option: --reward-module (Possible options: --reward)", `rewards list --debug` "No such
    option: --debug"."""
    line = one_error_line(*run_cli(["train", "--reward-module", "my_rewards"], capsys))
    assert line.startswith(
        "error: --reward-module is an option of intergreen itself, not of train: put it before "
        "the command (intergreen --reward-module MODULE train ...)"
    )
    line = one_error_line(*run_cli(["rewards", "list", "--debug"], capsys))
    assert line.startswith(
        "error: --debug is an option of intergreen itself, not of rewards list: put it before "
        "the command (intergreen --debug rewards list ...)"
    )
    # an option nobody has: click's own words
    line = one_error_line(*run_cli(["train", "--nope"], capsys))
    assert line.startswith("error: No such option: --nope")


def test_evaluate_shows_progress(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate moves a rich bar over its episodes (on a terminal), and reports each episode
    to a caller's callback, in order, with the total."""
    import io

    from rich.console import Console

    import intergreen.cli_common as cli_common
    from intergreen.agents.evaluation import evaluate

    calls: list[tuple[int, int]] = []
    evaluate(["vehicle-actuated", "fixed-time"], demands=["low"], episodes=1, duration=30,
             detail=False, progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert calls == [(1, 2), (2, 2)]
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(cli_common, "err_console", terminal)
    code, _, err = run_cli(
        ["evaluate", "vehicle-actuated", "--episodes", "2", "--demands", "low", "--baselines",
         "", "--duration", "30"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    text = screen.getvalue()
    assert "evaluating" in text and "2/2" in text and "episodes" in text


def test_tune_bar_shows_a_running_trials_decisions(tmp_path: Path) -> None:
    """During a trial the tune bar reads its agents' metrics.csv: decisions trained so far
    against the planned (two training seeds: their sum)."""
    from intergreen.agents.training import _callback_class
    from intergreen.tuning.loop import running_trial_text

    header = ",".join(_callback_class().FIELDS)
    trial = tmp_path / "t0003"
    for seed, steps in (("seed_3", (1499, 2998)), ("seed_100003", (1499,))):
        (trial / seed).mkdir(parents=True)
        rows = [f"{s},0,{i + 1},low,-1.0,10.0,11.0,100,2.0,0,0,1.0" for i, s in enumerate(steps)]
        (trial / seed / "metrics.csv").write_text("\n".join([header, *rows]) + "\n")
    assert running_trial_text(trial, {"planned_timesteps": 20000}) == "4,497/20,000 decisions"
    empty = tmp_path / "t0004"
    (empty / "seed_4").mkdir(parents=True)
    (empty / "seed_4" / "metrics.csv").write_text(header + "\n")
    assert running_trial_text(empty, {"planned_timesteps": 5000}) == "0/5,000 decisions"


def test_report_table_one_single_episode_is_na() -> None:
    import pandas as pd

    from intergreen.experiments.report import table_one
    from intergreen.experiments.summaries import pooled_summary

    results = pd.DataFrame(
        {"controller": ["a", "b", "b"], "demand": ["low"] * 3,
         "avg_waiting_time": [42.58, 10.0, 12.0]}
    )  # fmt: skip
    _, rows = table_one(pooled_summary(results), ["a", "b"], ["low"])
    assert rows == [["a", "42.58 ± n/a"], ["b", "11.00 ± 1.41"]]


def test_piped_help_shows_whole_option_names(capsys, monkeypatch) -> None:
    """--help into a pipe (not a terminal) kept rich's 80 columns and cut the longer option
    names (`--checkpoint-ev…`); it gets 120 unless the user set a width."""
    import typer.rich_utils

    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", None)
    main(["train", "--help"])  # returns (standalone_mode=False): exit 0
    out = capsys.readouterr().out
    assert "--checkpoint-every" in out and "--keep-replay-buffer" in out and "…" not in out


def test_a_table_in_a_pipe_is_printed_whole() -> None:
    """A new user's trial: evaluate's per-arm table in a pipe (rich's 80 columns) folded
    'vehicle-actuated' into 'vehicle-actuate' / 'd'; in a pipe a table is as wide as it needs."""
    import io

    from rich.console import Console
    from rich.table import Table

    from intergreen.common import print_table

    table = Table()
    for name in ["controller", "demand", *[f"arm {a}" for a in "ABCDEFGH"], "p95", "CO2"]:
        table.add_column(name, overflow="fold")
    table.add_row("vehicle-actuated (va/tuned.json)", "medium", *["12.34"] * 10)
    pipe = io.StringIO()
    print_table(Console(file=pipe, width=80), table)
    lines = pipe.getvalue().splitlines()
    assert any("vehicle-actuated (va/tuned.json)" in line for line in lines)
    assert len({len(line) for line in lines}) == 1 and len(lines[0]) > 80
    assert len(lines) == 5  # top, header, rule, the one row, bottom: nothing folded


def test_rewards_list_in_a_pipe_shows_whole_names(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's trial: `rewards list | less` cut names to 'delta_time_lost_win…'."""
    from intergreen.rewards import registry

    code, out, err = run_cli(["rewards", "list"], capsys)
    assert code == 0, err
    assert "…" not in out
    for name in registry.names():
        assert f"│ {name} " in out, name
