"""SUMO vehicle types and vehicle mixes (shares of cars, vans, HGVs and buses).

A demand without a mix uses one type, ``car`` (the project's passenger car since the
start, so existing results stay reproducible). A *vehicle mix* maps type ids to shares
of the vehicles (each >= 0, summing to 1); the route file then holds every type of the
mix and a ``<vTypeDistribution id="mix">`` from which SUMO draws each vehicle's type
(seeded by the simulation seed).

The types other than ``car`` take the defaults SUMO gives their vehicle class
(https://sumo.dlr.de/docs/Vehicle_Type_Parameter_Defaults.html, as read from SUMO 1.28
with ``traci.vehicletype``), written out so that a later SUMO with other defaults gives
the same vehicles:

====  ========  ======  ======  =====  =====  =====================================
id    vClass    length  minGap  accel  decel  emissionClass (HBEFA 4.2, SUMO >= 1.14)
====  ========  ======  ======  =====  =====  =====================================
car   passenger 4.5     2.5     2.6    4.5    SUMO's default for passenger
van   delivery  6.5     2.5     2.6    4.5    HBEFA4/LCV_diesel_N1-III_Euro-6ab
hgv   truck     7.1     2.5     1.3    4.0    HBEFA4/RT_le7.5t_Euro-VI_A-C
bus   bus       12.0    2.5     1.2    4.0    HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C
====  ========  ======  ======  =====  =====  =====================================

Lengths in m, accelerations in m/s^2. ``car`` is 4.5 m long (SUMO's default is 5 m) and
has the speed spread normc(1, 0.1, 0.8, 1.2); the others take SUMO's speed deviation
for their class (0.05 for delivery and truck, 0 for bus) within the same bounds.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "MIX_TYPE_ID",
    "VEHICLE_TYPE",
    "VEHICLE_TYPES",
    "check_vehicle_mix",
    "vehicle_type_id",
    "vtypes_xml",
]

VEHICLE_TYPE = (
    '  <vType id="car" vClass="passenger" length="4.5" minGap="2.5" accel="2.6" '
    'decel="4.5" sigma="0.5" tau="1.0" speedFactor="normc(1,0.1,0.8,1.2)"/>'
)
"""The project's passenger car, the only type of a demand without a vehicle mix."""

VEHICLE_TYPES: dict[str, str] = {
    "car": VEHICLE_TYPE,
    "van": (
        '  <vType id="van" vClass="delivery" length="6.5" minGap="2.5" accel="2.6" '
        'decel="4.5" sigma="0.5" tau="1.0" speedFactor="normc(1,0.05,0.8,1.2)" '
        'emissionClass="HBEFA4/LCV_diesel_N1-III_Euro-6ab"/>'
    ),
    "hgv": (
        '  <vType id="hgv" vClass="truck" length="7.1" minGap="2.5" accel="1.3" '
        'decel="4.0" sigma="0.5" tau="1.0" speedFactor="normc(1,0.05,0.8,1.2)" '
        'emissionClass="HBEFA4/RT_le7.5t_Euro-VI_A-C"/>'
    ),
    "bus": (
        '  <vType id="bus" vClass="bus" length="12.0" minGap="2.5" accel="1.2" '
        'decel="4.0" sigma="0.5" tau="1.0" speedFactor="1" '
        'emissionClass="HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C"/>'
    ),
}
"""SUMO ``<vType>`` lines by type id (see the module docstring for the sources)."""

MIX_TYPE_ID = "mix"
"""The id of the ``vTypeDistribution`` that vehicles of a mixed demand take."""


def check_vehicle_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """The mix as a plain dict, or ``ValueError`` saying what to fix.

    Keys are type ids of :data:`VEHICLE_TYPES`; shares are fractions of the vehicles,
    each >= 0, together 1 (within 0.001).
    """
    unknown = sorted(set(mix) - set(VEHICLE_TYPES))
    if unknown:
        raise ValueError(
            f"unknown vehicle type(s) {', '.join(unknown)}; use {', '.join(VEHICLE_TYPES)}"
        )
    if not mix:
        raise ValueError("no vehicle types; give shares such as {car: 0.9, hgv: 0.1}")
    out = {k: float(v) for k, v in mix.items()}
    bad = [k for k, v in out.items() if not 0 <= v <= 1]
    if bad:
        raise ValueError(
            f"share of {bad[0]} must be a fraction of the vehicles (0..1), got {out[bad[0]]:g}"
        )
    total = sum(out.values())
    if abs(total - 1) > 1e-3:
        raise ValueError(f"shares must sum to 1, got {total:.4f}; make them add up to 1")
    return out


def vehicle_type_id(mix: Mapping[str, float] | None) -> str:
    """The ``type`` a vehicle of this demand gets: ``car`` without a mix, else ``mix``."""
    return "car" if mix is None else MIX_TYPE_ID


def vtypes_xml(mix: Mapping[str, float] | None) -> str:
    """The route file's type definitions: ``car`` alone, or the mix's types and its
    ``vTypeDistribution`` (types with share 0 left out). No trailing newline."""
    if mix is None:
        return VEHICLE_TYPE
    used = [(k, v) for k, v in check_vehicle_mix(mix).items() if v > 0]
    lines = [VEHICLE_TYPES[k] for k, _ in used]
    lines.append(
        f'  <vTypeDistribution id="{MIX_TYPE_ID}" vTypes="{" ".join(k for k, _ in used)}" '
        f'probabilities="{" ".join(f"{v:.6g}" for _, v in used)}"/>'
    )
    return "\n".join(lines)
