"""Independent checker of the signal states SUMO shows, against a junction's signal rules.

It reads what SUMO is given and shows: one link state string per simulation step
(``trafficlight.getRedYellowGreenState``: one character per signal link, ``G g y u r``; a
position no connection carries, an unused link index, is judged as red whatever it shows,
since SUMO applies it to no link), and
judges it against rules re-derived from the :class:`JunctionSpec`, the network's
:class:`Link` list (which signal groups give each link its aspect) and a
:class:`AspectDurations` (the amber and red+amber its rule profile, ``junctions/rules.py``,
fixes). It shares no code and no state with the controller: stages, greens and
intergreens are read off the strings.

Rules (``Violation.rule``), per signal link unless stated; a green is ``G`` or ``g``:

* ``amber`` / ``red_amber``: an amber or red+amber run must last exactly the profile's
  duration in whole steps, rounded up (UK: amber 3 s, red+amber 2 s; at 0.6 s steps 5 and 4
  steps). Too long is reported as soon as it is, too short when it ends; a run cut off by
  the start of the sequence is not judged.
* ``no_amber``: green straight to red; ``no_red_amber``: red straight to green (each only
  when the profile's duration is positive); ``sequence``: any other change outside
  green -> amber -> red -> red+amber -> green (``G`` <-> ``g`` is no change of aspect).
  A pedestrian crossing's link under a profile without pedestrian amber (``uk``: a UK
  pedestrian signal has only the red and the green figure) goes green -> red -> green, and
  ``pedestrian_amber``: it shows amber or red+amber.
* ``min_green``: a green run shorter than the minimum green of the groups that give the
  link its green (the smallest of them; a green running at the start is not judged).
* ``conflict``: two conflicting links green in the same step, unless one shows ``g`` and
  gives way to the other. Conflicting: SUMO's foe matrix when given
  (:func:`sumo_link_conflicts`, from the ``.net.xml``; giving way by SUMO's response
  matrix), and always the spec's group conflicts (a ``g`` is judged by its main group's,
  a ``G`` by its main group's and its arrow's; giving way when the other's group is one it
  filters against).
* ``intergreen``: a link turning green less than the intergreen after a conflicting link's
  green ended (end of green = its first non-green step). The intergreen is the largest of
  the spec's intergreens between the groups controlling the two links that conflict in the
  spec (none when only SUMO sees them as foes).
* ``max_green`` (stage): a stage showing longer than its ``max_green`` (whole steps, rounded
  up), reported at the first step over. A stage shows while the links that are green are
  exactly the links its groups make green and no link shows amber or red+amber (stages
  whose groups control no link are not
  seen, e.g. the pedestrian stage in a network without crossings; stages SUMO shows alike
  are judged together, by the longest of their maximum greens, none if one has none).
  Where leaving a stage changes no link at once (gm_a56's stage 1 -> 2: the right-turn
  arrow ends while the main road's green keeps its link green), the stage keeps showing
  until the next stage's red+amber; the limit adds the part of the spec's intergreen
  before that.
* ``transition`` (stage): a change between two seen stages that ``spec.transitions`` does not
  permit, directly or, when no link was green for a step in between, through stages that
  are not seen.

Durations are whole steps: ``steps(seconds) = ceil(seconds / step_length)`` with a 1e-9
tolerance, as the README states. :class:`RuleMonitor` checks step by step (the environment's
``check_rules=True``); :func:`check_states` checks a whole sequence.

When SUMO runs the network's own signal program (the ``program`` baseline,
``rule_profile(spec, "program")``), the same rules judge it under the junction's profile, and
what breaks them is kept as :class:`Findings` about that program (e.g. RESCO ingolstadt1's
program turns links 0 and 1 from amber straight back to green), never as an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intergreen.errors import IntergreenError
from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.imported import ImportedJunctionSpec
from intergreen.junctions.spec import JunctionSpec, Link
from intergreen.junctions.sumo_import import program_amber
from intergreen.junctions.sumo_net import read_tls

__all__ = [
    "AspectDurations",
    "Findings",
    "LinkConflicts",
    "RuleMonitor",
    "RuleViolation",
    "Violation",
    "assert_valid",
    "check_states",
    "rule_profile",
    "spec_link_conflicts",
    "sumo_link_conflicts",
]

_STATES = frozenset("Ggyur")
_GREEN = frozenset("Gg")
# Permitted aspect changes (green as "G"); anything else is a violation.
_OK = {("G", "y"), ("y", "r"), ("r", "u"), ("u", "G")}


class SignalStateError(IntergreenError, ValueError):
    """A signal state the checker cannot read (its length, or a character such as ``Y``)."""


@dataclass(frozen=True)
class AspectDurations:
    """The amber and red+amber durations (s) the checker holds a junction to, the name of
    the rule profile they come from, and whether the states judged are the network's own
    signal program's (``own_program``: SUMO runs it, not our controller, so what breaks the
    profile is a finding about that program; :class:`Findings`)."""

    name: str
    amber: float
    red_amber: float
    own_program: bool = False
    pedestrian_amber: bool = True  # crossings show amber and red+amber as vehicle links


def rule_profile(spec: JunctionSpec, signals: str = "controller") -> AspectDurations:
    """The amber and red+amber the signals must show.

    ``signals="controller"`` (our stage controller): the junction's rule profile
    (``spec.rules``, :mod:`junctions.rules`): the profile's own amber and red+amber where it
    fixes them (``uk``: 3 s and 2 s, TSRGD and TSM chapter 6), the junction's amber where the
    profile takes the program's (``program``). A junction's ``timing`` that differs from a
    profile that fixes it breaks the rules (e.g. a 0.6 s amber under ``uk``).

    ``signals="program"`` (SUMO runs the network's own signal program, the ``program``
    baseline): what the profile says of a foreign program, marked ``own_program``: the
    profile's amber and red+amber where it fixes them (``uk``: 3 s and 2 s, which a SUMO
    program with its 5 s yellow and no red+amber breaks), else the program's own amber (its
    longest yellow run, :func:`sumo_import.program_amber`; cologne1's program shows 5 s where
    RESCO's controller shows 3 s) and no red+amber (``program``). ValueError for a junction
    that is not imported from a SUMO network, or another ``signals``.
    """
    if signals not in ("controller", "program"):
        raise ValueError(f"signals={signals!r}: use controller or program")
    if signals == "program" and not isinstance(spec, ImportedJunctionSpec):
        raise ValueError(
            f"junction {spec.name} has no signal program of its own (signals='program' "
            "needs a junction imported from a SUMO network)"
        )
    profile = rule_profiles.resolve(spec.rules)
    own = signals == "program"
    amber = profile.amber
    if amber is None:
        imported = own and isinstance(spec, ImportedJunctionSpec)
        amber = program_amber(spec.facts) if imported else spec.timing.amber
    return AspectDurations(
        profile.name,
        amber=amber,
        red_amber=profile.red_amber,
        own_program=own,
        pedestrian_amber=profile.pedestrian_amber,
    )


@dataclass(frozen=True)
class Violation:
    """One breach: the step (0-based) and simulated time at its end (s), the rule, the links
    (indices into the state string) and groups concerned, and a sentence."""

    step: int
    time: float
    rule: str
    links: tuple[int, ...]
    groups: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"t={self.time:g} s (step {self.step}), {self.rule}: {self.message}"


class RuleViolation(IntergreenError, ValueError):
    """Signal states broke the rules; ``violations`` lists the breaches found, the message
    names the first (time, rule, links) in one line, and, when ``profile`` says the states
    were the network's own signal program's, that it is that program which breaks the
    profile. A user error when the junction's own timing breaks its rule profile (e.g. a
    0.6 s amber under ``uk``); a bug when the controller breaks a rule the spec respects."""

    def __init__(
        self, violations: Sequence[Violation], profile: AspectDurations | None = None
    ) -> None:
        self.violations = list(violations)
        more = len(self.violations) - 1
        who = "signal rule broken"
        if profile is not None and profile.own_program:
            who = f"the network's own signal program breaks rules {profile.name}"
        text = f"{who} at {self.violations[0]}"
        if more:
            text += f" (and {more} more: {', '.join(str(v) for v in self.violations[1:4])}"
            text += ", ...)" if more > 3 else ")"
        super().__init__(text)


@dataclass(frozen=True)
class LinkConflicts:
    """Which links conflict and who gives way: ``foes[i, j]`` links i and j cross or merge;
    ``yields[i, j]`` link i, showing ``g``, gives way to link j. ``source`` says where from."""

    foes: np.ndarray
    yields: np.ndarray
    source: str


def sumo_link_conflicts(net_file: str | Path, tls_id: str = "TL") -> LinkConflicts:
    """SUMO's own foe and response matrices of a traffic light's links, in link-index order,
    as :func:`sumo_net.read_tls` reads them from the ``.net.xml`` (the junction's
    ``<request>`` rows). Raises NetworkImportError for a file or traffic light it cannot
    read."""
    facts = read_tls(net_file, tls_id)
    n = facts.n_states  # an unused link index has no foe
    foes = np.zeros((n, n), dtype=bool)
    yields = np.zeros((n, n), dtype=bool)
    for i, j in facts.foes:
        foes[i, j] = True
    for i, j in facts.yields:
        yields[i, j] = True  # SUMO's response: link i gives way to j
    return LinkConflicts(foes, yields, f"SUMO's foe matrix ({Path(net_file).name})")


def spec_link_conflicts(spec: JunctionSpec, links: Sequence[Link]) -> LinkConflicts:
    """Link conflicts from the spec alone: links conflict when groups controlling them
    conflict; a link gives way to the links of the groups it filters against."""
    n = len(links)
    ctrl = [_controllers(k) for k in links]
    foes = np.zeros((n, n), dtype=bool)
    yields = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(n):
            if i != j:
                foes[i, j] = any(spec.conflict(a, b) for a in ctrl[i] for b in ctrl[j])
                yields[i, j] = links[j].group in links[i].filters_against
    return LinkConflicts(foes, yields, "the spec's group conflicts")


def _controllers(link: Link) -> tuple[str, ...]:
    """The groups that give a link its aspect (none for an unused link index)."""
    if link.group is None:
        return ()
    return (link.group,) if link.arrow is None else (link.group, link.arrow)


def _steps(seconds: float, step_length: float) -> int:
    """Whole steps covering ``seconds``, rounded up (never shorter than the rule)."""
    return max(0, math.ceil(seconds / step_length - 1e-9))


class RuleMonitor:
    """Checks link state strings one step at a time (rules: the module docstring).

    ``push(state, time)`` takes the state string SUMO showed during the next step and
    returns the violations found at that step (most are found when a run ends). ``links``
    are the network's signal links in state-string order; ``conflicts`` default to the
    spec's (pass :func:`sumo_link_conflicts` of the built network to judge by SUMO's foe
    matrix); ``profile`` defaults to :func:`rule_profile`.
    """

    def __init__(
        self,
        spec: JunctionSpec,
        links: Sequence[Link],
        *,
        conflicts: LinkConflicts | None = None,
        profile: AspectDurations | None = None,
        step_length: float | None = None,
    ) -> None:
        self.spec = spec
        self.links = tuple(links)
        self.profile = rule_profile(spec) if profile is None else profile
        self.step_length = spec.timing.step_length if step_length is None else step_length
        n = len(self.links)
        own = spec_link_conflicts(spec, self.links)
        self._external = conflicts is not None
        self.conflicts = own if conflicts is None else conflicts
        if self.conflicts.foes.shape != (n, n):
            raise ValueError(
                f"conflicts are for {self.conflicts.foes.shape[0]} links, the network has {n}"
            )
        dt = self.step_length
        self.amber_steps = _steps(self.profile.amber, dt)
        self.red_amber_steps = _steps(self.profile.red_amber, dt)
        ctrl = [_controllers(k) for k in self.links]
        self._min_green = [min((_steps(spec.min_green(g), dt) for g in c), default=0) for c in ctrl]
        # state positions no connection carries: SUMO applies them to no link, so whatever
        # they show (a network's own program may show G there) is judged as red
        self._unused = frozenset(i for i, link in enumerate(self.links) if link.unused)
        # crossings that go green -> red -> green (the profile gives pedestrians no amber)
        self._plain_crossings = frozenset(
            i
            for i, link in enumerate(self.links)
            if not self.profile.pedestrian_amber and link.movement.endswith(".crossing")
        )
        # the spec's conflicts by what each link shows: a "g" is its main group's filtering
        # green; a "G" may be its main group's or its arrow's
        self._spec_yields = own.yields
        self._spec_foes = {
            (gi, gj): np.array(
                [
                    [
                        i != j
                        and any(
                            spec.conflict(a, b)
                            for a in ctrl[i][: 1 if gi else 2]
                            for b in ctrl[j][: 1 if gj else 2]
                        )
                        for j in range(n)
                    ]
                    for i in range(n)
                ],
                dtype=bool,
            )
            for gi in (False, True)
            for gj in (False, True)
        }
        judged = self.conflicts.foes | own.foes
        self._pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if judged[i, j]]
        # intergreen (steps) from the end of link i's green to the start of link j's
        self._intergreen: dict[int, list[tuple[int, int]]] = {j: [] for j in range(n)}
        for i in range(n):
            for j in range(n):
                if i == j or not judged[i, j]:
                    continue
                need = [
                    spec.intergreen(a, b) for a in ctrl[i] for b in ctrl[j] if spec.conflict(a, b)
                ]
                if need:
                    self._intergreen[j].append((i, _steps(max(need), dt)))
        self._stage_sets: dict[str, frozenset[int]] = {}
        for s, stage in spec.stages.items():
            groups = set(stage.groups)
            green = frozenset(k for k, c in enumerate(ctrl) if groups & set(c))
            if green:
                self._stage_sets[s] = green
        # a green set may belong to several stages (SUMO shows them alike): keep them all
        self._by_set: dict[frozenset[int], tuple[str, ...]] = {}
        for s, green in self._stage_sets.items():
            self._by_set[green] = (*self._by_set.get(green, ()), s)
        self._max_green: dict[tuple[str, ...], int] = {}
        for stages in self._by_set.values():
            limits = [self._shown_limit(s, ctrl) for s in stages]
            if all(x is not None for x in limits):
                self._max_green[stages] = max(limits)  # type: ignore[type-var]
        unseen = {s for s in spec.stages if s not in self._stage_sets}
        self._direct = {s: set(spec.transitions.get(s, [])) for s in spec.stages}
        self._reach = {s: _reachable(spec, s, unseen) for s in spec.stages}
        self.reset()

    def _shown_limit(self, stage: str, ctrl: list[tuple[str, ...]]) -> int | None:
        """Steps a stage may show: its maximum green, plus, where leaving it to a successor
        changes no link at once (its losing groups are arrows whose links stay green by
        their main group), the part of that change SUMO cannot show: the longest intergreen
        to a gaining group less the red+amber before it."""
        spec, dt = self.spec, self.step_length
        if spec.stages[stage].max_green is None:
            return None
        here = set(spec.stages[stage].groups)
        tail = 0
        for nxt in spec.transitions.get(stage, []):
            there = set(spec.stages[nxt].groups)
            if any(set(c) & here and not set(c) & there for c in ctrl):
                continue  # a link leaves green at once: the end shows
            losing, gaining = here - there, there - here
            for g in gaining:
                need = [_steps(spec.intergreen(lo, g), dt) for lo in losing if spec.conflict(lo, g)]
                tail = max(tail, max([self.red_amber_steps, *need]) - self.red_amber_steps)
        return _steps(spec.stages[stage].max_green, dt) + tail

    def reset(self) -> None:
        """Start a new sequence (step 0 next)."""
        n = len(self.links)
        self._k = 0
        self._aspect = [""] * n  # "G" for G/g
        self._start = [0] * n
        self._green_end = [-1] * n  # first non-green step after the last green; -1: never
        self._stage: tuple[str, ...] | None = None  # the stage(s) shown now
        self._stage_start = 0
        self._last_stage: tuple[str, ...] | None = None
        self._dark = False  # no link green since the last stage shown (an unseen stage ran)

    def push(self, state: str, time: float | None = None) -> list[Violation]:
        """Judge the state shown during the next step; ``time`` (s) labels the violations
        (default: the step's end). Raises SignalStateError (a ValueError) for a state string
        of another length or with a character it does not read (SUMO's ``Y`` in a network's
        own program)."""
        n, k = len(self.links), self._k
        unknown = {c for i, c in enumerate(state) if i not in self._unused} - _STATES
        if len(state) != n or unknown:
            what = (
                f"has {len(state)} characters for {n} links"
                if len(state) != n
                else f"holds {', '.join(map(repr, sorted(unknown)))}, which the rule checker "
                "does not read"
            )
            raise SignalStateError(
                f"--check-rules: the signal state {state!r} {what}: it reads one of G, g, y, u, "
                "r per link, so it cannot judge these signals; run without --check-rules"
            )
        if self._unused:
            state = "".join("r" if i in self._unused else c for i, c in enumerate(state))
        t = (k + 1) * self.step_length if time is None else time
        out: list[Violation] = []

        def add(rule: str, links: tuple[int, ...], message: str) -> None:
            groups = tuple(dict.fromkeys(g for i in links for g in _controllers(self.links[i])))
            names = ", ".join(f"{i} ({self.links[i].movement})" for i in links)
            out.append(Violation(k, t, rule, links, groups, f"link {names}: {message}"))

        dt = self.step_length
        aspects = ["G" if c in _GREEN else c for c in state]
        for i, (p, c) in enumerate(zip(self._aspect, aspects, strict=True)):
            if k == 0:
                continue
            if i in self._plain_crossings:
                if p == "G" and c != "G":
                    length = k - self._start[i]
                    if self._start[i] > 0 and length < self._min_green[i]:
                        add(
                            "min_green",
                            (i,),
                            f"green for {length * dt:g} s, minimum {self._min_green[i] * dt:g} s",
                        )
                    self._green_end[i] = k
                if c != p and c in "yu":
                    add(
                        "pedestrian_amber",
                        (i,),
                        f"a pedestrian signal showed {'amber' if c == 'y' else 'red+amber'}; "
                        f"under rules {self.profile.name} it goes from green straight to red "
                        "and from red straight to green",
                    )
                continue
            length = k - self._start[i]
            if p == c:
                if c == "y" and length == self.amber_steps:
                    add("amber", (i,), f"amber for more than {self._secs(self.amber_steps)}")
                elif c == "u" and length == self.red_amber_steps:
                    add(
                        "red_amber",
                        (i,),
                        f"red+amber for more than {self._secs(self.red_amber_steps)}",
                    )
                continue
            judged = self._start[i] > 0
            if p == "y" and judged and length < self.amber_steps:
                add("amber", (i,), f"amber for {length * dt:g} s, {self._req('amber')}")
            elif p == "u" and judged and length < self.red_amber_steps:
                add("red_amber", (i,), f"red+amber for {length * dt:g} s, {self._req('red_amber')}")
            elif p == "G" and judged and length < self._min_green[i]:
                add(
                    "min_green",
                    (i,),
                    f"green for {length * dt:g} s, minimum {self._min_green[i] * dt:g} s",
                )
            if (p, c) not in _OK:
                if (p, c) == ("G", "r") and self.amber_steps > 0:
                    add("no_amber", (i,), "green to red without amber")
                elif (p, c) == ("r", "G") and self.red_amber_steps > 0:
                    add("no_red_amber", (i,), "red to green without red+amber")
                elif (p, c) == ("y", "G"):
                    add("sequence", (i,), "changed y -> G (amber straight back to green)")
                elif (p, c) not in (("G", "r"), ("r", "G")):
                    add("sequence", (i,), f"changed {p} -> {c}")
            if p == "G":
                self._green_end[i] = k
        # conflicting greens
        for i, j in self._pairs:
            a, b = state[i], state[j]
            if a not in _GREEN or b not in _GREEN:
                continue
            if self._external and self.conflicts.foes[i, j]:
                yields, who = self.conflicts.yields, self.conflicts.source
            elif self._spec_foes[(a == "g", b == "g")][i, j]:
                yields, who = self._spec_yields, "the spec's group conflicts"
            else:
                continue
            if not ((a == "g" and yields[i, j]) or (b == "g" and yields[j, i])):
                add("conflict", (i, j), f"green together ({a}, {b}), conflicting by {who}")
        # intergreens: link j turning green now
        for j, c in enumerate(aspects):
            if c != "G" or (k > 0 and self._aspect[j] == "G"):
                continue
            for i, need in self._intergreen[j]:
                end = self._green_end[i]
                if end < 0 or aspects[i] == "G":
                    continue  # never green before, or green now (a conflict if anything)
                if k - end < need:
                    add(
                        "intergreen",
                        (i, j),
                        f"green {(k - end) * dt:g} s after the first's green ended, "
                        f"intergreen {need * dt:g} s",
                    )
        # stages
        green = frozenset(i for i, c in enumerate(aspects) if c == "G")
        changing = "y" in state or "u" in state
        stage = None if changing else self._by_set.get(green)
        self._dark |= not green
        if stage != self._stage:
            last = self._last_stage
            reach = self._reach if self._dark else self._direct
            if (
                stage is not None
                and last is not None
                and last != stage
                and not any(b in reach[a] for a in last for b in stage)
            ):
                allowed = ", ".join(self.spec.transitions.get(last[0], [])) or "none"
                out.append(
                    Violation(
                        k,
                        t,
                        "transition",
                        (),
                        (),
                        f"stage {'/'.join(last)} -> {'/'.join(stage)} not permitted "
                        f"(from {last[0]}: {allowed})",
                    )
                )
            if stage is not None:
                self._last_stage, self._dark = stage, False
            self._stage, self._stage_start = stage, k
        limit = self._max_green.get(stage) if stage is not None else None
        if limit is not None and k - self._stage_start == limit:
            groups = tuple(dict.fromkeys(g for s in stage for g in self.spec.stages[s].groups))
            out.append(
                Violation(
                    k,
                    t,
                    "max_green",
                    (),
                    groups,
                    f"stage {'/'.join(stage)} shown for more than its maximum green "
                    f"{limit * dt:g} s",
                )
            )
        for i, c in enumerate(aspects):
            if c != self._aspect[i]:
                self._aspect[i], self._start[i] = c, k
        self._k = k + 1
        return out

    @property
    def steps(self) -> int:
        """States judged since the last reset."""
        return self._k

    def _secs(self, steps: int) -> str:
        return f"{steps * self.step_length:g} s ({steps} steps)"

    def _req(self, what: str) -> str:
        steps = self.amber_steps if what == "amber" else self.red_amber_steps
        seconds = self.profile.amber if what == "amber" else self.profile.red_amber
        return (
            f"the {self.profile.name} profile's {what.replace('_', '+')} is {seconds:g} s "
            f"({steps} steps of {self.step_length:g} s)"
        )


def _reachable(spec: JunctionSpec, start: str, unseen: set[str]) -> set[str]:
    """Stages reachable from ``start`` in one permitted transition, or several through
    stages that are not seen."""
    out: set[str] = set()
    todo = [start]
    visited = {start}
    while todo:
        s = todo.pop()
        for nxt in spec.transitions.get(s, []):
            out.add(nxt)
            if nxt in unseen and nxt not in visited:
                visited.add(nxt)
                todo.append(nxt)
    return out


def check_states(
    spec: JunctionSpec,
    links: Sequence[Link],
    states: Sequence[str],
    *,
    conflicts: LinkConflicts | None = None,
    profile: AspectDurations | None = None,
    step_length: float | None = None,
) -> list[Violation]:
    """Every violation in a sequence of link state strings (one per step), by step."""
    monitor = RuleMonitor(
        spec, links, conflicts=conflicts, profile=profile, step_length=step_length
    )
    return [v for state in states for v in monitor.push(state)]


def assert_valid(
    spec: JunctionSpec,
    links: Sequence[Link],
    states: Sequence[str],
    **kwargs: object,
) -> None:
    """Raise :class:`RuleViolation` listing every violation, if there are any."""
    found = check_states(spec, links, states, **kwargs)  # type: ignore[arg-type]
    if found:
        raise RuleViolation(found, kwargs.get("profile"))  # type: ignore[arg-type]


class Findings:
    """What the checker found in the network's own signal program (the ``program`` baseline:
    SUMO runs the program, our controller does not, so a departure from the profile is a
    fact about that program, not an error): per rule the number of violations and the first,
    and the steps judged. Memory does not grow with the episode."""

    def __init__(self, profile: AspectDurations, program: str = "") -> None:
        self.profile = profile
        self.program = program  # e.g. "program '0' of traffic light gneJ207"
        self.reset()

    def reset(self) -> None:
        self.steps = 0
        self.counts: dict[str, int] = {}
        self.first: dict[str, Violation] = {}

    def record(self, found: Sequence[Violation]) -> None:
        """One judged step's violations (none: the step is counted)."""
        self.steps += 1
        for v in found:
            self.counts[v.rule] = self.counts.get(v.rule, 0) + 1
            self.first.setdefault(v.rule, v)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """A header naming the program and the profile, then per rule (by first time) its
        count and first occurrence."""
        name = self.profile.name
        what = f"the network's own signal program{f' ({self.program})' if self.program else ''}"
        if not self.counts:
            return [f"check-rules: {what} kept rules {name} in all {self.steps} steps"]
        head = (
            f"check-rules: {what} departs from rules {name} ({len(self)} findings in "
            f"{self.steps} steps); SUMO ran that program, not intergreen's controller, so these "
            "describe the program, not a fault of intergreen:"
        )
        rows = sorted(self.first.items(), key=lambda kv: (kv[1].step, kv[0]))
        return [head] + [
            f"  {rule} x{self.counts[rule]}, first at t={v.time:g} s (step {v.step}): {v.message}"
            for rule, v in rows
        ]
