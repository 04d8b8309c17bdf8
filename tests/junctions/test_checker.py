"""The independent rule checker reads link state strings (what SUMO shows): hand-made
sequences on gm_a56 with one known fault each, SUMO's own foe matrix for every shipped
junction, and the UK profile's exact amber and red+amber."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from intergreen.errors import IntergreenError
from intergreen.junctions.catalog import junction_names, load_spec, resolve_junction
from intergreen.junctions.checker import (
    AspectDurations,
    LinkConflicts,
    RuleMonitor,
    RuleViolation,
    SignalStateError,
    Violation,
    assert_valid,
    check_states,
    rule_profile,
    spec_link_conflicts,
    sumo_link_conflicts,
)
from intergreen.junctions.controller import StageController
from intergreen.junctions.network import Network, build_network
from intergreen.junctions.spec import JunctionSpec


@cache
def spec_of(name: str = "gm_a56") -> JunctionSpec:
    return resolve_junction(name)


@cache
def net(name: str = "gm_a56", peds: bool = False) -> Network:
    return build_network(spec_of(name), pedestrians=peds)


@cache
def sumo(name: str = "gm_a56", peds: bool = False) -> LinkConflicts:
    return sumo_link_conflicts(net(name, peds).net_file)


def states(name: str = "gm_a56", peds: bool = False, **cols: str) -> list[str]:
    """Link state strings from one aspect string per signal group (others red), composed as
    signal heads show them: an arrow's green shows G; a green that meets a green of a group
    it filters against shows g."""
    links = net(name, peds).links
    n = len(next(iter(cols.values())))
    assert all(len(c) == n for c in cols.values())
    out = []
    for k in range(n):
        aspect = {g: cols.get(g, "r" * n)[k] for g in spec_of(name).signal_groups}
        chars = []
        for link in links:
            if link.arrow is not None and aspect[link.arrow] == "G":
                chars.append("G")
                continue
            c = aspect[link.group]
            if c == "G" and any(aspect[f] == "G" for f in link.filters_against):
                c = "g"
            chars.append(c)
        out.append("".join(chars))
    return out


def check(
    seq: list[str],
    name: str = "gm_a56",
    peds: bool = False,
    step_length: float = 1.0,
    **kw: object,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Violations as (step, rule, movements), judged by SUMO's foe matrix; 1 s steps (amber 3,
    red+amber 2, intergreen 5 s, minimum green 7 s, 4 s for the arrow A)."""
    links = net(name, peds).links
    found = check_states(
        spec_of(name), links, seq, conflicts=sumo(name, peds), step_length=step_length, **kw
    )  # type: ignore[arg-type]
    return [(v.step, v.rule, tuple(links[i].movement for i in v.links)) for v in found]


def rules(found: list[tuple[int, str, tuple[str, ...]]]) -> set[tuple[int, str]]:
    return {(step, rule) for step, rule, _ in found}


def test_valid_change_from_2_to_4() -> None:
    seq = states(
        B="GG" + "yyy" + "r" * 9,
        C="GG" + "yyy" + "r" * 9,
        D="r" * 5 + "uu" + "G" * 7,
        E="r" * 5 + "uu" + "G" * 7,
    )
    assert check(seq) == []
    assert_valid(spec_of(), net().links, seq, step_length=1.0)


def test_conflicting_greens_by_sumo_foes() -> None:
    found = check(states(B="G", D="G"))
    assert ("N.ahead", "E.ahead") in {m for _, r, m in found if r == "conflict"} | {
        m[::-1] for _, r, m in found if r == "conflict"
    }
    assert rules(found) == {(0, "conflict")}
    # the main road's right turns filter (g) and give way: stage 2 is fine
    assert check(states(B="G", C="G")) == []
    # a protected right-turn arrow against the opposite arm's green is a conflict
    found = check(states(A="G", B="G", C="G"))
    pairs = {frozenset(m) for _, r, m in found if r == "conflict"}
    assert frozenset(("N.right", "S.ahead")) in pairs
    assert all("N.right" in p for p in pairs)


def test_green_shorter_than_minimum() -> None:
    found = check(states(D="rruuGGGyyyrr"))
    assert rules(found) == {(7, "min_green")}
    assert {m for _, _, m in found} == {("E.left",), ("E.ahead",), ("E.right",)}
    assert check(states(D="rruuGGGGGGGyyyr")) == []  # 7 s


