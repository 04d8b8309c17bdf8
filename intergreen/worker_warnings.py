"""Warnings raised in worker processes, shown by the process that owns the workers.

Left alone, a worker prints its warnings itself: in Python's raw two-line form (file:line:
Category: message, then the source line) unless told otherwise, and once per worker, so a
warning every worker raises (a deprecated reward that each training env builds) prints N times
for N workers, where the owner's own warnings print once, in its own format (the CLI's one
line, ``warning (intergreen): ...``, :func:`intergreen.common.warning_line`).

So a worker keeps what its warning filters let through (:func:`keep_warnings`, in place of
printing) and sends it with its next reply (:func:`kept_warnings`: text, category, file and
line, which pickle); the owner hands it to :func:`replay_warnings`, which issues each warning
again with ``warnings.warn_explicit`` under the registry of the module that warned. The
owner's filters and printer then judge it as one of its own: the same format, and a warning
shown already, by the owner itself or by another worker, is not shown again (Python's default
action shows a warning once per location). Used by the training envs' workers
(:mod:`intergreen.agents.vecenv`) and the pools of :mod:`intergreen.workers`. A leaf module:
it imports nothing of intergreen.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["KeptWarning", "keep_warnings", "kept_warnings", "replay_warnings"]


@dataclass(frozen=True)
class KeptWarning:
    """A warning a worker's filters let through: its text, category (a class the owner can
    import; else UserWarning), and the file and line that warned."""

    text: str
    category: type[Warning]
    filename: str
    lineno: int


_kept: list[KeptWarning] = []
#: where :func:`replay_warnings` notes the warnings of files no module loaded here has
_registry: dict[Any, Any] = {}


def keep_warnings() -> None:
    """In a worker: keep each warning for :func:`kept_warnings` instead of printing it."""
    warnings.showwarning = _keep


def _keep(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """A ``warnings.showwarning`` that keeps the warning."""
    _kept.append(KeptWarning(str(message), _importable(category), filename, lineno))


def _importable(category: type[Warning]) -> type[Warning]:
    """``category`` if another process can unpickle it (found by module and name), else
    UserWarning."""
    module = sys.modules.get(category.__module__)
    return category if getattr(module, category.__qualname__, None) is category else UserWarning


def kept_warnings() -> tuple[KeptWarning, ...]:
    """The warnings kept since the last call (none outside a capturing worker)."""
    out = tuple(_kept)
    _kept.clear()
    return out


def replay_warnings(kept: Iterable[KeptWarning]) -> None:
    """In the owner: warn each again, as raised at its file and line, under the registry of
    the module of that file (so a warning the owner showed already is not shown again)."""
    for w in kept:
        try:
            warnings.warn_explicit(
                w.text, w.category, w.filename, w.lineno, registry=_registry_of(w.filename)
            )
        except TypeError:  # a category that takes other arguments than a message
            warnings.warn_explicit(
                w.text, UserWarning, w.filename, w.lineno, registry=_registry_of(w.filename)
            )


def _registry_of(filename: str) -> dict[Any, Any]:
    """The warning registry of the loaded module whose file is ``filename``, else ours."""
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == filename:
            return vars(module).setdefault("__warningregistry__", {})
    return _registry
