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

from collections.abc import Iterable
from difflib import get_close_matches
from typing import Any, Protocol

__all__ = [
    "Interrupted",
    "IntergreenError",
    "OptionError",
    "closest",
    "did_you_mean",
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


def closest(name: object, choices: Iterable[str]) -> str | None:
    """The choice closest to ``name`` (difflib's ratio >= 0.6, case ignored), None where none
    is close."""
    lower = {c.lower(): c for c in choices}
    close = get_close_matches(str(name).lower(), list(lower), n=1)
    return lower[close[0]] if close else None


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` with :func:`closest`, or ``""``: the hint an error message
    about an unknown name appends."""
    match = closest(name, choices)
    return f" (did you mean {match!r}?)" if match else ""


def validation_problems(err: _ValidationErrorLike, model: Any = None) -> list[str]:
    """One ``"field.path: message"`` string per problem in a pydantic ``ValidationError``.

    Pydantic's ``"Value error, "`` prefix (a ``ValueError`` raised in a validator) is
    dropped; a problem of the whole document (empty location) is the message alone. With
    ``model`` (the pydantic model class validated), a key the model does not have says so,
    with the closest key and the keys allowed there, instead of "Extra inputs are not
    permitted": ``"episode_duraton: unknown key (did you mean 'episode_duration'?); the keys
    here are name, junction, ..."``.
    """
    problems = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden" and model is not None:
            msg = _unknown_key(model, tuple(e.get("loc", ()))) or msg
        problems.append(f"{loc}: {msg}" if loc else msg)
    return list(dict.fromkeys(problems))


def _unknown_key(model: Any, loc: tuple[Any, ...]) -> str | None:
    """The message for the unknown key at ``loc`` of ``model``: the model holding it is found
    by following ``loc`` through the fields' types (a model, optional, a list or a mapping of
    models); None where it cannot be."""
    holder = model
    for part in loc[:-1]:
        fields = getattr(holder, "model_fields", {})
        if part in fields:
            holder = _model_in(fields[part].annotation)
            if holder is None:
                return None
        # else an index or key into a list or mapping of such models: the model stays
    fields = getattr(holder, "model_fields", None)
    if not fields:
        return None
    keys = [f.alias or name for name, f in fields.items()]
    return f"unknown key{did_you_mean(loc[-1], keys)}; the keys here are {', '.join(keys)}"


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (itself, or inside Optional, list or dict),
    else None."""
    import typing

    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in reversed(typing.get_args(annotation)):  # dict[str, M]: the value's type
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def format_validation_error(err: _ValidationErrorLike, source: str, model: Any = None) -> str:
    """``"SOURCE: field: message; field: message"``: a pydantic error as one line.

    Args:
        err: a ``pydantic.ValidationError``.
        source: what was validated, e.g. a file path or ``"--env sensor_noise"``.
        model: the model class validated, to name the keys allowed where one is unknown.

    Returns:
        One line naming the source and every field at fault.
    """
    return f"{source}: " + "; ".join(validation_problems(err, model))
