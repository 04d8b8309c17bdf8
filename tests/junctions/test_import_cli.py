"""`intergreen junctions import`, `junctions show` and `simulate` on imported junctions, and
bad input: one line on stderr naming the file and the fix, exit code 2, no SUMO left."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli_flat as run_cli
from nets import joined_tls, single_intersection, sumo_rilsa1, sumo_rl_nets, with_program
from procs import sumo_children


def test_import_show_and_simulate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    grid = sumo_rl_nets() / "2x2grid"
    code, out, err = run_cli(
        ["junctions", "import", str(grid / "2x2.net.xml"), "--tls", "5", "--routes",
         str(grid / "2x2.rou.xml"), "--out", str(tmp_path / "j"), "--rules", "program"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    yaml_path = tmp_path / "j" / "junction.yaml"
    assert f"wrote{yaml_path}" in out.replace(" ", "")  # the console may wrap the path
    assert "2x2-5: traffic light 5 of 2x2.net.xml" in out
    assert "rules: program" in out and "demands: routes" in out
    code, shown, err = run_cli(["junctions", "show", str(yaml_path)], capsys)
    assert code == 0, err
    assert shown in out  # import prints the same summary as show
    code, out, err = run_cli(
        ["simulate", "--junction", str(yaml_path), "--demand", "routes", "--controller",
         "random", "--duration", "60"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "2x2-5 | demand routes | random (seed=1) | seed 1" in out  # simulate's --seed
    assert sumo_children() == []


def test_show_and_simulate_resco_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["junctions", "show", "resco:cologne1"], capsys)
    assert code == 0, err
    assert "RESCO cologne1" in out and "amber 3.0 s, red+amber 0.0 s" in out
    code, out, err = run_cli(
        ["simulate", "--junction", "resco:cologne1", "--demand", "routes", "--duration", "30"],
        capsys,
    )
    assert code == 0, err
    assert "cologne1 | demand routes | vehicle-actuated" in out


def _bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    net, rou = single_intersection()
    grid = sumo_rl_nets() / "2x2grid" / "2x2.net.xml"
    bad_routes = tmp_path / "bad.rou.xml"
    bad_routes.write_text('<routes><trip id="a" depart="0" from="n_t" to="x_y"/></routes>')
    no_green = tmp_path / "nogreen"
    no_green.mkdir()
    conflicting = tmp_path / "conflicting"
    conflicting.mkdir()
    joined = tmp_path / "joined"
    joined.mkdir()
    empty = tmp_path / "empty.net.xml"
    empty.write_text("")
    truncated = tmp_path / "truncated.net.xml"
    truncated.write_text(net.read_text()[:3000])
    versionless = tmp_path / "versionless.net.xml"
    versionless.write_text('<net><edge id="a"/></net>')
    return [
        ([str(rou)], "single-intersection.rou.xml: not a SUMO network"),
        ([str(empty)], "empty.net.xml: not a SUMO network (empty: no <net version=...> root)"),
        ([str(truncated)], "truncated.net.xml: not a complete SUMO network (XML error at line"),
        ([str(versionless)], "versionless.net.xml: not a SUMO network (no <net version=...> root"),
        (
            [str(grid), "--tls", "9"],
            "no traffic light '9'; the network has 1, 2, 5, 6: choose one with --tls",
        ),
        ([str(joined_tls(joined))], "'J' controls 2 junctions (A, B)"),
        ([str(with_program(no_green, [("rrrr", 9), ("yyyy", 3)]))], "has no green phase"),
        ([str(with_program(conflicting, [("GGGG", 9), ("rrGG", 9)]))], "neither gives way"),
        ([str(net), "--routes", str(bad_routes)], "bad.rou.xml: references edge(s) x_y"),
    ]


def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for args, message in _bad_inputs(tmp_path):
        code, out, err = run_cli(["junctions", "import", *args, "--out", str(tmp_path / "o")],
                                 capsys)  # fmt: skip
        assert code == 2, (args, out)
        assert message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert sumo_children() == []
    assert not (tmp_path / "o" / "junction.yaml").exists()


def test_imported_junction_with_an_unknown_demand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(
        ["simulate", "--junction", "resco:ingolstadt1", "--demand", "medium"], capsys
    )
    assert code == 2
    assert "unknown demand 'medium' for junction ingolstadt1: use one of routes" in err
    assert sumo_children() == []


def test_simulate_with_the_networks_own_program(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["simulate", "--junction", "resco:ingolstadt1", "--demand", "routes", "--controller",
         "program", "--duration", "60"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "ingolstadt1 | demand routes | program | seed 1" in out
    assert sumo_children() == []


def _import_single(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    net, rou = single_intersection()
    code, _, err = run_cli(
        ["junctions", "import", str(net), "--routes", str(rou), "--out", str(tmp_path / "si"),
         *extra],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    return tmp_path / "si" / "junction.yaml"


def test_reimport_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _import_single(tmp_path, capsys)
    edited = path.read_text() + "# my edit\n"
    path.write_text(edited)
    net, _ = single_intersection()
    code, out, err = run_cli(["junctions", "import", str(net), "--out", str(path.parent)], capsys)
    assert code == 2, out
    assert f"{path} exists" in err and "pass --force to replace it" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path.read_text() == edited  # the hand edit is kept
    _import_single(tmp_path, capsys, "--force")
    assert "# my edit" not in path.read_text()


def test_exit_only_arms_under_every_baseline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """sumo-rl's single intersection: arms E and S are exit-only. Webster plans (it divided by
    their zero approach lanes), and every baseline shows "–" for their waits and queue."""
    path = _import_single(tmp_path, capsys)
    for controller in ("fixed-time", "vehicle-actuated", "max-occupancy", "max-pressure",
                       "greedy", "program"):  # fmt: skip
        code, out, err = run_cli(
            ["simulate", "--junction", str(path), "--controller", controller, "--duration",
             "120"],
            capsys,
        )  # fmt: skip
        assert code == 0, (controller, err)
        no_params = controller in ("max-pressure", "greedy", "program")
        who = controller if no_params else f"{controller} (defaults)"
        assert f"single-intersection | demand routes | {who} | seed 1" in out
        for arm in ("E", "S"):
            assert f"│ {arm} │ 0 │ – │ – │ – │ 0.00 │" in out, (controller, out)
        for arm in ("W", "N"):  # measured: vehicles and a finite wait
            cells = out.split(f"│ {arm} │ ")[1].split(" │ ")
            assert int(cells[0]) > 0 and float(cells[1]) >= 0, (controller, cells)
    assert sumo_children() == []


def test_gzipped_network_and_routes_run_as_the_plain_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """SUMO and sumolib read a .net.xml.gz; import refused it with an XML error, simulate's
    metrics parsed the compressed route file as text. Now the same numbers as uncompressed,
    and export keeps the .gz names that plain sumo runs."""
    import gzip
    import shutil
    import subprocess

    from intergreen.junctions.sumo import sumo_binary

    net, rou = single_intersection()
    for src in (net, rou):
        with open(src, "rb") as f, gzip.open(tmp_path / f"{src.name}.gz", "wb") as g:
            shutil.copyfileobj(f, g)
    metrics = []
    zipped = (tmp_path / f"{net.name}.gz", tmp_path / f"{rou.name}.gz")
    for folder, files in (("plain", (net, rou)), ("gz", zipped)):
        out = tmp_path / folder
        code, _, err = run_cli(
            ["junctions", "import", str(files[0]), "--routes", str(files[1]), "--out", str(out)],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        code, shown, err = run_cli(
            ["simulate", "--junction", str(out), "--duration", "120"], capsys
        )
        assert code == 0, err
        metrics.append(shown[shown.index("vehicles") : shown.index("per arm")])
    assert metrics[0] == metrics[1] and "avg_waiting_time" in metrics[0]
    code, out, err = run_cli(
        ["junctions", "export", str(tmp_path / "gz"), "--out", str(tmp_path / "ex")], capsys
    )
    assert code == 0, err
    names = {p.name for p in (tmp_path / "ex").iterdir()}
    assert {"single-intersection.net.xml.gz", "single-intersection.rou.xml.gz"} <= names, names
    cfg = next((tmp_path / "ex").glob("*.sumocfg"))
    done = subprocess.run([sumo_binary("sumo"), "-c", cfg.name], cwd=tmp_path / "ex",
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_major_green_that_the_response_matrix_makes_yield_imports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """SUMO's RiLSA1 shows G on link 11 (W.left) beside its foe link 3 (E.right); SUMO's
    response matrix makes 11 give way, and SUMO simulates it so. It was refused ("neither
    gives way (g)"); now it imports with the assumption said, and its stages, which show
    link 11 as g, keep the rules at every step."""
    routes = tmp_path / "r.rou.xml"
    routes.write_text(
        '<routes><flow id="a" from="em" to="mn" begin="0" end="300" vehsPerHour="900"/>'
        '<flow id="b" from="wm" to="mn" begin="0" end="300" vehsPerHour="300"/></routes>'
    )
    out = tmp_path / "rilsa1"
    code, printed, err = run_cli(
        ["junctions", "import", str(sumo_rilsa1()), "--routes", str(routes), "--out", str(out)],
        capsys,
    )
    assert code == 0, err
    assert "phase 3: link 11 (W.left) to 3 (E.right)" in printed
    # its program ends the crossings, then the ahead movements, early: stages 2 and 3 run
    # only groups of stage 1 (and 5, 6 of 4), which a user is told, with the --stages to give
    nested = (
        "stages 2 and 3 run only signal groups that stage 1 also runs; stages 5 and 6 run only "
        "signal groups that stage 4 also runs"
    )
    assert nested in printed
    assert "give --stages 1,4 (the stages no other contains)" in printed
    header = " ".join(ln.lstrip("# ") for ln in (out / "junction.yaml").read_text().splitlines())
    assert nested in header and "set action_stages: ['1', '4'] here" in header
    code, printed, err = run_cli(
        ["simulate", "--junction", str(out), "--check-rules", "--duration", "300"], capsys
    )
    assert code == 0, err
    assert "kept rules uk at every step" in printed
    code, printed, err = run_cli(
        ["simulate", "--junction", str(out), "--check-rules", "--duration", "300",
         "--stages", "1,4"], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "kept rules uk at every step" in printed
    assert sumo_children() == []


def test_route_files_whose_traffic_misses_the_window_are_warned_of(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """cologne1's trips depart at 25205-28799 s; imported without --begin, the episode's
    window is 0-3600 s and every episode simulated an empty junction without a word."""
    folder = sumo_rl_nets() / "RESCO" / "cologne1"
    args = ["junctions", "import", str(folder / "cologne1.net.xml"), "--routes",
            str(folder / "cologne1.rou.xml"), "--out"]  # fmt: skip
    code, out, err = run_cli([*args, str(tmp_path / "c0")], capsys)
    assert code == 0, err
    assert "routes: 0 veh/h through the signal" in out
    assert (
        "no vehicle of cologne1.rou.xml passes traffic light GS_cluster_357187_359543 in SUMO "
        "time 0-3600 s (their vehicles depart from 25205 to 28799 s: set network.begin"
    ) in " ".join(err.split())
    code, out, err = run_cli([*args, str(tmp_path / "c1"), "--begin", "25200"], capsys)
    assert code == 0, err
    assert "routes: 2,011 veh/h through the signal" in out and "no vehicle" not in err
    # its program ends the left turns early: stage 2 (right and ahead) inside stage 1
    assert "stage 2 runs only signal groups that stage 1 also runs; stage 4 runs" in out
