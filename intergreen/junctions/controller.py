"""StageController: turns "go to stage k" requests into UK-legal signal states.

The controller is the only code that writes signal states. Each :meth:`StageController.step`
advances one ``spec.timing.step_length`` and returns the SUMO state string (one character
per link, ``G g y u r``) to hold for that step.

Rules (UK practice, see docs/design.md "Domain rules"):

* Aspect sequence green -> amber -> red -> red+amber -> green, with at least one step
  of red between a group's amber and its next red+amber. A pedestrian crossing's link shows
  red through its group's amber and red+amber unless the rule profile gives pedestrians
  amber (``uk`` does not: a UK pedestrian signal has only the red and the green figure);
  the timings are the same.
* **Rounding.** Every duration is a whole number of steps, rounded *up* so it is never
  shorter than the rule: ``steps = ceil(seconds / step_length)`` (1e-9 tolerance), e.g. at
  0.6 s steps amber 3 s = 5 steps, red+amber 2 s = 4 steps (2.4 s), intergreen 5 s = 9
  steps (5.4 s), minimum green 4 s = 7 steps (4.2 s). Maximum greens are rounded up too.
* **Interstage** S -> T starting at step ``t0``: losing groups (in S, not T) show amber
  from ``t0`` then red; each gaining group g (in T, not S) turns green at
  ``t0 + max(red_amber, max intergreen(l, g) over conflicting losing groups l)`` and shows
  red+amber for the ``red_amber`` steps before; groups in both stay green. The interstage
  ends (T becomes the current stage) when the last gaining group turns green; losing
  ambers that run on past it just finish, and no new interstage starts until they have and
  T has shown for a step with no amber on any link (a stage passed on the way to another is
  seen: cologne1's stage 2, its left turns alone, between its stages 1 and 3).
  A gaining group is also kept back (by delaying ``t0``) while an intergreen from an
  *earlier* interstage has not run out, so paths through short stages stay legal.
* A losing group ends its green only after its minimum green (``spec.min_green``).
* A request for a stage not directly reachable is routed along ``spec.stage_path``; every
  stage on the way runs until its losing groups have had their minimum greens, and shows
  (see Interstage): a stage never shown could not have had its minimum green.
* **Queueing.** A request only sets the target. The *latest* request replaces any earlier
  one; a request made during an interstage is acted on when the interstage ends (the
  controller first enters the stage it is already heading for, then routes from there).
* **Maximum green** (``Stage.max_green``, counted from the start of the stage): when it runs
  out and the target is still the current stage, the target becomes the nearest stage of
  ``spec.action_stages`` (fewest transitions; ties by the order of ``spec.transitions``),
  which is the first permitted successor in ``action_stages`` when there is one; if no
  other action stage is reachable, the first permitted successor.
* :meth:`StageController.reset` starts in a stage with all its groups green, their minimum
  greens already satisfied and every intergreen already run out (``time_in_stage`` is 0).

Everything that depends only on the spec (per-stage and per-interstage frames of group
aspects and link state strings) is built once in ``__init__``; ``step`` is mostly indexing.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.spec import UNUSED_STATE, JunctionSpec, Link, SpecError

__all__ = ["StageController", "steps_for"]

_NEVER = -(10**9)  # step index "long ago": min greens and intergreens satisfied
_FOREVER = 10**18  # no maximum green

# A frame is what one step shows: (link state string, group aspects in group order).
_Frame = tuple[str, tuple[str, ...]]


def steps_for(seconds: float, step_length: float) -> int:
    """Whole steps covering ``seconds``, rounded up (never shorter than the rule)."""
    return max(0, math.ceil(seconds / step_length - 1e-9))


@dataclass(frozen=True, slots=True)
class _Interstage:
    """Precomputed direct change ``src -> dst``; offsets are steps after its start t0."""

    src: str
    dst: str
    frames: tuple[_Frame, ...]  # offsets 0 .. n-1; dst is current from offset ``end``
    end: int  # offset at which the last gaining group turns green
    losers: tuple[tuple[int, int], ...]  # (group, minimum green in steps)
    gainers: tuple[tuple[int, int], ...]  # (group, offset of its first green step)
    history: tuple[tuple[int, int], ...]  # (group, slack): need last_end[group] + slack <= t0


class StageController:
    """Stage-based UK signal controller for one junction (rules: the module docstring).

    ``links`` fixes the order of the characters in the state strings; with no links the
    strings are empty and only the group aspects are meaningful; an unused link index (a
    Link without a group) always shows ``UNUSED_STATE`` (r). Call :meth:`request` at
    any time, :meth:`step` once per ``step_length``; the read-only properties describe the
    step last emitted. Requests queue as "latest wins"; a maximum green moves the target to
    the nearest action stage.
    """

    def __init__(
        self, spec: JunctionSpec, links: Sequence[Link] = (), initial_stage: str | None = None
    ) -> None:
        self.spec = spec
        self.links = tuple(links)
        self._initial = spec.initial_stage if initial_stage is None else str(initial_stage)
        self._check_stage(self._initial)
        t = spec.timing
        self.step_length = t.step_length
        self._groups = list(spec.signal_groups)
        gi = {g: i for i, g in enumerate(self._groups)}
        self._gi = gi
        for link in self.links:
            for g in (link.group, link.arrow, *link.filters_against):
                if g is not None and g not in gi:
                    raise ValueError(f"link {link.movement}: unknown signal group {g!r}")
        self._link_idx: list[tuple[int | None, int | None, list[int]]] = [
            (
                None if k.group is None else gi[k.group],
                None if k.arrow is None else gi[k.arrow],
                [gi[f] for f in k.filters_against],
            )
            for k in self.links
        ]
        self.amber_steps = steps_for(t.amber, t.step_length)
        self.red_amber_steps = steps_for(t.red_amber, t.step_length)
        # crossings that show red where their group shows amber or red+amber
        plain = not rule_profiles.resolve(spec.rules).pedestrian_amber
        self._red_for_amber = [
            i for i, k in enumerate(self.links) if plain and k.movement.endswith(".crossing")
        ]
        self._min_green = [steps_for(spec.min_green(g), t.step_length) for g in self._groups]
        self._max_green = {
            s: _FOREVER if st.max_green is None else steps_for(st.max_green, t.step_length)
            for s, st in spec.stages.items()
        }
        self._stage_groups = {s: [gi[g] for g in st.groups] for s, st in spec.stages.items()}
        self._stage_frames = {s: self._frame(self._stage_aspects(s)) for s in spec.stages}
        self._inter = {
            (s, d): self._build_interstage(s, d) for s, ds in spec.transitions.items() for d in ds
        }
        self._hop: dict[tuple[str, str], str] = {}
        for s in spec.stages:
            for d in spec.stages:
                if s != d:
                    with contextlib.suppress(SpecError):
                        self._hop[(s, d)] = spec.stage_path(s, d)[0]
        self._forced = {s: self._forced_successor(s) for s in spec.stages}
        self.reset()

    # ----- precomputation --------------------------------------------------------------
    def _check_stage(self, stage: str) -> None:
        if stage not in self.spec.stages:
            raise ValueError(
                f"unknown stage {stage!r}; valid stages: {', '.join(self.spec.stages)}"
            )

    def _stage_aspects(self, stage: str) -> tuple[str, ...]:
        green = set(self.spec.stages[stage].groups)
        return tuple("G" if g in green else "r" for g in self._groups)

    def _frame(self, aspects: tuple[str, ...]) -> _Frame:
        chars = []
        for main, arrow, against in self._link_idx:
            if main is None:  # an unused link index
                chars.append(UNUSED_STATE)
                continue
            if arrow is not None and aspects[arrow] == "G":
                chars.append("G")
                continue
            c = aspects[main]
            if c == "G" and any(aspects[f] == "G" for f in against):
                c = "g"
            chars.append(c)
        return "".join(chars), aspects

    def _pedestrian_red(self, frame: _Frame) -> _Frame:
        """``frame`` with red on the crossings where their group shows amber or red+amber
        (none when the rule profile gives pedestrians amber)."""
        chars = list(frame[0])
        for i in self._red_for_amber:
            if chars[i] in "yu":
                chars[i] = "r"
        return "".join(chars), frame[1]

    def _build_interstage(self, src: str, dst: str) -> _Interstage:
        spec, dt = self.spec, self.step_length
        s_groups, d_groups = set(spec.stages[src].groups), set(spec.stages[dst].groups)
        losing = [g for g in self._groups if g in s_groups and g not in d_groups]
        gaining = [g for g in self._groups if g in d_groups and g not in s_groups]
        ra, amber = self.red_amber_steps, self.amber_steps
        offset = {}
        for g in gaining:
            ig = [steps_for(spec.intergreen(lo, g), dt) for lo in losing if spec.conflict(lo, g)]
            offset[g] = max([ra, *ig])
        end = max(offset.values(), default=0)
        n = max(end + 1, amber if losing else 0)
        frames = []
        for o in range(n):
            asp = []
            for g in self._groups:
                if g in s_groups and g in d_groups:
                    asp.append("G")
                elif g in losing:
                    asp.append("y" if o < amber else "r")
                elif g in offset:
                    asp.append("G" if o >= offset[g] else "u" if o >= offset[g] - ra else "r")
                else:
                    asp.append("r")
            frames.append(self._frame(tuple(asp)))
        if any(c in "yu" for c in frames[-1][0]):
            # losing ambers outlast the gain (or nothing gains): show the stage entered for a
            # step before another change may start, so that every stage passed is seen
            frames.append(self._stage_frames[dst])
        frames = [self._pedestrian_red(f) for f in frames]
        # Constraints from earlier interstages on groups red at t0 (not in src):
        # intergreens from conflicting groups, and one red step after the gainer's own amber.
        slack: dict[str, int] = {}
        for g in gaining:
            need = {g: amber + 1 + ra - offset[g]}
            for other in self._groups:
                if other not in s_groups and spec.conflict(other, g):
                    need[other] = steps_for(spec.intergreen(other, g), dt) - offset[g]
            for k, v in need.items():
                slack[k] = max(slack.get(k, v), v)
        gi = self._gi
        return _Interstage(
            src=src,
            dst=dst,
            frames=tuple(frames),
            end=end,
            losers=tuple((gi[g], self._min_green[gi[g]]) for g in losing),
            gainers=tuple((gi[g], offset[g]) for g in gaining),
            history=tuple((gi[g], v) for g, v in slack.items()),
        )

    def _forced_successor(self, stage: str) -> str:
        succ = self.spec.transitions[stage]
        best: tuple[int, int, int] | None = None
        choice = succ[0]
        for i, a in enumerate(self.spec.action_stages):
            if a == stage or (stage, a) not in self._hop:
                continue
            key = (len(self.spec.stage_path(stage, a)), succ.index(self._hop[(stage, a)]), i)
            if best is None or key < best:
                best, choice = key, a
        return choice

    # ----- control ---------------------------------------------------------------------
    def reset(self, initial_stage: str | None = None) -> None:
        """Start in ``initial_stage`` (default: the constructor's, else the spec's) with all
        its groups green, minimum greens and intergreens already satisfied."""
        stage = self._initial if initial_stage is None else str(initial_stage)
        self._check_stage(stage)
        n = len(self._groups)
        self._k = 0  # index of the next step to emit
        self._cur = stage
        self._next: str | None = None
        self._target = stage
        self._inter_now: _Interstage | None = None
        self._t0 = 0
        self._green_start = [_NEVER] * n
        self._last_end = [_NEVER] * n
        self._enter(stage, 0)
        self._frame_now = self._stage_frames[stage]

    def _enter(self, stage: str, k: int) -> None:
        self._cur = stage
        self._next = None
        self._stage_start = k
        self._max_end = k + self._max_green[stage]

    def request(self, stage: str) -> None:
        """Go to ``stage``, along ``spec.stage_path`` when not directly reachable.

        Only the target is stored: the latest request replaces any earlier one. During an
        interstage the change under way completes first, then the controller routes from
        the stage it entered to the latest target. Raises ValueError for an unknown stage
        (naming the valid ones) or one that cannot be reached from there.
        """
        stage = str(stage)
        self._check_stage(stage)
        origin = self._next or self._cur
        if stage != origin and (origin, stage) not in self._hop:
            raise ValueError(f"stage {stage!r} cannot be reached from stage {origin!r}")
        self._target = stage

    def step(self) -> str:
        """Advance one step; return the link state string to hold during it."""
        k = self._k
        it = self._inter_now
        if it is not None and k - self._t0 >= len(it.frames):
            it = self._inter_now = None
        if it is None and (self._target != self._cur or k >= self._max_end):
            it = self._try_start(k)
        if it is None:
            frame = self._stage_frames[self._cur]
        else:
            off = k - self._t0
            if off == it.end:
                self._enter(it.dst, k)
            frame = it.frames[off]
        self._frame_now = frame
        self._k = k + 1
        return frame[0]

    def _startable(self, it: _Interstage, k: int) -> bool:
        gs, le = self._green_start, self._last_end
        return all(k - gs[g] >= mg for g, mg in it.losers) and all(
            le[g] + slack <= k for g, slack in it.history
        )

    def _try_start(self, k: int) -> _Interstage | None:
        if self._target == self._cur:  # maximum green ran out
            self._target = self._forced[self._cur]
        it = self._inter[(self._cur, self._hop[(self._cur, self._target)])]
        if not self._startable(it, k):
            return None
        for g, _ in it.losers:
            self._last_end[g] = k
        for g, off in it.gainers:
            self._green_start[g] = k + off
        self._inter_now, self._t0, self._next = it, k, it.dst
        return it

    # ----- read-only state -------------------------------------------------------------
    @property
    def current_stage(self) -> str:
        """The stage running now; during an interstage, the stage being left."""
        return self._cur

    @property
    def next_stage(self) -> str | None:
        """During an interstage, the stage being entered, else None."""
        return self._next

    @property
    def target_stage(self) -> str:
        """The stage last requested (or forced by a maximum green)."""
        return self._target

    @property
    def in_interstage(self) -> bool:
        return self._next is not None

    @property
    def time_in_stage(self) -> float:
        """Seconds since the current stage began (its last gaining group turned green),
        counting the step just emitted; during an interstage it keeps counting the stage
        being left."""
        return (self._k - self._stage_start) * self.step_length

    @property
    def steps(self) -> int:
        """Steps emitted since reset."""
        return self._k

    @property
    def group_aspects(self) -> dict[str, str]:
        """Aspect of every signal group in the step just emitted: G, y, r or u."""
        return dict(zip(self._groups, self._frame_now[1], strict=True))

    def state_string(self) -> str:
        """The link state string of the step just emitted (of the stage before any step)."""
        return self._frame_now[0]

    def max_green_expired(self) -> bool:
        """True when the current stage has run its maximum green."""
        return self._next is None and self._k >= self._max_end

    def can_change(self, stage: str | None = None) -> bool:
        """True when a transition could start at the next step: not in an interstage or
        its amber tail, and the groups that would lose have had their minimum greens (and
        no earlier intergreen is still running). With ``stage``, for the first move towards
        it; without, for every permitted successor of the current stage (so any request
        for another stage would start a transition at the next step)."""
        k = self._k
        if self._next is not None:
            return False
        it = self._inter_now
        if it is not None and k - self._t0 < len(it.frames):
            return False
        cur = self._cur
        if stage is None:
            dsts = self.spec.transitions[cur]
        else:
            stage = str(stage)
            if stage == cur or (cur, stage) not in self._hop:
                return False
            dsts = [self._hop[(cur, stage)]]
        return all(self._startable(self._inter[(cur, d)], k) for d in dsts)

    def ready_for_decision(self) -> bool:
        """True when not in an interstage, not on the way to another stage (no change
        pending), and every group of the current stage has had its minimum green."""
        if self._next is not None or self._target != self._cur:
            return False
        k, gs, mg = self._k, self._green_start, self._min_green
        return all(k - gs[g] >= mg[g] for g in self._stage_groups[self._cur])

    def action_mask(self, action_stages: Sequence[str]) -> np.ndarray:
        """Bool per action stage. In a stage with no change pending: the current stage
        unless its maximum green has run out, the others when :meth:`can_change`. While
        changing (interstage, or on the way to the target): only the target. Never all
        False: if nothing qualifies, all are allowed (requests are always safe; the
        controller queues them)."""
        cur, target = self._cur, self._target
        if self._next is not None or target != cur:
            mask = np.array([str(s) == target for s in action_stages], dtype=bool)
        else:
            keep = not self.max_green_expired()
            can = self.can_change()
            mask = np.array([keep if str(s) == cur else can for s in action_stages], dtype=bool)
        if not mask.any():
            mask[:] = True
        return mask
