"""Mistakes a new user made with junctions, each one clear line (a fresh user's trial)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.errors import OptionError
from intergreen.junctions.env import make_env
from intergreen.junctions.resco import nets_folder


def test_program_on_a_junction_without_a_programme_of_its_own_is_refused(capsys) -> None:
    """gm_a56's network holds only netconvert's default programme (no red+amber, no arrow
    stage): the program baseline ran it without --check-rules and crashed with it."""
    with pytest.raises(OptionError, match="junction gm_a56 has no signal programme of its own"):
        make_env("gm_a56", "low", seed=1, duration=30, signals="program")
    for extra in ([], ["--check-rules"]):
        line = one_error_line(*run_cli(
            ["simulate", "--controller", "program", "--duration", "30", *extra], capsys
        ))  # fmt: skip
        assert line.startswith("error: controller program: junction gm_a56 has no signal ")
        assert "(`intergreen junctions import`): choose another controller" in line


def test_a_folder_or_a_network_where_a_file_or_junction_is_wanted(tmp_path: Path, capsys) -> None:
    folder = nets_folder().parent / "single-intersection"
    line = one_error_line(
        *run_cli(["junctions", "import", str(folder), "--out", str(tmp_path / "j")], capsys)
    )
    assert line == (
        f"error: {folder}: a folder, not a .net.xml file; give the path of the .net.xml in it"
    )
    # a compressed network that is not there, or not compressed: the message speaks of gzip
    missing = tmp_path / "x.net.xml.gz"
    line = one_error_line(*run_cli(["junctions", "import", str(missing), "--out", "j"], capsys))
    assert line == (
        f"error: {missing}: no such file; give the path of a .net.xml (or .net.xml.gz, "
        "gzip-compressed)"
    )
    missing.write_text("not xml, not gzip")
    line = one_error_line(*run_cli(["junctions", "import", str(missing), "--out", "j"], capsys))
    assert line == (
        f"error: {missing}: not a SUMO network (not gzip-compressed as its name says, and as "
        "plain XML: XML error: syntax error: line 1, column 0); give a .net.xml written by "
        "netconvert (or that file compressed by gzip: gzip NAME.net.xml)"
    )
    net = folder / "single-intersection.net.xml"
    line = one_error_line(*run_cli(["simulate", "--junction", str(net)], capsys))
    assert line == (
        f"error: {net}: a SUMO network, not a junction: import it first (`intergreen junctions "
        f"import {net} --out DIR`), then give DIR"
    )
    assert not (tmp_path / "j").exists()


def test_pedestrians_without_their_stage_warn_once_and_say_the_fix(capsys) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_env("gm_a56", "low+peds", seed=1, duration=30).close()
        make_env("gm_a56", "low+peds", seed=1, duration=30, action_stages=["2", "3", "4"]).close()
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert said == [
        "the demand brings pedestrians, but the action stages (2, 4) leave out the pedestrian "
        "stage 3: no controller can call it, so pedestrians wait to the episode's end; add it "
        "(--stages 2,3,4, or action_stages=['2', '3', '4'])"
    ]
    code, _, err = run_cli(["simulate", "--demand", "low+peds", "--duration", "12"], capsys)
    assert code == 0, err
    assert "warning (intergreen): the demand brings pedestrians, but the action stages" in err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration": 1e9}, "duration 1000000000: more than 604800 s (7 days)"),
        ({"duration": float("inf")}, "duration inf: more than 604800 s"),
        ({"duration": float("nan")}, "duration nan: give at least 1 simulated second"),
        ({"duration": 0.1}, "duration 0.1: give at least 1 simulated second"),
        ({"duration": True}, "duration True: give a number of simulated seconds"),
        ({"duration": "300"}, "duration '300': give a number of simulated seconds"),
        ({"seed": -1}, "seed -1: give a whole number >= 0"),
        ({"seed": "x"}, "seed 'x': give a whole number >= 0"),
        ({"time_scale": 0}, "time_scale 0: give at least 1 simulated second"),
    ],
)
def test_the_python_env_refuses_what_the_command_line_refuses(kwargs, message) -> None:
    """Through the Python API, duration=1e9 (or inf, nan) ran an episode without end, seed=-1
    and time_scale=0 failed deep in numpy, '300' and True were taken as lengths."""
    with pytest.raises(OptionError) as e:
        make_env("gm_a56", "low", None, **kwargs)
    assert message in str(e.value)


def test_python_evaluate_takes_one_demand_as_a_string() -> None:
    """evaluate(demands="low") split the name into letters ("unknown demand 'l'")."""
    from intergreen.agents.evaluation import evaluate

    frame = evaluate(["vehicle-actuated"], "gm_a56", "low", seeds=[1], duration=30)
    assert frame["demand"].tolist() == ["low"]
