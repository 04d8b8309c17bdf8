"""`intergreen junctions import` as a new user meets it (issue 17's trial): options checked
before anything is written, no file or folder left by a failed import, a YAML header that says
how to edit it and what the program's transitions cost, and errors of an imported YAML that
name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import one_error_line, run_cli
from nets import single_intersection, sumo_rl_nets
from procs import sumo_children

from intergreen.common import MAX_SIM_SECONDS
from intergreen.junctions.catalog import LIBRARY, junction_names, read_yaml, resolve_junction
from intergreen.junctions.imported_yaml import checked_text, yaml_text
from intergreen.junctions.spec import SpecError, parse_spec
from intergreen.junctions.sumo_import import junction_data
from intergreen.junctions.sumo_net import read_tls

GRID = sumo_rl_nets() / "2x2grid"


def _import(out: Path, *extra: str) -> list[str]:
    return ["junctions", "import", str(GRID / "2x2.net.xml"), "--tls", "1", "--routes",
            str(GRID / "2x2.rou.xml"), "--out", str(out), *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--begin", "100", "--end", "50"],
         ["--end 50 is not after --begin 100", "give an --end greater than --begin"]),
        (["--name", "a/b"], ["--name 'a/b'", "letters", "e.g. --name a_b"]),
        (["--end", "1e12"], ["--begin 0 --end 1e+12", f"more than {MAX_SIM_SECONDS:g} s (7 days)"]),
        (["--rules", "xx"], ["--rules: unknown signal-rule profile 'xx'", "program, uk"]),
        (["--transitions", "some"], ["--transitions 'some': use program or all"]),
        (["--tls", "9"], ["no traffic light '9'", "1, 2, 5, 6"]),
    ],
)  # fmt: skip
def test_a_failed_import_writes_nothing_and_a_rerun_works(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], words: list[str]
) -> None:
    """Each bad option is one line naming it and the fix; no junction.yaml and no --out folder
    are left (they were: an invalid YAML, which then refused the corrected re-run)."""
    out = tmp_path / "new" / "j"
    line = one_error_line(*run_cli(_import(out, *extra), capsys))
    for w in words:
        assert w in line, line
    assert not (tmp_path / "new").exists()
    code, _, err = run_cli(_import(out), capsys)  # the corrected command, without --force
    assert code == 0, err
    assert resolve_junction(str(out / "junction.yaml")).name == "2x2-1"


def test_a_yaml_that_does_not_load_is_never_written(tmp_path: Path) -> None:
    """The YAML is loaded as `--junction` will load it before it is written: a mapping the
    loader refuses (here a window that ends before it begins) raises naming the file as not
    written, and no file appears."""
    facts = read_tls(GRID / "2x2.net.xml", "1")
    data, notes = junction_data(facts, name="x", begin=100, end=50)
    path = tmp_path / "j" / "junction.yaml"
    with pytest.raises(SpecError, match=r"junction.yaml \(not written\): .*network.end \(50"):
        checked_text(yaml_text(data, notes, facts), path)
    assert not path.exists()
    data, notes = junction_data(facts, name="x", begin=100, end=200)
    assert checked_text(yaml_text(data, notes, facts), path).startswith("# x: imported")


def test_a_window_over_the_maximum_in_a_yaml_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(_import(tmp_path / "j"), capsys)
    assert code == 0, err
    path = tmp_path / "j" / "junction.yaml"
    data = yaml.safe_load(path.read_text())
    data["network"]["end"] = 1e12
    edited = tmp_path / "j" / "long.yaml"
    edited.write_text(yaml.safe_dump(data))
    line = one_error_line(*run_cli(["junctions", "show", str(edited)], capsys))
    assert "long.yaml" in line and "network.end - network.begin" in line
    assert f"more than {MAX_SIM_SECONDS:g} s (7 days)" in line


def test_program_transitions_are_explained_and_any_order_is_offered(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The default `--transitions program` on the 2x2 grid's tls 1 lets a controller go only
    1 -> 2 -> 3 -> 4 -> 1: the printout and the YAML header say so and name --transitions all;
    with --transitions all there is nothing to say."""
    code, out, err = run_cli(_import(tmp_path / "p"), capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "note: transitions follow the program's order (1 -> 2, 2 -> 3, 3 -> 4, 4 -> 1)" in flat
    assert "passing through the stages between them" in flat
    assert "import with --transitions all (or edit transitions:) to permit any order" in flat
    text = (tmp_path / "p" / "junction.yaml").read_text()
    header = " ".join(line[1:].strip() for line in text.splitlines() if line.startswith("#"))
    assert "Note: transitions follow the program's order" in header
    assert "--transitions all" in header
    code, out, err = run_cli(_import(tmp_path / "a", "--transitions", "all"), capsys)
    assert code == 0, err
    assert "transitions follow" not in out
    flat_all = " ".join(out.split())
    assert "transitions: any stage to any other (--transitions all)" in flat_all
    assert "all order" not in flat_all
    assert "transitions follow" not in (tmp_path / "a" / "junction.yaml").read_text()
    assert yaml.safe_load((tmp_path / "a" / "junction.yaml").read_text())["transitions"]["1"] == [
        "2", "3", "4"]  # fmt: skip


def test_header_examples_are_the_syntax_that_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The header's commented examples (a group's min_green, a stage's max_green), uncommented
    into the YAML, load with those values; the rules line ends before the computed list."""
    code, _, err = run_cli(_import(tmp_path / "j"), capsys)
    assert code == 0, err
    text = (tmp_path / "j" / "junction.yaml").read_text()
    lines = text.splitlines()
    start = lines.index("#   signal_groups:")
    example = "\n".join(line[2:].split("   #")[0] for line in lines[start : start + 4])
    edits = yaml.safe_load(example)
    assert edits["signal_groups"]["A"]["min_green"] == 10
    assert edits["stages"]["1"]["max_green"] == 60
    data = yaml.safe_load(text)
    data["signal_groups"]["A"].update(edits["signal_groups"]["A"])
    data["stages"]["1"].update(edits["stages"]["1"])
    (tmp_path / "j" / "edited.yaml").write_text(yaml.safe_dump(data))
    spec = resolve_junction(str(tmp_path / "j" / "edited.yaml"))
    assert spec.min_green("A") == 10.0 and spec.stages["1"].max_green == 60.0
    rules_line = next(i for i, line in enumerate(lines) if "alone switches the profile" in line)
    assert lines[rules_line].endswith("(no re-import needed).")
    assert lines[rules_line + 1] == (
        "# Intergreens computed from the geometry (losing group -> gaining groups):"
    )


def test_yaml_errors_name_the_file_and_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    net, rou = single_intersection()
    code, _, err = run_cli(
        ["junctions", "import", str(net), "--routes", str(rou), "--out", str(tmp_path)], capsys
    )
    assert code == 0, err
    data = yaml.safe_load((tmp_path / "junction.yaml").read_text())
    wrong_tls = tmp_path / "wrong_tls.yaml"
    wrong_tls.write_text(yaml.safe_dump({**data, "network": {**data["network"], "tls": "x"}}))
    line = one_error_line(*run_cli(["junctions", "show", str(wrong_tls)], capsys))
    assert f"{wrong_tls}: network.tls: no traffic light 'x'" in line
    assert "set network.tls to one it has: t" in line and "--tls" not in line
    no_net = tmp_path / "no_net.yaml"
    no_net.write_text(yaml.safe_dump({**data, "network": {**data["network"], "net_file": "n.xml"}}))
    line = one_error_line(*run_cli(["simulate", "--junction", str(no_net)], capsys))
    assert f"{no_net}: network.net_file: {tmp_path / 'n.xml'}: no such file" in line
    assert "relative to this YAML's folder" in line


def test_a_resco_name_with_an_unknown_profile_lists_the_profiles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A profile after resco:NAME: cannot be given inline: the message lists the names."""
    line = one_error_line(*run_cli(["junctions", "show", "resco:cologne1:UK"], capsys))
    assert "resco:cologne1:UK: unknown signal-rule profile 'UK'" in line
    assert "did you mean 'resco:cologne1:uk'" in line
    assert "resco:cologne1 (RESCO's own), resco:cologne1:program, resco:cologne1:uk" in line
    assert "inline" not in line


def test_max_green_option_gives_every_stage_a_maximum_green(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--max-green S` writes S on every stage (and says so among the assumptions); a value
    that is not a maximum green is refused before anything is written."""
    net, rou = single_intersection()
    out = tmp_path / "mg"
    code, _, err = run_cli(["junctions", "import", str(net), "--routes", str(rou), "--out",
                            str(out), "--max-green", "25"], capsys)  # fmt: skip
    assert code == 0, err
    spec = resolve_junction(str(out / "junction.yaml"))
    assert {s: st.max_green for s, st in spec.stages.items()} == {"1": 25.0, "2": 25.0}
    assert any("at most 25 s after it starts (--max-green)" in a for a in spec.assumptions)
    for bad in ("0", "1e6", "nan"):
        where = tmp_path / f"bad{bad}"
        args = ["junctions", "import", str(net), "--out", str(where), "--max-green", bad]
        line = one_error_line(*run_cli(args, capsys))
        assert f"--max-green {float(bad):g}: " in line
        assert "give every stage's maximum green" in line
        assert not where.exists()


def test_the_import_says_how_long_an_episode_is_and_how_to_change_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --end an episode is an hour from --begin whatever the route files hold (a
    new user's network whose routes end at 1799 s ran 3600 s episodes, said nowhere): the
    printout and the YAML's assumptions say so and name the options that change it."""
    code, out, err = run_cli(_import(tmp_path / "a", "--begin", "100"), capsys)
    assert code == 0, err
    note = (
        "an episode simulates SUMO time 100 s to 3700 s (3600 s: no --end was given), however "
        "early the route files' traffic ends; set network.end here (or import with --end S), or "
        "give --duration S to simulate and evaluate (--env duration=S to train), for another "
        "length"
    )
    assert f"assumption: {note}" in " ".join(out.split())
    spec = resolve_junction(str(tmp_path / "a"))
    assert note in spec.assumptions and spec.end == 3700
    code, out, err = run_cli(_import(tmp_path / "b", "--end", "1799"), capsys)
    assert code == 0, err
    spec = resolve_junction(str(tmp_path / "b"))
    note = "an episode simulates SUMO time 0 s to 1799 s (--begin, --end; network.begin and "
    assert note + "network.end here)" in spec.assumptions and spec.end == 1799


# ----- a second new-user trial of `junctions import` (bring your own SUMO network) ---------
def _flow_file(path: Path, attributes: str, vtype: str = "") -> Path:
    """A route file on the 2x2 grid: one flow through traffic light 1 (west to east)."""
    path.write_text(
        f'<routes>\n    {vtype}\n    <flow id="f_big" from="-h11" to="-h13" begin="0" '
        f'end="3600" {attributes}/>\n</routes>\n'
    )
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-green", "3"],
         "--max-green 3 is less than the minimum green of signal group A (7 s: the uk rules' "
         "default), which ends its green when stage 1 moves on to stage 2; give --max-green 7 "
         "or more"),
        (["--end", "nan"], "--end nan: not a number; give the SUMO time the runs end, in s, "
         "after --begin"),
        (["--end", "inf"], "--end inf: not a finite number; give the SUMO time the runs end, in "
         "s, after --begin"),
        (["--begin", "inf"], "--begin inf: not a finite number; give the SUMO time the runs "
         "start, in s (>= 0)"),
        (["--begin", "nan"], "--begin nan: not a number; give the SUMO time the runs start, "
         "in s (>= 0)"),
        (["--begin", "-5"], "--begin -5: give the SUMO time the runs start, in s (>= 0)"),
        (["--max-green", "inf"], "--max-green inf: not a finite number; give every stage's "
         "maximum green in s"),
        (["--name", "my junction!"], "--name 'my junction!': a junction name has only letters "
         "A-Z, a-z, digits, _ and -; e.g. --name my_junction"),
    ],
)  # fmt: skip
def test_options_a_new_user_got_wrong_are_refused_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    """A maximum green below the minimum green was written (the controller then broke one of
    them); --end nan was "not after --begin 0"; --begin nan was "Input should be greater
    than or equal to 0"; --name 'my junction!' suggested my_junction_."""
    out = tmp_path / "j"
    line = one_error_line(*run_cli(_import(out, *extra), capsys))
    assert line.partition(" (see `")[0] == f"error: {message}"  # a usage error names --help
    assert not out.exists()


def test_a_maximum_green_below_a_minimum_green_in_a_yaml_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each stage's max_green is at least the minimum green of every group that ends its green
    when the stage moves on (the junction YAML names the stage and where the minimum comes
    from); a group that runs on into the next stage does not count (gm_a56's arrow stage 1
    may end before main-road group B's 7 s, as B runs on into stage 2). Shipped junctions
    load."""
    code, _, err = run_cli(_import(tmp_path / "j", "--max-green", "7"), capsys)
    assert code == 0, err
    data = yaml.safe_load((tmp_path / "j" / "junction.yaml").read_text())
    data["stages"]["1"]["max_green"] = 3
    edited = tmp_path / "j" / "short.yaml"
    edited.write_text(yaml.safe_dump(data))
    line = one_error_line(*run_cli(["junctions", "show", str(edited)], capsys))
    assert line == (
        f"error: {edited}: stages.1.max_green: 3 s is less than the minimum green of its signal "
        "group A (7 s: timing.default_min_green, the uk rules' default), which ends its green "
        "when stage 1 moves on to stage 2; give a max_green of 7 s or more"
    )
    data["stages"]["1"]["max_green"] = 8
    data["signal_groups"]["A"]["min_green"] = 10
    edited.write_text(yaml.safe_dump(data))
    line = one_error_line(*run_cli(["simulate", "--junction", str(edited)], capsys))
    assert line == (
        f"error: {edited}: stages.1.max_green: 8 s is less than the minimum green of its signal "
        "group A (10 s: signal_groups.A.min_green), which ends its green when stage 1 moves on "
        "to stage 2; give a max_green of 10 s or more"
    )
    gm = read_yaml(LIBRARY / "gm_a56" / "junction.yaml")
    gm["stages"][1]["max_green"] = 5  # A (arrow, 4 s) ends; B runs on into stage 2
    assert parse_spec(gm).stages["1"].max_green == 5
    gm["stages"][1]["max_green"] = 3
    with pytest.raises(SpecError, match=r"group A \(4 s: signal_groups.A.min_green\)"):
        parse_spec(gm)
    for name in [*junction_names(), "resco:cologne1", "resco:ingolstadt1:uk"]:
        assert resolve_junction(name).stages


def test_route_files_that_a_run_would_refuse_are_refused_at_import(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A flow of 1e6 veh/h, or one SUMO itself refuses (1e12 veh/h, a vType with a negative
    accel), imported fine and failed every later command (in profile-YAML words, or in two
    lines, SUMO's first); now the import refuses it naming the route file and the flow or
    SUMO's reason, and a route file broken after the import is one line at run time, SUMO's
    reason included (none of SUMO's own output on stderr)."""
    net = str(GRID / "2x2.net.xml")
    dense = _flow_file(tmp_path / "dense.rou.xml", 'vehsPerHour="1e6"')
    bad_rate = _flow_file(tmp_path / "rate.rou.xml", 'vehsPerHour="1e12"')
    bad_type = _flow_file(tmp_path / "accel.rou.xml", 'type="t" vehsPerHour="100"',
                          '<vType id="t" accel="-3"/>')  # fmt: skip
    good = _flow_file(tmp_path / "good.rou.xml", 'vehsPerHour="100"')
    implausible = (
        f"{dense} (SUMO time 0-3600 s): 1e+06 veh/h into the junction is implausible; at most "
        "43200 veh/h (3 x the saturation flow of its 8 approach lanes at 1800 veh/h each); "
        "flows are in veh/h; the largest is flow 'f_big' with 1e+06 veh/h"
    )
    refused = {
        bad_rate: "Invalid repetition rate in the definition of flow 'f_big'",
        bad_type: "Invalid Car-Following-Model Attribute accel. Must be greater than 0 (Invalid "
        "parsing embedded VType)",
    }
    out = tmp_path / "j"
    cases = [(dense, implausible)] + [
        (f, f"{f}: SUMO refuses this route file: {why}; correct it, then run the command again")
        for f, why in refused.items()
    ]
    for routes, message in cases:
        args = ["junctions", "import", net, "--tls", "1", "--routes", str(routes), "--out",
                str(out)]  # fmt: skip
        assert one_error_line(*run_cli(args, capfd)) == f"error: {message}"
        assert not out.exists()
    code, _, err = run_cli(["junctions", "import", net, "--tls", "1", "--routes", str(good),
                            "--out", str(out)], capfd)  # fmt: skip
    assert code == 0, err
    for broken, message in [cases[0], cases[2]]:  # 1e12 veh/h: implausible, before SUMO runs
        good.write_text(broken.read_text())
        line = one_error_line(*run_cli(["simulate", "--junction", str(out), "--duration", "5"],
                                       capfd))  # fmt: skip
        assert line == f"error: {message.replace(str(broken), str(good))}"
        assert sumo_children() == []
    # a rate that is not a number, written after the import: a ValueError traceback was the
    # only word on it (SUMO's own check ran at the import)
    _flow_file(good, 'vehsPerHour="abc"')
    line = one_error_line(*run_cli(["simulate", "--junction", str(out), "--duration", "5"],
                                   capfd))  # fmt: skip
    assert line == (
        f"error: {good}: flow 'f_big': vehsPerHour='abc' is not a number; give a number (veh/h "
        "for vehsPerHour, s for begin, end and period)"
    )


def test_a_missing_route_file_or_junction_yaml_is_named_with_its_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """network.routes naming a missing file said only the file (network.net_file's said the
    YAML and the key); a folder without a junction.yaml was an "unknown junction"."""
    code, _, err = run_cli(_import(tmp_path / "y3"), capsys)
    assert code == 0, err
    path = tmp_path / "y3" / "junction.yaml"
    data = yaml.safe_load(path.read_text())
    data["network"]["routes"] = ["nets/gone.rou.xml"]
    path.write_text(yaml.safe_dump(data))
    line = one_error_line(*run_cli(["simulate", "--junction", str(tmp_path / "y3")], capsys))
    assert line == (
        f"error: {path}: network.routes: {tmp_path / 'y3' / 'nets' / 'gone.rou.xml'}: no such "
        "file; give the path of a .rou.xml (relative to this YAML's folder, or absolute)"
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    line = one_error_line(*run_cli(["simulate", "--junction", str(bad)], capsys))
    assert line == (
        f"error: {bad}: the folder holds no junction.yaml; give a junction YAML or the folder of "
        f"one (`intergreen junctions import NET.net.xml --out {bad}` makes one from a SUMO "
        "network)"
    )
