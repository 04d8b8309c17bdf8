"""Derive the ``emissions`` reward's factors from SUMO's own HBEFA model.

The reward (``intergreen.rewards.library.Emissions``) estimates CO2 from what the cameras
see: each second a vehicle stands in a queue, and each time a vehicle stops. Its two
factors are computed here with SUMO's ``emissionsDrivingCycle`` (the same emission model
that SUMO's emissions device, our ground truth, uses) for the project's passenger car:

- idle: the emission rate at speed 0 (per second);
- stop: the extra emission of one stop from the approach speed, against driving the same
  distance at that speed: a cycle that decelerates at the car's ``decel`` to 0 and at once
  accelerates at its ``accel`` back to the approach speed, minus a constant-speed cycle of
  equal length. The standing time is left out: it is the idle factor's.

Run: ``python benchmarks/emissions/reward_factors.py`` (about a second). It prints a table
and, with ``--json PATH``, writes the numbers. Defaults: HBEFA4/PC_petrol_Euro-4 (SUMO's
default class for a passenger car), 13.41 m/s (30 mph, gm_a56's limit), the project's car
(accel 2.6 m/s^2, decel 4.5 m/s^2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

DT = 0.1  # s per cycle row
#: columns of emissionsDrivingCycle's output after time, speed, acceleration and slope
COLUMNS = ("CO", "CO2", "HC", "PMx", "NOx", "fuel", "electricity")


def _run_cycle(rows: list[tuple[float, float, float]], emission_class: str, folder: Path) -> dict:
    """Totals (mg; fuel in mg) of a cycle of (time s, speed m/s, acceleration m/s^2) rows."""
    from intergreen.junctions.sumo import sumo_binary

    cycle, out = folder / "cycle.csv", folder / "cycle.out.csv"
    cycle.write_text("".join(f"{t:.1f};{v:.6f};{a:.6f}\n" for t, v, a in rows))
    subprocess.run(
        [sumo_binary("emissionsDrivingCycle"), "-t", str(cycle), "-e", emission_class,
         "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    totals = dict.fromkeys(COLUMNS, 0.0)
    for line in out.read_text().splitlines():
        parts = line.strip().split(";")
        if len(parts) < 4 + len(COLUMNS):
            continue
        for name, value in zip(COLUMNS, parts[4:], strict=False):
            totals[name] += float(value) * DT  # mg/s over DT seconds
    return totals


def factors(
    emission_class: str = "HBEFA4/PC_petrol_Euro-4",
    speed: float = 13.41,
    accel: float = 2.6,
    decel: float = 4.5,
) -> dict:
    """{'idle_per_s': {pollutant: g/s}, 'stop': {pollutant: g}} (fuel in g)."""
    stop: list[tuple[float, float, float]] = []
    t, v = 0.0, speed
    while v > 0:
        nv = max(v - decel * DT, 0.0)
        stop.append((t, v, (nv - v) / DT))
        v, t = nv, t + DT
    while v < speed:
        nv = min(v + accel * DT, speed)
        stop.append((t, v, (nv - v) / DT))
        v, t = nv, t + DT
    distance = sum(row[1] * DT for row in stop)
    cruise = [(k * DT, speed, 0.0) for k in range(round(distance / speed / DT))]
    idle = [(k * DT, 0.0, 0.0) for k in range(round(10 / DT))]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        s, c, i = (_run_cycle(x, emission_class, folder) for x in (stop, cruise, idle))
    return {
        "emission_class": emission_class,
        "speed_m_s": speed,
        "accel_m_s2": accel,
        "decel_m_s2": decel,
        "idle_per_s": {k: i[k] / 10 / 1000 for k in ("CO2", "NOx", "PMx", "fuel")},
        "stop": {k: (s[k] - c[k]) / 1000 for k in ("CO2", "NOx", "PMx", "fuel")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emission-class", default="HBEFA4/PC_petrol_Euro-4")
    parser.add_argument("--speed", type=float, default=13.41)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    f = factors(args.emission_class, args.speed)
    print(f"{f['emission_class']}, from {f['speed_m_s']} m/s")
    print(f"{'pollutant':<10}{'idle g/s':>12}{'stop g':>12}")
    for k in ("CO2", "NOx", "PMx", "fuel"):
        print(f"{k:<10}{f['idle_per_s'][k]:>12.5g}{f['stop'][k]:>12.5g}")
    if args.json:
        args.json.write_text(json.dumps(f, indent=2))


if __name__ == "__main__":
    main()
