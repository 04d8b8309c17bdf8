"""A trained agent run with other action stages than it was trained on (``simulate
--controller RUN --stages ...``): one line naming the stages it was trained with and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from intergreen.agents.policy import load_policy, model_label
from intergreen.agents.rundir import FINAL_MODEL


@pytest.fixture(scope="module")
def three_stage_run(tmp_path_factory) -> Path:
    """A DQN trained to choose among stages 2, 3, 4 (``--env action_stages=...``)."""
    from intergreen.cli import main

    run = tmp_path_factory.mktemp("runs") / "three"
    main(["train", "--agent", "dqn", "--demand", "low+peds", "--timesteps", "60", "--seed", "3",
          "--out", str(run), "--env", 'action_stages=["2", "3", "4"]', "--env", "duration=36",
          "--hp", "learning_starts=20", "--hp", "buffer_size=100"])  # fmt: skip
    return run


@pytest.mark.parametrize("given", ["1,2", "2,4", "4,3,2"])
def test_other_stages_name_the_trained_ones(
    three_stage_run: Path, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was `error: agent three chooses among 3 stages` (1,2), and 4,3,2 ran with each action
    calling another stage than it learned."""
    args = ["simulate", "--controller", str(three_stage_run), "--demand", "low+peds",
            "--duration", "12", "--stages", given]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    *warned, line = err.strip().splitlines()  # the env's warnings about such stages come first
    assert code == 2 and "Traceback" not in out + err
    assert all(w.startswith("warning (intergreen): ") for w in warned)
    assert line == (
        f"error: agent three was trained to choose among stages 2,3,4, the environment's action "
        f"stages are {given} (its actions would call other stages): give --stages 2,3,4 "
        '(Python: action_stages=["2", "3", "4"]), or leave it out'
    )


def test_the_trained_stages_run(three_stage_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = load_policy(three_stage_run)
    assert policy.trained_stages() == ["2", "3", "4"]
    for stages in ([], ["--stages", "2,3,4"]):
        args = ["simulate", "--controller", str(three_stage_run), "--demand", "low+peds",
                "--duration", "12", *stages]  # fmt: skip
        code, _, err = run_cli(args, capsys)
        assert code == 0, err


def test_a_bare_model_names_the_number_of_stages(
    three_stage_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model zip without its run folder records no stages: the line gives their number."""
    bare = tmp_path / "bare.zip"
    bare.write_bytes((three_stage_run / FINAL_MODEL).read_bytes())
    assert load_policy(bare).trained_stages() is None
    args = ["simulate", "--controller", str(bare), "--demand", "low+peds", "--duration", "12",
            "--stages", "2,4"]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 2 and "Traceback" not in out + err
    line = err.strip().splitlines()[-1]
    assert line == (
        "error: agent bare chooses among 3 stages, the environment's action stages are 2,4: give "
        "--stages (Python: action_stages=) with the 3 stages it was trained with, or leave it out"
    )


def test_a_zip_inside_its_run_folder_is_labelled_with_the_run(
    three_stage_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`simulate --controller RUN/model.zip` was labelled `model` (the zip's stem)."""
    args = ["simulate", "--controller", str(three_stage_run / FINAL_MODEL), "--demand",
            "low+peds", "--duration", "12"]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    title = next(line for line in out.splitlines() if "| seed " in line)
    assert title.split(" | ")[2] == "three"
    assert load_policy(three_stage_run / FINAL_MODEL).name == "three"
    assert load_policy(three_stage_run).name == "three"
    other = three_stage_run / "copy.zip"  # another zip of the run names both
    other.write_bytes((three_stage_run / FINAL_MODEL).read_bytes())
    try:
        assert model_label(other) == "three/copy"
    finally:
        other.unlink()
    bare = tmp_path / "bare.zip"  # a zip outside a run folder: its stem
    bare.write_bytes((three_stage_run / FINAL_MODEL).read_bytes())
    assert model_label(bare) == "bare" and load_policy(bare).name == "bare"
