"""``intergreen rewards``: list the registered rewards and show one in detail."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from intergreen.cli_common import new_app
from intergreen.common import print_table
from intergreen.rewards import registry

app = new_app(
    name="rewards",
    help="Rewards: list the registered ones, show a formula and its parameters.",
)


@app.command("list")
def list_rewards() -> None:
    """List every registered reward: name, version, description, sensor fields read."""
    table = Table(title="Rewards (higher is better)")
    table.add_column("name", style="bold", no_wrap=True)  # a name is never cut or folded
    table.add_column("version")
    table.add_column("description")
    table.add_column("fields")
    for name in registry.names():
        d = registry.describe(name)
        if d["composite"]:
            fields = "its components' fields"
        else:
            fields = ", ".join(d["fields"]) + (" + demand estimate" if d["needs_demand"] else "")
        table.add_row(name, str(d["version"]), d["description"], fields)
    print_table(Console(), table)  # in a pipe: as wide as its cells (rich cut names at 80)
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
    if d["composite"]:  # known once built: those of the rewards it is made of
        console.print("fields:  those its components read", markup=False)
        console.print("needs a demand estimate: when one of its components does")
    else:
        console.print(f"fields:  {', '.join(d['fields'])}", markup=False)
        console.print(f"needs a demand estimate: {'yes' if d['needs_demand'] else 'no'}")
    console.print(f"source:  {d['source']}", markup=False)
    console.print(f"version: {d['version']} (runs record it; a changed formula gets a new one)")
    if d["parameters"] or d["required"]:
        table = Table(show_header=True)
        table.add_column("parameter")
        table.add_column("default")
        for p in d["required"]:
            table.add_row(p, "(required)")
        for p, v in d["parameters"].items():
            table.add_row(p, repr(v) if v is not inspect.Parameter.empty else "(required)")
        print_table(console, table)
    else:
        console.print("parameters: none")


if __name__ == "__main__":  # pragma: no cover - `python -m intergreen.rewards.cli`
    app()
