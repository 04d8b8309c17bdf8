"""Tuning loop: agent search spaces, budget parsing, CLI errors, a synthetic tune with failures
and resume (no SUMO)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from intergreen.agents.config import resolve_hyperparameters
from intergreen.tuning import CARBS
from intergreen.tuning.agent_spaces import (
    TIMESTEPS,
    SearchSpaceConfigError,
    centre,
    hyperparams_from_suggestion,
    search_space,
    suggestion_from_hyperparams,
)
from intergreen.tuning.loop import Budget, TuneError, TuneSpec, parse_budget, tune
from intergreen.tuning.sessions import UNRECORDED, limit_text, limits_text, new_session
from intergreen.tuning.trials import load_trials

TS = (50_000, 2_000, 2_000_000)


# ----- search space -------------------------------------------------------------------------
@pytest.mark.parametrize("agent", ["ppo", "dqn"])
def test_presets_map_to_centres_and_back(agent: str) -> None:
    hp = resolve_hyperparameters(agent)
    params = search_space(agent, hp, TS)
    names = [p.name for p in params]
    assert names[-1] == TIMESTEPS
    c = centre(params)
    assert c == suggestion_from_hyperparams(agent, hp, TS[0], params)
    back, steps = hyperparams_from_suggestion(agent, c, hp)
    assert back == hp and steps == TS[0]
    assert c["net_width"] == 128 and c["gamma"] == pytest.approx(0.98)
    for p in params:  # the basic-space round trip returns the centre
        assert float(p.space.from_basic(p.space.to_basic(p.center))) == pytest.approx(p.center)
    extra = {"ppo": ("n_steps", "ent_coef"), "dqn": ("buffer_size", "exploration_fraction")}
    assert set(extra[agent]) <= set(names)


def test_integer_rounding_is_reachable_and_bounded() -> None:
    params = {p.name: p for p in search_space("ppo", resolve_hyperparameters("ppo"), TS)}
    width = params["net_width"].space
    lo, hi = width.basic_bounds()
    values = {int(width.from_basic(b)) for b in np.linspace(lo + 1e-9, hi - 1e-9, 2001)}
    assert {16, 128, 1024} <= values and all(v % 16 == 0 for v in values)
    # each rounded value maps back to itself through basic space
    assert all(int(width.from_basic(width.to_basic(v))) == v for v in values)
    steps = params[TIMESTEPS].space
    assert int(steps.from_basic(steps.to_basic(2_000))) == 2_000
    assert int(steps.from_basic(steps.to_basic(51_234))) == 51_200  # two digits at 2000


@pytest.mark.parametrize("name,floor", [("batch_size", 16), ("n_steps", 32)])
def test_integer_preset_below_its_bound_is_centred_on_the_bound(name: str, floor: int) -> None:
    hp = resolve_hyperparameters("ppo", None, {name: 8})
    param = next(p for p in search_space("ppo", hp, TS) if p.name == name)
    lo, hi = param.space.basic_bounds()
    values = {int(param.space.from_basic(b)) for b in np.linspace(lo, hi, 2001)}
    assert min(values) == floor  # the bound is reachable, nothing below it
    assert int(param.space.from_basic(param.space.to_basic(param.center))) == floor


def test_suggestion_to_sb3_kwargs() -> None:
    base = resolve_hyperparameters("ppo")
    s = {"learning_rate": 1e-3, "gamma": 0.99, "net_width": 64, "batch_size": 512,
         "n_steps": 256, "ent_coef": 0.001, TIMESTEPS: 1234}  # fmt: skip
    hp, steps = hyperparams_from_suggestion("ppo", s, base)
    assert hp["policy_kwargs"]["net_arch"] == [64, 64]
    assert hp["batch_size"] == 256  # clipped to the rollout
    # the README walk's trial: n_steps 1040 and batch 96 made SB3 warn of a truncated minibatch
    odd, _ = hyperparams_from_suggestion("ppo", {**s, "n_steps": 1040, "batch_size": 96}, base)
    assert odd["n_steps"] == 1040 and odd["batch_size"] == 80  # 1040 = 13 x 80
    assert steps == 1234 and hp["n_epochs"] == base["n_epochs"]
    dqn = search_space("dqn", resolve_hyperparameters("dqn", "study_dqn"), TS)
    assert centre(dqn)["net_width"] == 1000  # the preset's widest layer, strictly inside


def test_search_space_errors() -> None:
    hp = resolve_hyperparameters("ppo")
    with pytest.raises(SearchSpaceConfigError, match="cannot tune buffer_size for ppo"):
        search_space("ppo", hp, TS, names=["learning_rate", "buffer_size"])
    with pytest.raises(SearchSpaceConfigError, match="--timesteps 100 .* strictly between "
                       "--min-timesteps 200 and --max-timesteps 1,000"):  # fmt: skip
        search_space("ppo", hp, (100, 200, 1000))
    with pytest.raises(SearchSpaceConfigError, match="--min-timesteps 5,000 and "
                       "--max-timesteps 1,000: give 0 < min < max"):  # fmt: skip
        search_space("ppo", hp, (50_000, 5000, 1000))
    only = search_space("ppo", hp, TS, names=["learning_rate"])
    assert [p.name for p in only] == ["learning_rate", TIMESTEPS]


# ----- budget -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("4h", Budget("wall", 14_400)),
        ("30m", Budget("wall", 1_800)),
        ("90s", Budget("wall", 90)),
        ("1h30m", Budget("wall", 5_400)),
        ("0.5h", Budget("wall", 1_800)),
        ("2000000", Budget("cost", 2e6)),
        ("2_000_000", Budget("cost", 2e6)),
        ("1e6", Budget("cost", 1e6)),
        (5000, Budget("cost", 5000)),
    ],
)
def test_parse_budget(text: str, budget: Budget) -> None:
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["", "4x", "h", "-3", "0", "0s", "nan", "inf", "4 hours"])
def test_parse_budget_rejects(text: str) -> None:
    with pytest.raises(TuneError, match="wall-clock time like 4h"):
        parse_budget(text)


# ----- CLI user errors ----------------------------------------------------------------------
def _cli(capsys, *args: str) -> tuple[int, str]:
    from intergreen.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["tune", *args])
    return int(exc.value.code), capsys.readouterr().err


SHORT_DQN = ["--agent", "dqn", "--timesteps", "600", "--min-timesteps", "300",
             "--max-timesteps", "1000"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent", "sac"], "unknown agent 'sac'"),
        (["--agent", "ppo", "--budget", "4 hours"], "budget '4 hours'"),
        (["--agent", "ppo", "--out", "/proc/nope/tune"], "cannot write there"),
        (["--agent", "ppo", "--train-seeds", "0"], "'--train-seeds'"),
        (["--agent", "ppo", "--eval-seeds", "test"], "never on test seeds (they serve reports"),
        # every trial shorter than DQN's learning_starts would score an untrained network
        (
            SHORT_DQN,
            "--max-timesteps 1,000: DQN makes its first gradient step after "
            "learning_starts 2,000 decisions, so no trial would learn",
        ),
    ],
)
def test_cli_user_errors(tmp_path, capsys, args: list[str], message: str) -> None:
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "t")]
    code, err = _cli(capsys, *args)
    assert code == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0], err


# ----- a synthetic tune (no SUMO): failures, resume -----------------------------------------
def synthetic_trial(spec, trial_id, values, run_dir, seed):
    """Picklable stand-in for run_trial: a quadratic in log learning rate, cheaper = worse."""
    if trial_id == "t0002":
        raise RuntimeError("boom")
    if trial_id == "t0003":
        return {"output": math.nan, "timesteps": values[TIMESTEPS], "wall_s": 0.0}
    lr = values["learning_rate"]
    out = 10 + (math.log10(lr) + 3.0) ** 2 + 1e3 / values[TIMESTEPS]
    return {"output": out, "timesteps": values[TIMESTEPS], "train_s": 0.01, "wall_s": 0.0}


SPEC = TuneSpec(agent="ppo", params=("learning_rate", "gamma"), timesteps=(300, 100, 1000))


def test_synthetic_tune_failures_and_resume(tmp_path, capsys) -> None:
    out = tmp_path / "tune"
    r = tune(SPEC, "1h", out, workers=2, max_trials=5, progress=False,
             trial_fn=synthetic_trial, validate=False)  # fmt: skip
    status = {t["id"]: t["status"] for t in r.trials}
    assert status == {"t0000": "done", "t0001": "done", "t0002": "failed", "t0003": "failed",
                      "t0004": "done"}  # fmt: skip
    errors = {t["id"]: t.get("error") for t in r.trials}
    assert "boom" in errors["t0002"] and "non-finite" in errors["t0003"]
    carbs = CARBS.load(str(out / "carbs.json"))
    assert carbs.observation_count == 5 and not carbs.outstanding
    fails = {o["suggestion_id"] for o in carbs.observations if o["is_failure"]}
    assert fails == {"t0002", "t0003"}
    default = next(t for t in r.trials if t["id"] == "t0000")
    assert default["values"]["learning_rate"] == pytest.approx(3e-4)
    assert (out / "report.md").exists() and (out / "report.png").stat().st_size > 1000
    assert "Pareto front" in (out / "report.md").read_text()
    # tuned.json: the best finished trial, its decisions per agent and every trial's seed
    tuned = json.loads((out / "tuned.json").read_text())
    best = min((t for t in r.trials if t["status"] == "done"), key=lambda t: t["output"])
    assert tuned["best_trial"] == best["id"] and tuned["hyperparams"] == best["hyperparams"]
    assert tuned["timesteps"] == best["values"][TIMESTEPS]
    assert tuned["train_seeds"] == [0, 1, 2, 3, 4]
    assert tuned["validation"]["tuned_wait_s"] == pytest.approx(best["output"], abs=1e-3)
    assert tuned["budget"]["trials"] == 5 and tuned["budget"]["failed_trials"] == 2

    # same command again: nothing to do, nothing repeated
    again = tune(SPEC, "1h", out, workers=2, max_trials=5, progress=False,
                 trial_fn=synthetic_trial, validate=False)  # fmt: skip
    assert again.ran == [] and CARBS.load(str(out / "carbs.json")).observation_count == 5

    # an interrupted session: t0005 was suggested and running when the process died
    carbs = CARBS.load(str(out / "carbs.json"))
    s = carbs.suggest(suggestion_id="t0005").suggestion
    values = {k: v for k, v in s.items() if k != "suggestion_uuid"}
    rec = {"id": "t0005", "number": 5, "status": "running", "default": False,
           "values": values, "hyperparams": {}, "seed": 5}  # fmt: skip
    (out / "trials" / "t0005").mkdir(parents=True)
    (out / "trials" / "t0005" / "trial.json").write_text(json.dumps(rec))
    capsys.readouterr()
    more = tune(SPEC, "1h", out, workers=1, max_trials=7, progress=True,
                trial_fn=synthetic_trial, validate=False)  # fmt: skip
    assert more.ran == ["t0005", "t0006"]
    # said first: what is kept and what runs again (a re-run said nothing of either)
    printed = "".join(capsys.readouterr())
    assert (
        f"resuming {out}: 5 finished trials kept (2 failed), best so far {best['id']} "
        f"{best['output']:.2f} s; interrupted, run again from their newest checkpoints: t0005\n"
    ) in printed
    final = CARBS.load(str(out / "carbs.json"))
    assert final.observation_count == 7 and not final.outstanding
    ids = [o["suggestion_id"] for o in final.observations]
    assert len(ids) == len(set(ids))


def test_other_configuration_is_refused(tmp_path) -> None:
    out = tmp_path / "tune"
    tune(SPEC, 600, out, workers=1, max_trials=1, progress=False, trial_fn=synthetic_trial,
         validate=False, report=False)  # fmt: skip
    other = TuneSpec(agent="ppo", params=("learning_rate",), timesteps=(300, 100, 1000))
    with pytest.raises(TuneError, match="another configuration .*params"):
        tune(other, 600, out, workers=1, progress=False, trial_fn=synthetic_trial,
             validate=False)  # fmt: skip


def test_tune_written_before_a_new_spec_field_still_resumes(tmp_path) -> None:
    out = tmp_path / "tune"
    tune(SPEC, 600, out, workers=1, max_trials=1, progress=False, trial_fn=synthetic_trial,
         validate=False, report=False)  # fmt: skip
    doc = json.loads((out / "tune.json").read_text())
    del doc["spec"]["train_seeds"]  # as written before --train-seeds existed
    (out / "tune.json").write_text(json.dumps(doc))
    again = tune(SPEC, 600, out, workers=1, max_trials=2, progress=False,
                 trial_fn=synthetic_trial, validate=False, report=False)  # fmt: skip
    assert again.ran == ["t0001"]
    with pytest.raises(TuneError, match="another configuration .*train_seeds"):
        tune(replace(SPEC, train_seeds=2), 600, out, workers=1, progress=False,
             trial_fn=synthetic_trial, validate=False)  # fmt: skip


def test_a_rerun_keeps_the_limits_its_trials_ran_under(tmp_path) -> None:
    """tuned.json and report.md state the limits under which the trials were launched: a
    re-run that launches nothing changes neither, one that launches more adds its own."""
    out = tmp_path / "tune"
    kw = {"workers": 1, "progress": False, "trial_fn": synthetic_trial, "validate": False}

    def limit() -> str:
        return json.loads((out / "tuned.json").read_text())["budget"]["limit"]

    first = tune(SPEC, 100_000, out, max_trials=2, **kw)
    assert first.ran == ["t0000", "t0001"] and limit() == "2 trials or 100000 steps"
    used = f"budget 100,000 env steps, used {sum(t['cost'] for t in first.trials):,.0f}."
    assert used in (out / "report.md").read_text()
    again = tune(SPEC, "4h", out, max_trials=1, **kw)
    assert again.ran == [] and limit() == "2 trials or 100000 steps"
    assert used in (out / "report.md").read_text()  # not the 4 h of this session
    assert [s["max_trials"] for s in again.sessions] == [2, 1]
    more = tune(SPEC, "1h", out, max_trials=3, **kw)
    assert more.ran == ["t0002"]
    both = "t0000-t0001: 2 trials or 100000 steps; t0002: 3 trials or 3600 s wall clock"
    assert limit() == both
    assert (
        "limits " + both.replace("steps", "env steps") + "; used "
        in (out / "report.md").read_text()
    )
    assert [t["session"] for t in load_trials(out)] == [0, 0, 2]


def test_limits_of_sessions() -> None:
    wall = new_session("wall", 14400.0, 1)
    cost = new_session("cost", 3.0, 3)
    assert limit_text(wall, "episodes") == "1 trial or 14400 s wall clock"
    assert limit_text(cost, "episodes") == "3 trials or 3 episodes"
    assert limit_text(new_session("cost", 1.0, 1), "episodes") == "1 trial or 1 episode"
    assert limit_text(new_session("cost", 2.5e6, None), "steps") == "2.5e+06 steps"
    trials = [{"id": f"t{n:04d}", "number": n, "session": k}
              for n, k in [(0, 0), (1, 0), (2, 1), (3, 0), (5, 1)]]  # fmt: skip
    assert limits_text([cost, wall], trials, "episodes") == (
        "t0000-t0001, t0003: 3 trials or 3 episodes; t0002, t0005: 1 trial or 14400 s wall clock"
    )
    # trials recorded before sessions were kept (no "session"), or naming an unknown one
    old = [{"id": "t0000", "number": 0}, {"id": "t0001", "number": 1, "session": 7}]
    assert limits_text([wall], old, "episodes") == UNRECORDED
    # a re-run with the same limits (resuming an interrupted tune) is not a second limit
    again = new_session("cost", 3.0, 3)
    trials = [{"id": f"t{n:04d}", "number": n, "session": n // 2} for n in range(4)]
    assert limits_text([cost, again], trials, "episodes") == "3 trials or 3 episodes"
    assert limits_text([wall], [*old, {"id": "t0002", "number": 2, "session": 0}], "steps") == (
        f"t0000-t0001: {UNRECORDED}; t0002: 1 trial or 14400 s wall clock"
    )


def test_cost_budget_stops_launching(tmp_path) -> None:
    r = tune(SPEC, 700, tmp_path / "t", workers=1, progress=False, trial_fn=synthetic_trial,
             validate=False, report=False)  # fmt: skip
    spent = sum(t["cost"] for t in r.trials)
    last = r.trials[-1]["cost"]
    assert spent >= 700 and spent - last < 700


def test_train_seeds_must_be_positive(tmp_path) -> None:
    from intergreen.tuning.loop import validate_spec

    with pytest.raises(TuneError, match="train_seeds=0: must be >= 1"):
        validate_spec(replace(SPEC, train_seeds=0))


# ----- what a trial trained: adjusted hyperparameters, whole collections, the budget --------
ROLLOUT = 100


def rollout_trial(spec, trial_id, values, run_dir, seed):
    """Picklable stand-in for run_trial that trains as PPO does: whole rollouts of 100."""
    steps = -(-values[TIMESTEPS] // ROLLOUT) * ROLLOUT
    out = 10 + (math.log10(values["learning_rate"]) + 3.0) ** 2
    return {"output": out, "timesteps": steps, "train_s": 0.01, "wall_s": 0.0}


def test_trials_report_what_they_trained_and_the_budget_overshoot(tmp_path, capsys) -> None:
    spec = TuneSpec(agent="ppo", params=("learning_rate", "batch_size"), eval_episodes=1,
                    eval_duration=300.0, hyperparams={"n_steps": ROLLOUT},
                    timesteps=(250, 100, 1000))  # fmt: skip
    out = tmp_path / "tune"
    r = tune(spec, 400, out, workers=1, progress=True, trial_fn=rollout_trial, validate=False)
    t0 = r.trials[0]
    # the defaults: the preset's batch 128 trains as 100 (a divisor of n_steps), 250 as 300
    assert t0["values"]["batch_size"] == 128 and t0["values"][TIMESTEPS] == 250
    assert t0["trained"] == {**t0["values"], "batch_size": 100, TIMESTEPS: 300}
    assert t0["planned_timesteps"] == 300 and t0["cost"] == 300
    for t in r.trials:
        assert t["trained"]["batch_size"] == t["hyperparams"]["batch_size"]
        assert ROLLOUT % t["trained"]["batch_size"] == 0
        assert t["trained"][TIMESTEPS] == t["timesteps"] == t["planned_timesteps"]
    printed = " ".join("".join(capsys.readouterr()).split())  # rich wraps at 80 columns
    assert "batch_size=100 (suggested 128)" in printed
    assert "timesteps=300 (suggested 250)" in printed
    # the budget: 400 env steps; the second trial started at 300 and ran to its end
    used = sum(t["cost"] for t in r.trials)
    assert len(r.trials) == 2 and used > 400
    over = f"budget 400 env steps, used {used:,.0f}: {used - 400:,.0f} env steps " \
           f"({(used - 400) / 400:.0%}) over it"  # fmt: skip
    assert over in (out / "report.md").read_text()
    assert "| 100 (128) |" in (out / "report.md").read_text()
    assert "over 1 validation episode of 300 s at medium;" in (out / "report.md").read_text()
    # tuned.json: the decisions the best trial trained (what `timesteps: tuned` trains)
    tuned = json.loads((out / "tuned.json").read_text())
    best = min(r.trials, key=lambda t: t["output"])
    assert tuned["timesteps"] == best["timesteps"] and tuned["timesteps"] % ROLLOUT == 0
    assert tuned["suggested_timesteps"] == best["values"][TIMESTEPS]
    assert tuned["hyperparams"]["batch_size"] == best["trained"]["batch_size"]


def test_trials_train_whole_rollouts_within_the_maximum() -> None:
    """A PPO trial trains whole rollouts: rounded up, or down where up would pass
    --max-timesteps (it overshot by up to one rollout); never less than one rollout."""
    spec = TuneSpec(agent="ppo", hyperparams={"n_steps": ROLLOUT}, timesteps=(500, 100, 950))
    hp = spec.base_hyperparams()
    assert spec.planned_timesteps(hp, 250) == 300  # up, within the maximum
    assert spec.planned_timesteps(hp, 900) == 900
    assert spec.planned_timesteps(hp, 940) == 900  # up would be 1000 > 950: down
    assert spec.planned_timesteps(hp, 950) == 900
    small = TuneSpec(agent="ppo", hyperparams={"n_steps": 2048}, timesteps=(500, 100, 950))
    assert small.planned_timesteps(small.base_hyperparams(), 900) == 2048  # one rollout at least
    dqn = TuneSpec(agent="dqn", hyperparams={"train_freq": 4}, timesteps=(500, 100, 950))
    assert dqn.planned_timesteps(dqn.base_hyperparams(), 949) == 948


def test_a_dqn_tune_notes_trials_too_short_to_learn(capsys) -> None:
    """Trials shorter than learning_starts score an untrained network: said before the tune
    (the whole range below it is refused, test_cli_user_errors)."""
    from intergreen.tuning.loop import _check_learning_starts

    _check_learning_starts(TuneSpec(agent="dqn", timesteps=(5000, 1000, 9000)))
    err = capsys.readouterr().err
    assert "note: trials of fewer than learning_starts 2,000 decisions (--min-timesteps 1,000)" in (
        " ".join(err.split())
    )
    _check_learning_starts(TuneSpec(agent="dqn", hyperparams={"learning_starts": 500},
                                    timesteps=(5000, 1000, 9000)))  # fmt: skip
    _check_learning_starts(TuneSpec(agent="ppo", timesteps=(300, 100, 1000)))
    assert capsys.readouterr().err == ""
