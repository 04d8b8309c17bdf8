"""``simulate`` says and records the controller parameters it ran with (from --param,
--param-file or a junction's tuned file), so that a tuned run and a default one differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

TUNED = {"max_green": {"2": 21.0, "4": 26.2}, "extension": 1.148}
ARGS = ["simulate", "--demand", "medium", "--seed", "1", "--duration", "60"]


def _header(out: str) -> str:
    return out.splitlines()[0]


def test_a_param_file_a_param_and_the_defaults_are_told_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tuned = tmp_path / "tune" / "va" / "tuned.json"
    tuned.parent.mkdir(parents=True)
    tuned.write_text(json.dumps({"format": "intergreen-baseline-params/1",
                                 "controller": "vehicle-actuated", "params": TUNED}))  # fmt: skip
    runs = {
        "tuned": ["--param-file", str(tuned)],
        "default": [],
        "both": ["--param-file", str(tuned), "--param", "extension=2"],
    }
    record, header = {}, {}
    for name, extra in runs.items():
        code, out, err = run_cli([*ARGS, "--controller", "vehicle-actuated", *extra,
                                  "--output", str(tmp_path / name)], capsys)  # fmt: skip
        assert code == 0, err
        header[name] = _header(out)
        record[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    assert header["tuned"] == (
        'gm_a56 | demand medium | vehicle-actuated (extension=1.148, max_green={"2": 21.0, '
        f'"4": 26.2}}; from {tuned}) | seed 1'
    )
    assert header["default"] == "gm_a56 | demand medium | vehicle-actuated (defaults) | seed 1"
    assert header["both"] == (
        'gm_a56 | demand medium | vehicle-actuated (extension=2, max_green={"2": 21.0, "4": '
        f"26.2}}; from {tuned}, --param extension) | seed 1"
    )
    assert record["tuned"]["controller_params"] == TUNED
    assert record["tuned"]["param_file"] == str(tuned) and record["tuned"]["params_given"] == {}
    assert record["default"]["controller_params"] == {"extension": 1.5, "max_green": 40.0}
    assert record["default"]["param_file"] is None
    assert record["both"]["controller_params"] == {**TUNED, "extension": 2}
    assert record["both"]["params_given"] == {"extension": 2}


def test_a_param_file_tuned_for_other_stages_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file's per-stage max_green (stages 2, 4) under --stages 1,2,4: one line naming the
    file and the fixes (it said only 'max_green: give a value for every action stage')."""
    tuned = tmp_path / "tuned.json"
    tuned.write_text(json.dumps({"format": "intergreen-baseline-params/1",
                                 "controller": "vehicle-actuated", "params": TUNED}))  # fmt: skip
    va = [*ARGS, "--controller", "vehicle-actuated", "--param-file", str(tuned)]
    line = one_error_line(*run_cli([*va, "--stages", "1,2,4"], capsys))
    assert line == (
        f"error: {tuned}: max_green has a value per stage for action stages 2,4, "
        "and --stages 1,2,4 runs others: leave --stages out, or give --param "
        "max_green=SECONDS for these stages"
    )
    for fixed in (["--stages", "4,2"], ["--stages", "1,2,4", "--param", "max_green=30"]):
        code, _, err = run_cli([*va, *fixed], capsys)  # the same stages, or max_green replaced
        assert code == 0, err


def test_a_tuned_baseline_names_its_junction_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from intergreen.junctions.baseline_params import tuned_params
    from intergreen.junctions.catalog import resolve_junction

    code, out, err = run_cli([*ARGS, "--controller", "vehicle-actuated:tuned",
                              "--output", str(tmp_path)], capsys)  # fmt: skip
    assert code == 0, err
    pf = tuned_params(resolve_junction("gm_a56"), "vehicle-actuated")
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["controller_params"] == pf.params and record["param_file"] == str(pf.path)
    assert f"; from {pf.path}) | seed 1" in _header(out)


def test_only_parameters_off_their_defaults_are_in_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = ["--param", "cycle_max=90", "--param", "cycle_min=30"]
    code, out, err = run_cli(
        [*ARGS, "--controller", "fixed-time", *params, "--output", str(tmp_path)], capsys
    )
    assert code == 0, err
    assert _header(out) == (
        "gm_a56 | demand medium | fixed-time (cycle_max=90; --param cycle_max, cycle_min) | seed 1"
    )
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["controller_params"] == {"greens": None, "saturation_flow": None,
                                           "cycle_min": 30, "cycle_max": 90, "cycle_factor": 1.0,
                                           "split_weights": None}  # fmt: skip
    code, out, _ = run_cli([*ARGS, "--controller", "random", "--seed", "4"], capsys)
    assert _header(out) == "gm_a56 | demand medium | random (seed=4) | seed 4"


def test_a_controller_without_parameters_records_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([*ARGS, "--controller", "max-pressure", "--output", str(tmp_path)],
                             capsys)  # fmt: skip
    assert code == 0, err
    assert _header(out) == "gm_a56 | demand medium | max-pressure | seed 1"
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["controller_params"] == {} and record["param_file"] is None


