"""The project's error base and the one way to turn a pydantic error into a message.

Every error a user can cause and fix (a bad junction or demand file, an unknown reward, a
counts file, an option out of range, a folder that cannot be written, SUMO missing) derives
from :class:`IntergreenError`. The command line prints such an error as one line and exits
with code 2; anything else (a ``ValueError`` from numpy, a ``KeyError``) is a bug and keeps
its traceback. Most subclasses also derive from ``ValueError`` (or ``RuntimeError``) so that
code written against the older bases keeps working.

This module is a leaf: it imports nothing of intergreen and nothing heavy, so every layer
(the CARBS core included) may import it.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = [
    "Interrupted",
    "IntergreenError",
    "OptionError",
    "format_validation_error",
    "validation_problems",
]


class IntergreenError(Exception):
    """Base of every error a user can cause and fix; its message says what and how.

    The message names the file, field or option at fault and the fix, e.g.
    ``"gm_a56/junction.yaml: timing.amber: must be > 0"``.
    """


class OptionError(IntergreenError, ValueError):
    """A command-line option or API argument has a value that cannot be used."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, carrying what the interrupted work had saved and how to continue it: the
    command line prints the message (its lines) and exits with code 130."""


class _ValidationErrorLike(Protocol):  # pydantic.ValidationError, without importing pydantic
    def errors(self) -> list[dict[str, Any]]: ...


def validation_problems(err: _ValidationErrorLike) -> list[str]:
    """One ``"field.path: message"`` string per problem in a pydantic ``ValidationError``.

    Pydantic's ``"Value error, "`` prefix (a ``ValueError`` raised in a validator) is
    dropped; a problem of the whole document (empty location) is the message alone.
    """
    problems = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        problems.append(f"{loc}: {msg}" if loc else msg)
    return list(dict.fromkeys(problems))


def format_validation_error(err: _ValidationErrorLike, source: str) -> str:
    """``"SOURCE: field: message; field: message"``: a pydantic error as one line.

    Args:
        err: a ``pydantic.ValidationError``.
        source: what was validated, e.g. a file path or ``"--env sensor_noise"``.

    Returns:
        One line naming the source and every field at fault.
    """
    return f"{source}: " + "; ".join(validation_problems(err))
