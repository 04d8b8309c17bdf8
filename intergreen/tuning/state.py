"""Versioned JSON checkpoints of a CARBS tuner, written atomically (temp file + os.replace)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.tuning.config import CARBSParams
from intergreen.tuning.errors import CheckpointError, TuningError
from intergreen.tuning.gp import GPHyper
from intergreen.tuning.spaces import Param

if TYPE_CHECKING:
    from intergreen.tuning.carbs import CARBS

FORMAT = "intergreen.tuning.carbs"
VERSION = 1


def to_state(tuner: CARBS) -> dict[str, Any]:
    """Everything needed to resume: config, params, observations, pending, RNG, GP warm start."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": tuner.config.to_json(),
        "params": [p.to_json() for p in tuner.params],
        "search_center": [float(v) for v in tuner.center],
        "observations": [
            {**o, "basic": [float(b) for b in o["basic"]]} for o in tuner.observations
        ],
        "outstanding": [
            {"suggestion_id": k, "basic": [float(b) for b in v]}
            for k, v in tuner.outstanding.items()
        ],
        "resample_count": tuner.resample_count,
        "fallback_count": tuner.fallback_count,
        "rng": tuner.rng.bit_generator.state,
        "gp_hyper": {k: h.to_json() for k, h in tuner.hyper.items()},
    }


def save_state(tuner: CARBS, path: str | os.PathLike[str]) -> None:
    """Atomically write the checkpoint: a crash leaves the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_state(tuner), indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_state(path: str | os.PathLike[str]) -> CARBS:
    """Rebuild a tuner from ``save_state`` output; raises ``CheckpointError`` when invalid."""
    from intergreen.tuning.carbs import CARBS

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not valid JSON ({err}); restore it from a backup or "
            f"start a new tuner"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r}: field 'format' must be {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: field 'version'={doc.get('version')!r} is not supported "
            f"(expected {VERSION}); upgrade intergreen"
        )
    field = "config"
    try:
        config = CARBSParams.from_json(doc["config"])
        field = "params"
        tuner = CARBS(config, [Param.from_json(p) for p in doc["params"]])
        field = "search_center"
        center = np.array(doc["search_center"], dtype=np.float64)
        if center.shape != (tuner.dim,):
            raise ValueError(f"expected {tuner.dim} values")
        tuner.center = center
        field = "observations"
        for o in doc["observations"]:
            basic = [float(b) for b in o["basic"]]
            if len(basic) != tuner.dim or not np.all(np.isfinite(basic)):
                raise ValueError(f"bad 'basic' in {o!r}")
            tuner.observations.append(
                {
                    "input": dict(o["input"]),
                    "basic": basic,
                    "output": None if o["output"] is None else float(o["output"]),
                    "cost": float(o["cost"]),
                    "is_failure": bool(o["is_failure"]),
                    "suggestion_id": o.get("suggestion_id"),
                }
            )
            if not tuner.observations[-1]["is_failure"] and o["output"] is None:
                raise ValueError("a success without output")
        field = "outstanding"
        for s in doc["outstanding"]:
            basic = np.array(s["basic"], dtype=np.float64)
            if basic.shape != (tuner.dim,):
                raise ValueError(f"expected {tuner.dim} values")
            tuner.outstanding[str(s["suggestion_id"])] = basic
        field = "resample_count"
        tuner.resample_count = int(doc["resample_count"])
        tuner.fallback_count = int(doc.get("fallback_count", 0))
        field = "rng"
        tuner.rng.bit_generator.state = doc["rng"]
        field = "gp_hyper"
        tuner.hyper = {k: GPHyper.from_json(h) for k, h in doc["gp_hyper"].items()}
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        kind = "a bad space or config" if isinstance(err, TuningError) else "corrupt"
        raise CheckpointError(
            f"checkpoint {str(path)!r}: field {field!r} is {kind} ({err!r}); restore the file "
            f"from a backup or start a new tuner"
        ) from None
    return tuner
