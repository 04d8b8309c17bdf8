"""Versioned JSON checkpoint files of a CARBS tuner: reading and writing only.

The file holds the document of :meth:`intergreen.tuning.carbs.CARBS.to_state` (config, params,
observations, pending suggestions, RNG, GP warm start) under a format name and a version.
Writing is atomic (:func:`intergreen.common.atomic_write`): a crash leaves the old file or the
new one, never half of one. Turning the document into a tuner is ``CARBS.from_state``'s job, so
this module imports nothing of the tuner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from intergreen.common import atomic_write
from intergreen.tuning.errors import CheckpointError

FORMAT = "intergreen.tuning.carbs"
VERSION = 1


def write_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a tuner's state document to ``path`` atomically, with the format and version."""
    doc = {"format": FORMAT, "version": VERSION, **state}
    atomic_write(Path(path), json.dumps(doc, indent=1, allow_nan=False))


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state document of a checkpoint file, its format and version checked.

    Raises:
        CheckpointError: the file is missing, not JSON, or of another format or version.
    """
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
    return doc