def test_amber_and_red_amber_must_be_exact() -> None:
    assert rules(check(states(B="GGyyrrrr"))) == {(4, "amber")}  # 2 s: too short
    assert rules(check(states(B="GGyyyyrr"))) == {(5, "amber")}  # 4 s: too long, at once
    assert rules(check(states(D="rruGGGGGGGG"))) == {(3, "red_amber")}  # 1 s
    assert rules(check(states(D="ruuuGGGGGGGG"))) == {(3, "red_amber")}  # 3 s
    # 0.6 s steps: amber 3 s = exactly 5 steps, red+amber 2 s rounds up to 4 steps (2.4 s)
    assert check(states(B="GG" + "y" * 5 + "rr"), step_length=0.6) == []
    assert rules(check(states(B="GG" + "y" * 6 + "r"), step_length=0.6)) == {(7, "amber")}
    assert rules(check(states(B="GG" + "y" * 4 + "rr"), step_length=0.6)) == {(6, "amber")}
    assert check(states(D="r" + "u" * 4 + "G"), step_length=0.6) == []
    assert rules(check(states(D="r" + "u" * 3 + "GG"), step_length=0.6)) == {(4, "red_amber")}


def test_amber_durations_are_a_parameter_of_the_profile() -> None:
    slow = AspectDurations("slow", amber=4.0, red_amber=1.0)
    assert check(states(B="GGyyyyrr"), profile=slow) == []
    assert rules(check(states(B="GGyyyrrr"), profile=slow)) == {(5, "amber")}
    assert rules(check(states(D="rruuGGGGGGGG"), profile=slow)) == {(3, "red_amber")}
    uk = rule_profile(resolve_junction("gm_a56"))
    assert (uk.name, uk.amber, uk.red_amber) == ("uk", 3.0, 2.0)
    program = rule_profile(resolve_junction("resco:cologne1"))
    assert (program.name, program.amber, program.red_amber) == ("program", 3.0, 0.0)  # RESCO's
    # SUMO running the network's own program: under rules program its 5 s yellow phases;
    # under uk the UK's amber and red+amber, which that program breaks
    own = rule_profile(resolve_junction("resco:cologne1"), "program")
    assert (own.name, own.amber, own.red_amber, own.own_program) == ("program", 5.0, 0.0, True)
    own = rule_profile(resolve_junction("resco:cologne1:uk"), "program")
    assert (own.name, own.amber, own.red_amber, own.own_program) == ("uk", 3.0, 2.0, True)
    assert not rule_profile(resolve_junction("resco:cologne1:uk")).own_program
    with pytest.raises(ValueError, match="no signal program of its own"):
        rule_profile(resolve_junction("gm_a56"), "program")
    with pytest.raises(ValueError, match="signals='lights'"):
        rule_profile(resolve_junction("gm_a56"), "lights")


def test_aspect_sequence() -> None:
    assert rules(check(states(B="GGrrr"))) == {(2, "no_amber")}
    assert rules(check(states(D="rrGGGGGGGG"))) == {(2, "no_red_amber")}
    assert rules(check(states(B="GGyyyGG"))) == {(5, "sequence")}
    assert rules(check(states(D="rruurr"))) == {(4, "sequence")}


def test_intergreen_shorter_than_matrix() -> None:
    found = check(states(B="Gyyyrrrrrrrr", D="rruuGGGGGGGG"))
    assert (4, "intergreen", ("N.left", "E.left")) in found
    assert rules(found) == {(4, "intergreen")}
    assert check(states(B="Gyyyrrrrrrrrr", D="rrrruuGGGGGGG")) == []  # 5 s
    # pedestrian clearance: 8 s from the crossing F (over the north arm) to B
    seq = states(peds=True, F="Grrrrrrrrrrrrrr", B="rrrrrruuGGGGGGG")
    assert (8, "intergreen", ("N.crossing", "N.ahead")) in check(seq, peds=True)
    ok = states(peds=True, F="Grrrrrrrrrrrrrr", B="rrrrrrrruuGGGGG")
    assert check(ok, peds=True) == []


