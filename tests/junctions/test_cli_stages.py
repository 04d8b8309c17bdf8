"""`intergreen simulate --stages`: the pedestrian stage through the command line."""

from __future__ import annotations

import json
import warnings

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.cli import main
from intergreen.junctions.env import JunctionEnv


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


#: The refusal where the stages came from ``action_stages=`` (Python, ``train --env``): it
#: names what the user gave, not simulate's --stages (which train has not).
STARVE_KWARG = (
    'action_stages=["2"]: the controller needs at least 2 action stages to choose among; with '
    "one it holds stage 2 all episode and the traffic of the other stages never gets a green; "
    "give at least two of gm_a56's stages 1, 2, 3, 4, e.g. "
    'action_stages=["2", "4"]'
)


def test_the_env_refuses_a_single_action_stage_naming_action_stages() -> None:
    with pytest.raises(ValueError) as e:
        JunctionEnv("gm_a56", action_stages=["2"])
    assert str(e.value) == STARVE_KWARG
    with pytest.raises(ValueError) as e:
        JunctionEnv("gm_a56", action_stages=[])  # was silently the junction's own
    assert str(e.value).startswith("action_stages=[]: the controller needs at least 2 action")
    env = JunctionEnv("gm_a56", action_stages=["4", "2"])  # two are enough
    assert env.action_space.n == 2
    env.close()


def test_train_env_single_action_stage_names_action_stages(tmp_path, capsys) -> None:
    """train has no --stages: its line named --stages and `e.g. --stages 2,4`."""
    out = tmp_path / "run"
    args = ["train", "--agent", "dqn", "--timesteps", "100", "--env", 'action_stages=["2"]',
            "--out", str(out)]  # fmt: skip
    line = one_error_line(*run_cli(args, capsys))
    assert line == "error: --env (env_kwargs): " + STARVE_KWARG
    assert not out.exists()


REPEATED = (
    "{given}: stage 4 is named more than once; the baselines would take it for two stages and "
    "hold it; name each stage once, e.g. {fix}"
)


def test_a_repeated_stage_is_refused(capsys) -> None:
    """--stages 2,4,4 was accepted: vehicle-actuated then held stage 4 all episode (95 s mean
    wait against 9.7 s with 2,4), and fixed-time likewise."""
    args = ["simulate", "--controller", "vehicle-actuated", "--stages", "2,4,4", "--duration", "60"]
    line = one_error_line(*run_cli(args, capsys))
    assert line == "error: " + REPEATED.format(given="--stages '2,4,4'", fix="--stages 2,4")
    with pytest.raises(ValueError) as e:
        JunctionEnv("gm_a56", action_stages=["2", "4", "4"])
    assert str(e.value) == REPEATED.format(
        given='action_stages=["2", "4", "4"]', fix='action_stages=["2", "4"]'
    )


def test_empty_stages_are_refused(capsys) -> None:
    """--stages '' was silently the junction's default while --stages ',' was refused."""
    for given in ("", ","):
        line = one_error_line(*run_cli(["simulate", "--stages", given, "--duration", "60"], capsys))
        assert line == (
            f"error: --stages {given!r}: no stage named; give some of its stages 1, 2, 3, 4 "
            "separated by commas, e.g. --stages 2,4"
        )


UNSERVED = (
    "the action stages 1,2 give no green to signal groups D, E (arms E, W: E.left, E.ahead, "
    "E.right, W.left, W.ahead, W.right), which the demand sends traffic through: it waits to "
    "the episode's end; stage 4 serves them (add it to the action stages, e.g. 1,2,4)"
)


def test_stages_that_starve_an_arm_warn(capsys) -> None:
    """--stages 1,2 on gm_a56 never gives the E and W arms a green (throughput 0 there):
    allowed, since a study may mean it, but said."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JunctionEnv("gm_a56", action_stages=["1", "2"]).close()
        JunctionEnv("gm_a56", action_stages=["2", "4"]).close()  # the default: no warning
        JunctionEnv("gm_a56", action_stages=["2", "3", "4"]).close()
        JunctionEnv("gm_a56").close()
    assert [str(w.message) for w in caught if w.category is UserWarning] == [UNSERVED]
    code, _, err = run_cli(["simulate", "--stages", "1,2", "--duration", "12"], capsys)
    assert code == 0, err
    assert f"warning (intergreen): {UNSERVED}" in err
    code, _, err = run_cli(["simulate", "--duration", "12"], capsys)
    assert code == 0 and "give no green" not in err, err


def test_every_demand_of_a_list_is_checked_for_unserved_traffic(tmp_path) -> None:
    """A demand list is checked as a whole: traffic on arm E in one of its profiles warns
    (one drawn profile stood for the list, here the one without it)."""
    import yaml

    def profile(name: str, flows: dict[str, float]) -> str:
        path = tmp_path / f"{name}.yaml"
        periods = [{"begin": 0, "end": 600, "flows": flows}]
        path.write_text(yaml.safe_dump({"name": name, "periods": periods}))
        return str(path)

    east = profile("east", {"N.ahead": 300, "E.ahead": 200})
    north = profile("north", {"N.ahead": 300, "S.ahead": 300})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JunctionEnv("gm_a56", demand=[east, north], action_stages=["1", "2"]).close()
        JunctionEnv("gm_a56", demand=[north], action_stages=["1", "2"]).close()  # served
    said = [str(w.message) for w in caught if w.category is UserWarning]
    assert len(said) == 1 and said[0].startswith("the action stages 1,2 give no green to signal")
    assert "group D (arm E: E.ahead)" in said[0]
