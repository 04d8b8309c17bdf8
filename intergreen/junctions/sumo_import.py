"""Derive a junction (signal groups, stages, intergreens, minimum greens, transitions) from
one traffic light of a SUMO network and its signal program, and write it as junction YAML.

From :class:`~intergreen.junctions.sumo_net.TlsFacts`:

* **signal groups**: links that show the same aspect (green ``G``/``g``, amber, red) in
  every phase of the program, named A, B, C, ... in link order; a link index no connection
  carries (``TlsFacts.unused``) is in no group, whatever the program shows there;
* **stages**: the program's green phases (no amber, at least one green), in program order,
  numbered 1, 2, ...; a repeated phase is one stage;
* **conflicts** (used by :mod:`intergreen.junctions.imported`): two groups conflict when a
  link of one is a foe of a link of the other in SUMO's foe matrix, unless the program runs
  them green together (then SUMO's response matrix says which gives way, and that link shows
  ``g`` while the other is green). A program phase whose green links are foes that neither
  gives way to is refused;
* **intergreens** per conflicting ordered pair: from the program, the time from the end of
  green of the losing link to the start of green of the gaining one (its amber plus any
  all-red) at each change between consecutive green phases; where the program has no such
  change, computed from the geometry as in the German guideline RiLSA: amber + clearing time
  of the losing vehicle from its stop line past the conflict point (plus 6 m of vehicle, at
  10 m/s or the path's limit if lower; pedestrians 1.2 m/s) - entering time of the gaining
  one to the conflict point (11.1 m/s; pedestrians 1.5 m/s), rounded up to a whole second;
* **minimum greens**: a group's shortest explicit ``minDur`` over the phases that run it,
  else the rule profile's default;
* **permitted transitions**: the program's order (each stage to the next green phase), or
  every stage to every other (``transitions="all"``, as sumo-rl and RESCO let agents choose).

:func:`junction_data` gives the junction YAML's mapping (the network, groups by link index,
stages, transitions, intergreens, and the assumptions) and where each intergreen came from;
:mod:`intergreen.junctions.imported_yaml` writes it (``intergreen junctions import``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.network import SYSTEM_D_SETBACKS, system_d_setbacks
from intergreen.junctions.spec import Sensors
from intergreen.junctions.sumo_net import NetArm, NetworkImportError, TlsFacts

__all__ = [
    "Derived",
    "GREEN",
    "TRANSITIONS",
    "aspect_class",
    "derive",
    "group_conflicts",
    "junction_data",
    "link_intergreens",
    "program_amber",
    "unused_note",
]

GREEN = "G"
#: Permitted stage transitions of an imported junction: the program's order, or any order.
TRANSITIONS = ("program", "all")
VEHICLE_LENGTH = 6.0  # m, cleared past the conflict point
CLEAR_SPEED = 10.0  # m/s, clearing vehicles (RiLSA)
ENTER_SPEED = 11.1  # m/s, entering vehicles (RiLSA: 40 km/h)
PED_CLEAR_SPEED = 1.2  # m/s
PED_ENTER_SPEED = 1.5  # m/s


def aspect_class(char: str) -> str:
    """A SUMO state character as an aspect: G (green, major or minor), y (amber), u
    (red+amber), r (red, or SUMO's right-turn-on-red stop ``s``), o (signal off)."""
    if char in "Gg":
        return GREEN
    if char in "yY":
        return "y"
    if char == "u":
        return "u"
    if char in "rs":
        return "r"
    return "o"


@dataclass(frozen=True)
class Derived:
    """What the program gives: groups (name -> link indices), stages (name -> groups, with
    the program phase each came from), the program order of stages, per-group minimum greens
    from ``minDur`` (only where explicit), and the program's amber (longest yellow, s)."""

    groups: dict[str, tuple[int, ...]]
    stages: dict[str, tuple[str, ...]]
    stage_phase: dict[str, int]
    order: tuple[str, ...]
    min_greens: dict[str, float]
    amber: float
    #: (program phase, a, b): foe links a and b green together where the yielding link a
    #: shows a major green ``G``; SUMO's response matrix still makes a give way to b (SUMO
    #: warns "unsafe green phase ... use 'g' instead"); intergreen's stages show a as ``g``
    major_yields: tuple[tuple[int, int, int], ...] = ()


def _group_names(n: int) -> list[str]:
    names = []
    for i in range(n):
        name, k = "", i
        while True:
            name = chr(ord("A") + k % 26) + name
            k = k // 26 - 1
            if k < 0:
                break
        names.append(name)
    return names


def unused_note(facts: TlsFacts) -> str:
    """One sentence on the traffic light's unused link indices (``facts.unused``, not empty)."""
    ks = ", ".join(map(str, facts.unused))
    return (
        f"link index(es) {ks} of the state string carry no connection (unused, e.g. a U-turn "
        "netconvert removed; SUMO applies their state to no link): in no signal group; "
        "intergreen's controller shows them red (r), the state netconvert fills in"
    )


def _green_phases(facts: TlsFacts) -> list[int]:
    """Indices of the program's green phases: some link green, no link amber or red+amber
    (unused link indices are not looked at: SUMO applies them to no link)."""
    out = []
    for i, p in enumerate(facts.phases):
        classes = {aspect_class(p.state[link.index]) for link in facts.links}
        if GREEN in classes and not classes & {"y", "u"}:
            out.append(i)
    return out


def program_amber(facts: TlsFacts) -> float:
    """The longest run of amber any link shows in the program (s); 3 s if it shows none."""
    phases = facts.phases
    best = 0.0
    n = len(phases)
    for k in (link.index for link in facts.links):
        for start in range(n):
            if aspect_class(phases[start].state[k]) != "y":
                continue
            if aspect_class(phases[start - 1].state[k]) == "y" and n > 1:
                continue  # not the start of a run
            run, j = 0.0, start
            for _ in range(n):
                if aspect_class(phases[j].state[k]) != "y":
                    break
                run += phases[j].duration
                j = (j + 1) % n
            best = max(best, run)
    return best if best > 0 else 3.0


def derive(facts: TlsFacts) -> Derived:
    """Signal groups, stages and program facts of a traffic light (module docstring).

    Raises NetworkImportError when the program has no green phase, only one stage, a link
    that is switched off, or a green phase with conflicting greens."""
    where = f"{facts.net_file}: traffic light {facts.tls_id!r}"
    greens = _green_phases(facts)
    if not greens:
        raise NetworkImportError(
            f"{where}: program {facts.program_id!r} has no green phase (no phase with a G or g "
            "and no amber); give a program that runs traffic (netedit) and import again"
        )
    columns: dict[tuple[str, ...], list[int]] = {}
    for link in facts.links:
        col = tuple(aspect_class(p.state[link.index]) for p in facts.phases)
        if "o" in col:
            raise NetworkImportError(
                f"{where}: link {link.index} ({link.movement}) is switched off ('o'/'O') in "
                "the program; signal it in every phase (netedit) and import again"
            )
        columns.setdefault(col, []).append(link.index)
    ordered = sorted(columns.values(), key=lambda ks: ks[0])
    groups = {name: tuple(ks) for name, ks in zip(_group_names(len(ordered)), ordered, strict=True)}
    green_of = {
        i: tuple(
            g for g, ks in groups.items() if aspect_class(facts.phases[i].state[ks[0]]) == GREEN
        )
        for i in greens
    }
    stages: dict[str, tuple[str, ...]] = {}
    stage_phase: dict[str, int] = {}
    seen: dict[tuple[str, ...], str] = {}
    order: list[str] = []
    for i in greens:
        key = green_of[i]
        if key not in seen:
            name = str(len(seen) + 1)
            seen[key] = name
            stages[name] = key
            stage_phase[name] = i
        order.append(seen[key])
    if len(stages) < 2:
        raise NetworkImportError(
            f"{where}: program {facts.program_id!r} has only one green stage; a signal "
            "controller needs at least two to choose between"
        )
    major_yields = _check_program_greens(facts, groups, stages, stage_phase)
    min_greens: dict[str, float] = {}
    for g in groups:
        explicit = [
            facts.phases[i].min_dur
            for i in greens
            if g in green_of[i] and facts.phases[i].min_dur is not None
        ]
        if explicit:
            min_greens[g] = float(min(explicit))
    return Derived(
        groups=groups,
        stages=stages,
        stage_phase=stage_phase,
        order=tuple(order),
        min_greens=min_greens,
        amber=program_amber(facts),
        major_yields=major_yields,
    )


def _check_program_greens(
    facts: TlsFacts,
    groups: Mapping[str, Sequence[int]],
    stages: Mapping[str, Sequence[str]],
    stage_phase: Mapping[str, int],
) -> tuple[tuple[int, int, int], ...]:
    """Refuse a green phase in which two foe links are green and neither shows a minor green
    ``g`` that SUMO's response matrix makes give way to the other, unless both show ``G``,
    the response matrix makes one give way, and the conflict is one a signal may leave to
    give-way (:func:`_may_filter`: a merge, or movements from opposite arms). Returns those
    (see :attr:`Derived.major_yields`): SUMO makes the link give way all the same."""
    major: list[tuple[int, int, int]] = []
    for s, gs in stages.items():
        phase = stage_phase[s]
        state = facts.phases[phase].state
        links = [k for g in gs for k in groups[g]]
        for a in links:
            for b in links:
                if not (a < b and (a, b) in facts.foes):
                    continue
                if yields_in(facts, state, a, b):
                    continue
                if ((a, b) in facts.yields or (b, a) in facts.yields) and _may_filter(facts, a, b):
                    major.append((phase, *((a, b) if (a, b) in facts.yields else (b, a))))
                    continue
                la, lb = facts.link(a), facts.link(b)
                raise NetworkImportError(
                    f"{facts.net_file}: traffic light {facts.tls_id!r}, program phase "
                    f"{phase} (stage {s}) shows links {a} ({la.movement}) and {b} "
                    f"({lb.movement}) green together, but they are foes in SUMO's foe "
                    "matrix and neither gives way to the other in its response matrix; repair "
                    "the program in netedit and import again"
                )
    return tuple(major)


def _may_filter(facts: TlsFacts, a: int, b: int) -> bool:
    """Whether foe links a and b may run green together with one giving way (a "partial
    conflict" that signal design leaves to drivers, as RiLSA's conditionally compatible
    streams): they enter the same arm (a merge), or leave from opposite arms (bearings
    135-225 degrees apart: a turn across the opposing flow). Crossing movements from
    adjacent arms never may."""
    la, lb = facts.link(a), facts.link(b)
    if la.crossing or lb.crossing:
        return False
    if la.to_arm == lb.to_arm:
        return True
    apart = abs(facts.arm(la.arm).bearing - facts.arm(lb.arm).bearing) % 360
    return 135 <= apart <= 225


def yields_in(facts: TlsFacts, state: str, a: int, b: int) -> bool:
    """Whether, under ``state``, one of foe links a and b shows ``g`` and gives way to the
    other in SUMO's response matrix."""
    return (state[a] == "g" and (a, b) in facts.yields) or (
        state[b] == "g" and (b, a) in facts.yields
    )


def compatible_groups(groups: Mapping[str, Sequence[int]], facts: TlsFacts) -> set[frozenset[str]]:
    """Pairs of groups the program runs green together (in some green phase)."""
    out: set[frozenset[str]] = set()
    for i in _green_phases(facts):
        state = facts.phases[i].state
        green = [g for g, ks in groups.items() if any(aspect_class(state[k]) == GREEN for k in ks)]
        for x in green:
            for y in green:
                if x != y:
                    out.add(frozenset((x, y)))
    return out


def group_conflicts(
    groups: Mapping[str, Sequence[int]], facts: TlsFacts
) -> frozenset[tuple[str, str]]:
    """Ordered pairs of conflicting groups (both orders): a foe link pair between them in
    SUMO's foe matrix, and the program never runs them green together."""
    together = compatible_groups(groups, facts)
    names = list(groups)
    pairs: set[tuple[str, str]] = set()
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            if frozenset((x, y)) in together:
                continue
            if any((a, b) in facts.foes for a in groups[x] for b in groups[y]):
                pairs |= {(x, y), (y, x)}
    return frozenset(pairs)


# ----- intergreens ---------------------------------------------------------------------
def _program_link_intergreens(facts: TlsFacts) -> dict[tuple[int, int], float]:
    """(losing link, gaining link) -> the program's time from the end of green of the one
    to the start of green of the other, at each change between consecutive green phases
    (the longest where the program changes between them more than once). Foes only."""
    phases = facts.phases
    greens = _green_phases(facts)
    n = len(phases)
    out: dict[tuple[int, int], float] = {}
    for gi, p in enumerate(greens):
        q = greens[(gi + 1) % len(greens)]
        if p == q:
            continue
        # phases after p up to and including q, with their start offsets from the end of p
        seq, t = [], 0.0
        j = (p + 1) % n
        while True:
            seq.append((j, t))
            if j == q:
                break
            t += phases[j].duration
            j = (j + 1) % n
        used = [link.index for link in facts.links]
        for a in used:
            if (
                aspect_class(phases[p].state[a]) != GREEN
                or aspect_class(phases[q].state[a]) == GREEN
            ):
                continue
            t_end = next(t for j, t in seq if aspect_class(phases[j].state[a]) != GREEN)
            for b in used:
                if (a, b) not in facts.foes:
                    continue
                if aspect_class(phases[p].state[b]) == GREEN:
                    continue
                if aspect_class(phases[q].state[b]) != GREEN:
                    continue
                t_start = next(t for j, t in seq if aspect_class(phases[j].state[b]) == GREEN)
                out[(a, b)] = max(out.get((a, b), 0.0), max(t_start - t_end, 0.0))
    return out


def _first_crossing(
    p: Sequence[tuple[float, float]], q: Sequence[tuple[float, float]]
) -> tuple[float, float] | None:
    """Distances along p and along q to the first point (along p) where they cross."""
    best: tuple[float, float] | None = None
    sp = 0.0
    for a, b in zip(p, p[1:], strict=False):
        sq = 0.0
        for c, d in zip(q, q[1:], strict=False):
            hit = _segments(a, b, c, d)
            if hit is not None:
                t, u = hit
                cand = (sp + t * math.dist(a, b), sq + u * math.dist(c, d))
                if best is None or cand[0] < best[0]:
                    best = cand
            sq += math.dist(c, d)
        if best is not None:
            return best
        sp += math.dist(a, b)
    return best


def _segments(a, b, c, d) -> tuple[float, float] | None:
    """Parameters (t along ab, u along cd) of the intersection of two segments, or None."""
    rx, ry = b[0] - a[0], b[1] - a[1]
    sx, sy = d[0] - c[0], d[1] - c[1]
    den = rx * sy - ry * sx
    if abs(den) < 1e-12:
        return None
    qx, qy = c[0] - a[0], c[1] - a[1]
    t = (qx * sy - qy * sx) / den
    u = (qx * ry - qy * rx) / den
    if -1e-9 <= t <= 1 + 1e-9 and -1e-9 <= u <= 1 + 1e-9:
        return t, u
    return None


def _length(path: Sequence[tuple[float, float]]) -> float:
    return sum(math.dist(a, b) for a, b in zip(path, path[1:], strict=False))


def geometric_intergreen(facts: TlsFacts, losing: int, gaining: int, amber: float) -> float:
    """Intergreen (s, whole seconds) from link ``losing`` to link ``gaining`` by the RiLSA
    clearance method (module docstring), at least ``amber``."""
    la, lb = facts.link(losing), facts.link(gaining)
    hit = _first_crossing(la.path, lb.path)
    if hit is None:  # merging or touching: the end of the losing path, the gaining start
        s_clear, s_enter = _length(la.path), 0.0
        if set(la.to_lanes) & set(lb.to_lanes):
            s_enter = _length(lb.path)
    else:
        s_clear, s_enter = hit
    if la.crossing:
        t_clear = s_clear / PED_CLEAR_SPEED
    else:
        t_clear = (s_clear + VEHICLE_LENGTH) / max(min(CLEAR_SPEED, la.speed), 1.0)
    t_enter = s_enter / (PED_ENTER_SPEED if lb.crossing else ENTER_SPEED)
    return float(max(amber, math.ceil(amber + t_clear - t_enter - 1e-9)))


def link_intergreens(facts: TlsFacts, amber: float) -> dict[tuple[int, int], tuple[float, str]]:
    """(losing, gaining) foe link pair -> (intergreen s, "program" or "geometry")."""
    program = _program_link_intergreens(facts)
    out: dict[tuple[int, int], tuple[float, str]] = {}
    for a, b in facts.foes:
        if (a, b) in program:
            out[(a, b)] = (program[(a, b)], "program")
        else:
            out[(a, b)] = (geometric_intergreen(facts, a, b, amber), "geometry")
    return out


def group_intergreens(
    groups: Mapping[str, Sequence[int]],
    conflicts: Iterable[tuple[str, str]],
    facts: TlsFacts,
    amber: float,
) -> dict[str, dict[str, tuple[float, str]]]:
    """losing group -> gaining group -> (intergreen s, source) for every conflicting pair:
    the longest over the pair's foe links; the source is "program" when the program timed
    every foe link pair of them, else "geometry"."""
    per_link = link_intergreens(facts, amber)
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for lo, ga in sorted(conflicts):
        values = [per_link[(a, b)] for a in groups[lo] for b in groups[ga] if (a, b) in per_link]
        if not values:
            continue
        value = max(v for v, _ in values)
        source = "program" if all(s == "program" for _, s in values) else "geometry"
        out.setdefault(lo, {})[ga] = (value, source)
    return out


# ----- YAML --------------------------------------------------------------------------------
def _movements(facts: TlsFacts, links: Iterable[int]) -> list[str]:
    return list(dict.fromkeys(facts.link(k).movement for k in links))


def junction_data(
    facts: TlsFacts,
    *,
    name: str,
    rules: str = "uk",
    transitions: str = "program",
    routes: Sequence[str] = (),
    begin: float = 0.0,
    end: float | None = None,
    net_ref: str | None = None,
    decision_interval: float = 1.0,
    uniform_intergreen: float | None = None,
    camera_range: float = Sensors.model_fields["camera_range"].default,
    program_min_greens: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The junction YAML mapping for a traffic light, and notes for the printout:
    ``(data, notes)`` with notes ``{"intergreen_sources": {...}, "assumptions": [...]}``.

    ``rules`` names a profile (:mod:`intergreen.junctions.rules`); ``transitions`` is
    ``program`` or ``all``; ``routes`` and ``net_ref`` are written as given (paths relative
    to the YAML). ``uniform_intergreen`` (s): every intergreen that long, all of it amber (no
    red+amber), in place of the program's amber and intergreens (RESCO's set-up).
    ``camera_range`` (m) is the sensors' range the junction will run with (for the note on
    lanes shorter than it); ``program_min_greens`` False gives every group the profile's
    default minimum green instead of the program's ``minDur`` (a scenario run under another
    profile than its program was made for: ``resco:NAME:uk``)."""
    if transitions not in TRANSITIONS:
        raise NetworkImportError(
            f"transitions {transitions!r}: use {' or '.join(map(repr, TRANSITIONS))}"
        )
    profile = rule_profiles.resolve(rules)
    d = derive(facts)
    conflicts = group_conflicts(d.groups, facts)
    if uniform_intergreen is None:
        igs = group_intergreens(d.groups, conflicts, facts, d.amber)
    else:
        igs = {}
        for lo, ga in sorted(conflicts):
            igs.setdefault(lo, {})[ga] = (uniform_intergreen, "uniform")
    stage_names = list(d.stages)
    if transitions == "all":
        trans = {s: [t for t in stage_names if t != s] for s in stage_names}
    else:
        trans = {s: [] for s in stage_names}
        cycle = list(d.order)
        for i, s in enumerate(cycle):
            nxt = cycle[(i + 1) % len(cycle)]
            if nxt != s and nxt not in trans[s]:
                trans[s].append(nxt)
    order_words = (
        "any stage to any other (--transitions all)"
        if transitions == "all"
        else "the program's order"
    )
    assumptions = [
        f"signal groups and stages from program {facts.program_id!r} ({facts.program_type}) "
        f"of traffic light {facts.tls_id!r}; transitions: {order_words}",
        "conflicts from SUMO's foe matrix; groups the program runs green together filter "
        "(the link SUMO's response matrix makes give way shows g)",
        _amber_note(profile, d.amber, uniform_intergreen),
    ]
    if d.major_yields:
        pairs = "; ".join(
            f"phase {ph}: link {a} ({facts.link(a).movement}) to {b} ({facts.link(b).movement})"
            for ph, a, b in d.major_yields
        )
        assumptions.append(
            f"the program shows a major green G on links SUMO's response matrix makes give way "
            f"({pairs}); SUMO makes them give way all the same (and warns of an unsafe green "
            "phase), and intergreen's stages show them g"
        )
    short = sum(1 for row in igs.values() for v, _ in row.values() if v < profile.min_intergreen)
    if short:
        assumptions.append(
            f"{short} intergreen(s) below rules {profile.name}'s minimum of "
            f"{profile.min_intergreen:g} s are raised to it when the junction loads (the YAML "
            "keeps the program's and the geometry's values)"
        )
    n_geo = sum(1 for row in igs.values() for _, src in row.values() if src == "geometry")
    if n_geo:
        assumptions.append(
            f"{n_geo} intergreen(s) the program does not time are computed from the geometry "
            "(RiLSA clearance: 10 m/s clearing, 11.1 m/s entering, 6 m vehicle)"
        )
    min_greens = d.min_greens if program_min_greens else {}
    no_min = [g for g in d.groups if g not in min_greens]
    if not program_min_greens:
        unused = sorted(set(d.min_greens.values()))
        assumptions.append(
            f"every group takes the rules' default minimum green ({profile.default_min_green:g} "
            f"s under {profile.name})"
            + (
                f"; the program's minDur ({', '.join(f'{v:g}' for v in unused)} s) is not used"
                if unused
                else ""
            )
        )
    elif no_min:
        assumptions.append(
            f"groups without a minDur in the program take the rules' default minimum green "
            f"({profile.default_min_green:g} s under {profile.name}): {', '.join(no_min)}"
        )
    if facts.unused:
        assumptions.append(unused_note(facts))
    if any(p.state[link.index] == "s" for p in facts.phases for link in facts.links):
        assumptions.append("right turn on red ('s') is not modelled: those links show red")
    assumptions += _short_lane_notes(facts, camera_range)
    data: dict[str, Any] = {
        "name": name,
        "description": (
            f"traffic light {facts.tls_id} of {Path(facts.net_file).name} "
            f"({'left' if facts.lefthand else 'right'}-hand traffic)"
        ),
        "network": {
            "net_file": net_ref or str(facts.net_file),
            "tls": facts.tls_id,
            "program": facts.program_id,
            "routes": list(routes),
            "begin": begin,
            **({"end": end} if end is not None else {}),
        },
        "rules": profile.name,
        "timing": {
            "step_length": 1.0,
            "decision_interval": decision_interval,
            **(
                {}
                if uniform_intergreen is None
                else {"amber": uniform_intergreen, "red_amber": 0.0}
            ),
        },  # fmt: skip
        "signal_groups": {
            g: {"links": list(ks), **({"min_green": min_greens[g]} if g in min_greens else {})}
            for g, ks in d.groups.items()
        },
        "stages": {
            s: {
                "groups": list(gs),
                "description": f"program phase {d.stage_phase[s]}: "
                + ", ".join(m for g in gs for m in _movements(facts, d.groups[g])),
            }
            for s, gs in d.stages.items()
        },
        "transitions": trans,
        "action_stages": stage_names,
        "initial_stage": stage_names[0],
        # the program's or the geometry's: the profile's minimum is applied at load
        "intergreens": {lo: {ga: v for ga, (v, _) in row.items()} for lo, row in igs.items()},
        "assumptions": assumptions,
    }
    notes = {
        "intergreen_sources": {
            lo: {ga: src for ga, (_, src) in row.items()} for lo, row in igs.items()
        },
        "movements": {g: _movements(facts, ks) for g, ks in d.groups.items()},
        "program_amber": d.amber,
    }
    return data, notes


def _amber_note(
    profile: rule_profiles.RuleProfile, program_amber: float, uniform: float | None
) -> str:
    """The assumption on amber: the program's, the profile's, or RESCO's uniform yellow."""
    if uniform is not None:
        return (
            f"a {uniform:g} s yellow and no all-red: every intergreen {uniform:g} s (the "
            "program's own amber and intergreens are not used)"
        )
    if profile.amber is None:
        return f"the program's amber (its longest yellow) is {program_amber:g} s"
    return (
        f"amber {profile.amber:g} s and red+amber {profile.red_amber:g} s under "
        f"{profile.name}; the program's longest yellow ({program_amber:g} s) counts only in "
        "the intergreens the program times"
    )


