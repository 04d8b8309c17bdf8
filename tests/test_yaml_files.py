"""Every YAML file the project reads refuses a repeated key, naming the file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import intergreen
from intergreen.agents import config as agent_config
from intergreen.experiments.grid import CONFIG_DIR, GridError, load_grid
from intergreen.junctions.catalog import LIBRARY, load_spec, resolve_junction
from intergreen.junctions.demand import load_assumptions, resolve_demand
from intergreen.junctions.spec import SpecError
from intergreen.yamlfile import YamlError, parse_yaml, read_yaml

GM = LIBRARY / "gm_a56"


def test_parser_refuses_a_repeated_key_with_its_line() -> None:
    with pytest.raises(YamlError) as err:
        parse_yaml("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n", "f.yaml")
    assert str(err.value) == "f.yaml: line 5: duplicate key 'x' (first given on line 3); keep one"
    with pytest.raises(YamlError, match=r"line 1: duplicate key 'amber'"):
        parse_yaml("timing: {amber: 3.0, amber: 0.6}")
    # the same key in different mappings, and a key overriding a merged one, are fine
    assert parse_yaml("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}
    assert parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n")["c"] == {"x": 3, "y": 2}


def test_malformed_and_unreadable_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    with pytest.raises(YamlError, match=rf"^{re.escape(str(bad))}: line \d+: malformed YAML"):
        read_yaml(bad)
    with pytest.raises(YamlError, match=r"missing\.yaml: cannot read"):
        read_yaml(tmp_path / "missing.yaml")


def test_junction_variant_repeating_amber_is_refused(tmp_path: Path) -> None:
    """The issue's case: a 0.6 s amber slipped in by a repeated key under extends: gm_a56."""
    variant = tmp_path / "short_amber.yaml"
    variant.write_text("name: short_amber\nextends: gm_a56\ntiming: {amber: 3.0, amber: 0.6}\n")
    with pytest.raises(SpecError) as err:
        load_spec(variant)
    assert str(err.value) == (
        f"{variant}: line 3: duplicate key 'amber' (first given on line 3); keep one"
    )
    with pytest.raises(SpecError, match="duplicate key 'amber'"):
        resolve_junction(str(variant))


def test_junction_repeating_a_top_level_key_is_refused(tmp_path: Path) -> None:
    text = (GM / "junction.yaml").read_text()
    path = tmp_path / "j.yaml"
    path.write_text(text + "\ninitial_stage: 4\n")
    with pytest.raises(SpecError, match=r"j\.yaml: line \d+: duplicate key 'initial_stage'"):
        load_spec(path)


def test_demand_assumptions_repeating_a_key_are_refused(tmp_path: Path) -> None:
    spec = resolve_junction("gm_a56")
    path = tmp_path / "demand.yaml"
    text = (GM / "demand.yaml").read_text()
    path.write_text(text.replace("\n  low: ", "\n  low: 9\n  low: "))
    with pytest.raises(SpecError, match=r"demand\.yaml: line \d+: duplicate key 'low'"):
        load_assumptions(spec, path)


def test_demand_profile_repeating_a_flow_is_refused(tmp_path: Path) -> None:
    spec = resolve_junction("gm_a56")
    path = tmp_path / "profile.yaml"
    path.write_text(
        "name: p\nperiods:\n- begin: 0\n  end: 60\n  flows: {N.ahead: 100, N.ahead: 100000}\n"
    )
    with pytest.raises(SpecError, match=r"profile\.yaml: line 5: duplicate key 'N\.ahead'"):
        resolve_demand(spec, str(path))


def test_grid_repeating_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    text = (CONFIG_DIR / "study_quick.yaml").read_text()
    path.write_text(text.replace("seeds: [1, 2]", "seeds: [1, 2]\nseeds: [3]"))
    with pytest.raises(GridError) as err:
        load_grid(path)
    assert str(path) in str(err.value)
    assert re.search(r"line \d+: duplicate key 'seeds'", str(err.value))


def test_presets_repeating_a_key_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "presets.yaml"
    path.write_text("dqn:\n  algorithm: dqn\n  gamma: 0.9\n  gamma: 0.5\n")
    monkeypatch.setattr(agent_config, "PRESETS_FILE", path)
    agent_config.presets.cache_clear()
    try:
        with pytest.raises(YamlError, match=r"presets\.yaml: line 4: duplicate key 'gamma'"):
            agent_config.presets()
    finally:
        agent_config.presets.cache_clear()


def test_every_shipped_yaml_reads_cleanly() -> None:
    """No shipped file repeats a key (they are all read by the strict reader)."""
    root = Path(intergreen.__file__).parent
    files = sorted(root.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        assert read_yaml(path) is not None, path


def test_no_other_yaml_reader_in_the_package() -> None:
    """One loader: nothing else in intergreen/ or benchmarks/ calls PyYAML's readers."""
    root = Path(intergreen.__file__).parent
    offenders = []
    for path in [*root.rglob("*.py"), *(root.parent / "benchmarks").rglob("*.py")]:
        if path.name == "yamlfile.py":
            continue
        pattern = r"\byaml\.(safe_load|load|full_load|unsafe_load|load_all)\b"
        if re.search(pattern, path.read_text()):
            offenders.append(str(path))
    assert offenders == []
