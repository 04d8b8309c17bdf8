"""The report's set-up sentences come from the recorded configuration; mixed versions are
refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from intergreen.experiments import provenance
from intergreen.experiments.report import build_report

HP = {"gamma": 0.9, "learning_rate": 0.0001, "policy_kwargs": {"net_arch": [64, 64]}}


def write_folder(
    root: Path,
    df: pd.DataFrame,
    junction: str = "gm_a56",
    hyperparameters: dict | None = None,
    env: dict | None = None,
    extra: dict[str, dict] | None = None,
) -> Path:
    """A results folder as `intergreen compare` writes it: results.parquet, grid.json and a
    config.json per run (``extra`` adds keys to the named runs' configs)."""
    root.mkdir(parents=True, exist_ok=True)
    df.to_parquet(root / "results.parquet")
    rewards = list(dict.fromkeys(df.loc[df.kind == "agent", "reward"]))
    grid = {"name": "synthetic", "junction": junction, "rewards": rewards,
            "agents": {"dqn": {"preset": "dqn", "hyperparams": {}}}, "train_demands": ["mixed"],
            "seeds": [1, 2], "training": {"timesteps": 5000, "n_envs": 1}}  # fmt: skip
    (root / "grid.json").write_text(json.dumps(grid))
    for (reward, seed), run in df[df.kind == "agent"].groupby(["reward", "train_seed"]):
        name = f"{reward}-dqn-s{seed}"
        payload = {
            "key": run["run_key"].iloc[0],
            "config": {"agent": "dqn", "junction": junction, "reward": reward,
                       "timesteps": 5000, "seed": int(seed), "preset": "dqn", "n_envs": 1},
            "hyperparameters": hyperparameters or HP,
            "env": {"decisions": "when_ready"} if env is None else env,
        }  # fmt: skip
        payload.update((extra or {}).get(name, {}))
        (root / "runs" / name).mkdir(parents=True)
        (root / "runs" / name / "config.json").write_text(json.dumps(payload))
    return root


def _results(make_results) -> pd.DataFrame:
    return make_results(
        {"queue": [10.0, 11.0], "average_speed": [9.0, 9.5]},
        baselines={"vehicle-actuated": 12.0}, episodes=3,
    )  # fmt: skip


def _setup_text(md: str) -> str:
    return md.split("## Set-up")[1].split("\n## ")[0]


def test_setup_sentences_follow_the_recorded_configuration(tmp_path, make_results):
    df = _results(make_results)
    root = write_folder(tmp_path / "a", df)
    md = build_report(root, reference="study", html=False)["markdown"].read_text()
    setup = _setup_text(md)
    assert "From the runs' own config.json (4 of 4 runs)" in setup
    assert "asked only when the controller can act" in setup and "gamma 0.9," in setup
    assert "maximum greens: none (a stage can be extended indefinitely)" in setup
    assert "no sensor noise" in setup and "seeded" not in md
    assert "learning rate 0.0001, hidden layers [64, 64]" in setup
    assert "5,000 decisions per run on 1 simulation" in setup
    assert "training seeds 1, 2 (2 per reward and agent)" in setup
    assert "the junction gm_a56 as shipped in this version (runs record its name only)" in setup
    assert (
        "3 test episodes per demand level (low) per run, the same 3 episode seeds for every "
        "controller (drawn from the test seed stream, from 1000 to 1002)"
    ) in setup
    differ = md.split("## Where we differ")[1].split("\n## ")[0]
    assert "gamma 0.9;" in differ and "The same as the study" not in differ
    assert "Ours: none (a stage can be extended indefinitely)" in differ
    assert "0.98" not in md  # nothing from today's preset leaks into a run that used 0.9

    study_like = {**HP, "gamma": 0.8}
    noise = {"sensor_noise": {"count_sd": 0.5, "miss_prob": 0.1}, "decisions": "when_ready"}
    root = write_folder(tmp_path / "b", df, "gm_a56_max_green", study_like, noise)
    md = build_report(root, reference="study", html=False)["markdown"].read_text()
    setup = _setup_text(md)
    assert "gm_a56_max_green (a variant of gm_a56)" in setup
    assert "maximum greens: stage 2 60 s, stage 4 40 s; none on stages 1, 3" in setup
    assert "seeded sensor noise: count_sd 0.5, miss_prob 0.1, dropout_prob 0" in setup
    differ = md.split("## Where we differ")[1].split("\n## ")[0]
    assert "gamma 0.8; the study's agent" in differ and "The same as the study." in differ
    assert "Ours: stage 2 60 s, stage 4 40 s" in differ
    assert "seeded sensor noise: count_sd 0.5" in differ

    root = write_folder(tmp_path / "c", df, env={"decisions": "every_interval"})
    setup = _setup_text(build_report(root, html=False)["markdown"].read_text())
    assert "asked every 0.6 s (a request during a change" in setup


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"queue-dqn-s1": {"intergreen_version": "0.2"}}, "0.2 (queue-dqn-s1); unrecorded ("),
        (
            {name: {"intergreen_version": v} for name, v in
             (("queue-dqn-s1", "0.2"), ("queue-dqn-s2", "0.3"), ("average_speed-dqn-s1", "0.3"),
              ("average_speed-dqn-s2", "0.3"))},
            "different intergreen versions: 0.2 (queue-dqn-s1); 0.3 (queue-dqn-s2, average_speed",
        ),
        (
            {"queue-dqn-s1": {"reward_version": "1"}, "queue-dqn-s2": {"reward_version": "2"}},
            "reward queue under different reward versions: 1 (queue-dqn-s1); 2 (queue-dqn-s2)",
        ),
    ],
)  # fmt: skip
def test_runs_of_different_versions_are_refused(tmp_path, make_results, capsys, extra, needle):
    from intergreen.cli import main

    root = write_folder(tmp_path / "r", _results(make_results), extra=extra)
    with pytest.raises(provenance.MixedVersionsError, match="re-run the other runs") as err:
        build_report(root)
    assert needle in str(err.value)
    assert not (root / "report.md").exists() and not (root / "plots").exists()
    with pytest.raises(SystemExit) as code:
        main(["report", str(root)])
    assert code.value.code == 2
    out = capsys.readouterr().err
    assert needle.split(" (")[0] in out and "Traceback" not in out


