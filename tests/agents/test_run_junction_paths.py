"""A run on a junction file (an imported network) is used from any folder: it records the
file's absolute path (config.json ``junction_file``) beside the ``--junction`` value as typed,
which alone stays in its key; runs recorded before, with only a path relative to the folder
``train`` ran in, work there as before and elsewhere are one line (a new user's trial)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli, run_cli_flat

from intergreen.agents.rundir import load_run_config
from intergreen.agents.training import RunDirError, train
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.resco import nets_folder

TINY = ["--agent", "ppo", "--timesteps", "32", "--hp", "n_steps=32", "--hp", "batch_size=32",
        "--env", "duration=60"]  # fmt: skip
EVALUATE = ["--episodes", "1", "--baselines", "fixed-time"]


def _import(folder: Path) -> Path:
    """sumo-rl's single intersection imported into ``folder`` (its junction.yaml)."""
    nets = nets_folder().parent / "single-intersection"
    path, _, _ = import_network(
        nets / "single-intersection.net.xml", folder,
        routes=[nets / "single-intersection.rou.xml"],
    )  # fmt: skip
    return path


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """``a/`` holding the imported junction ``a/si`` (the working folder), and ``b/``."""
    a, b = tmp_path / "a", tmp_path / "b"
    b.mkdir()
    _import(a / "si")
    monkeypatch.chdir(a)
    return a, b


