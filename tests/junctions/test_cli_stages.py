"""`intergreen simulate --stages`: the pedestrian stage through the command line."""

from __future__ import annotations

import json

import pytest

from intergreen.cli import main


def test_stages_let_vehicle_actuation_serve_pedestrians(tmp_path, capsys) -> None:
    waits = {}
    for stages in ("2,4", "2,3,4"):
        out = tmp_path / stages.replace(",", "")
        main(["simulate", "--demand", "medium+peds", "--stages", stages, "--duration", "600",
              "--output", str(out)])  # fmt: skip
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["pedestrians"] > 0 and metrics["env"]["action_stages"] == stages.split(",")
        waits[stages] = metrics["ped_avg_waiting_time"]
    assert waits["2,3,4"] < 0.5 * waits["2,4"]


def test_unknown_stage_is_a_user_error(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--stages", "2,9", "--duration", "60"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--stages '2,9': no stage 9 in gm_a56" in err and "Traceback" not in err