def test_versions_that_agree_are_reported(tmp_path, make_results):
    same = {"intergreen_version": "0.3", "reward_version": "1"}
    extra = {f"{r}-dqn-s{s}": same for r in ("queue", "average_speed") for s in (1, 2)}
    extra["average_speed-dqn-s1"] = extra["average_speed-dqn-s2"] = {**same, "reward_version": "2"}
    root = write_folder(tmp_path / "r", _results(make_results), extra=extra)
    md = build_report(root, html=False)["markdown"].read_text()
    assert "**Versions.** intergreen 0.3; reward versions: queue 1, average_speed 2." in md
    # runs of another version than the one building the report: the names may mean other
    # things (study_full's `vehicle-actuated` was the camera-zone controller)
    from intergreen.version import __version__

    assert f"This report was built with intergreen {__version__}: its names (demand levels, " in md
    assert provenance.version_text(pd.DataFrame({
        "intergreen_version": [__version__], "reward": ["queue"], "reward_version": ["1"],
    })) == (f"**Versions.** intergreen {__version__}; reward versions: queue 1. Software: not "
            "recorded.")  # fmt: skip
    # the runs' recorded SUMO and learner versions: one set, or each with its runs
    assert "Software (SUMO and the learner's packages): not recorded by the runs." in md
    sw = {"eclipse-sumo": "1.28.0", "stable-baselines3": "2.9.2", "python": "3.11.7"}
    texts = [provenance.software_text(x) for x in (sw, {**sw, "eclipse-sumo": "1.27.0"}, None)]
    assert texts[0] == "SUMO 1.28.0, stable-baselines3 2.9.2, Python 3.11.7"
    frame = pd.DataFrame({"intergreen_version": [__version__] * 4, "reward": ["queue"] * 4,
                          "reward_version": ["1"] * 4,
                          "software": [texts[0]] * 2 + texts[1:]})  # fmt: skip
    assert provenance.version_text(frame).endswith(
        "Software (the runs' config.json): SUMO 1.28.0, stable-baselines3 2.9.2, Python 3.11.7 "
        "(2 runs); SUMO 1.27.0, stable-baselines3 2.9.2, Python 3.11.7 (1 run); not recorded "
        "(1 run, made before intergreen recorded it)."
    )
    assert provenance.version_text(frame.iloc[:2]).endswith(
        "Software (every run's config.json): SUMO 1.28.0, stable-baselines3 2.9.2, Python 3.11.7."
    )