def test_a_duration_is_echoed_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(*run_cli(["simulate", "--duration", "700000"], capsys))
    assert line.startswith("error: --duration 700000: more than 604800 s")  # was: 7e5


def test_a_file_equal_to_the_defaults_says_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per-stage values equal to a scalar default, or to the file's ``default_params``, are
    the defaults (the header named them: ``max_green={"2": 40.0, "4": 40.0}``)."""
    same = tmp_path / "same.json"
    per_stage = {"max_green": {"2": 40.0, "4": 40.0}, "extension": 1.5}
    doc = {"format": "intergreen-baseline-params/1", "controller": "vehicle-actuated"}
    same.write_text(json.dumps({**doc, "params": per_stage}))
    code, out, err = run_cli([*ARGS, "--controller", "vehicle-actuated", "--param-file",
                              str(same)], capsys)  # fmt: skip
    assert code == 0, err
    assert _header(out) == (
        f"gm_a56 | demand medium | vehicle-actuated (defaults; from {same}) | seed 1"
    )
    # fixed-time's tuned file is Webster's plan: split_weights {"2": 1.0, "4": 1.0} is the
    # default_params' (the controller's own default is None)
    from intergreen.junctions.baseline_params import tuned_params
    from intergreen.junctions.catalog import resolve_junction

    pf = tuned_params(resolve_junction("gm_a56"), "fixed-time")
    assert pf.params["split_weights"] == {"2": 1.0, "4": 1.0}
    code, out, err = run_cli([*ARGS, "--controller", "fixed-time:tuned"], capsys)
    assert code == 0, err
    assert _header(out) == (
        f"gm_a56 | demand medium | fixed-time:tuned (defaults; from {pf.path}) | seed 1"
    )
    # one stage off the default is named
    off = tmp_path / "off.json"
    off.write_text(json.dumps({"format": "intergreen-baseline-params/1",
                               "controller": "vehicle-actuated",
                               "params": {"max_green": {"2": 40.0, "4": 30.0}}}))  # fmt: skip
    code, out, err = run_cli([*ARGS, "--controller", "vehicle-actuated", "--param-file",
                              str(off)], capsys)  # fmt: skip
    assert code == 0, err
    assert 'vehicle-actuated (max_green={"2": 40.0, "4": 30.0}; from ' in _header(out)


def test_a_param_file_tuned_on_another_junction_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tune on gm_a56_max_green printed a command without --junction, and simulate ran its
    file on gm_a56 without a word: the file's junction is checked against the one simulated
    (a hand-written file naming no junction is taken as it is)."""
    tuned = tmp_path / "tuned.json"
    tuned.write_text(json.dumps({"format": "intergreen-baseline-params/1",
                                 "controller": "vehicle-actuated", "junction": "gm_a56_max_green",
                                 "params": TUNED}))  # fmt: skip
    args = [*ARGS, "--controller", "vehicle-actuated", "--param-file", str(tuned)]
    line = one_error_line(*run_cli([*args, "--output", str(tmp_path / "out")], capsys))
    assert line == (
        f"error: {tuned}: holds vehicle-actuated parameters tuned on junction gm_a56_max_green, "
        "not gm_a56; run them on junction gm_a56_max_green, or tune on gm_a56 (intergreen tune "
        "--controller vehicle-actuated --junction gm_a56 --out DIR)"
    )
    assert not (tmp_path / "out").exists()
    code, out, err = run_cli([*args, "--junction", "gm_a56_max_green"], capsys)
    assert code == 0, err
    assert _header(out).startswith("gm_a56_max_green | demand medium | vehicle-actuated (")


