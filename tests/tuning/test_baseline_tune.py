"""`intergreen tune --controller`: baselines tuned with CARBS on validation seeds (real SUMO)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from intergreen.agents.evaluation import evaluation_seeds
from intergreen.experiments.grid import semantic_problems
from intergreen.junctions.baseline_params import ParamFileError, params_for, read_param_file
from intergreen.junctions.baselines import baseline_record, is_baseline, make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.env import make_env
from intergreen.junctions.rollout import run_episode
from intergreen.seeds import episode_seed, role_of
from intergreen.tuning.baseline_tune import (
    BaselineTuneSpec,
    params_from_values,
    run_trial,
    search_space,
    tune_baseline,
    validation_seeds,
)
from intergreen.tuning.loop import TuneError

SPEC = BaselineTuneSpec("vehicle-actuated", demands=("low",), episodes=1, duration=120)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tune") / "va"
    tune_baseline(SPEC, "1h", out, workers=1, max_trials=3)
    return out


def test_validation_seeds_are_neither_training_nor_test_seeds() -> None:
    seeds = validation_seeds(50)
    assert seeds[0] == episode_seed(0, "validation") and len(set(seeds)) == 50
    assert {role_of(s) for s in seeds} == {"validation"}
    assert not set(seeds) & set(evaluation_seeds(1000))
    with pytest.raises(TuneError, match="episodes=0"):
        validation_seeds(0)


def test_a_tune_runs_only_on_validation_seeds_and_writes_its_budget(tuned: Path) -> None:
    trials = [json.loads(line) for line in (tuned / "trials.jsonl").read_text().splitlines()]
    assert [t["id"] for t in trials] == ["t0000", "t0001", "t0002"]
    for t in trials:
        assert t["status"] == "done"
        assert t["seeds"] == validation_seeds(1)  # the seeds the episodes actually ran
    # trial 0 runs the defaults
    assert trials[0]["params"] == {"max_green": {"2": 40.0, "4": 40.0}, "extension": 1.5}
    assert len({json.dumps(t["params"]) for t in trials}) == 3
    pf = read_param_file(tuned / "tuned.json")
    best = min(trials, key=lambda t: t["output"])
    assert pf.controller == "vehicle-actuated" and pf.params == best["params"]
    doc = pf.doc
    assert doc["validation"]["seed_role"] == "validation"
    assert doc["validation"]["seeds"] == validation_seeds(1)
    assert doc["validation"]["tuned_wait_s"] == pytest.approx(best["output"], abs=1e-3)
    assert doc["validation"]["default_wait_s"] == pytest.approx(trials[0]["output"], abs=1e-3)
    assert doc["budget"]["trials"] == 3 and doc["budget"]["episodes"] == 3
    assert doc["budget"]["simulated_s"] == pytest.approx(360, abs=2)
    assert "3 trials" in doc["budget"]["limit"] and doc["budget"]["method"].startswith("CARBS")
    # the tuned parameters reproduce their validation score (same seeds, same numbers)
    again = run_trial(SPEC, params_for(tuned / "tuned.json", "vehicle-actuated"))
    assert again["output"] == pytest.approx(best["output"], abs=1e-9)


def test_a_tune_resumes_without_repeating_trials(tuned: Path) -> None:
    said: list[str] = []
    best = min(json.loads(x)["output"] for x in (tuned / "trials.jsonl").read_text().split("\n")
               if x)  # fmt: skip
    result = tune_baseline(SPEC, "1h", tuned, workers=1, max_trials=4, log=said.append)
    assert result.ran == ["t0003"] and len(result.trials) == 4
    # said first: what the re-run keeps (it said nothing of the trials before it)
    assert said[0].startswith(f"resuming {tuned}: 3 finished trials kept, best so far t")
    assert said[0].endswith(f" {best:.2f} s") and said[1].startswith("t0003: wait ")
    with pytest.raises(TuneError, match="another configuration .*episodes"):
        tune_baseline(BaselineTuneSpec("vehicle-actuated", demands=("low",), episodes=2,
                                       duration=120), "1h", tuned, max_trials=5)  # fmt: skip


def test_simulate_takes_the_tuned_parameters(tuned: Path, capsys) -> None:
    code, out, err = run_cli(["simulate", "--controller", "vehicle-actuated", "--param-file",
                              str(tuned / "tuned.json"), "--duration", "30"], capsys)  # fmt: skip
    assert code == 0, err and "avg_waiting_time" in out
    code, _, err = run_cli(["simulate", "--controller", "max-occupancy", "--param-file",
                            str(tuned / "tuned.json"), "--duration", "30"], capsys)  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds vehicle-actuated parameters; use --controller vehicle-actuated" in err


def test_search_spaces_map_to_valid_parameters() -> None:
    stages = ["2", "4"]
    for controller in ("vehicle-actuated", "camera-actuated", "max-occupancy", "fixed-time"):
        space = search_space(controller, stages)
        values = {p.name: p.center for p in space}
        params = params_from_values(controller, values, stages)
        make_baseline(controller, **params)  # valid names and values
    ft = params_from_values("fixed-time", {"cycle_factor": 1.2, "split_weight.4": 0.8}, stages)
    assert ft == {"cycle_factor": 1.2, "split_weights": {"2": 1.0, "4": 0.8}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (BaselineTuneSpec("random"), "tune one of vehicle-actuated, camera-actuated"),
        (BaselineTuneSpec("vehicle-actuatd"), "--controller 'vehicle-actuatd': tune one of"),
        (BaselineTuneSpec("max-occupancy", fixed={"margn": 0.1}),
         "--param margn: not a parameter of max-occupancy; valid: margin, max_green"),
        (BaselineTuneSpec("max-occupancy", fixed={"margin": 0.1}), "--param margin: it is tuned"),
        (BaselineTuneSpec("vehicle-actuated", episodes=0), "at least one demand and one episode"),
        (BaselineTuneSpec("vehicle-actuated", demands=("rush",)), "unknown demand 'rush'"),
    ],
)  # fmt: skip
def test_bad_tunes_are_refused_before_any_trial(tmp_path: Path, spec, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        tune_baseline(spec, "1h", tmp_path / "t", max_trials=1)
    assert not (tmp_path / "t").exists()  # checked before the folder is made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--controller", "random"], "tune one of vehicle-actuated"),
        (["--controller", "fixed-time", "--agent", "dqn"], "give --agent (dqn, ppo) or"),
        (["--controller", "fixed-time", "--budget", "soon"], "budget 'soon'"),
    ],
)
def test_tune_controller_cli_errors(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    code, _, err = run_cli(["tune", "--out", str(tmp_path / "t"), *args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_param_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ParamFileError, match=r"x\.json: not a readable JSON"):
        read_param_file(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"controller": "fixed-time", "params": {}}))
    with pytest.raises(ParamFileError, match="not a baseline parameter file"):
        read_param_file(tmp_path / "y.json")
    with pytest.raises(ParamFileError, match="no such parameter file"):
        read_param_file(tmp_path / "missing.json")


def test_the_junctions_tuned_baselines_come_with_their_budget() -> None:
    """gm_a56 ships tuned parameters for the three study baselines; ``NAME:tuned`` runs them,
    grids accept the name and record the parameters and the tuning budget."""
    gm = resolve_junction("gm_a56")
    for name in ("vehicle-actuated", "max-occupancy", "fixed-time"):
        record = baseline_record(f"{name}:tuned", gm)
        assert record["tuned_file"].endswith(f"library/gm_a56/tuned/{name}.json")
        assert record["validation"]["seed_role"] == "validation"
        seeds = record["validation"]["seeds"]
        assert len(seeds) == record["validation"]["episodes_per_demand"]
        assert {role_of(s) for s in seeds} == {"validation"}  # never the test stream
        assert record["budget"]["trials"] >= 20 and record["budget"]["episodes"] > 0
        # tuned parameters, or the defaults when no trial beat them (fixed time since its
        # saturation flows were measured in the site's vehicle mix), which the file says
        validation = record["validation"]
        assert record["params"] != record["default_params"] or (
            validation["best_trial"] == "t0000"
            and validation["tuned_wait_s"] == validation["default_wait_s"]
        )
        assert validation["tuned_wait_s"] <= validation["default_wait_s"]
        make_baseline(name, **record["params"])
    assert baseline_record("vehicle-actuated", gm) == {}
    assert is_baseline("vehicle-actuated:tuned") and not is_baseline("runs/dqn")
    raw = {"baselines": ["vehicle-actuated:tuned", "vehicle-actuated:tuneed"]}
    problems = [p for p in semantic_problems(raw) if p.startswith("baselines")]
    assert problems == [
        "baselines[1]: unknown baseline 'vehicle-actuated:tuneed'; known: "
        "fixed-time, vehicle-actuated, camera-actuated, max-occupancy, random, program, "
        "max-pressure, greedy, NAME:tuned for a junction's tuned parameters (tuned/NAME.json "
        "in its folder), and the path of a baseline tune's tuned.json"
    ]
    env = make_env("gm_a56", "low", None, seed=1, duration=60)
    policy = make_baseline("vehicle-actuated:tuned")
    run_episode(env, policy, seed=1)
    assert policy.name == "vehicle-actuated:tuned"
    assert (
        policy.inner.max_green
        == baseline_record("vehicle-actuated:tuned", gm)["params"]["max_green"]
    )
    # a variant of the junction has other rules: gm_a56's tuned parameters are not its own
    variant = make_env("gm_a56_max_green", "low", None, seed=1, duration=10)
    try:
        with pytest.raises(ParamFileError, match="for junction gm_a56, not vehicle-actuated on"):
            run_episode(variant, make_baseline("vehicle-actuated:tuned"), seed=1)
    finally:
        variant.close()


def test_a_tuned_file_of_ones_own_is_used(tuned: Path, tmp_path: Path) -> None:
    """tuned/NAME.json beside a junction YAML of one's own comes before the shipped
    junction's (it was ignored for gm_a56's)."""
    from intergreen.junctions.baseline_params import tuned_file
    from intergreen.junctions.baselines import TunedBaseline

    mine = tmp_path / "myj"
    (mine / "tuned").mkdir(parents=True)
    (mine / "junction.yaml").write_text("extends: gm_a56\n")
    doc = json.loads((tuned / "tuned.json").read_text())
    doc["params"] = {"max_green": {"2": 33.0, "4": 22.0}, "extension": 1.2}
    (mine / "tuned" / "vehicle-actuated.json").write_text(json.dumps(doc))
    spec = resolve_junction(str(mine))
    assert tuned_file(spec, "vehicle-actuated") == (mine / "tuned" / "vehicle-actuated.json")
    assert tuned_file(resolve_junction("gm_a56"), "vehicle-actuated").parent.parent.name == (
        "gm_a56"
    )
    env = make_env(spec, "low", None, seed=1, duration=30)
    try:
        env.reset(seed=1)
        policy = TunedBaseline("vehicle-actuated")
        policy.reset(env)
        assert policy.file.params == doc["params"]
    finally:
        env.close()


def test_a_tunes_file_runs_where_a_baseline_goes(
    tuned: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """A tune's tuned.json was refused by evaluate and grids (it had to be copied into the
    junction's tuned/ folder). Now its path is the baseline it names with its parameters:
    the same episodes as that baseline built with those parameters, labelled with the file;
    simulate --controller FILE is --controller NAME --param-file FILE."""
    from cli_helpers import one_error_line

    from intergreen.agents.evaluation import evaluate
    from intergreen.junctions.baselines import baseline_folder_name, baseline_label

    monkeypatch.chdir(tuned.parent)
    params = json.loads((tuned / "tuned.json").read_text())["params"]
    policy = make_baseline("va/tuned.json")
    assert policy.name == "vehicle-actuated (va/tuned.json)" == baseline_label("va/tuned.json")
    assert is_baseline("va/tuned.json") and policy.file.params == params
    assert baseline_folder_name("va/tuned.json").startswith("vehicle-actuated-file-")
    assert baseline_folder_name("va/tuned.json") == baseline_folder_name(str(tuned / "tuned.json"))
    frame = evaluate(["va/tuned.json"], "gm_a56", ["low"], seeds=[3], duration=60)
    assert frame["controller"].tolist() == ["vehicle-actuated (va/tuned.json)"]
    env = make_env("gm_a56", "low", None, seed=3, duration=60)
    try:
        direct = run_episode(env, make_baseline("vehicle-actuated", **params), seed=3).row()
    finally:
        env.close()
    assert frame["avg_waiting_time"].iloc[0] == pytest.approx(direct["avg_waiting_time"])
    assert frame["throughput"].iloc[0] == direct["throughput"]
    code, out, err = run_cli(["evaluate", "fixed-time", "--baselines", "va/tuned.json",
                              "--demands", "low", "--episodes", "1", "--duration", "30"],
                             capsys)  # fmt: skip
    assert code == 0, err
    flat = " ".join(out.split())
    assert "vehicle-actuated (va/tuned.json)" in flat
    said = f"vehicle-actuated (va/tuned.json): {make_baseline('va/tuned.json').file.describe()}"
    assert " ".join(said.split()) in flat
    assert "(tuned on gm_a56, on validation episodes of 120 s at low)" in said  # SPEC's
    assert f"extension={params['extension']}" in said
    sims = []
    by_name = ["--controller", "vehicle-actuated", "--param-file", "va/tuned.json"]
    for args in (["--controller", "va/tuned.json"], by_name):
        code, out, err = run_cli(["simulate", *args, "--duration", "60", "--output",
                                  str(tmp_path / f"sim{len(sims)}")], capsys)  # fmt: skip
        assert code == 0, err
        sims.append(json.loads((tmp_path / f"sim{len(sims)}" / "metrics.json").read_text()))
    assert sims[0]["avg_waiting_time"] == sims[1]["avg_waiting_time"]
    assert sims[0]["controller_params"] == sims[1]["controller_params"]
    assert sims[0]["param_file"] == "va/tuned.json"
    # wrong inputs: one line each, before any episode
    (tmp_path / "empty.json").write_text("{}")
    agent_tune = dict(format="intergreen-agent-tuned/1", agent="dqn", hyperparams={})
    (tmp_path / "agent.json").write_text(json.dumps(agent_tune))
    (tmp_path / "va").mkdir()  # another file of the same folder and file name
    (tmp_path / "va" / "tuned.json").write_text((tuned / "tuned.json").read_text())
    bad = json.loads((tuned / "tuned.json").read_text())
    bad["params"]["extensoin"] = 2.0
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    for args, message in [
        (["evaluate", "fixed-time", "--baselines", "va/tuned.jsn"], "no such run folder"),
        (["evaluate", "fixed-time", "--baselines", "va/tuneed.json"],
         "va/tuneed.json: no such parameter file"),
        (["evaluate", "va/tuned.json", "--junction", "gm_a56_max_green"],
         "tuned on junction gm_a56, not gm_a56_max_green"),
        (["evaluate", str(tmp_path / "empty.json")], "not a baseline parameter file"),
        (["evaluate", str(tmp_path / "agent.json")], "holds an agent tune's hyperparameters"),
        (["evaluate", "va/tuned.json", str(tmp_path / "va" / "tuned.json")],
         f"controllers va/tuned.json and {tmp_path}/va/tuned.json would both be shown as "
         "'vehicle-actuated (va/tuned.json)'"),
        (["evaluate", "va/tuned.json", "va/tuned.json"], "given twice"),
        (["evaluate", "va"], "va is a tune's folder, not a trained run: give its va/tuned.json"),
        (["simulate", "--controller", "va"], "va is a tune's folder"),
        (["evaluate", str(tmp_path / "bad.json")],
         f"{tmp_path}/bad.json: controller vehicle-actuated: unknown parameter 'extensoin' "
         "(did you mean 'extension'?)"),
        (["simulate", "--controller", "va/tuned.json", "--param-file", "va/tuned.json"],
         "give the parameter file once"),
        (["simulate", "--controller", "va/tuned.json", "--junction", "gm_a56_max_green"],
         "tuned on junction gm_a56, not gm_a56_max_green"),
    ]:  # fmt: skip
        assert message in one_error_line(*run_cli(args, capsys)), args


def test_a_grid_runs_a_tunes_file_as_a_baseline(tuned: Path, tmp_path: Path) -> None:
    """A grid's baselines take a tune's tuned.json (relative to the grid file): its folder,
    results label and cell.json name the file, and the report's set-up sentence gives its
    parameters and budget; two files that would be labelled alike, and a missing file, are
    refused at load."""
    import pandas as pd

    from intergreen.experiments.grid import GridError, load_grid
    from intergreen.experiments.provenance import _baseline_cells
    from intergreen.experiments.runner import execute, plan_tasks

    grid_file = tuned.parent / "grid.yaml"
    raw = {
        "junction": "gm_a56", "rewards": ["queue"], "agents": ["dqn"], "seeds": [1],
        "training": {"timesteps": 300}, "episode_duration": 60,
        "evaluation": {"demands": ["low"], "episodes": 1},
        "baselines": ["va/tuned.json", "fixed-time"],
    }  # fmt: skip
    grid_file.write_text(json.dumps(raw))
    grid = load_grid(grid_file)
    assert grid.baselines[0] == str((tuned / "tuned.json").resolve())
    (task,) = [t for t in plan_tasks(grid, tmp_path / "out") if t.baseline == grid.baselines[0]]
    assert task.folder.name.startswith("vehicle-actuated-file-")
    outcome = execute(task)
    assert outcome.error is None, outcome.error
    frame = pd.read_parquet(task.folder / "eval.parquet")
    assert set(frame["controller"]) == {"vehicle-actuated (va/tuned.json)"}
    cell = json.loads((task.folder / "cell.json").read_text())
    assert cell["baseline"] == "vehicle-actuated (va/tuned.json)"
    assert cell["tuned_file"] == grid.baselines[0]
    assert cell["params"] == json.loads((tuned / "tuned.json").read_text())["params"]
    assert _baseline_cells(tmp_path / "out", frame) == {cell["baseline"]: cell}
    # the file rewritten (a tune run on): another folder, so the results are not stale
    before = task.folder.name
    text = (tuned / "tuned.json").read_text()
    (tuned / "tuned.json").write_text(json.dumps(dict(json.loads(text), params={"extension": 2.5})))
    try:
        assert plan_tasks(load_grid(grid_file), tmp_path / "out")[-2].folder.name != before
    finally:
        (tuned / "tuned.json").write_text(text)
    assert plan_tasks(load_grid(grid_file), tmp_path / "out")[-2].folder.name == before
    other = tmp_path / "elsewhere" / "va"
    other.mkdir(parents=True)
    (other / "tuned.json").write_text((tuned / "tuned.json").read_text())
    for baselines, message in [
        (["va/tuned.json", str(other / "tuned.json")],
         "would be shown as 'vehicle-actuated (va/tuned.json)', as baselines[0] is"),
        (["va/missing.json"], "baselines[0]: " + str(tuned.parent / "va" / "missing.json")
         + ": no such parameter file"),
    ]:  # fmt: skip
        grid_file.write_text(json.dumps(dict(raw, baselines=baselines)))
        with pytest.raises(GridError) as e:
            load_grid(grid_file)
        assert message in str(e.value)


def test_a_bad_budget_is_explained_in_the_tunes_own_cost(capsys) -> None:
    """A traffic engineer's trial: `tune --controller vehicle-actuated --budget 2hours`
    suggested 2000000 env steps, the cost of an agent's tune, not a baseline's."""
    from cli_helpers import one_error_line, run_cli

    line = one_error_line(*run_cli(["tune", "--controller", "vehicle-actuated", "--budget",
                                    "2hours", "--out", "never"], capsys))  # fmt: skip
    assert line == (
        "error: budget '2hours': use a wall-clock time like 4h, 30m, 90s or 1h30m, or a number "
        "of simulated episodes > 0 like 300 (a baseline tune's cost)"
    )
    line = one_error_line(*run_cli(["tune", "--agent", "dqn", "--budget", "2hours", "--out",
                                    "never"], capsys))  # fmt: skip
    assert "or a total cost > 0 like 2000000 (env steps with --cost steps" in line
    assert not Path("never").exists()