def test_versions_recorded_in_the_results_table_are_checked(tmp_path, make_results):
    df = _results(make_results)
    df["intergreen_version"] = ["0.1" if k == "queue-1" else "0.2" for k in df["run_key"]]
    root = tmp_path / "r"
    root.mkdir()
    df.to_parquet(root / "results.parquet")
    with pytest.raises(provenance.MixedVersionsError, match=r"0\.1 \(queue-dqn-s1\)"):
        build_report(root)


def test_configs_rebuilt_from_the_grid_only_where_the_run_keys_match(tmp_path, make_results):
    from intergreen.experiments.grid import load_grid

    grid = {"name": "g", "rewards": ["queue"], "agents": {"dqn": {"preset": "study_dqn"}},
            "seeds": [1, 2], "training": {"timesteps": 300}}  # fmt: skip
    cells = load_grid(grid).cells()
    df = make_results({"queue": [10.0, 11.0, 12.0]}, episodes=2)
    keys = {f"queue-{i + 1}": c.key() for i, c in enumerate(cells)} | {"queue-3": "0" * 16}
    df["run_key"] = df["run_key"].map(keys)
    rebuilt = provenance.reconstruct_run_configs(grid, df)
    assert sorted(p["key"] for p in rebuilt.values()) == sorted(c.key() for c in cells)
    assert {p["hyperparameters"]["gamma"] for p in rebuilt.values()} == {0.8}
    assert not any("software" in p for p in rebuilt.values())  # not claimed for the run
    root = tmp_path / "r"
    root.mkdir()
    df.to_parquet(root / "results.parquet")
    (root / "grid.json").write_text(json.dumps(grid))
    setup = provenance.read_setup(root, df, {})
    assert "the run keys in results.parquet match (2 of 3 runs)" in setup.source
    assert setup.gammas == [0.8] and setup.decisions == ["when_ready"]
    assert provenance.reconstruct_run_configs({**grid, "rewards": ["nope"]}, df) == {}


def test_setup_states_trained_decisions_the_junction_file_and_counts(tmp_path, make_results):
    """Runs that trained more than asked (whole collections) say so, from done.json or the
    results' final-model step; a user's junction file is named as such; 1 episode, 1 run."""
    df = make_results({"queue": [10.0, 11.0]}, episodes=1)
    root = write_folder(tmp_path / "a", df)
    setup = provenance.read_setup(root, df, provenance.load_run_configs(root, df))
    text = " ".join(provenance.setup_lines(setup))
    assert setup.trained == {} and "5,000 decisions per run on 1 simulation," in text
    assert "evaluation: 1 test episode per demand level (low) per run" in text
    (root / "runs" / "queue-dqn-s1" / "done.json").write_text(json.dumps({"timesteps": 5120}))
    df["checkpoint"] = "final"  # the other run: its final model's step in the results
    df["checkpoint_step"] = pd.array(
        [5004 if s == 2 else 1 for s in df["train_seed"].fillna(0)], dtype="Int64"
    )
    setup = provenance.read_setup(root, df, provenance.load_run_configs(root, df))
    assert setup.trained == {"dqn": [5120, 5004]}
    text = " ".join(provenance.setup_lines(setup))
    assert (
        "5,000 decisions per run as asked (the runs trained more, in whole collections, as "
        "training stops only between them: DQN 5,120 / 5,004) on 1 simulation"
    ) in text
    assert "its final model (2 runs)" in text

    own = tmp_path / "my_junction.yaml"
    own.write_text("extends: gm_a56\n")
    assert provenance.junction_source(str(own)) == (
        f"the junction file {own} as it is now (runs record its path only)"
    )
    assert provenance.junction_source("resco:cologne1").startswith("the RESCO scenario resco:")
    assert provenance.counted(1, "run") == "1 run"
    assert provenance.counted((1, 3), "run") == "1–3 runs"


