"""A batch report names the parameters of every reward given with them (a new user's trial:
two ``weighted`` rewards of a grid differing in one weight were rows ``weighted[26735a]`` and
``weighted[1bb994]`` explained nowhere). The labels and run keys are unchanged, and the
sentences come from the runs' recorded configuration."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from cli_helpers import run_cli

from intergreen.experiments.grid import label

SPEED = {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}
QUEUE = {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.5}}
GRID = {
    "name": "two_weighted",
    "junction": "gm_a56",
    "rewards": [SPEED, QUEUE],
    "agents": {"dqn": {"hyperparams": {"learning_starts": 50}}},
    "train_demands": ["mixed"],
    "seeds": [1],
    "training": {"timesteps": 100, "checkpoint_every": 100},
    "evaluation": {"demands": ["low"], "episodes": 1},
    "episode_duration": 30,
}


def test_a_report_lists_the_parameters_of_each_labelled_reward(tmp_path: Path, capsys) -> None:
    grid, out = tmp_path / "grid.yaml", tmp_path / "out"
    grid.write_text(yaml.safe_dump(GRID, sort_keys=False))
    code, _, err = run_cli(["compare", str(grid), "--out", str(out)], capsys)
    assert code == 0, err
    a, b = label(SPEED), label(QUEUE)
    assert a.startswith("weighted[") and b.startswith("weighted[") and a != b
    # the run folders keep their names (labels and keys unchanged)
    assert sorted(p.name.split("-")[0] for p in (out / "runs").iterdir()) == sorted([a, b])
    code, _, err = run_cli(["report", str(out)], capsys)
    assert code == 0, err
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    legend = sorted(
        [
            f'{a} = weighted with {{"weights": {{"average_speed": 1, "queue": 0.1}}}}',
            f'{b} = weighted with {{"weights": {{"average_speed": 1, "queue": 0.5}}}}',
        ]
    )
    legend_text = "; ".join(legend)
    setup = (
        "**Rewards with parameters.** A row label NAME[HASH] is reward NAME given with "
        "parameters (HASH: the first 6 hex digits of the SHA-256 of their JSON, as in the run "
        f"folders' names): {legend_text}."
    )
    assert setup + "\n" in md
    note = f"Rewards given with parameters: {legend_text}."
    assert md.count(note + "\n") == 2  # below Table I at seed level and the pooled one
    assert f"| {a} |" in md and f"| {b} |" in md  # the rows keep their labels
    assert "<b>Rewards with parameters.</b>" in page
    assert page.count(note.replace('"', "&quot;")) == 2
    for cfg in (out / "runs").glob(f"{a}-*/config.json"):
        record = json.loads(cfg.read_text())
        assert record["config"]["reward"] == SPEED
    versions = next(line for line in md.splitlines() if line.startswith("**Versions.**"))
    assert f"reward versions: {a} " in versions and f", {b} " in versions
    # published: the legend comes back from run_configs.json, and a rebuild is identical
    dest = tmp_path / "pub"
    assert run_cli(["report", str(out), "--publish", str(dest)], capsys)[0] == 0
    published = (dest / "report.md").read_text()
    assert setup + "\n" in published and published.count(note + "\n") == 2
    (dest / "report.md").unlink()
    assert run_cli(["report", str(dest), "--publish", str(dest)], capsys)[0] == 0
    assert (dest / "report.md").read_text() == published
