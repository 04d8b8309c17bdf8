"""Signal-rule profiles: the aspect sequence and timing rules a junction runs under.

A profile fills in what the stage controller, the rule checker and the action mask read from
``JunctionSpec.timing`` where a junction does not state it: the amber and red+amber
durations and the minimum green; and it raises every intergreen (stated, default, or derived
from an imported network's program or geometry) to its minimum intergreen. It is applied when
a junction loads (:func:`intergreen.junctions.spec.apply_rules`), never written into a YAML,
so a junction's ``rules:`` alone says which profile it runs under. Other values a junction
states itself are kept.

* ``uk``: green, amber 3 s, red, red+amber 2 s, green (the UK sequence); intergreens
  at least 5 s (amber plus red+amber: the conventional UK minimum for traffic phases, our
  assumption); minimum green 7 s. Pedestrian signals show no amber and no red+amber (a UK
  pedestrian signal has only the red and the green figure): a crossing's green goes
  straight to red, its clearance running in the intergreen, and its red straight to green.
* ``program``: the network's own signal program: its amber (yellow) duration, no red+amber
  (SUMO, sumo-rl and RESCO switch red straight to green), intergreens as the program times
  them (its yellow plus any all-red), crossings shown amber as vehicle links (as
  netconvert's programs show them); minimum green 5 s (sumo-rl's default) where the program
  gives no ``minDur``. Amber ``None`` means "the program's".

Another country's profile is one call, e.g. Germany's red+amber of 1 s::

    from intergreen.junctions import rules

    rules.register(rules.RuleProfile(
        name="de", description="Germany (RiLSA): amber 3 s, red+amber 1 s",
        amber=3.0, red_amber=1.0, min_intergreen=4.0, default_min_green=5.0))

after which a junction YAML may say ``rules: de``. A YAML may also give a profile inline,
``rules: {name: de, amber: 3, red_amber: 1, min_intergreen: 4, default_min_green: 5}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from intergreen.errors import OptionError, did_you_mean, validation_problems

#: The longest timings a profile or a junction spec accepts (s): beyond these a value is a
#: typo, not a junction (UK intergreens are usually 5-12 s, ambers 3 s, maximum greens at most
#: a few minutes), refused when it loads instead of running a junction that serves one stage.
MAX_INTERGREEN = 60.0
MAX_AMBER = 10.0
MAX_GREEN = 600.0

__all__ = ["RuleProfile", "RuleProfileError", "get", "names", "register", "resolve"]


class RuleProfileError(OptionError):
    """An unknown signal-rule profile, or an inline profile with a bad field (a user error)."""


class RuleProfile(BaseModel):
    """One set of signal rules. Durations in seconds.

    ``amber`` None takes the signal program's yellow duration (only for junctions imported
    from a SUMO network). ``min_intergreen`` is the least intergreen the profile allows:
    every intergreen of a junction under it, stated or derived, is raised to it at load.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    amber: float | None = Field(default=3.0, ge=0, le=MAX_AMBER)
    red_amber: float = Field(default=2.0, ge=0, le=MAX_AMBER)
    min_intergreen: float = Field(default=0.0, ge=0, le=MAX_INTERGREEN)
    default_min_green: float = Field(default=7.0, ge=0)
    #: whether pedestrian crossings show the amber and red+amber of vehicle links (False:
    #: green straight to red and red straight to green, as UK pedestrian signals)
    pedestrian_amber: bool = False


_PROFILES: dict[str, RuleProfile] = {}


def register(profile: RuleProfile) -> RuleProfile:
    """Add (or replace) a profile under its name; returns it."""
    _PROFILES[profile.name] = profile
    return profile


def names() -> list[str]:
    return sorted(_PROFILES)


def get(name: str) -> RuleProfile:
    """The profile called ``name``; RuleProfileError naming the known ones otherwise."""
    try:
        return _PROFILES[name]
    except KeyError:
        hint = did_you_mean(name, names())
        raise RuleProfileError(
            f"unknown signal-rule profile {name!r}{hint}; use one of {', '.join(names())} "
            "or give one inline (rules: {name: ..., amber: ..., red_amber: ...})"
        ) from None


def resolve(rules: str | Mapping[str, Any] | RuleProfile) -> RuleProfile:
    """A profile from its name, an inline mapping or a profile. Raises RuleProfileError."""
    if isinstance(rules, RuleProfile):
        return rules
    if isinstance(rules, str):
        return get(rules)
    if isinstance(rules, Mapping):
        try:
            return RuleProfile.model_validate(dict(rules))
        except ValidationError as e:
            problems = validation_problems(e, RuleProfile)
            raise RuleProfileError(f"rules: {'; '.join(problems)}") from None
    kind = type(rules).__name__
    raise RuleProfileError(f"rules: expected a profile name or a mapping, got {kind}")


register(
    RuleProfile(
        name="uk",
        description="UK: green, amber 3 s, red, red+amber 2 s; intergreens at least 5 s",
        amber=3.0,
        red_amber=2.0,
        min_intergreen=5.0,
        default_min_green=7.0,
    )
)
register(
    RuleProfile(
        name="program",
        description=(
            "the signal program's own amber and all-red, no red+amber (as SUMO, sumo-rl and "
            "RESCO run it)"
        ),
        amber=None,
        red_amber=0.0,
        min_intergreen=0.0,
        default_min_green=5.0,
        pedestrian_amber=True,
    )
)