def test_resumes_recorded_in_the_run_folders_are_stated_and_published(tmp_path, make_results):
    """Runs' resumes.jsonl (written by train on every resume) reach the report, with the runs
    that did not continue exactly named, and survive --publish (run_configs.json); a folder
    whose runs recorded none says nothing about interruptions."""
    from intergreen.agents.rundir import record_resume
    from intergreen.experiments.report import publish_report

    plain = write_folder(tmp_path / "plain", _results(make_results))
    assert "Interruptions" not in _setup_text(
        build_report(plain, html=False)["markdown"].read_text()
    )

    root = write_folder(tmp_path / "r", _results(make_results))
    record_resume(root / "runs" / "queue-dqn-s1", 50_000, 0)
    record_resume(root / "runs" / "queue-dqn-s1", 100_000, 0)
    record_resume(root / "runs" / "average_speed-dqn-s2", 150_000, 3)
    expected = (
        "**Interruptions.** 2 runs were killed and resumed from a checkpoint (3 resumes); 1 run "
        "did not continue exactly (the replayed simulation did not reach the observation "
        "recorded at the checkpoint; they went on from the replayed state, so they are not bit "
        "for bit an uninterrupted run): average_speed-dqn-s2 (at decision 150,000)."
    )
    assert expected in _setup_text(build_report(root, html=False)["markdown"].read_text())
    published = publish_report(root, tmp_path / "pub")["markdown"].read_text()
    assert expected in _setup_text(published)

    exact = write_folder(tmp_path / "exact", _results(make_results))
    record_resume(exact / "runs" / "queue-dqn-s2", 50_000, 0)
    text = _setup_text(build_report(exact, html=False)["markdown"].read_text())
    assert (
        "**Interruptions.** 1 run was killed and resumed from a checkpoint (1 resume), each "
        "exactly" in text
    )


def test_reused_runs_are_named_with_their_source() -> None:
    from intergreen.experiments.provenance import reuse_text

    assert reuse_text({}) is None
    one = reuse_text({"queue-dqn-s1-abc": {"from": "/r/conv", "grid": "convergence"}})
    assert one == (
        "**Reused runs.** 1 run was trained by another batch under the same run key (the same "
        "resolved configuration, package and reward versions) and copied here, its evaluations "
        "made again by this batch: 1 run from the results folder of grid 'convergence', "
        "/r/conv (queue-dqn-s1-abc)."
    )
    two = reuse_text({"b-s1": {"from": "/x"}, "a-s1": {"from": "/r", "grid": "g"},
                      "a-s2": {"from": "/r", "grid": "g"}})  # fmt: skip
    assert two is not None and two.startswith("**Reused runs.** 3 runs were trained")
    assert two.endswith(
        "2 runs from the results folder of grid 'g', /r (a-s1, a-s2); 1 run from the results "
        "folder of a batch, /x (b-s1)."
    )


def test_the_set_up_says_what_the_baselines_and_agents_ran_with():
    """A tuned baseline got no sentence (which file, which values, tuned on what), and a
    grid's hyperparameters over the preset (learning_starts 500) appeared nowhere."""
    setup = provenance.Setup(source="test")
    setup.simulated_s = 300.0
    setup.baselines = {
        "fixed-time": {"baseline": "fixed-time"},
        "vehicle-actuated:tuned": {
            "baseline": "vehicle-actuated:tuned", "tuned_file": "lib/tuned/va.json",
            "params": {"max_green": {"2": 21.0, "4": 26.2}, "extension": 1.148},
            "default_params": {"max_green": {"2": 40.0, "4": 40.0}, "extension": 1.5},
            "validation": {"seed_role": "validation", "demands": ["low", "high"],
                           "episodes_per_demand": 3, "duration_s": None,
                           "tuned_wait_s": 15.929, "default_wait_s": 17.276},
            "budget": {"method": "CARBS", "limit": "35 trials", "trials": 35,
                       "failed_trials": 0},
        },
    }  # fmt: skip
    assert provenance.baselines_text(setup) == (
        "**Baselines.** fixed-time with its default parameters; vehicle-actuated:tuned with the "
        "parameters in `lib/tuned/va.json` (max_green {2: 21, 4: 26.2}, extension 1.148; "
        "defaults max_green {2: 40, 4: 40}, extension 1.5), the best trial of a tune (CARBS): "
        "35 trials (0 failed; limit 35 trials), scored on 3 validation episodes per demand "
        "(low, high) of the junction's default length: 17.276 s with the defaults, 15.929 s "
        "tuned."
    )  # the junction is not known here: its default length is not called another
    tuned = setup.baselines["vehicle-actuated:tuned"]
    tuned["validation"]["duration_s"] = 900
    assert provenance.baselines_text(setup).endswith(
        "(low, high) of 900 s: 17.276 s with the defaults, 15.929 s tuned (tuned on episodes of "
        "another length than this report's 300 s test episodes)."
    )


