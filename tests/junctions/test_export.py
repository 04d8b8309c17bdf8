"""intergreen junctions export: plain sumo runs the exported files, under the UK rules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_junctions_cli import run_cli

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.export import fixed_programme
from intergreen.junctions.network import build_network
from intergreen.junctions.spec import SpecError
from intergreen.junctions.sumo import sumo_binary


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "gm"
    code = subprocess.run(
        [sys.executable, "-m", "intergreen.cli", "junctions", "export", "gm_a56", "--out",
         str(out), "--demand", "high", "--green", "2=25", "--green", "4=15"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert code.returncode == 0, code.stderr
    assert "gm_a56.sumocfg" in code.stdout and "cycle" in code.stdout
    return out


def test_export_writes_relative_plain_sumo_files(exported: Path) -> None:
    names = sorted(p.name for p in exported.iterdir())
    assert names == [
        "gm_a56.net.xml", "gm_a56.rou.xml", "gm_a56.sensors.add.xml", "gm_a56.sumocfg",
        "gm_a56.tls.add.xml", "gm_a56.view.xml",
    ]  # fmt: skip
    cfg = ET.parse(exported / "gm_a56.sumocfg").getroot()
    values = {el.tag: el.get("value") for el in cfg.iter() if el.get("value") is not None}
    assert values["net-file"] == "gm_a56.net.xml"  # relative: the folder can move
    assert values["additional-files"] == "gm_a56.sensors.add.xml,gm_a56.tls.add.xml"
    assert values["step-length"] == "0.6" and values["seed"] == "1"
    assert values["gui-settings-file"] == "gm_a56.view.xml"
    assert 'flow id="p0_N_ahead"' in (exported / "gm_a56.rou.xml").read_text()


def test_plain_sumo_runs_it_under_the_exported_programme(exported: Path, tmp_path: Path) -> None:
    """`sumo -c` exits 0; the traffic light shows the exported programme, not netconvert's."""
    states = tmp_path / "states.xml"
    extra = tmp_path / "record.add.xml"
    extra.write_text(
        f'<additional><timedEvent type="SaveTLSSwitchStates" source="TL" dest="{states}"/>'
        "</additional>"
    )
    adds = f"gm_a56.sensors.add.xml,gm_a56.tls.add.xml,{extra}"
    done = subprocess.run(
        [sumo_binary("sumo"), "-c", str(exported / "gm_a56.sumocfg"), "--end", "120",
         "-a", adds, "--statistic-output", str(tmp_path / "stats.xml")],
        cwd=exported, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = ET.parse(tmp_path / "stats.xml").getroot().find("vehicles")
    assert int(loaded.get("loaded")) > 40  # ~2400 veh/h for 120 s
    switches = [(el.get("programID"), el.get("state")) for el in ET.parse(states).getroot()]
    phases = [
        el.get("state") for el in ET.parse(exported / "gm_a56.tls.add.xml").getroot().iter("phase")
    ]
    assert {p for p, _ in switches} == {"intergreen_fixed"}
    seen = [s for _, s in switches]
    assert len(seen) >= len(phases) and seen[: len(phases)] == phases


def test_programme_obeys_the_rules_and_the_greens() -> None:
    spec = resolve_junction("gm_a56")
    links = build_network(spec).links
    phases = fixed_programme(spec, links, {"2": 25.0, "4": 15.0})
    dt = spec.timing.step_length
    stage_greens = _stage_greens(spec, links)
    greens: dict[str, float] = {}
    for state, steps in phases:
        on = frozenset(i for i, c in enumerate(state) if c in "Gg")
        if not set(state) & {"y", "u"} and on in stage_greens:
            greens[stage_greens[on]] = steps * dt
    assert greens["2"] == pytest.approx(25.2) and greens["4"] == pytest.approx(15.0)
    assert "1" in greens  # the arrow stage runs on the way from 4 to 2
    # every link: green ends with >= 3 s amber, red ends with >= 2 s red+amber (two cycles)
    steps = [state for state, n in phases * 2 for _ in range(n)]
    for i in range(len(links)):
        runs = _runs([s[i].replace("g", "G") for s in steps])
        for (a, la), (b, _) in zip(runs, runs[1:], strict=False):
            assert (a, b) in {("G", "y"), ("y", "r"), ("r", "u"), ("u", "G")}, (i, a, b)
            if a == "y":
                assert la * dt >= spec.timing.amber - 1e-9
            if a == "u":
                assert la * dt >= spec.timing.red_amber - 1e-9
    with pytest.raises(SpecError, match="action stages"):
        fixed_programme(spec, links, {"3": 20.0})
    with pytest.raises(SpecError, match="seconds"):
        fixed_programme(spec, links, {"2": 1e9})


def _stage_greens(spec, links) -> dict[frozenset[int], str]:
    from intergreen.junctions.controller import StageController

    ctl = StageController(spec, links)
    out = {}
    for s in spec.stages:
        ctl.reset(s)
        out[frozenset(i for i, c in enumerate(ctl.state_string()) if c in "Gg")] = s
    return out


def _runs(series: list[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for c in series:
        if out and out[-1][0] == c:
            out[-1] = (c, out[-1][1] + 1)
        else:
            out.append((c, 1))
    return out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--green", "3=20"], ["stage '3'", "2, 4"]),
        (["--green", "2=abc"], ["--green '2=abc'", "STAGE=SECONDS"]),
        (["--green", "2"], ["--green '2'"]),
        (["--green", "2=1e12"], ["0 < seconds <= 3600"]),
        (["--demand", "rush"], ["unknown demand 'rush'"]),
    ],
)
def test_export_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], words: list[str]
) -> None:
    code, _, err = run_cli(["junctions", "export", "gm_a56", "--out", str(tmp_path), *args],
                           capsys)  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err
    assert not (tmp_path / "gm_a56.sumocfg").exists()


def test_a_window_that_does_not_start_at_0_exports_a_runnable_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RESCO's cologne1 runs SUMO from 25200 s: the config said end 3600 (the episode's
    length), which plain sumo refuses ('The end time should be after the begin time')."""
    # found, not imported: sumo_rl's import needs SUMO_HOME, set only once SUMO has been run
    if importlib.util.find_spec("sumo_rl") is None:
        pytest.skip("RESCO's scenarios come with sumo-rl")
    out = tmp_path / "col"
    code, _, err = run_cli(["junctions", "export", "resco:cologne1", "--out", str(out)], capsys)
    assert code == 0, err
    cfg = ET.parse(out / "cologne1.sumocfg").getroot()
    values = {el.tag: el.get("value") for el in cfg.iter() if el.get("value") is not None}
    assert (values["begin"], values["end"]) == ("25200", "28800")
    done = subprocess.run([sumo_binary("sumo"), "-c", "cologne1.sumocfg"], cwd=out,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
