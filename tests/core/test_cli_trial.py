"""What the new-user trial of issue 17 met at the command line: parameters of the network
baselines, the controller list in --help, absurd durations, messages that name the option to
fix, paths that stay whole in piped output, ``python -m intergreen`` and the RESCO benchmark's
--help."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from intergreen.cli import main
from intergreen.common import MAX_SIM_SECONDS
from intergreen.junctions.baselines import BASELINES, parameter_names
from intergreen.junctions.resco import nets_folder
from intergreen.version import __version__

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("controller", ["program", "max-pressure", "greedy"])
def test_network_baselines_say_they_take_no_parameters(
    capsys: pytest.CaptureFixture[str], controller: str
) -> None:
    """They said "valid: args, kwargs" (object's signature)."""
    assert parameter_names(controller) == []
    line = one_error_line(
        *run_cli(["simulate", "--controller", controller, "--param", "x=1"], capsys)
    )
    assert f"controller {controller}: unknown parameter 'x'; it takes no parameters" in line
    assert "args" not in line


def test_parameters_of_the_other_baselines_are_listed() -> None:
    assert parameter_names("vehicle-actuated") == ["extension", "max_green"]
    assert parameter_names("random") == ["seed"]


def test_controller_help_lists_every_baseline_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list comes from BASELINES, wraps at commas (it was one word cut with "…")."""
    import typer.rich_utils

    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", None)
    main(["simulate", "--help"])
    out = capsys.readouterr().out
    help_text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", out).split())
    assert "A baseline (" + ", ".join(BASELINES) + "), NAME:tuned" in help_text
    assert {"program", "max-pressure", "greedy"} <= set(BASELINES)
    assert "…" not in out
    main(["junctions", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "import one from a SUMO network" in out and "show one" in out


def test_junction_names_include_resco(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["junctions", "list"], capsys)
    assert code == 0, err
    out = " ".join(out.split())
    assert "also: resco:cologne1, resco:ingolstadt1, RESCO's scenarios with RESCO's settings" in out
    assert "resco:NAME:program under the network program's own amber, all-red and minDur" in out
    line = one_error_line(*run_cli(["simulate", "--junction", "colgne1"], capsys))
    assert "unknown junction 'colgne1'" in line
    assert "gm_a56, gm_a56_max_green, resco:cologne1, resco:ingolstadt1" in line
    assert "(resco:NAME:uk under UK rules)" in line


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--duration", "100000000"],
        ["simulate", "--duration", "inf"],
        ["junctions", "export", "gm_a56", "--out", "unused", "--duration", "1e9"],
    ],
)
def test_absurd_durations_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    args = [str(tmp_path / a) if a == "unused" else a for a in args]
    line = one_error_line(*run_cli(args, capsys))
    assert "--duration" in line and f"more than {MAX_SIM_SECONDS:g} s (7 days)" in line
    assert not (tmp_path / "unused").exists()


def test_unknown_action_stages_name_the_option_and_the_stages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = one_error_line(*run_cli(["simulate", "--stages", "2,9", "--duration", "10"], capsys))
    assert "--stages '2,9': no stage 9 in gm_a56; give some of its stages 1, 2, 3, 4" in line


def test_a_junction_without_demand_names_the_demand_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A junction YAML of the user's own (a copy of gm_a56 named cross, no demand.yaml)."""
    text = (ROOT / "intergreen/junctions/library/gm_a56/junction.yaml").read_text()
    (tmp_path / "junction.yaml").write_text(
        re.sub(r"^name: gm_a56$", "name: cross", text, flags=re.M)
    )
    line = one_error_line(
        *run_cli(["simulate", "--junction", str(tmp_path), "--duration", "10"], capsys)
    )
    assert "junction cross has no demand of its own: give one with --demand: " in line
    assert "a profile YAML path" in line


def test_printed_paths_stay_whole_in_piped_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Output into a pipe was wrapped at 80 columns, splitting paths over lines."""
    net = nets_folder().parent / "single-intersection" / "single-intersection.net.xml"
    out = tmp_path / ("a_long_folder_name_" * 4) / "junction"
    code, stdout, err = run_cli(["junctions", "import", str(net), "--out", str(out)], capsys)
    assert code == 0, err
    lines = stdout.splitlines()
    assert f"wrote {out / 'junction.yaml'}" in lines
    assert any(line.startswith(f"network {net}, traffic light t") for line in lines)


def test_simulate_names_the_chosen_checkpoint_on_one_line_in_a_pipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`simulate --controller RUN` says which model it plays; into a pipe rich broke that line
    at 80 columns (the console of the top-level commands wraps nothing now)."""
    run = tmp_path / ("a_long_run_folder_name_" * 3)
    code, _, err = run_cli(
        ["train", "--agent", "dqn", "--timesteps", "200", "--out", str(run), "--env",
         "duration=36", "--hp", "learning_starts=50", "--validate-every", "100",
         "--validate-episodes", "1", "--validate-demands", "low"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    code, stdout, err = run_cli(
        ["simulate", "--controller", str(run), "--duration", "12", "--demand", "low"], capsys
    )
    assert code == 0, err
    said = [line for line in stdout.splitlines() if line.startswith(f"{run}: ")]
    assert len(said) == 1 and said[0].endswith(" s/veh)"), stdout
    assert len(said[0]) > 80
    assert "best checkpoint by validation (step " in said[0]


def test_python_dash_m_intergreen(tmp_path: Path) -> None:
    """From another folder, this checkout's package first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "intergreen", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"intergreen {__version__}"


def test_resco_benchmark_help_gives_every_option_and_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = importlib.util.spec_from_file_location(
        "resco_run_benchmark", ROOT / "benchmarks/resco/run_benchmark.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    usage, _, described = text.partition("options:")
    options = re.findall(r"\[(--[a-z-]+) ", usage)
    assert len(options) == 9, usage
    for option in options:
        metavar = option[2:].upper().replace("-", "_")
        entry = described.split(f" {option} {metavar} ")[1].split(" --")[0]
        assert "(default: " in entry, (option, entry)
    assert "(default: results/resco)" in text and "(default: 10)" in text
    assert "(default: none)" in text and "(default: 100)" in text
