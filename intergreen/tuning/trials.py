"""The trial records of a tune (``OUT/trials/<id>/trial.json``): their ids and how to read them.

Shared by the tuning loop, which writes them, and the tune report, which reads them. A record
holds CARBS's suggestion (``values``) and what the trial trained (``trained``: the same names,
the hyperparameters as adjusted for training, e.g. PPO's minibatch made a divisor of
``n_steps``, and ``timesteps`` the decisions per agent: planned in whole collections while the
trial runs, then as its runs' done.json say). Records written before ``trained`` existed
have only ``values``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intergreen.common import fmt_number

#: the first trial of every tune: the preset's own hyperparameters (the search centre)
DEFAULT_ID = "t0000"


def load_trials(out: Path) -> list[dict[str, Any]]:
    """Every ``trials/<id>/trial.json`` of a tune, by trial number."""
    trials = []
    for f in sorted((Path(out) / "trials").glob("*/trial.json")):
        try:
            trials.append(json.loads(f.read_text()))
        except json.JSONDecodeError:
            continue  # a trial whose record was cut: it is relaunched from CARBS' pending set
    return sorted(trials, key=lambda t: t["number"])


def trained_values(trial: dict[str, Any]) -> dict[str, Any]:
    """What a trial trained, by tuned name (``timesteps``: decisions per agent); its
    suggestion for a record without ``trained``."""
    return dict(trial.get("trained") or trial["values"])


def values_text(trial: dict[str, Any]) -> str:
    """``name=value, ...`` of what a trial trained, each with CARBS's suggestion beside it
    where training differed (``batch_size=87 (suggested 104)``)."""
    asked = trial["values"]
    parts = []
    for name, value in trained_values(trial).items():
        text = f"{name}={fmt_number(value)}"
        if name in asked and asked[name] != value:
            text += f" (suggested {fmt_number(asked[name])})"
        parts.append(text)
    return ", ".join(parts)