def test_a_uk_pedestrian_signal_shows_no_amber() -> None:
    """A UK pedestrian signal has only the red and the green figure: the crossing goes green
    to red and red to green, and an amber or red+amber on it is a breach; under rules program
    (a SUMO program's crossings show its yellow) the vehicle sequence holds for it."""
    assert check(states(peds=True, F="GGGGGGGGrrrrr"), peds=True) == []
    assert check(states(peds=True, F="rrrrrGGGGGGGG"), peds=True) == []
    amber = check(states(peds=True, F="GGGGGGGGyyyrr"), peds=True)
    assert amber == [(8, "pedestrian_amber", ("N.crossing",))]
    red_amber = check(states(peds=True, F="rrrrruuGGGGGG"), peds=True)
    assert red_amber == [(5, "pedestrian_amber", ("N.crossing",))]
    # the minimum green still holds for a crossing (7 s under uk)
    short = check(states(peds=True, F="rrGGGrrrr"), peds=True)
    assert [(k, rule) for k, rule, _ in short] == [(5, "min_green")]
    # the StageController shows a crossing red where its group shows amber or red+amber
    spec, links = spec_of(), net(peds=True).links
    ctrl = StageController(spec, links)
    crossings = [i for i, k in enumerate(links) if k.movement.endswith(".crossing")]
    seen = set()
    for target in ("3", "2", "3", "4", "3"):
        ctrl.request(target)
        for _ in range(60):
            seen |= {ctrl.step()[i] for i in crossings}
    assert seen == {"G", "r"}


def test_max_green_of_a_stage() -> None:
    # gm_a56_max_green: stage 2 (B, C) at most 60 s; at 1 s steps the 61st step is over
    over = states("gm_a56_max_green", B="G" * 62, C="G" * 62)
    found = check(over, "gm_a56_max_green")
    assert found == [(60, "max_green", ())]
    assert check(states("gm_a56_max_green", B="G" * 60, C="G" * 60), "gm_a56_max_green") == []
    assert check(states(B="G" * 62, C="G" * 62)) == []  # gm_a56 has no maximum green


def test_stage_transitions() -> None:
    # 2 -> 1 directly: C goes, A comes; once C's amber is over SUMO shows stage 1
    seq = states(B="G" * 12, C="GG" + "yyy" + "r" * 7, A="r" * 5 + "uu" + "GGGGG")
    assert rules(check(seq)) == {(5, "transition")}
    # 2 -> all red -> 1: without crossings stage 3 is not seen, and 2 -> 3 -> 1 is permitted
    cols = {
        "B": "GG" + "yyy" + "r" * 4 + "uu" + "G" * 5,
        "C": "GG" + "yyy" + "r" * 11,
        "A": "r" * 9 + "uu" + "G" * 5,
    }
    assert check(states(**cols)) == []
    # with crossings the pedestrian stage would show (green men): that was 2 -> 1
    assert rules(check(states(peds=True, **cols), peds=True)) == {(11, "transition")}


def test_the_0_6_s_amber_of_the_issue_breaks_the_uk_profile(tmp_path) -> None:
    """A junction with a 0.6 s amber runs, but its states fail the UK checker."""
    variant = tmp_path / "short_amber.yaml"
    variant.write_text("name: short_amber\nextends: gm_a56\ntiming: {amber: 0.6}\n")
    spec = load_spec(variant)
    links = net().links
    ctl = StageController(spec, links)
    seq = [ctl.step() for _ in range(3)]
    ctl.request("4")
    seq += [ctl.step() for _ in range(30)]
    found = check_states(spec, links, seq, conflicts=sumo())
    assert found and {v.rule for v in found} == {"amber"}
    assert found[0].step == 4  # one 0.6 s step of amber, then red
    assert "amber for 0.6 s, the uk profile's amber is 3 s (5 steps of 0.6 s)" in str(found[0])
    # the same junction with a 3 s amber passes
    ctl = StageController(spec_of(), links)
    seq = [ctl.step() for _ in range(3)]
    ctl.request("4")
    seq += [ctl.step() for _ in range(30)]
    assert check_states(spec_of(), links, seq, conflicts=sumo()) == []


def test_violations_carry_time_links_and_groups() -> None:
    links = net().links
    monitor = RuleMonitor(spec_of(), links, conflicts=sumo(), step_length=1.0)
    seq = states(B="GGrrr")
    found = [v for k, s in enumerate(seq) for v in monitor.push(s, time=100.0 + k)]
    assert len(found) == 4  # the four links of group B
    v = found[0]
    assert isinstance(v, Violation) and v.time == 102.0 and v.step == 2
    assert v.rule == "no_amber" and v.groups == ("B",) and links[v.links[0]].group == "B"
    assert str(v).startswith("t=102 s (step 2), no_amber: link ")
    err = RuleViolation(found[:1])
    assert str(err).startswith("signal rule broken at t=102 s")
    monitor.reset()
    assert monitor.push(seq[0]) == []


