"""`intergreen tune` on the command line: which options each mode takes, refusals that leave
no folder, the budget record of a resumed tune, and lines that stay whole in a pipe (real SUMO
for the baseline tunes: 120 s episodes)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli, run_cli_flat

from intergreen.junctions.baselines import TUNABLE
from intergreen.tuning.cli import AGENT_ONLY, tune_command

#: A valid value of each option that only an agent tune uses (a baseline tune refuses them).
AGENT_VALUES = {
    "--reward": "queue",
    "--cost": "seconds",
    "--demand": "medium",
    "--train-seeds": "2",
    "--timesteps": "1000",
    "--min-timesteps": "100",
    "--max-timesteps": "5000",
    "--params": "learning_rate",
    "--preset": "study_dqn",
    "--hp": "learning_rate=0.001",
}
#: Options of both modes (besides --agent and --controller themselves).
BOTH = {"out", "budget", "workers", "junction", "eval_demands", "eval_episodes", "eval_seeds",
        "eval_duration", "max_trials", "seed", "progress"}  # fmt: skip
TINY = ["--eval-demands", "low", "--eval-episodes", "1", "--eval-duration", "120", "--workers",
        "1", "--no-progress"]  # fmt: skip


def test_every_option_has_a_mode() -> None:
    """A new option must be classed: both modes, or --agent only (then refused with
    --controller)."""
    import inspect

    names = set(inspect.signature(tune_command).parameters) - {"ctx", "agent", "controller"}
    assert names == BOTH | set(AGENT_ONLY)
    assert set(AGENT_ONLY.values()) == set(AGENT_VALUES)


@pytest.mark.parametrize("flag", sorted(AGENT_VALUES))
def test_agent_only_options_are_refused_for_a_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    out = tmp_path / "tb" / "1"
    args = ["tune", "--controller", "vehicle-actuated", "--out", str(out), *TINY]
    line = one_error_line(*run_cli([*args, flag, AGENT_VALUES[flag]], capsys))
    assert line == f"error: {flag}: applies only to --agent (a --controller tune trains " \
                   "nothing); remove it"  # fmt: skip
    assert not (tmp_path / "tb").exists()


def test_several_agent_only_options_are_named_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tune", "--controller", "fixed-time", "--out", str(tmp_path / "t"), "--reward",
            "foo", "--hp", "lr=1"]  # fmt: skip
    line = one_error_line(*run_cli(args, capsys))
    assert line.startswith("error: --reward, --hp: apply only to --agent")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("mode", [["--agent", "dqn"], ["--controller", "vehicle-actuated"]])
@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ("test", "--eval-seeds 'test': tuning selects settings, so it scores trials on the "
                 "validation seeds, never on test seeds (they serve reports only)"),
        ("train", "never on train seeds (agents train on them)"),
        ("foo", "--eval-seeds 'foo': not a seed stream; tune trials are scored on the "
                "validation seeds: use --eval-seeds validation, the default"),
    ],
)  # fmt: skip
def test_eval_seeds_other_than_validation_are_refused_in_both_modes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: list[str], seeds: str, message: str
) -> None:
    out = tmp_path / "t"
    line = one_error_line(*run_cli(["tune", *mode, "--out", str(out), "--eval-seeds", seeds,
                                    *TINY, "--max-trials", "1"], capsys))  # fmt: skip
    assert message in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give one of --agent (dqn, ppo) or --controller (a baseline)"),
        (["--agent", "dqn", "--controller", "fixed-time"], "error: give --agent (dqn, ppo) or "
         "--controller (a baseline), not both"),
        (["--controller", "random"], "--controller 'random': tune one of"),
        (["--controller", "fixed-time", "--eval-demands", "rush"], "unknown demand 'rush'"),
        (["--controller", "fixed-time", "--budget", "soon"], "budget 'soon'"),
        (["--agent", "sac"], "unknown agent 'sac'"),
        (["--agent", "ppo", "--reward", "foo"], "foo"),
        (["--agent", "ppo", "--eval-demands", "rush"], "unknown demand 'rush'"),
        (["--controller", "vehicle-actuated", "--eval-duration", "1e9"], "--eval-duration "
         "1000000000: more than 604800 s (7 days) of simulated time"),
        (["--agent", "ppo", "--eval-duration", "604801"], "--eval-duration 604801: more than "
         "604800 s (7 days) of simulated time, the most one run may cover (MAX_SIM_SECONDS); "
         "give a shorter one"),
        (["--controller", "fixed-time", "--eval-demands", ""], "--eval-demands '': no demand "
         "level named; give levels separated by commas, e.g. --eval-demands medium, or leave "
         "--eval-demands out for the default"),
        (["--agent", "dqn", "--eval-demands", " , "], "--eval-demands ' , ': no demand level"),
        (["--controller", "fixed-time", "--eval-demands", "medium,medium"], "--eval-demands "
         "'medium,medium': names 'medium' more than once (its episodes would be simulated "
         "twice); give each level once, e.g. --eval-demands medium"),
        (["--agent", "ppo", "--eval-demands", "low,medium,low"], "give each level once, e.g. "
         "--eval-demands low,medium"),
    ],
)  # fmt: skip
def test_refused_tunes_leave_no_folder_and_keep_an_existing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    fresh = tmp_path / "tb" / "3"
    line = one_error_line(*run_cli(["tune", "--out", str(fresh), *args], capsys))
    assert message in line
    assert not (tmp_path / "tb").exists()  # neither the folder nor the parent it needed
    existing = tmp_path / "mine"
    existing.mkdir()
    one_error_line(*run_cli(["tune", "--out", str(existing), *args], capsys))
    assert existing.is_dir() and not any(existing.iterdir())


def _limit(out: Path) -> str:
    return json.loads((out / "tuned.json").read_text())["budget"]["limit"]


def test_a_rerun_keeps_the_limit_its_trials_ran_under(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user's finding: a re-run with another --max-trials rewrote the limit of trials it
    did not run (``'1 trials or 14400 s wall clock'`` next to ``trials: 3``)."""
    out = tmp_path / "va"
    args = ["tune", "--controller", "vehicle-actuated", "--out", str(out), *TINY]
    code, printed, err = run_cli([*args, "--budget", "2", "--max-trials", "2"], capsys)
    assert code == 0, err
    # the budget and what it used, as an agent tune says them (the line had neither)
    assert printed.splitlines()[0] == f"2 trials in {out} (2 run now); budget 2 episodes, used 2"
    assert _limit(out) == "2 trials or 2 episodes"
    tuned_before = (out / "tuned.json").read_text()

    code, printed, err = run_cli([*args, "--max-trials", "1"], capsys)  # nothing to launch
    assert code == 0, err
    assert printed.splitlines()[0] == (
        f"2 trials in {out} (0 run now); budget 2 episodes, used 2"
    )  # the sessions that ran the trials; this one launched none
    doc = json.loads((out / "tuned.json").read_text())
    assert doc["budget"]["limit"] == "2 trials or 2 episodes" and doc["budget"]["trials"] == 2
    assert doc["params"] == json.loads(tuned_before)["params"]
    sessions = json.loads((out / "tune.json").read_text())["sessions"]
    assert [(s["budget"], s["max_trials"]) for s in sessions] == [
        ({"kind": "cost", "amount": 2.0}, 2),
        ({"kind": "wall", "amount": 14400.0}, 1),
    ]

    code, printed, err = run_cli([*args, "--max-trials", "3", "--budget", "1h"], capsys)
    assert code == 0, err
    assert printed.splitlines()[0].startswith(
        f"3 trials in {out} (1 run now); limits t0000-t0001: 2 trials or 2 episodes; t0002: 3 "
        "trials or 3600 s wall clock; used "
    )
    assert printed.splitlines()[0].endswith(" min of wall clock, 3 episodes")
    doc = json.loads((out / "tuned.json").read_text())
    assert doc["budget"]["limit"] == (
        "t0000-t0001: 2 trials or 2 episodes; t0002: 3 trials or 3600 s wall clock"
    )
    assert doc["budget"]["trials"] == 3 and doc["budget"]["episodes"] == 3
    trials = [json.loads(x) for x in (out / "trials.jsonl").read_text().splitlines()]
    assert [t["session"] for t in trials] == [0, 0, 2]