def test_a_tuned_baseline_of_the_junction_s_default_length_is_not_called_another_length():
    """A tune without a duration ran its demands' own length (gm_a56: 1800 s), yet the report
    said it was "tuned on episodes of another length" than the study's 1800 s test episodes;
    and the tuned file was shown as the recording machine's absolute path."""
    from intergreen.junctions.catalog import resolve_junction

    setup = provenance.Setup(source="test", junction_name="gm_a56")
    setup.junction, setup.simulated_s = resolve_junction("gm_a56"), 1800.0
    study = "/work/study/intergreen/junctions/library/gm_a56/tuned/fixed-time.json"
    setup.baselines = {
        "fixed-time:tuned": {
            "baseline": "fixed-time:tuned", "tuned_file": study, "junction": "gm_a56",
            "params": {"cycle_factor": 1.0}, "default_params": {"cycle_factor": 1.0},
            "validation": {"seed_role": "validation", "demands": ["low", "medium", "high"],
                           "episodes_per_demand": 3, "duration_s": None,
                           "tuned_wait_s": 18.551, "default_wait_s": 18.551},
            "budget": {"method": "CARBS", "limit": "35 trials", "trials": 35,
                       "failed_trials": 0},
        },
    }  # fmt: skip
    assert provenance.baselines_text(setup) == (
        "**Baselines.** fixed-time:tuned with the parameters in "
        "`intergreen/junctions/library/gm_a56/tuned/fixed-time.json` (cycle_factor 1; defaults "
        "cycle_factor 1), the best trial of a tune (CARBS): 35 trials (0 failed; limit 35 "
        "trials), scored on 3 validation episodes per demand (low, medium, high) of 1800 s: "
        "18.551 s with the defaults, 18.551 s tuned."
    )
    setup.junction, setup.simulated_s = None, 300.0  # resolved from the cell's junction
    assert provenance.baselines_text(setup).endswith(
        "of 1800 s: 18.551 s with the defaults, 18.551 s tuned (tuned on episodes of another "
        "length than this report's 300 s test episodes)."
    )


def test_a_tuned_file_is_shown_from_its_package_folder():
    shown = provenance.shown_tuned_file
    assert shown("/a/intergreen/src/intergreen/junctions/library/x/tuned/va.json") == (
        "intergreen/junctions/library/x/tuned/va.json"
    )
    assert shown("/home/u/my_junction/tuned/va.json") == "/home/u/my_junction/tuned/va.json"
    assert shown("lib/intergreen/junctions/va.json") == "lib/intergreen/junctions/va.json"
    assert shown(None) is None
    assert provenance._overrides_text({"learning_starts": 500, "buffer_size": 1000}) == (
        "buffer_size 1000, learning_starts 500"
    )
    assert provenance._overrides_text({}) is None
    # gamma, learning rate and hidden layers are stated with their values already
    assert provenance._overrides_text({"gamma": 0.9, "policy_kwargs": {"net_arch": [8]}}) is None


def test_a_published_report_keeps_what_the_tuned_baselines_ran_with(tmp_path, make_results):
    """--publish copied the runs' configurations but not the baselines' cell.json, so the
    published report said a tuned baseline ran "with its default parameters" (found on the
    reward study's rerun); baseline_cells.json keeps them, and a variant whose cell is lost
    is never called default."""
    from intergreen.experiments.report import publish_report

    df = make_results(
        {"queue": [10.0, 11.0]}, baselines={"fixed-time": 12.0, "fixed-time:tuned": 11.0},
        episodes=3,
    )  # fmt: skip
    root = write_folder(tmp_path / "r", df)
    tuned = {
        "baseline": "fixed-time:tuned", "tuned_file": "lib/tuned/ft.json",
        "params": {"cycle_factor": 0.9}, "default_params": {"cycle_factor": 1.0},
        "validation": {"seed_role": "validation", "demands": ["low"], "episodes_per_demand": 3,
                       "duration_s": 300.0, "tuned_wait_s": 11.5, "default_wait_s": 12.1},
        "budget": {"method": "CARBS", "limit": "35 trials", "trials": 35, "failed_trials": 0},
    }  # fmt: skip
    for name, cell in (("fixed-time", {"baseline": "fixed-time"}), ("fixed-time:tuned", tuned)):
        (root / "baselines" / f"{name}-k").mkdir(parents=True)
        (root / "baselines" / f"{name}-k" / "cell.json").write_text(json.dumps(cell))
    expected = (
        "**Baselines.** fixed-time with its default parameters; fixed-time:tuned with the "
        "parameters in `lib/tuned/ft.json` (cycle_factor 0.9; defaults cycle_factor 1), the best "
        "trial of a tune (CARBS): 35 trials (0 failed; limit 35 trials), scored on 3 validation "
        "episodes per demand (low) of 300 s: 12.1 s with the defaults, 11.5 s tuned."
    )
    assert expected in _setup_text(build_report(root, html=False)["markdown"].read_text())
    pub = tmp_path / "pub"
    assert expected in _setup_text(publish_report(root, pub)["markdown"].read_text())
    assert json.loads((pub / "baseline_cells.json").read_text())["fixed-time:tuned"] == tuned
    # regenerated from the published folder alone (no baselines/): the same sentence
    assert expected in _setup_text(build_report(pub, html=False)["markdown"].read_text())
    # a tuned baseline whose cell is lost is not called default
    (pub / "baseline_cells.json").unlink()
    assert (
        "**Baselines.** fixed-time with its default parameters; fixed-time:tuned with parameters "
        "this folder does not record (no cell.json or baseline_cells.json)."
    ) in _setup_text(build_report(pub, html=False)["markdown"].read_text())


