"""JunctionSpec: each bad spec fails naming the field; derived conflicts and paths on gm_a56."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from intergreen.junctions.catalog import LIBRARY, load_spec, resolve_junction
from intergreen.junctions.spec import JunctionSpec, SpecError, parse_spec

GM_YAML = LIBRARY / "gm_a56" / "junction.yaml"


def gm_data() -> dict[str, Any]:
    return yaml.safe_load(GM_YAML.read_text())


def test_gm_a56_loads() -> None:
    spec = load_spec(GM_YAML)
    assert spec.name == "gm_a56"
    assert list(spec.stages) == ["1", "2", "3", "4"]
    assert spec.action_stages == ["2", "4"]
    assert spec.initial_stage == "2"
    assert spec.timing.step_length == 0.6 and spec.timing.decision_interval == 0.6
    assert spec.min_green("A") == 4 and spec.min_green("B") == 7
    assert spec.approach_lane_ids == ["N_0", "N_1", "E_0", "S_0", "S_1", "W_0"]


def _key(node: Any, k: str) -> Any:
    """The key ``k`` of a YAML node: list index, or an integer key YAML wrote (stage names)."""
    if isinstance(node, list) or (k.isdigit() and int(k) in node):
        return int(k)
    return k


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        keys = path.split(".")
        node = d
        for k in keys[:-1]:
            node = node[_key(node, k)]
        node[_key(node, keys[-1])] = value

    return edit


def _delete_intergreens(d: dict) -> None:
    d["timing"]["default_intergreen"] = None


def _full_matrix_but_one(d: dict) -> None:
    """Every conflicting pair given a value except C -> D; no default."""
    spec = parse_spec(gm_data())
    d["timing"]["default_intergreen"] = None
    matrix: dict[str, dict[str, float]] = {}
    for lo, ga in spec.conflicts:
        matrix.setdefault(lo, {})[ga] = spec.intergreen(lo, ga)
    del matrix["C"]["D"]
    d["intergreens"] = matrix


BAD_SPECS = [
    # (id, edit, words the message must contain)
    (
        "unknown movement",
        _set("signal_groups.B.movements", ["N.left", "N.ahead", "N.right", "N.uturn"]),
        ["signal_groups.B.movements"],
    ),
    (
        "movement no lane serves",
        _set("signal_groups.D.movements", ["E.left", "E.ahead"]),
        ["E.right"],
    ),
    (
        "lane movement not a turn",
        _set("arms.E.approach_lanes", [{"movements": ["left", "sideways"]}]),
        ["arms.E.approach_lanes.0.movements"],
    ),
    (
        "unknown arm in a group",
        _set("signal_groups.F.movements", ["X.crossing"]),
        ["signal_groups.F.movements", "unknown arm 'X'"],
    ),
    (
        "stage with conflicting groups",
        _set("stages.2.groups", ["B", "C", "D"]),
        ["stages.2.groups", "conflict"],
    ),
    (
        "stage with unknown group",
        _set("stages.4.groups", ["D", "Z"]),
        ["stages.4.groups", "'Z'"],
    ),
    (
        "transition to a missing stage",
        _set("transitions.2", [3, 4, 9]),
        ["transitions.2", "'9'"],
    ),
    (
        "transitions from an unknown stage",
        _set("transitions.7", [2]),
        ["transitions", "'7'"],
    ),
    (
        "negative min green",
        _set("signal_groups.A.min_green", -1),
        ["signal_groups.A.min_green", "greater than or equal to 0"],
    ),
    (
        "negative amber",
        _set("timing.amber", -3),
        ["timing.amber"],
    ),
    (
        "negative intergreen",
        _set("intergreens.F.A", -2),
        ["intergreens.F.A", "0-60 s, got -2"],
    ),
    (
        "missing intergreen with no default",
        _full_matrix_but_one,
        ["intergreens.C.D", "default_intergreen"],
    ),
    (
        "no default and no matrix",
        _delete_intergreens,
        ["intergreens.", "missing", "default_intergreen is null"],
    ),
    (
        "intergreen for non-conflicting groups",
        _set("intergreens.B", {"C": 5}),
        ["intergreens.B.C", "do not conflict"],
    ),
    (
        "action stage missing",
        _set("action_stages", [2, 5]),
        ["action_stages", "'5'"],
    ),
    (
        "one action stage",
        _set("action_stages", [2, 2]),
        ["action_stages", "names one stage", "at least 2", "1, 2, 3, 4"],
    ),
    (
        "no action stage",  # was pydantic's "List should have at least 1 item after validation"
        _set("action_stages", []),
        ["action_stages: [] names no stage", "at least 2", "1, 2, 3, 4"],
    ),
    (
        "an action stage twice",  # was accepted: the baselines held stage 4 all episode
        _set("action_stages", [2, 4, 4]),
        ["action_stages: ['2', '4', '4'] names stage 4 more than once", "e.g. [2, 4]"],
    ),
    (
        "initial stage missing",
        _set("initial_stage", 8),
        ["initial_stage", "'8'"],
    ),
    (
        "unknown top-level field",
        _set("signal_plan", 3),
        ["signal_plan"],
    ),
    (
        "decision interval not a multiple",
        _set("timing.decision_interval", 1.0),
        ["decision_interval", "step_length"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "words"), [b[1:] for b in BAD_SPECS], ids=[b[0] for b in BAD_SPECS]
)
def test_bad_spec_names_the_field(edit: Callable[[dict], None], words: list[str]) -> None:
    data = gm_data()
    edit(data)
    with pytest.raises(SpecError) as err:
        parse_spec(data, "test.yaml")
    msg = str(err.value)
    assert msg.startswith("test.yaml: ")
    assert "(top level)" not in msg
    assert "\n" not in msg and "List should" not in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_full_intergreen_matrix_without_default_is_valid() -> None:
    data = gm_data()
    _full_matrix_but_one(data)
    data["intergreens"]["C"]["D"] = 6
    spec = parse_spec(data)
    assert spec.timing.default_intergreen is None
    assert spec.intergreen("C", "D") == 6
    assert spec.intergreen("F", "B") == 8


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narms: {N: [1, 2\nstages: 3\n")
    with pytest.raises(SpecError) as err:
        load_spec(bad)
    msg = str(err.value)
    assert str(bad) in msg and "malformed YAML" in msg and "line" in msg


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load_spec(bad)


def test_missing_file() -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec("/nonexistent/junction.yaml")


def test_unknown_junction_name_lists_known() -> None:
    with pytest.raises(SpecError) as err:
        resolve_junction("gm_a57")
    assert "gm_a56" in str(err.value) and "did you mean" in str(err.value)


# ----- derived facts of gm_a56 ----------------------------------------------------------------
@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return load_spec(GM_YAML)


def test_destinations_drive_on_the_left(gm: JunctionSpec) -> None:
    # southbound from the north arm, left is east (kerbside in the UK), right is west
    assert gm.destinations["N.left"] == "E"
    assert gm.destinations["N.ahead"] == "S"
    assert gm.destinations["N.right"] == "W"
    assert gm.destinations["E.left"] == "S"
    assert gm.destinations["W.right"] == "S"


def test_conflicts_are_symmetric(gm: JunctionSpec) -> None:
    assert all((b, a) in gm.conflicts for a, b in gm.conflicts)
    assert not any(a == b for a, b in gm.conflicts)


@pytest.mark.parametrize(
    ("a", "b", "conflict"),
    [
        ("A", "C", True),  # protected right-turn arrow vs opposing main road
        ("B", "C", False),  # opposing main road: right turns filter
        ("D", "E", False),  # opposing side roads: right turns filter
        ("A", "B", False),  # arrow and its own arm's group
        ("B", "D", True),  # main road vs side road
        ("C", "E", True),
        ("A", "D", True),
        ("F", "B", True),  # crossing on N vs traffic leaving/entering N
        ("F", "C", True),  # S.ahead goes to N
        ("F", "D", True),  # E.right goes to N
        ("F", "G", False),  # crossings among themselves
        ("G", "A", False),  # N.right goes to W, never crosses E
        ("H", "A", False),
        ("I", "A", True),  # N.right goes to W: crosses the W crossing
    ],
)
def test_derived_conflicts(gm: JunctionSpec, a: str, b: str, conflict: bool) -> None:
    assert gm.conflict(a, b) is conflict
    assert gm.conflict(b, a) is conflict


def test_every_stage_is_conflict_free(gm: JunctionSpec) -> None:
    for stage in gm.stages.values():
        for g1 in stage.groups:
            for g2 in stage.groups:
                assert not gm.conflict(g1, g2)


def test_extra_conflicts_only_add() -> None:
    data = gm_data()
    data["extra_conflicts"] = [["A", "G"]]
    spec = parse_spec(data)
    assert spec.conflict("A", "G") and spec.conflict("G", "A")
    assert spec.conflicts > load_spec(GM_YAML).conflicts
    # stage 3 runs F and G together: declaring them in conflict makes it invalid
    data["extra_conflicts"] = [["F", "G"]]
    with pytest.raises(SpecError, match=r"stages\.3\.groups: signal groups F and G conflict"):
        parse_spec(data)
    with pytest.raises(SpecError, match="extra_conflicts: unknown signal group 'Q'"):
        parse_spec({**gm_data(), "extra_conflicts": [["F", "Q"]]})


def test_intergreens(gm: JunctionSpec) -> None:
    assert gm.intergreen("F", "B") == 8
    assert gm.intergreen("B", "D") == 5  # the default


@pytest.mark.parametrize(
    ("start", "target", "path"),
    [("4", "2", ["1", "2"]), ("2", "4", ["4"]), ("3", "2", ["1", "2"]), ("1", "4", ["2", "4"]),
     ("2", "2", [])],
)  # fmt: skip
def test_stage_path(gm: JunctionSpec, start: str, target: str, path: list[str]) -> None:
    assert gm.stage_path(start, target) == path


def test_unreachable_action_stage_rejected() -> None:
    data = gm_data()
    data["transitions"][4] = [3]
    data["transitions"][3] = [4]
    with pytest.raises(SpecError, match="cannot be reached"):
        parse_spec(data)


def test_content_hash_tracks_network_inputs(gm: JunctionSpec) -> None:
    data = copy.deepcopy(gm_data())
    same = parse_spec(data)
    assert same.content_hash() == gm.content_hash()
    data["description"] = "different words, same network"
    assert parse_spec(data).content_hash() == gm.content_hash()
    data["sensors"]["camera_range"] = 45
    assert parse_spec(data).content_hash() != gm.content_hash()


# ----- variants (extends:) ------------------------------------------------------------------
def test_gm_a56_max_green_is_gm_a56_with_maximum_greens() -> None:
    base, variant = resolve_junction("gm_a56"), resolve_junction("gm_a56_max_green")
    assert variant.name == "gm_a56_max_green" and variant.extends == "gm_a56"
    assert {k: s.max_green for k, s in variant.stages.items()} == {
        "1": None, "2": 60.0, "3": None, "4": 40.0}  # fmt: skip
    assert {k: s.groups for k, s in variant.stages.items()} == {
        k: s.groups for k, s in base.stages.items()}  # fmt: skip
    assert variant.content_hash() == base.content_hash()  # same network
    keep = set(JunctionSpec.model_fields) - {"name", "extends", "description", "stages"}
    assert all(getattr(variant, k) == getattr(base, k) for k in keep)


def test_variant_finds_its_base_demand_files() -> None:
    from intergreen.junctions.demand import junction_folder

    assert junction_folder(resolve_junction("gm_a56_max_green")) == LIBRARY / "gm_a56"


def test_variant_by_relative_path_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(GM_YAML.read_text().replace("name: gm_a56", "name: mine"))
    (tmp_path / "v.yaml").write_text(
        "name: mine_v\nextends: base.yaml\ntiming: {default_min_green: 9}\n"
        "action_stages: [2, 3, 4]\n"
    )
    spec = load_spec(tmp_path / "v.yaml")
    assert spec.extends == "mine"
    assert spec.timing.default_min_green == 9 and spec.timing.step_length == 0.6
    assert spec.action_stages == ["2", "3", "4"]


@pytest.mark.parametrize(
    ("extends", "words"),
    [("nope", ["extends", "unknown junction 'nope'"]), ("v.yaml", ["leads back to itself"])],
)
def test_bad_extends_names_the_problem(tmp_path: Path, extends: str, words: list[str]) -> None:
    (tmp_path / "v.yaml").write_text(f"name: v\nextends: {extends}\n")
    with pytest.raises(SpecError) as e:
        load_spec(tmp_path / "v.yaml")
    assert all(w in str(e.value) for w in words) and "v.yaml" in str(e.value)


def test_extends_cycle_through_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("name: b\nextends: a.yaml\n")
    with pytest.raises(SpecError, match="leads back to itself"):
        load_spec(tmp_path / "a.yaml")
