"""`intergreen simulate --stages`: the pedestrian stage through the command line."""

from __future__ import annotations

import json

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.cli import main


def test_stages_let_vehicle_actuation_serve_pedestrians(tmp_path, capsys) -> None:
    waits = {}
    for stages in ("2,4", "2,3,4"):
        out = tmp_path / stages.replace(",", "")
        main(["simulate", "--demand", "medium+peds", "--stages", stages, "--duration", "600",
              "--output", str(out)])  # fmt: skip
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["pedestrians"] > 0 and metrics["env"]["action_stages"] == stages.split(",")
        waits[stages] = metrics["ped_avg_waiting_time"]
    assert waits["2,3,4"] < 0.5 * waits["2,4"]


def test_unknown_stage_is_a_user_error(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--stages", "2,9", "--duration", "60"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--stages '2,9': no stage 9 in gm_a56" in err and "Traceback" not in err


STARVE = (
    "--stages '{given}': the controller needs at least 2 action stages to choose among; with "
    "one it holds stage {held} all episode and the traffic of the other stages never gets a "
    "green; give at least two of gm_a56's stages 1, 2, 3, 4, e.g. --stages 2,4"
)


@pytest.mark.parametrize(("given", "held"), [("2", "2"), ("4,4", "4")])
def test_a_single_action_stage_is_refused(capsys, given: str, held: str) -> None:
    """--stages 2 starved the side roads for the whole episode."""
    line = one_error_line(*run_cli(["simulate", "--stages", given, "--duration", "60"], capsys))
    assert line == "error: " + STARVE.format(given=given, held=held)


def test_the_env_refuses_a_single_action_stage_with_the_same_text() -> None:
    from intergreen.junctions.env import JunctionEnv

    with pytest.raises(ValueError) as e:
        JunctionEnv("gm_a56", action_stages=["2"])
    assert str(e.value) == STARVE.format(given="2", held="2")
    env = JunctionEnv("gm_a56", action_stages=["2", "3"])  # two are enough
    assert env.action_space.n == 2
    env.close()
