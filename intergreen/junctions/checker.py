"""Independent checker of signal sequences against a junction's UK signal rules.

It re-derives every rule from the :class:`JunctionSpec` (conflicts, intergreens, minimum
greens, amber and red+amber, permitted transitions) and shares no code with the
controller. Durations are compared in seconds: a run of ``n`` steps lasts
``n * step_length`` and must not be shorter than the rule.

Rules (``Violation.rule``):

* ``conflict``: two conflicting groups green (``G``) in the same step.
* ``min_green``: a green shorter than the group's minimum green (a green already running
  at step 0 or still running at the end is not judged).
* ``intergreen``: from the end of green of a group to the start of green of a conflicting
  group, less than the intergreen matrix gives.
* ``amber`` / ``red_amber``: an amber or red+amber shorter than the spec (runs cut off by
  either end of the sequence are not judged).
* ``no_amber``: green straight to red; ``no_red_amber``: red straight to green (each only
  when the spec's amber / red+amber is positive).
* ``sequence``: any other aspect change outside green -> amber -> red -> red+amber -> green.
* ``stage_aspects``: a step labelled with a stage in which a group of it is not green.
* ``transition``: a change between consecutive distinct labelled stages that
  ``spec.transitions`` does not permit.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from intergreen.junctions.spec import JunctionSpec

__all__ = ["RuleViolation", "Violation", "assert_valid", "check_sequence"]

_TOL = 1e-6
_ASPECTS = frozenset("Gyru")
# Permitted aspect changes; anything else is a violation (rule given per case below).
_OK = {("G", "y"), ("y", "r"), ("r", "u"), ("u", "G")}


@dataclass(frozen=True)
class Violation:
    step: int
    rule: str
    groups: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"step {self.step}: [{self.rule}] {self.message}"


class RuleViolation(AssertionError):
    """A signal sequence broke the rules; ``violations`` lists every breach."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  {v}" for v in self.violations)
        super().__init__(f"{len(self.violations)} signal rule violation(s):\n{lines}")


def _runs(series: Sequence[str]) -> list[tuple[str, int, int]]:
    """Maximal runs of equal aspects as (aspect, first step, step after last)."""
    out: list[tuple[str, int, int]] = []
    start = 0
    for i in range(1, len(series) + 1):
        if i == len(series) or series[i] != series[start]:
            out.append((series[start], start, i))
            start = i
    return out


