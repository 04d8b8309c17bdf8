"""Run an env while recording the state string SUMO itself shows each step, and check the
recorded sequence with the rule checker (group aspects read from SUMO's characters)."""

from __future__ import annotations

from intergreen.junctions.checker import (
    Violation,
    check_states,
    rule_profile,
    sumo_link_conflicts,
)
from intergreen.junctions.env import JunctionEnv
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import Link

_CLASS = {"G": "G", "g": "G", "y": "y", "Y": "y", "u": "u", "r": "r", "s": "r"}


class RecordingSimulation(Simulation):
    """A Simulation that keeps the traffic light's state string after every step."""

    def start(self, seed: int | None = None) -> None:
        super().start(seed)
        self.states: list[str] = []

    def step(self) -> None:
        super().step()
        self.states.append(self.conn.trafficlight.getRedYellowGreenState(self.network.tls_id))


def group_links(links: tuple[Link, ...], states: list[str]) -> list[Violation]:
    """Steps where the links of one signal group show different aspects (``group_links``);
    unused link indices belong to no group."""
    members: dict[str, list[int]] = {}
    for i, link in enumerate(links):
        if link.group is not None:
            members.setdefault(link.group, []).append(i)
    bad = []
    for step, state in enumerate(states):
        for g, ks in members.items():
            seen = {_CLASS.get(state[k], "?") for k in ks}
            if len(seen) != 1:
                bad.append(Violation(step, float(step), "group_links", tuple(ks), (g,),
                                     f"group {g} shows {sorted(seen)}"))  # fmt: skip
    return bad


def run_and_check(env: JunctionEnv, policy, seed: int, states: list[str] | None = None
                  ) -> tuple[dict, list[Violation], int]:  # fmt: skip
    """One episode of ``policy``; (metrics, violations of SUMO's own state strings found by
    the rule checker with SUMO's foe matrix, and links of a group disagreeing; steps).
    ``states`` gets SUMO's state strings."""
    sims: list[RecordingSimulation] = []

    def factory(*args, **kwargs):
        sim = RecordingSimulation(*args, **kwargs)
        sims.append(sim)
        return sim

    env.simulation_factory = factory
    result = run_episode(env, policy, seed)
    if states is None:
        states = []
    states[:] = sims[-1].states
    conflicts = sumo_link_conflicts(env.network.net_file, env.network.tls_id)
    profile = rule_profile(env.spec_, env.signals)  # the program's own under signals="program"
    found = check_states(env.spec_, env.network.links, states, conflicts=conflicts,
                         profile=profile)  # fmt: skip
    return result.metrics, group_links(env.network.links, states) + found, len(states)
