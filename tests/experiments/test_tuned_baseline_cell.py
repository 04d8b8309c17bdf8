"""A grid's tuned baseline records its parameters and tuning budget beside its results."""

from __future__ import annotations

import json
from pathlib import Path

from intergreen.experiments.grid import EvalPlan
from intergreen.experiments.runner import Task, execute
from intergreen.junctions.baseline_params import read_param_file, tuned_file
from intergreen.junctions.catalog import resolve_junction


def test_a_tuned_baseline_records_its_parameters_and_budget(tmp_path: Path) -> None:
    plan = EvalPlan(junction="gm_a56", demands=["low"], episodes=1, duration=60.0)
    outcome = execute(Task("baseline", str(tmp_path), plan, baseline="max-occupancy:tuned"))
    assert outcome.status == "done", outcome.error
    folder = tmp_path / "baselines" / f"max-occupancy:tuned-{plan.key()}"
    cell = json.loads((folder / "cell.json").read_text())
    shipped = read_param_file(tuned_file(resolve_junction("gm_a56"), "max-occupancy")).doc
    assert cell["baseline"] == "max-occupancy:tuned"
    assert cell["params"] == shipped["params"] and cell["budget"] == shipped["budget"]
    assert cell["validation"]["seed_role"] == "validation"
    assert (folder / "eval.parquet").is_file()
    plain = execute(Task("baseline", str(tmp_path), plan, baseline="max-occupancy"))
    assert plain.status == "done"
    cell = json.loads((tmp_path / "baselines" / f"max-occupancy-{plan.key()}" / "cell.json")
                      .read_text())  # fmt: skip
    assert cell == {"baseline": "max-occupancy"}
