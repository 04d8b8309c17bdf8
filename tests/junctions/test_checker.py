"""The independent rule checker: hand-made sequences on gm_a56, each with one known fault."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

import intergreen
from intergreen.junctions.catalog import load_spec
from intergreen.junctions.checker import RuleViolation, Violation, assert_valid, check_sequence
from intergreen.junctions.spec import JunctionSpec


@cache
def gm() -> JunctionSpec:
    return load_spec(Path(intergreen.__file__).parent / "junctions/library/gm_a56/junction.yaml")


def seq(**cols: str) -> list[dict[str, str]]:
    """Group aspects per step from one string per group; unnamed groups stay red."""
    n = len(next(iter(cols.values())))
    assert all(len(c) == n for c in cols.values())
    return [{g: cols[g][i] if g in cols else "r" for g in gm().signal_groups} for i in range(n)]


def check(aspects, stages=None, step_length=1.0) -> list[tuple[int, str, tuple[str, ...]]]:
    """Violations as (step, rule, groups); 1 s steps unless told (amber 3, red+amber 2,
    intergreen 5 s, minimum green 7 s, 4 s for the arrow A)."""
    return [(v.step, v.rule, v.groups) for v in check_sequence(gm(), aspects, stages, step_length)]


def test_valid_change_from_2_to_4():
    aspects = seq(
        B="GG" + "yyy" + "r" * 9,
        C="GG" + "yyy" + "r" * 9,
        D="r" * 5 + "uu" + "G" * 7,
        E="r" * 5 + "uu" + "G" * 7,
    )
    stages = ["2"] * 2 + [None] * 5 + ["4"] * 7
    assert check(aspects, stages) == []
    assert_valid(gm(), aspects, stages, 1.0)


def test_conflicting_greens():
    assert check(seq(B="G", D="G")) == [(0, "conflict", ("B", "D"))]
    assert check(seq(A="G", B="G")) == []  # the arrow runs with its own arm


def test_green_shorter_than_minimum():
    assert check(seq(D="rruuGGGyyyrr")) == [(7, "min_green", ("D",))]
    assert check(seq(D="rruuGGGGGGGyyyr")) == []  # 7 s
    assert check(seq(A="rruuGGGGyyyr")) == []  # the arrow's 4 s minimum
    assert check(seq(A="rruuGGGyyyrr")) == [(7, "min_green", ("A",))]


def test_greens_cut_by_the_ends_are_not_judged():
    assert check(seq(D="GGyyyr", B="rrrrrr")) == []
    assert check(seq(D="rruuGG")) == []


def test_intergreen_shorter_than_matrix():
    assert check(seq(B="Gyyyrrrrrr", D="rruuGGGGGG")) == [(4, "intergreen", ("B", "D"))]
    assert check(seq(B="Gyyyrrrrrr", D="rrrruuGGGG")) == []  # 5 s
    # pedestrian clearance: 8 s from F to B
    assert check(seq(F="Gyyyrrrrrrrr", B="rrrrrruuGGGG")) == [(8, "intergreen", ("F", "B"))]


def test_amber_shorter_than_spec():
    assert check(seq(B="GGyyrrrr")) == [(4, "amber", ("B",))]


def test_green_to_red_without_amber():
    assert check(seq(B="GGrrr")) == [(2, "no_amber", ("B",))]


def test_red_to_green_without_red_amber():
    assert check(seq(D="rrGG")) == [(2, "no_red_amber", ("D",))]


def test_red_amber_shorter_than_spec():
    assert check(seq(D="rruGG")) == [(3, "red_amber", ("D",))]


def test_other_aspect_changes_break_the_sequence():
    assert check(seq(B="GGyyyGG")) == [(5, "sequence", ("B",))]
    assert check(seq(D="rruurr")) == [(4, "sequence", ("D",))]
    assert check(seq(B="GGyyyuuGG")) == [(5, "sequence", ("B",))]  # no red after amber


def test_durations_use_the_step_length():
    # 0.6 s steps: amber 5 steps = 3.0 s is enough, 4 steps = 2.4 s is not;
    # red+amber 4 steps = 2.4 s is enough, 3 steps = 1.8 s is not
    assert check(seq(B="G" + "y" * 5 + "r"), step_length=0.6) == []
    assert check(seq(B="G" + "y" * 4 + "rr"), step_length=0.6) == [(5, "amber", ("B",))]
    assert check(seq(D="r" + "u" * 4 + "G"), step_length=0.6) == []
    assert check(seq(D="r" + "u" * 3 + "GG"), step_length=0.6) == [(4, "red_amber", ("D",))]
    # the spec's own step length (0.6 s) is the default
    assert check_sequence(gm(), seq(B="G" + "y" * 5 + "r")) == []


def test_stage_change_not_permitted():
    aspects = seq(
        B="G" * 10,
        C="GG" + "yyy" + "r" * 5,
        A="r" * 5 + "uu" + "GGG",
    )
    stages = ["2"] * 2 + [None] * 5 + ["1"] * 3  # 2 -> 1 is not a permitted transition
    assert check(aspects) == []
    assert check(aspects, stages) == [(7, "transition", ())]


def test_stage_label_must_match_aspects():
    aspects = seq(B="GG", C="Gy")
    assert check(aspects, ["2", "2"]) == [(1, "stage_aspects", ("C",))]


def test_assert_valid_lists_every_violation():
    aspects = seq(B="GGrrr", D="rrGGG")
    with pytest.raises(RuleViolation) as err:
        assert_valid(gm(), aspects, step_length=1.0)
    rules = [(v.step, v.rule, v.groups) for v in err.value.violations]
    assert rules == [
        (2, "no_amber", ("B",)),
        (2, "no_red_amber", ("D",)),
        (2, "intergreen", ("B", "D")),
    ]
    assert "3 signal rule violation(s)" in str(err.value)
    assert all(isinstance(v, Violation) and v.message for v in err.value.violations)


def test_malformed_input_is_rejected():
    with pytest.raises(ValueError, match="no aspect for signal group"):
        check_sequence(gm(), [{"A": "G"}])
    bad = seq(B="G")
    bad[0]["B"] = "g"
    with pytest.raises(ValueError, match="expected one of"):
        check_sequence(gm(), bad)
    with pytest.raises(ValueError, match="stages has 2 entries"):
        check_sequence(gm(), seq(B="G"), ["2", "2"])
