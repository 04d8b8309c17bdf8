"""Run an env while recording the state string SUMO itself shows each step, and check the
recorded sequence with the rule checker (group aspects read from SUMO's characters)."""

from __future__ import annotations

from intergreen.junctions.checker import Violation, check_sequence
from intergreen.junctions.env import JunctionEnv
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec, Link
from intergreen.junctions.sumo_import import yields_in
from intergreen.junctions.sumo_net import read_tls

_CLASS = {"G": "G", "g": "G", "y": "y", "Y": "y", "u": "u", "r": "r", "s": "r"}


class RecordingSimulation(Simulation):
    """A Simulation that keeps the traffic light's state string after every step."""

    def start(self, seed: int | None = None) -> None:
        super().start(seed)
        self.states: list[str] = []

    def step(self) -> None:
        super().step()
        self.states.append(self.conn.trafficlight.getRedYellowGreenState(self.network.tls_id))


def group_aspects(
    spec: JunctionSpec, links: tuple[Link, ...], states: list[str]
) -> tuple[list[dict[str, str]], list[Violation]]:
    """Per step, each group's aspect from its links' characters; a step where the links of
    one group show different aspects is a violation ``group_links``."""
    members: dict[str, list[int]] = {g: [] for g in spec.signal_groups}
    for i, link in enumerate(links):
        members[link.group].append(i)
    aspects, bad = [], []
    for step, state in enumerate(states):
        row = {}
        for g, ks in members.items():
            seen = {_CLASS.get(state[k], "?") for k in ks} if ks else {"r"}
            if len(seen) != 1:
                bad.append(Violation(step, "group_links", (g,), f"group {g} shows {sorted(seen)}"))
            row[g] = sorted(seen)[0]
        aspects.append(row)
    return aspects, bad


def foe_violations(net_file, tls_id: str, states: list[str]) -> list[Violation]:
    """Steps where two links that are foes in SUMO's foe matrix are both green and neither
    shows a ``g`` that SUMO's response matrix makes give way (independent of our groups)."""
    facts = read_tls(net_file, tls_id)
    pairs = sorted((a, b) for a, b in facts.foes if a < b)
    out = []
    for step, state in enumerate(states):
        for a, b in pairs:
            if state[a] in "Gg" and state[b] in "Gg" and not yields_in(facts, state, a, b):
                out.append(Violation(step, "foe_green", (), f"links {a} and {b}: {state}"))
    return out


def run_and_check(env: JunctionEnv, policy, seed: int, states: list[str] | None = None
                  ) -> tuple[dict, list[Violation], int]:  # fmt: skip
    """One episode of ``policy``; (metrics, violations of SUMO's own states by our rule
    checker and by SUMO's foe matrix, steps). ``states`` gets SUMO's state strings."""
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
    aspects, bad = group_aspects(env.spec_, env.network.links, states)
    bad += foe_violations(env.network.net_file, env.network.tls_id, states)
    return result.metrics, bad + check_sequence(env.spec_, aspects), len(states)
