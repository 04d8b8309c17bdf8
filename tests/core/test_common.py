"""The one way to write a file atomically, to parse a duration and to parse KEY=VALUE."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from intergreen.cli_common import parse_params, parse_time_limit, split_list
from intergreen.common import (
    atomic_folder,
    atomic_path,
    atomic_write,
    parse_duration,
    remove_stale_temporaries,
)
from intergreen.errors import OptionError

PACKAGE = Path(__file__).resolve().parents[2] / "intergreen"


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.json"
    atomic_write(target, '{"a": 1}')
    atomic_write(target, '{"a": 2}')
    atomic_write(tmp_path / "blob.bin", b"\x00\x01")
    assert target.read_text() == '{"a": 2}'
    assert (tmp_path / "blob.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["blob.bin", "state.json", "sub"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_an_atomic_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    runs, staging = tmp_path / "runs", tmp_path
    with atomic_folder(runs / "a", staging=staging) as tmp:
        assert tmp.parent == staging and not (runs / "a").exists()
        (tmp / "model.zip").write_text("m")
        assert [p.name for p in runs.iterdir()] == []  # nothing in runs/ while filling
    assert (runs / "a" / "model.zip").read_text() == "m"
    with pytest.raises(RuntimeError, match="copy failed"), atomic_folder(runs / "b") as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("copy failed")
    assert [p.name for p in runs.iterdir()] == ["a"]  # no b, no temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    with pytest.raises(OSError), atomic_folder(runs / "a") as tmp:  # a folder with files in it
        (tmp / "other").write_text("y")
    assert [p.name for p in (runs / "a").iterdir()] == ["model.zip"]


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path: Path) -> None:
    import tempfile

    # named as atomic_path names its temporary (what a SIGKILL mid-write leaves behind)
    fd, name = tempfile.mkstemp(dir=tmp_path, prefix=".best_model.", suffix=".tmp.zip")
    os.close(fd)
    stale = Path(name)
    others = [tmp_path / n for n in (".gitignore", "best_model.zip", ".notes.tmp.zip")]
    for p in others:
        p.write_text("x")
    (tmp_path / "sub").mkdir()
    deeper = tmp_path / "sub" / stale.name
    deeper.write_text("y")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and all(p.exists() for p in others) and deeper.exists()


def test_concurrent_writers_never_share_a_temporary_file(tmp_path: Path) -> None:
    """Two writers of one file at once (a fixed ``name.tmp`` made the second clobber the first
    and the first's rename fail)."""
    target = tmp_path / "trial.json"
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b and a.parent == b.parent == tmp_path
        a.write_text("from a")
        b.write_text("from b")
    assert target.read_text() == "from a"  # the outer block finishes last
    assert [p.name for p in tmp_path.iterdir()] == ["trial.json"]


def test_the_temporary_keeps_the_suffix_for_writers_that_append_one(tmp_path: Path) -> None:
    target = tmp_path / "weights.npy"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".npy"
        np.save(tmp, np.arange(3))  # np.save appends .npy to a path without it
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npy"]


def test_no_other_atomic_write_in_the_package() -> None:
    """os.replace and temporary files appear only in common.py. Staging folders that publish a
    whole folder of finished files at once are another job: the calibration's (its modules
    move staged files into place) and the network cache's (which may only rename its staged
    folder; its other files go through common.atomic_write)."""
    staged = {"calibration/pipeline.py", "calibration/report.py"}
    folder_rename = r"\btmp\w*\.rename\("
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "common.py" or rel in staged:
            continue
        text = path.read_text()
        patterns = [r"os\.replace\(", r"mkstemp\(", folder_rename, r"\btmp\w*\.replace\(",
                    r"\.tmp\b[\"']"]  # fmt: skip
        if rel == "junctions/network.py":
            patterns.remove(folder_rename)
        for pattern in patterns:
            found += [f"{rel}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5d", 129600),
     ("1_000s", 1000), (" 2H ", 7200)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "h", "1x", "-5s", "1h-30m", "soon", "nan"])
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None


def test_bare_seconds() -> None:
    assert parse_duration("90", bare_seconds=True) == 90
    assert parse_duration("2.5", bare_seconds=True) == 2.5
    assert parse_duration("1h", bare_seconds=True) == 3600
    assert parse_duration("nan", bare_seconds=True) is None
    assert parse_duration("inf", bare_seconds=True) is None


def test_parse_time_limit() -> None:
    assert parse_time_limit("1h30m") == 5400 and parse_time_limit("45") == 45
    with pytest.raises(OptionError, match="--time-limit 'soon': give a duration"):
        parse_time_limit("soon")
    with pytest.raises(OptionError, match="must be positive"):
        parse_time_limit("0")


def test_parse_params_and_lists() -> None:
    params = parse_params(["max_green=40", 'greens={"2": 20}', "mode=fast", " k = 1.5"])
    assert params == {"max_green": 40, "greens": {"2": 20}, "mode": "fast", "k": 1.5}
    # bracketed values as a grid file writes them (YAML flow), not JSON: lists and mappings
    flow = parse_params(["rewards=[queue, average_speed]", "w={queue: 2}", "on=on", "s=a[b"])
    assert flow == {"rewards": ["queue", "average_speed"], "w": {"queue": 2}, "on": "on",
                    "s": "a[b"}  # fmt: skip
    # a list or mapping that does not close, or a YAML key:value without a space (2:30 is
    # one key, the sexagesimal 150): one line, not a string passed on to fail later
    for bad, words in (
        ("b=[a", "[a is not a JSON or YAML list or mapping (JSON: "),
        ('m={"2": 30', "is not a JSON or YAML list or mapping"),
        ("m={2:30}", "{2:30} has a key without a value; put a space after"),
    ):
        with pytest.raises(OptionError, match=re.escape(f"--param {bad!r}: ")) as err:
            parse_params([bad])
        assert words in str(err.value)
    assert parse_params(["k={a: null, b: 1}"]) == {"k": {"a": None, "b": 1}}  # null is meant
    for bad in ("nokey", "=5"):
        with pytest.raises(OptionError, match=f"--env '{bad}': expected KEY=VALUE"):
            parse_params([bad], "--env")
    assert split_list(" low, medium,,high ") == ["low", "medium", "high"]


def test_field_changes_name_each_path_with_both_values() -> None:
    from intergreen.common import field_changes

    old = {"training": {"timesteps": 2000, "n_envs": 1}, "seed": None, "name": "a"}
    new = {"training": {"timesteps": 1500, "n_envs": 1}, "seed": 3, "name": "b", "x": [1]}
    assert field_changes(old, new) == [
        "name: \"a\" -> \"b\"", "seed: null -> 3", "training.timesteps: 2000 -> 1500",
        "x: null -> [1]",
    ]  # fmt: skip
    assert field_changes(old, new, skip=("name", "x")) == [
        "seed: null -> 3", "training.timesteps: 2000 -> 1500",
    ]  # fmt: skip
    assert field_changes(old, old) == []