def test_printed_paths_and_commands_stay_on_one_line_in_a_pipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """capsys is a pipe: rich would wrap at 80 columns, so the command to copy broke across
    lines. A path with a space is quoted in the command."""
    out = tmp_path / ("a long folder name with spaces, longer than a pipe's eighty columns" * 2)
    code, printed, err = run_cli(["tune", "--controller", "vehicle-actuated", "--out", str(out),
                                  *TINY, "--max-trials", "1"], capsys)  # fmt: skip
    assert code == 0, err
    lines = printed.splitlines()
    assert lines[0].startswith(f"1 trial in {out} (1 run now); budget 240.0 min of wall clock")
    assert f"tuned parameters: {out / 'tuned.json'}" in lines
    command = lines[lines.index(f"tuned parameters: {out / 'tuned.json'}") + 1]
    assert command.startswith("run them: intergreen simulate")
    assert shlex.split(command.removeprefix("run them: ")) == [
        "intergreen", "simulate", "--controller", str(out / "tuned.json"), "--junction",
        "gm_a56", "--demand", "low", "--duration", "120",  # the tune's episodes
    ]  # fmt: skip
    default = json.loads((out / "tuned.json").read_text())["validation"]["default_wait_s"]
    assert lines[lines.index(command) - 2].endswith(
        f"s on validation seeds (the defaults: {default:.2f} s)"
    )
    assert len(command) > 200  # long, and still one line