def check_sequence(
    spec: JunctionSpec,
    aspects: Sequence[Mapping[str, str]],
    stages: Sequence[str | None] | None = None,
    step_length: float | None = None,
) -> list[Violation]:
    """Every rule violation in a sequence of group aspects, ordered by step.

    ``aspects[i]`` maps every signal group to its aspect (``G y r u``) at step ``i``.
    ``stages``, when given, labels each step with the stage running (None during an
    interstage); the distinct stages in order must follow ``spec.transitions``.
    ``step_length`` defaults to the spec's.
    """
    dt = spec.timing.step_length if step_length is None else step_length
    groups = list(spec.signal_groups)
    n = len(aspects)
    for i, a in enumerate(aspects):
        for g in groups:
            if g not in a:
                raise ValueError(f"aspects[{i}] has no aspect for signal group {g!r}")
            if a[g] not in _ASPECTS:
                raise ValueError(f"aspects[{i}][{g!r}] = {a[g]!r}; expected one of G, y, r, u")
    if stages is not None and len(stages) != n:
        raise ValueError(f"stages has {len(stages)} entries, aspects {n}")

    def short(steps: int, seconds: float) -> bool:
        return steps * dt < seconds - _TOL

    out: list[Violation] = []
    series = {g: [a[g] for a in aspects] for g in groups}
    runs = {g: _runs(series[g]) for g in groups}
    amber, red_amber = spec.timing.amber, spec.timing.red_amber

    # conflicting greens
    pairs = [(a, b) for i, a in enumerate(groups) for b in groups[i + 1 :] if spec.conflict(a, b)]
    for i, a in enumerate(aspects):
        for g1, g2 in pairs:
            if a[g1] == "G" and a[g2] == "G":
                out.append(
                    Violation(
                        i, "conflict", (g1, g2), f"conflicting groups {g1} and {g2} both green"
                    )
                )

    for g in groups:
        rs = runs[g]
        for aspect, start, end in rs:
            if start == 0 or end == n:
                continue
            secs = (end - start) * dt
            if aspect == "G" and short(end - start, spec.min_green(g)):
                out.append(
                    Violation(
                        end,
                        "min_green",
                        (g,),
                        f"group {g} green for {secs:g} s, minimum {spec.min_green(g):g} s",
                    )
                )
            elif aspect == "y" and short(end - start, amber):
                out.append(
                    Violation(
                        end, "amber", (g,), f"group {g} amber for {secs:g} s, required {amber:g} s"
                    )
                )
            elif aspect == "u" and short(end - start, red_amber):
                out.append(
                    Violation(
                        end,
                        "red_amber",
                        (g,),
                        f"group {g} red+amber for {secs:g} s, required {red_amber:g} s",
                    )
                )
        for (p, _, _), (c, start, _) in zip(rs, rs[1:], strict=False):
            if (p, c) in _OK:
                continue
            if (p, c) == ("G", "r"):
                if amber > _TOL:
                    out.append(
                        Violation(start, "no_amber", (g,), f"group {g} green to red without amber")
                    )
            elif (p, c) == ("r", "G"):
                if red_amber > _TOL:
                    out.append(
                        Violation(
                            start, "no_red_amber", (g,), f"group {g} red to green without red+amber"
                        )
                    )
            else:
                out.append(Violation(start, "sequence", (g,), f"group {g} changed {p} -> {c}"))

    # intergreens: end of green of a group (first non-green step) -> start of a conflicting green
    green_ends = {g: [e for asp, _, e in runs[g] if asp == "G" and e < n] for g in groups}
    for g in groups:
        for aspect, start, _ in runs[g]:
            if aspect != "G" or start == 0:
                continue
            for lo in groups:
                if not spec.conflict(lo, g) or series[lo][start] == "G":
                    continue  # a green overlap is reported as a conflict
                ends = green_ends[lo]
                j = bisect_right(ends, start)
                if j == 0:
                    continue  # no green of `lo` seen before
                gap = start - ends[j - 1]
                need = spec.intergreen(lo, g)
                if short(gap, need):
                    out.append(
                        Violation(
                            start,
                            "intergreen",
                            (lo, g),
                            f"intergreen {lo} -> {g} was {gap * dt:g} s, required {need:g} s",
                        )
                    )

    # stages: labels must match the aspects, and changes must be permitted
    if stages is not None:
        last: str | None = None
        for i, s in enumerate(stages):
            if s is None:
                continue
            s = str(s)
            if s not in spec.stages:
                raise ValueError(f"stages[{i}] = {s!r} is not a stage ({', '.join(spec.stages)})")
            for g in spec.stages[s].groups:
                if aspects[i][g] != "G":
                    out.append(
                        Violation(
                            i,
                            "stage_aspects",
                            (g,),
                            f"stage {s} running but its group {g} shows {aspects[i][g]}",
                        )
                    )
            if last is not None and s != last and s not in spec.transitions.get(last, []):
                allowed = ", ".join(spec.transitions.get(last, [])) or "none"
                out.append(
                    Violation(
                        i,
                        "transition",
                        (),
                        f"stage {last} -> {s} not permitted (from {last}: {allowed})",
                    )
                )
            last = s
    out.sort(key=lambda v: v.step)
    return out


def assert_valid(
    spec: JunctionSpec,
    aspects: Sequence[Mapping[str, str]],
    stages: Sequence[str | None] | None = None,
    step_length: float | None = None,
) -> None:
    """Raise :class:`RuleViolation` listing every violation, if there are any."""
    violations = check_sequence(spec, aspects, stages, step_length)
    if violations:
        raise RuleViolation(violations)
