"""The trial records of a tune (``OUT/trials/<id>/trial.json``): their ids and how to read them.

Shared by the tuning loop, which writes them, and the tune report, which reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