def test_tune_help_lists_every_tunable_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli_flat(["tune", "--help"], capsys)
    assert code == 0
    assert "camera-actuated" in TUNABLE  # it was left out of the help
    for name in TUNABLE:
        assert name in out, name


def test_an_interrupted_tune_says_what_it_kept_and_how_to_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM printed only 'interrupted' / 'terminated'."""
    import intergreen.tuning.baseline_tune as baseline_tune

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(baseline_tune, "tune_baseline", stopped)
    out = tmp_path / "va"
    code, _, err = run_cli(["tune", "--controller", "vehicle-actuated", "--out", str(out), *TINY],
                           capsys)  # fmt: skip
    assert code == 130
    assert " ".join(err.split()) == (
        f"interrupted: 0 finished trials kept in {out}; run the same command again (the same "
        "--out and options) to continue: finished trials are not repeated"
    )


def test_a_tune_whose_best_trial_ran_the_defaults_says_so(tmp_path: Path) -> None:
    """A best trial with the defaults' values (CARBS returns them rounded: 0.0004999999 for
    0.0005) was presented as a tuning result."""
    from intergreen.agents.tuned_params import changed_hyperparams

    defaults = {"learning_rate": 0.0005, "gamma": 0.98, "policy_kwargs": {"net_arch": [128, 128]},
                "batch_size": 64}  # fmt: skip
    rounded = {"learning_rate": 0.00049999999, "gamma": 0.9799999999,
               "policy_kwargs": {"net_arch": [128, 128]}, "batch_size": 64}  # fmt: skip
    assert changed_hyperparams(rounded, defaults) == {}
    assert changed_hyperparams({**rounded, "gamma": 0.95}, defaults) == {"gamma": 0.95}
    assert changed_hyperparams({**rounded, "batch_size": 65}, defaults) == {"batch_size": 65}
    assert changed_hyperparams({"net": [128, 64]}, {"net": [128, 128]}) == {"net": [128, 64]}
    assert changed_hyperparams({"flag": True}, {"flag": False}) == {"flag": True}
    assert changed_hyperparams({"new": 1.0}, {}) == {"new": 1.0}


def test_the_suggested_grid_runs_the_tunes_own_defaults(tmp_path: Path) -> None:
    """The printed grid's default arm was `{}` (the plain preset) while the tune's --hp and
    --preset reached only the tuned arm: at 360 decisions the default DQN never learnt."""
    from intergreen.tuning.cli import _defaults_arm
    from intergreen.tuning.loop import TuneSpec

    assert _defaults_arm(TuneSpec(agent="dqn")) == "{}"
    arm = _defaults_arm(TuneSpec(agent="dqn", preset="study_dqn",
                                 hyperparams={"learning_starts": 100}))  # fmt: skip
    assert arm == '{"preset": "study_dqn", "hyperparams": {"learning_starts": 100}}'
    import yaml

    line = f"agents: {{dqn: {arm}, dqn_tuned: {{tuned: t/tuned.json}}}}"  # as printed
    assert yaml.safe_load(line)["agents"]["dqn"] == {
        "preset": "study_dqn", "hyperparams": {"learning_starts": 100}
    }  # fmt: skip
