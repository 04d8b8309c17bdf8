"""The plausibility bound on a junction's vehicle demand: the flow into each arm at most
``PLAUSIBLE_FACTOR`` (3) times the saturation flow of its approach lanes (``SATURATION_FLOW``
= 1800 veh/h per lane), the total at most 3 times all approach lanes' saturation flow. A leaf
of the junction modules: the demand profiles (:mod:`intergreen.junctions.demand`) and the
route files of an imported network (:mod:`intergreen.junctions.imported`) are held to it."""

from __future__ import annotations

from collections.abc import Callable

from intergreen.junctions.spec import JunctionSpec, SpecError

#: veh/h per approach lane at green: a textbook saturation flow (UK RR67 gives about
#: 1800-2000 for a straight-ahead lane); the plausibility bound is built on it.
SATURATION_FLOW = 1800.0
#: How many times its saturation flow an arm's demand may be: 3x is far over-saturated
#: (the queue grows by two lanes' worth of discharge every hour) yet still a test a user may
#: mean; anything above is refused as implausible.
PLAUSIBLE_FACTOR = 3.0


def check_flows(
    spec: JunctionSpec,
    flows: dict[str, float],
    at: str,
    detail: Callable[[str | None], str] = lambda arm: "",
) -> None:
    """The saturation-flow bound on one set of movement flows (veh/h).

    Args:
        spec: the junction.
        flows: movement ``ARM.turn`` -> veh/h.
        at: what gave the flows, for the message: ``"demand.yaml: periods.0 (0-3600 s)"``.
        detail: the message's ending for the arm whose flows are refused (None: the
            junction's), e.g. ``"; the largest is flow 'f1' with 1e+12 veh/h"``.

    Raises:
        SpecError: saying what was given and what is plausible.
    """
    lanes = {a: len(arm.approach_lanes) for a, arm in spec.arms.items()}
    factor, sat = PLAUSIBLE_FACTOR, SATURATION_FLOW
    total, n = sum(flows.values()), sum(lanes.values())
    if total > factor * n * sat:
        raise SpecError(
            f"{at}: {total:.6g} veh/h into the junction is implausible; at most "
            f"{factor * n * sat:g} veh/h ({factor:g} x the saturation flow of its {n} approach "
            f"lanes at {sat:g} veh/h each); flows are in veh/h{detail(None)}"
        )
    for arm, k in lanes.items():
        into = sum(v for m, v in flows.items() if m.split(".")[0] == arm)
        if into > factor * k * sat:
            raise SpecError(
                f"{at}: {into:.6g} veh/h into arm {arm} is implausible; at most "
                f"{factor * k * sat:g} veh/h ({factor:g} x the saturation flow of its {k} "
                f"approach lane{'s' if k != 1 else ''} at {sat:g} veh/h each); flows are in "
                f"veh/h{detail(arm)}"
            )


__all__ = ["PLAUSIBLE_FACTOR", "SATURATION_FLOW", "check_flows"]
