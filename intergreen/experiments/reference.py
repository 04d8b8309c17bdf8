"""The reward study's Table I (Cabrejas Egea et al., IEEE SMC 2020, arXiv 2008.11634).

Average waiting time (s), mean ± std over 100 evaluation episodes per demand level, of the
best of 10 training runs per reward (see docs/reward-study.md, "Published results"). Keys are
our reward and baseline names; ``STUDY_ROWS`` gives the study's row label. The study's
Time Lost AD row repeats the Queues row in all six numbers (a copy error): it is kept but
flagged in ``UNRELIABLE``.
"""

from __future__ import annotations

DEMANDS = ("low", "medium", "high")
#: The study's stated totals (veh/h); our levels of those names are set by System D's waiting
#: time instead, and the stated totals are gm_a56's demand version v1 (``low_v1``, ...).
DEMAND_VPH = {"low": 1714, "medium": 2117, "high": 2400}
#: The suffix of our demands at the study's stated totals, compared with the study's levels too.
STUDY_TOTALS_SUFFIX = "_v1"


def study_level(demand: str) -> str | None:
    """The study's level that our demand stands for: ``low`` for ``low`` and ``low_v1``; None
    for any other demand."""
    level = demand.removesuffix(STUDY_TOTALS_SUFFIX)
    return level if level in DEMANDS else None


STUDY_ROWS: dict[str, str] = {
    "queue": "Queues",
    "queue_squared": "Queues Squared",
    "delta_queue": "Delta Queues",
    "wait_time": "Stopped Time",
    "wait_time_ad": "Stopped Time AD",
    "delta_wait_time": "Delta Stopped Time",
    "time_lost": "Time Lost",
    "time_lost_ad": "Time Lost AD",
    "delta_time_lost": "Delta Time Lost",
    "average_speed": "Average Speed",
    "average_speed_ad": "Average Speed AD",
    "throughput": "Throughput",
    "vehicle-actuated": "Vehicle Actuated",
    "max-occupancy": "Maximum Occupancy",
}

# (mean, std) per demand level: low, medium, high
TABLE_I: dict[str, tuple[tuple[float, float], ...]] = {
    "queue": ((6.59, 0.46), (8.97, 1.27), (16.21, 5.07)),
    "queue_squared": ((6.35, 0.53), (8.56, 1.26), (16.22, 5.08)),
    "delta_queue": ((6.47, 0.41), (8.96, 1.59), (18.87, 5.07)),
    "wait_time": ((6.64, 0.52), (11.88, 3.39), (26.27, 4.61)),
    "wait_time_ad": ((6.70, 0.46), (9.60, 1.66), (17.68, 4.95)),
    "delta_wait_time": ((7.15, 0.81), (16.59, 4.95), (29.21, 3.67)),
    "time_lost": ((6.79, 0.42), (9.23, 1.15), (15.84, 4.36)),
    "time_lost_ad": ((6.59, 0.46), (8.97, 1.27), (16.21, 5.07)),
    "delta_time_lost": ((8.27, 1.48), (13.48, 4.04), (22.54, 5.54)),
    "average_speed": ((6.24, 0.39), (8.61, 1.07), (14.95, 3.40)),
    "average_speed_ad": ((6.13, 0.44), (8.22, 1.24), (14.33, 4.97)),
    "throughput": ((28.02, 9.36), (51.16, 7.23), (55.72, 7.02)),
    "vehicle-actuated": ((8.70, 0.62), (14.76, 1.69), (27.9, 6.05)),
    "max-occupancy": ((6.32, 0.51), (9.51, 1.87), (21.33, 5.77)),
}

#: The rows of ``TABLE_I`` that are baselines, not rewards.
BASELINE_ROWS = ("vehicle-actuated", "max-occupancy")

UNRELIABLE = {"time_lost_ad": "the study's row repeats Queues (copy error)"}
EPISODES = 100


def reference_cell(name: str, demand: str) -> str | None:
    """The study's ``mean ± std`` for our reward/baseline name at a demand level, or None."""
    key, level = name.split("/")[0], study_level(demand)
    if key not in TABLE_I or level is None:
        return None
    mean, std = TABLE_I[key][DEMANDS.index(level)]
    return f"{mean:.2f} ± {std:.2f}" + (" †" if key in UNRELIABLE else "")


#: The study's training: episodes of 1800 s per run, and runs per reward (best one kept).
TRAINING_EPISODES = 1500
TRAINING_RUNS = 10
EPISODE_S = 1800
#: The study's agent (reward-study.md, sections 3-4): discount, and when it decides -- every
#: 0.6 s once the minimum green has run (our ``decisions: when_ready``); no maximum green
#: ("the extension can be chosen indefinitely").
GAMMA = 0.8
DECISIONS = "when_ready"
DECISION_INTERVAL_S = 0.6
