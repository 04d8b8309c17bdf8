"""ProgramFollower: lets SUMO run the network's own signal program, and reports it as stages.

The ``program`` baseline (RESCO's "fixed time") needs the traffic light to run the program
written in the network, not our controller. An env made with ``signals="program"`` uses a
ProgramFollower in place of the :class:`~intergreen.junctions.controller.StageController`: it
never writes a signal state (its :meth:`step` returns the empty string, which the env never
sends to SUMO), ignores requests, and reads the state SUMO shows to tell the env and the
policy which stage is running (a state whose green groups are exactly a stage's), whether a
change is under way (any other state), and for how long the stage has run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from intergreen.junctions.spec import JunctionSpec, Link

__all__ = ["ProgramFollower"]

_GREEN = frozenset("Gg")


class ProgramFollower:
    """The controller interface the env reads, following SUMO's own program (see module)."""

    def __init__(self, spec: JunctionSpec, links: Sequence[Link], tls_id: str) -> None:
        self.spec = spec
        self.tls_id = tls_id
        self.step_length = spec.timing.step_length
        members: dict[str, list[int]] = {g: [] for g in spec.signal_groups}
        for i, link in enumerate(links):
            if link.group is not None:  # an unused link index shows no group's aspect
                members[link.group].append(i)
        self._members = members
        self._stage_of = {frozenset(st.groups): s for s, st in spec.stages.items()}
        self._get_state = None
        self.reset()

    def attach(self, conn) -> None:
        """Read states from a freshly started simulation."""
        self._get_state = conn.trafficlight.getRedYellowGreenState

    def reset(self, initial_stage: str | None = None) -> None:
        self._k = 0
        self._cur = str(initial_stage) if initial_stage is not None else self.spec.initial_stage
        self._changing = False
        self._stage_start = 0
        self._aspects = {g: "r" for g in self._members}

    def request(self, stage: str) -> None:
        """Ignored: the program decides."""

    def step(self) -> str:
        """Note the state SUMO shows for this step; write none (empty string)."""
        if self._get_state is not None:
            state = self._get_state(self.tls_id)
            green = frozenset(
                g for g, ks in self._members.items() if ks and all(state[k] in _GREEN for k in ks)
            )
            self._aspects = {
                g: "G" if g in green else _aspect(state, ks) for g, ks in self._members.items()
            }
            stage = self._stage_of.get(green)
            if stage is None:
                self._changing = True
            else:
                if stage != self._cur:
                    self._stage_start = self._k
                self._cur, self._changing = stage, False
        self._k += 1
        return ""

    @property
    def current_stage(self) -> str:
        return self._cur

    @property
    def next_stage(self) -> str | None:
        return None

    @property
    def target_stage(self) -> str:
        return self._cur

    @property
    def in_interstage(self) -> bool:
        return self._changing

    @property
    def time_in_stage(self) -> float:
        return (self._k - self._stage_start) * self.step_length

    @property
    def steps(self) -> int:
        return self._k

    @property
    def group_aspects(self) -> dict[str, str]:
        return dict(self._aspects)

    def ready_for_decision(self) -> bool:
        return True

    def can_change(self, stage: str | None = None) -> bool:
        return False

    def max_green_expired(self) -> bool:
        return False

    def action_mask(self, action_stages: Sequence[str]) -> np.ndarray:
        return np.ones(len(action_stages), dtype=bool)

    def state_string(self) -> str:
        return ""


def _aspect(state: str, links: Sequence[int]) -> str:
    if not links:
        return "r"
    c = state[links[0]]
    return {"y": "y", "Y": "y", "u": "u"}.get(c, "G" if c in _GREEN else "r")
