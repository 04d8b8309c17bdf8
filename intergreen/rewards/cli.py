"""``intergreen rewards``: list the registered rewards and show one in detail; and
:func:`parse_reward`, the one reader of every command's ``--reward`` option."""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from intergreen.cli_common import new_app
from intergreen.errors import OptionError
from intergreen.rewards import registry
from intergreen.rewards.registry import RewardError, resolve_reward

#: A reward with parameters on the command line (shell-quoted JSON).
REWARD_EXAMPLE = """'{"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}'"""
#: ``--help`` of every command's ``--reward``: what the option takes (:func:`parse_reward`).
REWARD_HELP = (
    "A registered reward's name (intergreen rewards list), or a JSON object of its name and "
    f"parameters, e.g. {REWARD_EXAMPLE}"
)

app = new_app(
    name="rewards",
    help="Rewards: list the registered ones, show a formula and its parameters.",
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
    try:
        resolve_reward(spec)
    except RewardError as e:
        fix = ""
        if isinstance(spec, str) and spec in registry.names():  # its parameters are wanted
            fix = (f"; give them as JSON, e.g. {option} '{{\"name\": \"{spec}\", ...}}' "
                   f"(intergreen rewards show {spec} lists them)")  # fmt: skip
        elif isinstance(spec, dict) and not isinstance(spec.get("name"), str):
            fix = f"; e.g. {option} {REWARD_EXAMPLE}"
        raise OptionError(f"{option} {text!r}: {e}{fix}") from None
    return spec


@app.command("list")
def list_rewards() -> None:
    """List every registered reward: name, description, sensor fields read."""
    table = Table(title="Rewards (higher is better)")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("fields")
    for name in registry.names():
        d = registry.describe(name)
        fields = ", ".join(d["fields"]) + (" + demand estimate" if d["needs_demand"] else "")
        table.add_row(name, d["description"], fields)
    Console().print(table)
    errors = registry.plugin_errors()
    for message in errors.values():
        typer.echo(f"warning: {message}", err=True)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="reward name, e.g. average_speed")]) -> None:
    """Show a reward's formula, fields and parameters with their defaults."""
    d = registry.describe(name)  # an unknown name: RewardError, one line from the app
    console = Console()
    console.print(f"[bold]{d['name']}[/bold]: {d['description']}")
    console.print(f"formula: {d['formula'] or '(not given)'}", markup=False)
    console.print(f"fields:  {', '.join(d['fields'])}", markup=False)
    console.print(f"needs a demand estimate: {'yes' if d['needs_demand'] else 'no'}")
    console.print(f"source:  {d['source']}", markup=False)
    if d["parameters"] or d["required"]:
        table = Table(show_header=True)
        table.add_column("parameter")
        table.add_column("default")
        for p in d["required"]:
            table.add_row(p, "(required)")
        for p, v in d["parameters"].items():
            table.add_row(p, repr(v) if v is not inspect.Parameter.empty else "(required)")
        console.print(table)
    else:
        console.print("parameters: none")


if __name__ == "__main__":  # pragma: no cover - `python -m intergreen.rewards.cli`
    app()
