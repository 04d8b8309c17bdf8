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
        "(--stages 2,3,4)"
    ]
    code, _, err = run_cli(["simulate", "--demand", "low+peds", "--duration", "12"], capsys)
    assert code == 0, err
    assert "warning (intergreen): the demand brings pedestrians, but the action stages" in err