def _short_lane_notes(facts: TlsFacts, camera_range: float) -> list[str]:
    """Notes on arms whose approach lanes are shorter than the cameras' range (cameras see at
    most the lane) or than System D's loop set-backs (fewer loops, or one near the start)."""
    notes = []
    arms = [a for a in facts.arms if a.approach_lanes]
    short = [a for a in arms if a.length < camera_range]
    if short:
        notes.append(
            f"approach lanes shorter than the cameras' {camera_range:g} m ("
            + ", ".join(f"{a.name} {a.length:.0f} m" for a in short)
            + "): cameras see at most the lane"
        )
    fewer = [a for a in arms if len(system_d_setbacks(a.length)) < len(SYSTEM_D_SETBACKS)]
    if fewer:

        def loops(a: NetArm) -> str:
            backs = system_d_setbacks(a.length)
            if all(b in SYSTEM_D_SETBACKS for b in backs):
                return f"{a.name} {a.length:.0f} m: loops at {', '.join(f'{b:g}' for b in backs)} m"
            return f"{a.name} {a.length:.1f} m: one loop {backs[0]:g} m before the stop line"

        notes.append(
            "vehicle-actuated (System D): approach lanes shorter than the "
            f"{max(SYSTEM_D_SETBACKS):g} m set-back have only the loops that fit ("
            + "; ".join(loops(a) for a in fewer)
            + ")"
        )
    return notes
