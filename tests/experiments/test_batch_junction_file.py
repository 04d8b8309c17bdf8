"""A batch on a junction file (an imported network) is reported, and its status read, from any
folder: grid.json records the file's absolute path (``junction_file``) beside ``junction`` as
typed, which alone stays in the run and plan keys; a batch recorded before, with only the typed
path, is reported from the folder it ran in as before (a new user's trial)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli, run_cli_flat

from intergreen.experiments.grid import load_grid
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.resco import nets_folder

GRID = """\
name: imported
junction: si
rewards: [queue]
agents: {ppo: {hyperparams: {n_steps: 32, batch_size: 32}}}
train_demands: [routes]
seeds: [1]
training: {timesteps: 32}
evaluation: {demands: [routes], episodes: 1}
baselines: [program]
episode_duration: 60
"""


def _report(results: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The report.md `intergreen report RESULTS` writes, from the current folder."""
    code, _, err = run_cli(["report", results], capsys)
    assert code == 0, err
    return (Path(results) / "report.md").read_text()


def test_a_batch_on_an_imported_junction_is_reported_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    b.mkdir()
    nets = nets_folder().parent / "single-intersection"
    import_network(
        nets / "single-intersection.net.xml", a / "si",
        routes=[nets / "single-intersection.rou.xml"],
    )  # fmt: skip
    (a / "grid.yaml").write_text(GRID)
    monkeypatch.chdir(a)
    code, _, err = run_cli(["compare", "grid.yaml", "--out", "batch", "--no-report"], capsys)
    assert code == 0, err  # the program baseline: the imported junction has a programme
    file = str((a / "si" / "junction.yaml").resolve())
    grid = json.loads((a / "batch" / "grid.json").read_text())
    assert grid["junction"] == "si" and grid["junction_file"] == file
    (run,) = (a / "batch" / "runs").iterdir()
    assert run.name == load_grid("grid.yaml").cells()[0].dir_name()  # keyed by "si", as before

    monkeypatch.chdir(b)
    report = _report("../a/batch", capsys)
    assert "**Junction and control.** si: simulation step 1 s" in report  # was: does not load
    assert f"the junction file {file} as it is now (given as si;" in report
    code, out, err = run_cli_flat(["status", "../a/batch"], capsys)
    assert code == 0, err  # was: grid.json no longer loads here: unknown junction 'si'
    assert "runs: 1 complete" in out and "baselines: 1 complete" in out

    # a batch recorded before junction_file: reported from the folder it ran in, as before
    for record in [a / "batch" / "grid.json", run / "config.json"]:
        payload = json.loads(record.read_text())
        del payload["junction_file"]
        record.write_text(json.dumps(payload))
    assert "**Junction.** si (its spec does not load here)." in _report("../a/batch", capsys)
    monkeypatch.chdir(a)
    report = _report("batch", capsys)
    assert "**Junction and control.** si: simulation step 1 s" in report
    assert "the junction file si as it is now (runs record its path only)" in report