def test_malformed_states_are_refused() -> None:
    links = net().links
    monitor = RuleMonitor(spec_of(), links)
    with pytest.raises(ValueError, match="has 13 characters for 14 links"):
        monitor.push("G" * 13)
    # a character it does not read (SUMO's own fkk_in example shows 'Y'): one line for the
    # command line (an IntergreenError; it was a traceback), naming it and the fix
    with pytest.raises(SignalStateError) as err:
        monitor.push("G" * 12 + "Yy")
    assert str(err.value) == (
        "--check-rules: the signal state 'GGGGGGGGGGGGYy' holds 'Y', which the rule checker "
        "does not read: it reads one of G, g, y, u, r per link, so it cannot judge these "
        "signals; run without --check-rules"
    )
    assert isinstance(err.value, IntergreenError)
    with pytest.raises(ValueError, match="conflicts are for 18 links, the network has 14"):
        RuleMonitor(spec_of(), links, conflicts=sumo(peds=True))


# ----- SUMO's own foe matrix -----------------------------------------------------------------
@pytest.mark.parametrize("peds", [False, True])
@pytest.mark.parametrize("name", junction_names())
def test_no_stage_shows_two_sumo_foes_green(name: str, peds: bool) -> None:
    """For every shipped junction, every stage's link states: no two links that SUMO's foe
    matrix says conflict are green together, unless one shows g and SUMO makes it give way."""
    spec, network = spec_of(name), net(name, peds)
    sumo_conflicts = sumo(name, peds)
    foes, yields = sumo_conflicts.foes, sumo_conflicts.yields
    assert foes.shape == (len(network.links),) * 2 and foes.any()
    ctl = StageController(spec, network.links)
    for stage in spec.stages:
        ctl.reset(stage)
        state = ctl.step()
        green = [i for i, c in enumerate(state) if c in "Gg"]
        for i in green:
            for j in green:
                if i < j and foes[i, j]:
                    ok = (state[i] == "g" and yields[i, j]) or (state[j] == "g" and yields[j, i])
                    assert ok, f"{name} stage {stage}: links {i} and {j} ({state})"


@pytest.mark.parametrize("peds", [False, True])
def test_sumo_foes_are_what_the_spec_derives(peds: bool) -> None:
    """Every pair of gm_a56 links SUMO calls foes conflicts in the spec too, or is a right
    turn filtering (g) against the other, and then SUMO makes the filtering link give way."""
    links = net(peds=peds).links
    mine, theirs = spec_link_conflicts(spec_of(), links), sumo(peds=peds)
    filtering = 0
    for i, j in zip(*np.nonzero(theirs.foes), strict=True):
        if mine.foes[i, j]:
            continue
        assert links[j].group in links[i].filters_against or (
            links[i].group in links[j].filters_against
        ), (links[i], links[j])
        i_filters = links[j].group in links[i].filters_against
        j_filters = links[i].group in links[j].filters_against
        assert (i_filters and theirs.yields[i, j]) or (j_filters and theirs.yields[j, i])
        filtering += 1
    assert filtering >= 8  # S.right against the north arm, the side roads' right turns
    # N.right (with its arrow) conflicts with the opposing main road in both, and gives way
    i = next(k for k, link in enumerate(links) if link.movement == "N.right")
    j = next(k for k, link in enumerate(links) if link.movement == "S.ahead")
    assert theirs.foes[i, j] and mine.foes[i, j] and theirs.yields[i, j] and mine.yields[i, j]


@pytest.mark.parametrize("peds", [False, True])
@pytest.mark.parametrize("name", junction_names())
def test_controller_passes_the_checker_on_every_transition(name: str, peds: bool) -> None:
    """Every permitted stage change, and a random request stream, judged by SUMO's foes."""
    spec, network = spec_of(name), net(name, peds)
    ctl = StageController(spec, network.links)
    rng = np.random.default_rng(0)
    for src, targets in spec.transitions.items():
        for dst in targets:
            ctl.reset(src)
            ctl.request(dst)
            seq = [ctl.step() for _ in range(120)]
            assert check_states(spec, network.links, seq, conflicts=sumo(name, peds)) == []
    ctl.reset()
    seq = []
    for _ in range(300):
        ctl.request(str(rng.choice(list(spec.stages))))
        seq += [ctl.step() for _ in range(int(rng.integers(1, 40)))]
    assert check_states(spec, network.links, seq, conflicts=sumo(name, peds)) == []
