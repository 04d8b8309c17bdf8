"""A Simulation that logs what SUMO itself shows: the traffic light's state and the vehicles
that arrived, every step (for tests that check baselines against SUMO, not the controller)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from intergreen.junctions.env import JunctionEnv, make_env
from intergreen.junctions.simulation import Simulation


class SignalLog(Simulation):
    """``states``: SUMO's state string after each step; ``arrived``: vehicle ids that left."""

    def start(self, seed: int | None = None) -> None:
        super().start(seed)
        self.states: list[str] = []
        self.arrived: list[str] = []

    def step(self) -> None:
        super().step()
        self.states.append(self.conn.trafficlight.getRedYellowGreenState("TL"))
        self.arrived += self.conn.simulation.getArrivedIDList()

    def green_runs(self, env: JunctionEnv, group: str) -> list[float]:
        """Seconds of each unbroken green (G or g) of ``group``'s links, from SUMO's states."""
        idx = [k for k, link in enumerate(env.network.links) if link.group == group]
        green = [any(s[k] in "Gg" for k in idx) for s in self.states]
        return [len(list(g)) * self.step_length for on, g in groupby(green) if on]

    def arrived_from(self, arms: tuple[str, ...]) -> int:
        """Vehicles that arrived whose flow came from one of ``arms`` (ids p<i>_<arm>_...)."""
        return sum(v.split("_")[1] in arms for v in self.arrived)


def logged_env(demand: Any, seed: int, duration: float, **kw: Any) -> tuple[JunctionEnv, list]:
    """A gm_a56 env whose episodes run a :class:`SignalLog`; the list receives them."""
    logs: list[SignalLog] = []

    def factory(*args: Any, **kwargs: Any) -> SignalLog:
        log = SignalLog(*args, **kwargs)
        logs.append(log)
        return log

    env = make_env("gm_a56", demand, None, seed=seed, duration=duration,
                   simulation_factory=factory, **kw)  # fmt: skip
    return env, logs