def test_a_run_on_an_imported_junction_evaluates_from_another_folder(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    a, b = folders
    code, _, err = run_cli(["train", *TINY, "--junction", "si", "--out", "run"], capsys)
    assert code == 0, err
    monkeypatch.chdir(b)
    code, out, err = run_cli_flat(["evaluate", "../a/run", *EVALUATE], capsys)
    assert code == 0, err  # was: unknown junction 'si' (the path typed in a/)
    assert "demands: routes (the training demand of the runs; junction single-intersection" in out
    assert "│ run │ routes │" in out and "│ fixed-time │ routes │" in out
    code, out, err = run_cli_flat(["simulate", "--controller", "../a/run"], capsys)
    assert code == 0, err
    assert out.startswith("single-intersection | demand routes | run | seed 1")
    assert "│ simulated_s │ 60.00 │ s │" in out  # the run's own episode length
    record = json.loads((a / "run" / "config.json").read_text())
    assert record["config"]["junction"] == "si"  # as typed: the key holds it, unchanged
    assert record["junction_file"] == str((a / "si" / "junction.yaml").resolve())
    assert record["key"] == load_run_config(a / "run").key()


def test_a_run_recorded_with_a_relative_path_only_works_where_it_was_trained(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A run recorded before junction_file: evaluated where it was trained as before; from
    elsewhere one line naming its config.json and --junction, which fixes it."""
    a, b = folders
    code, _, err = run_cli(["train", *TINY, "--junction", "si", "--out", "run"], capsys)
    assert code == 0, err
    cfg = a / "run" / "config.json"
    record = json.loads(cfg.read_text())
    record.pop("junction_file", None)
    cfg.write_text(json.dumps(record, indent=2))
    code, out, err = run_cli_flat(["evaluate", "run", *EVALUATE], capsys)
    assert code == 0 and "│ run │ routes │" in out, err
    monkeypatch.chdir(b)
    for command in (["evaluate", "../a/run", *EVALUATE], ["simulate", "--controller", "../a/run"]):
        line = one_error_line(*run_cli(command, capsys))
        assert line == (
            f"error: ../a/run/config.json: the run's junction si is not found from {b} (a path "
            "relative to the folder the run was trained in); give --junction (Python: "
            "junction=) with the junction's YAML or its folder"
        )
    code, out, err = run_cli_flat(["evaluate", "../a/run", *EVALUATE, "--junction", "../a/si"],
                                  capsys)  # fmt: skip
    assert code == 0 and "│ run │ routes │" in out, err
    # a moved junction: its recorded absolute path is not there either
    monkeypatch.chdir(a)
    (a / "run2").mkdir()
    record["junction_file"] = str(b / "gone" / "junction.yaml")
    record["config"]["junction"] = str(b / "gone")
    (a / "run2" / "config.json").write_text(json.dumps(record))
    shutil.copy(a / "run" / "model.zip", a / "run2" / "model.zip")
    line = one_error_line(*run_cli(["evaluate", "run2", *EVALUATE], capsys))
    assert line.startswith(
        f"error: run2/config.json: the run's junction file {b / 'gone' / 'junction.yaml'} "
        f"(given as {b / 'gone'}) is not found (moved or deleted since the run was trained); "
        "give --junction"
    )
    record.pop("junction_file")  # legacy, by an absolute path: that path is named
    (a / "run2" / "config.json").write_text(json.dumps(record))
    line = one_error_line(*run_cli(["evaluate", "run2", *EVALUATE], capsys))
    assert line.startswith(
        f"error: run2/config.json: the run's junction {b / 'gone'} is not found (moved or "
        "deleted since the run was trained); give --junction"
    )


def test_a_moved_junction_is_named_by_the_file_the_run_recorded(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A run that recorded junction_file, whose junction folder moved: the line names that
    recorded file, gone (was: the legacy wording, a path relative to the folder trained in)."""
    a, b = folders
    code, _, err = run_cli(["train", *TINY, "--junction", "si", "--out", "run"], capsys)
    assert code == 0, err
    recorded = (a / "si" / "junction.yaml").resolve()
    (a / "si").rename(a / "si_moved")
    for where in (a, b):
        monkeypatch.chdir(where)
        run = Path("run") if where == a else Path("../a/run")
        for command in (["evaluate", str(run), *EVALUATE], ["simulate", "--controller", str(run)]):
            line = one_error_line(*run_cli(command, capsys))
            assert line == (
                f"error: {run / 'config.json'}: the run's junction file {recorded} (given as si) "
                "is not found (moved or deleted since the run was trained); give --junction "
                "(Python: junction=) with the junction's YAML or its folder"
            )
    command = ["evaluate", "../a/run", *EVALUATE, "--junction", "../a/si_moved"]
    code, out, err = run_cli_flat(command, capsys)
    assert code == 0 and "│ run │ routes │" in out, err


def test_a_run_resumes_from_another_folder_under_its_own_key(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = folders
    kwargs = dict(timesteps=64, seed=1, hyperparams={"n_steps": 32, "batch_size": 32},
                  env_kwargs={"duration": 60}, checkpoint_every=32)  # fmt: skip
    train("ppo", junction="si", run_dir=a / "run", **kwargs)
    before = json.loads((a / "run" / "config.json").read_text())
    (a / "run" / "done.json").unlink()
    monkeypatch.chdir(b)
    # the same file by another path: this run (was: "holds a run with another configuration")
    train("ppo", junction=str(a / "si"), run_dir=a / "run", resume=True, **kwargs)
    assert json.loads((a / "run" / "config.json").read_text()) == before
    assert json.loads((a / "run" / "done.json").read_text())["timesteps"] == 64
    # another junction file (a copy elsewhere) is another run
    other = _import(b / "si")
    (a / "run" / "done.json").unlink()
    with pytest.raises(RunDirError, match="holds a run with another configuration"):
        train("ppo", junction=str(other.parent), run_dir=a / "run", resume=True, **kwargs)
    # a run recorded before junction_file resumes where it was trained, under the same key
    monkeypatch.chdir(a)
    legacy = {k: v for k, v in before.items() if k != "junction_file"}
    (a / "run" / "config.json").write_text(json.dumps(legacy))
    train("ppo", junction="si", run_dir=a / "run", resume=True, **kwargs)
    assert json.loads((a / "run" / "config.json").read_text()) == before  # junction_file added


def test_shipped_junctions_are_recorded_by_name_alone(folders: tuple[Path, Path]) -> None:
    from intergreen.junctions.catalog import LIBRARY, junction_file

    a, _ = folders
    assert junction_file("gm_a56") is None and junction_file("resco:cologne1") is None
    assert junction_file("atlantis") is None  # no junction: nothing to record
    yaml = (a / "si" / "junction.yaml").resolve()
    assert junction_file("si") == junction_file(str(a / "si")) == junction_file("si/junction.yaml")
    assert junction_file(str(a / "si")) == yaml
    shipped = LIBRARY / "gm_a56" / "junction.yaml"  # by its path: a file like any other
    assert junction_file(str(shipped)) == shipped.resolve()
