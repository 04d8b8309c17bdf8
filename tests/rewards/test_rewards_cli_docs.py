"""The ``intergreen rewards`` CLI and the README section's example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reward_scenarios import ALL_RED, Scenario
from typer.testing import CliRunner

from intergreen.rewards import registry
from intergreen.rewards.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(title: str = "## Writing your own reward") -> str:
    """The README's section with that heading, up to the next section."""
    text = README.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end != -1 else None]


def test_list_shows_every_reward() -> None:
    result = CliRunner().invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in registry.names():
        assert name in result.output
    assert "count, mean_speed, speed_limit" in result.output  # the fields column


def test_show_gives_formula_and_parameter_defaults() -> None:
    result = CliRunner().invoke(app, ["show", "average_speed_ad"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "r = d_hat * S" in result.output
    for param, default in [("empty_value", "1.0"), ("demand_time_constant", "300.0")]:
        assert re.search(rf"{param}\s*│\s*{re.escape(default)}", result.output)


def test_unknown_reward_is_a_one_line_user_error() -> None:
    result = CliRunner().invoke(app, ["show", "avrage_speed"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Did you mean 'average_speed'" in lines[0]
    assert "Traceback" not in result.output


def test_user_errors_exit_2_when_mounted_in_the_main_cli(capsys) -> None:
    cli = pytest.importorskip("intergreen.cli")
    with pytest.raises(SystemExit) as e:
        cli.main(["rewards", "show", "queue_sqared"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Did you mean 'queue_squared'" in err and "Traceback" not in err


def test_readme_example_works_as_written(scenario: Scenario, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", readme_section(), flags=re.S)
    assert len(blocks) == 2
    assert len(blocks[0].strip().splitlines()) <= 14
    try:
        namespace: dict = {}
        for code in blocks:
            exec(compile(code, str(README), "exec"), namespace)
        assert "long_queues {'threshold': 3} ('halting',)" in capsys.readouterr().out
        scenario.signals(ALL_RED)
        for i, dist in enumerate((5, 15, 25, 35)):
            scenario.add(f"s{i}", "S_0", dist, 0)
        scenario.add("e", "E_0", 5, 0)
        long_queues = registry.get("long_queues", threshold=3)
        growth = registry.get("queue_growth")
        for r in (long_queues, growth):
            r.reset(scenario.context)
        assert growth(scenario.run(5)) == 0.0
        assert long_queues(scenario.run(5)) == -1.0  # only S_0 queues more than 3
        scenario.add("w", "W_0", 5, 0)
        assert growth(scenario.run(5)) == -1.0  # the total queue grew from 5 to 6
    finally:
        registry.unregister("long_queues")
        registry.unregister("queue_growth")