@pytest.mark.parametrize(
    ("controller", "param", "refused"),
    [
        ("vehicle-actuated", "max_green=3", "max_green[2]: 3 s"),
        ("max-occupancy", 'max_green={"2": 30, "4": 6.5}', "max_green[4]: 6.5 s"),
        ("camera-actuated", "max_green=5", "max_green[2]: 5 s"),
        ("fixed-time", 'greens={"2": 2, "4": 40}', "fixed-time greens[2]: 2 s"),
    ],
)
def test_a_green_below_the_stage_minimum_is_refused(
    controller: str, param: str, refused: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A traffic engineer's trial: `--param max_green=3` ran, its header said max_green=3
    and every stage held 7.2 s (the minimum green wins); fixed-time greens of 2 s ran 2.4 s in
    the first cycle and 7.2 s after."""
    line = one_error_line(*run_cli([*ARGS, "--controller", controller, "--param", param], capsys))
    stage = refused.split("[")[1][0]
    group, nxt = {"2": ("B", "3"), "4": ("D", "1")}[stage]
    assert line == (
        f"error: {refused} is less than the minimum green of stage {stage}'s signal group "
        f"{group} (7 s), which ends its green when stage {stage} moves on to stage {nxt}; give "
        "7 s or more"
    )


def test_a_maximum_green_past_the_junctions_own_is_warned_of(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gm_a56_max_green ends stage 2 at 60 s and stage 4 at 40 s: --param max_green=80 ran
    with 80 in its header and no word that the junction's maxima cut it."""
    code, out, err = run_cli(["simulate", "--junction", "gm_a56_max_green", "--param",
                              "max_green=50", "--duration", "30"], capsys)  # fmt: skip
    assert code == 0, err
    assert err.strip() == (
        "warning (intergreen): max_green[4] is more than junction gm_a56_max_green's maximum "
        "green of stage 4 (40 s, stages.4.max_green), which ends it first"
    )


def test_a_tuned_maximum_green_ranges_from_the_stage_minimum_to_the_junctions_maximum() -> None:
    """The tuner searched 5-150 s: below a stage's minimum green every value acts as the
    minimum (and is now refused), above the junction's own maximum as that maximum (and
    warned of, once per trial)."""
    from intergreen.tuning.baseline_tune import green_bounds, params_from_values, search_space

    assert green_bounds("gm_a56") == {"2": (7.0, 150.0), "4": (7.0, 150.0)}
    capped = green_bounds("gm_a56_max_green")
    assert capped == {"2": (7.0, 61.0), "4": (7.0, 41.0)}  # 1 s more: the centre inside
    space = {p.name: p for p in search_space("max-occupancy", ["2", "4"], capped)}
    assert (space["max_green.2"].space.min, space["max_green.2"].space.max) == (7.0, 61.0)
    assert space["max_green.4"].space.max == 41.0 and space["max_green.4"].center == 40.0
    assert search_space("max-occupancy", ["2", "4"])[0].space.min == 5.0  # no junction given
    # a suggestion outside (a tune begun with the old space, resumed) is kept within
    values = {"max_green.2": 5.2, "max_green.4": 71.0, "margin": 0.3}
    assert params_from_values("max-occupancy", values, ["2", "4"], bounds=capped) == {
        "max_green": {"2": 7.0, "4": 41.0}, "margin": 0.3,
    }  # fmt: skip


def test_a_split_weight_is_not_called_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    """A split weight has no unit: it was refused as "expected seconds > 0"."""
    line = one_error_line(*run_cli([*ARGS, "--controller", "fixed-time", "--param",
                                    'split_weights={"2": 0, "4": 1}'], capsys))  # fmt: skip
    assert line == "error: split_weights[2]: expected a weight > 0, got 0"


def test_the_fixed_time_plan_is_shown_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A traffic engineer's trial: Webster's cycle and greens were shown nowhere
    (controller_params said "greens": null); worked out from timeline.json."""
    out = tmp_path / "ft"
    code, printed, err = run_cli([*ARGS, "--controller", "fixed-time", "--demand", "high",
                                  "--output", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    (plan,) = json.loads((out / "metrics.json").read_text())["signal_plans"]
    assert plan["lost_time"] == 15.0 and plan["forced_green"] == 4.0  # gm_a56: README's
    assert plan["cycle"] == pytest.approx(15.0 + 4.0 + sum(plan["greens"].values()), abs=0.02)
    y = sum(plan["flow_ratios"].values())
    assert 0 < y < 1
    assert "fixed-time plan (Webster)" in printed
    row = next(line for line in printed.splitlines() if "0:00-0:30" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == ["0:00-0:30", f"{plan['cycle']:.1f}", "15.0", "4.0", f"{y:.3f}",
                     f"{plan['greens']['2']:.1f}", f"{plan['greens']['4']:.1f}"]  # fmt: skip
    # greens given: no Y, said so in the title
    code, printed, err = run_cli([*ARGS, "--controller", "fixed-time", "--param",
                                  'greens={"2": 20, "4": 30}'], capsys)  # fmt: skip
    assert code == 0, err
    assert "fixed-time plan (greens given)" in printed and "│ 0:00-end" in printed
    # another baseline has no plan
    code, printed, _ = run_cli(ARGS, capsys)
    assert "fixed-time plan" not in printed


def test_a_parameter_file_with_a_green_below_the_minimum_is_named_before_any_episode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tuner searched maximum greens from 5 s before it knew a stage's minimum: such a
    file is refused by evaluate before its plan and episodes, naming the file."""
    old = tmp_path / "old_tuned.json"
    old.write_text(json.dumps({"format": "intergreen-baseline-params/1",
                               "controller": "vehicle-actuated", "junction": "gm_a56",
                               "params": {"max_green": {"2": 5.5, "4": 30}}}))  # fmt: skip
    code, out, err = run_cli(["evaluate", str(old), "--episodes", "1", "--duration", "30",
                              "--demands", "low"], capsys)  # fmt: skip
    assert code == 2 and out == ""
    assert one_error_line(code, out, err) == (
        f"error: controller {old}: max_green[2]: 5.5 s is less than the minimum green of stage "
        "2's signal group B (7 s), which ends its green when stage 2 moves on to stage 3; give "
        "7 s or more"
    )