def test_shared_evaluation_seeds_are_named_by_their_stream_not_their_hashes(tmp_path, make_results):
    """Derived seeds are 63-bit hashes: the set-up names the stream's episodes they are (and
    only when they are exactly that set); other seeds keep their range."""
    from intergreen.seeds import episode_seeds

    df = _results(make_results)
    shared = episode_seeds("test", 3)
    df["eval_seed"] = df["eval_seed"].map(dict(zip([1000, 1001, 1002], shared, strict=True)))
    root = write_folder(tmp_path / "a", df)
    setup = _setup_text(build_report(root, html=False)["markdown"].read_text())
    assert (
        "the same 3 episode seeds for every controller (episodes 0–2 of the test seed stream: "
        '`intergreen.seeds.episode_seeds("test", 3)`)'
    ) in setup
    assert str(max(shared)) not in setup
    assert provenance.is_shared_set(shared[::-1], "test")
    # one seed off the set, another stream's, or the wrong role: not the shared set
    assert not provenance.is_shared_set([*shared[:2], shared[2] + 1], "test")
    assert not provenance.is_shared_set(episode_seeds("test", 3, start=1), "test")
    assert not provenance.is_shared_set(shared, "validation")
    assert not provenance.is_shared_set([], "test")
    assert provenance.stream_text("validation", 1) == (
        'episode 0 of the validation seed stream: `intergreen.seeds.episode_seeds("validation", 1)`'
    )


def test_a_users_reward_is_named_as_such_with_its_module(tmp_path, make_results) -> None:
    """A new user's trial: the report never said that long_queues was their own code."""
    df = make_results({"queue": [10.0, 11.0], "my_long_queues": [9.0, 9.5]}, episodes=2)
    root = write_folder(tmp_path / "a", df)
    grid = json.loads((root / "grid.json").read_text())
    grid["reward_modules"] = ["/home/me/my_rewards.py"]
    (root / "grid.json").write_text(json.dumps(grid))
    setup = _setup_text(build_report(root, html=False)["markdown"].read_text())
    assert (
        "**User rewards.** my_long_queues is not among intergreen's built-in rewards: registered "
        "by `/home/me/my_rewards.py` (the reward modules the runs recorded), whose code defines "
        "them."
    ) in setup
    assert "queue is not" not in setup


def test_the_choice_says_which_validation_episodes_also_chose_checkpoints() -> None:
    """The best reward's validation episodes (episodes 0-9 of the stream) include the two
    that chose each run's checkpoint: the report says the selections share them."""
    from intergreen.seeds import episode_seeds

    ten = episode_seeds("validation", 10)
    results = pd.DataFrame({"split": ["validation"] * 10 + ["test"], "eval_seed": [*ten, 7]})
    configs = {"run": {"validation": {"seeds": ten[:2]}}}
    assert provenance.shared_selection_text(configs, results) == (
        " 2 of these episodes per level also chose each run's checkpoint (its validation "
        "during training), so the two selections share them; neither reads a test episode."
    )
    elsewhere = {"run": {"validation": {"seeds": episode_seeds("validation", 2, start=50)}}}
    assert provenance.shared_selection_text(elsewhere, results) == ""
    assert provenance.shared_selection_text({"run": {}}, results) == ""
    assert provenance.shared_selection_text(configs, results.drop(columns="split")) == ""
