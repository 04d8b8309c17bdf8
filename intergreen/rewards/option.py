"""The ``--reward`` option of every command that has one (``train``, ``simulate``,
``evaluate``, ``tune``): a reward's name or a JSON object of its name and parameters, read
into the spec :func:`~intergreen.rewards.registry.resolve_reward` takes, and checked by it.

It sits in the rewards part (below the command-line modules, which may not import each other)
so that every command reads ``--reward`` with this one function.
"""

from __future__ import annotations

import json
from typing import Any

from intergreen.errors import OptionError
from intergreen.rewards.registry import (
    NAME_PATTERN,
    RewardError,
    describe,
    names,
    resolve_reward,
)

#: A reward with parameters on the command line (shell-quoted JSON).
REWARD_EXAMPLE = """'{"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}'"""
#: ``--help`` of every command's ``--reward``: what the option takes (:func:`parse_reward`).
REWARD_HELP = (
    "A registered reward's name (intergreen rewards list), or a JSON object of its name and "
    f"parameters, e.g. {REWARD_EXAMPLE}"
)


def parse_reward(text: str, option: str = "--reward") -> str | dict[str, Any]:
    """``--reward`` as a reward spec: a registered name (``"queue"``) or, for text starting
    with ``{``, a JSON object ``{"name": NAME, PARAM: VALUE, ...}`` (the mapping
    :func:`~intergreen.rewards.registry.resolve_reward`, ``train(reward=...)`` and a grid's
    ``rewards`` take). The spec is checked by building the reward once with the registry, so
    an unknown name (with the closest one), an unknown or missing parameter or a bad value is
    refused here, before anything runs.

    Returns:
        The name (a str) or the mapping (a dict), as given.

    Raises:
        OptionError: one line naming ``option``, the text given and the fix, e.g. ``--reward
            'queu': unknown reward 'queu'. Did you mean 'queue'? ...``.
    """
    spec: str | dict[str, Any] = text.strip()
    if isinstance(spec, str) and spec.startswith("{"):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as e:
            raise OptionError(
                f"{option} {text!r}: not a JSON object ({e.msg}, column {e.colno}); give a "
                f"reward name or its name and parameters as JSON, e.g. {option} {REWARD_EXAMPLE}"
            ) from None
    elif not NAME_PATTERN.match(spec):  # JSON but no object ([1, 2], 5, "x"), or no name
        raise OptionError(
            f"{option} {text!r}: neither a reward name nor a JSON object; give a reward's name "
            f"(intergreen rewards list) or its name and parameters as a JSON object, e.g. "
            f"{option} {REWARD_EXAMPLE}"
        )
    try:
        resolve_reward(spec)
    except RewardError as e:
        fix = ""
        if isinstance(spec, str) and spec in names() and describe(spec)["required"]:
            # its parameters are wanted
            fix = (f"; give them as JSON, e.g. {option} '{{\"name\": \"{spec}\", ...}}' "
                   f"(intergreen rewards show {spec} lists them)")  # fmt: skip
        elif isinstance(spec, dict) and not isinstance(spec.get("name"), str):
            fix = f"; e.g. {option} {REWARD_EXAMPLE}"
        raise OptionError(f"{option} {text!r}: {e}{fix}") from None
    return spec
