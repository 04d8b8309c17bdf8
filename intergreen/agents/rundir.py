"""A training run's folder: its recorded configuration, and the checks before writing to it.

``config.json`` holds what made the run: ``key`` (the hash that names it), ``intergreen_version``
and ``reward_version`` (both part of the key: a run made under other code or another reward
formula is another run), ``config`` (train()'s arguments), the resolved ``hyperparameters``
and environment options ``env``, and ``seeds`` (the seed scheme, base seed and role, the first
episode's reset seed of each env), and with greedy validation on, ``validation`` (its
schedule, demands, seeds, metric and backend: intergreen.agents.validation). A run on a
user's junction file also records ``junction_file``, its absolute path: ``config.junction`` is
the name as given (a path relative to the folder ``train`` ran in), which stays in the key, and
``junction_file`` lets the run be evaluated, simulated and resumed from any folder without
changing its key (runs recorded before it existed keep theirs and work as before).

``software`` records the versions of Python, SUMO and the learner's packages the run
started under (intergreen.version.software_versions; not part of the key: a resume under
others is allowed, and its line in ``resumes.jsonl`` records them).

``resumes.jsonl`` holds one line per resume of a killed run: the checkpoint's decision,
whether the envs replayed to exactly the observation recorded at it, and the software. A run
whose resume was not exact says so in its own folder (and in a report over it), not only in
a warning.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intergreen.common import atomic_write, field_changes, remove_stale_temporaries
from intergreen.errors import IntergreenError
from intergreen.junctions.catalog import junction_file
from intergreen.rewards.registry import canonical_reward
from intergreen.version import software_versions

if TYPE_CHECKING:
    from intergreen.agents.config import TrainConfig

#: The final model, and with validation on the best one by validation score and its record.
FINAL_MODEL = "model.zip"
BEST_MODEL = "best_model.zip"
BEST_INFO = "best.json"
#: One row per validation episode (intergreen.agents.validation).
VALIDATION_LOG = "validation.csv"
#: One line per resume (``record_resume``).
RESUMES = "resumes.jsonl"
#: What train() writes into a run folder (cleared by ``force``).
RUN_OUTPUTS = ("checkpoints", "tb", "metrics.csv", FINAL_MODEL, "done.json", VALIDATION_LOG,
               BEST_MODEL, BEST_INFO, RESUMES)  # fmt: skip


class RunDirError(IntergreenError, ValueError):
    """The run folder holds another run, or a checkpoint that cannot be read."""


def run_record(config: TrainConfig) -> dict[str, Any]:
    """config.json's content for a run of ``config``; ``reward_modules``: the user reward
    modules loaded (as a batch's grid.json records them), absent without."""
    import intergreen.seeds as seeds
    from intergreen.rewards.registry import module_location, reward_modules

    record = {
        "key": config.key(),
        **config.versions(),
        "config": config.model_dump(),
        "hyperparameters": config.resolved_hyperparameters(),
        "env": config.resolved_env_kwargs(),
        "seeds": seeds.describe(config.seed, "train", config.n_envs),
        "software": software_versions(),
    }
    if (path := junction_file(config.junction)) is not None:
        record["junction_file"] = str(path)
    if config.validate_every is not None:
        record["validation"] = config.validation_plan()
    if modules := reward_modules():  # a user's reward: evaluate names them where missing
        record["reward_modules"] = [module_location(m) for m in modules]
    return record


def _same_run_from_elsewhere(old: dict[str, Any], config: TrainConfig) -> bool:
    """Whether ``old`` (a config.json) records the run of ``config`` but for the junction
    named by another path to the same file (a resume typed in another folder): the recorded
    ``junction_file`` is the file ``config.junction`` names, and ``config``'s key with the
    recorded name in its place is the recorded key."""
    recorded = (old.get("config") or {}).get("junction")
    file = old.get("junction_file")
    if not isinstance(recorded, str) or recorded == config.junction or not file:
        return False
    here = junction_file(config.junction)
    if here is None or str(here) != file:
        return False
    return config.model_copy(update={"junction": recorded}).key() == old.get("key")


def _why_different(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What tells the run recorded in ``old`` (a config.json) from ``new`` (this run's record):
    the package version, the reward (compared in its canonical form, so one reward written
    differently is not named), its version, else the configuration fields that differ."""
    if old.get("intergreen_version") != new["intergreen_version"]:
        was = old.get("intergreen_version") or "an unrecorded version"
        return f"a run made under intergreen version {was} (this is {new['intergreen_version']})"
    old_config, config = old.get("config") or {}, new["config"]
    if "reward" in old_config and canonical_reward(old_config["reward"]) != config["reward"]:
        return (f"a run trained on reward {_shown(canonical_reward(old_config['reward']))} "
                f"(this is {_shown(config['reward'])})")  # fmt: skip
    if old.get("reward_version") != new["reward_version"]:
        was = old.get("reward_version") or "an unrecorded version"
        return f"a run made under reward version {was} (this is {new['reward_version']})"
    differ = field_changes(old_config, config)
    return "a run with another configuration" + (
        f" (recorded -> given: {'; '.join(differ)})" if differ else ""
    )


def _shown(reward: Any) -> str:
    """A reward spec as its user writes it: the name, or the JSON object."""
    return reward if isinstance(reward, str) else json.dumps(reward)


def prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool, force: bool) -> None:
    """Create the folder and write config.json, or check that the folder holds this run;
    RunDirError for another run's folder (unless ``force``, which clears it) or for this run's
    checkpoints without ``resume``. A resume deletes the temporary files of writes the kill
    interrupted (``common.remove_stale_temporaries``: a model or checkpoint half saved), so
    that a run killed many times keeps no dead copies. A run recorded with its junction as
    another path to the same file (typed from another folder) is this run: its config.json,
    key and recorded junction name stay as they are."""
    cfg_file = run_dir / "config.json"
    record = run_record(config)
    if cfg_file.exists():
        try:
            old = json.loads(cfg_file.read_text())
        except json.JSONDecodeError:
            old = {}
        same = old.get("key") == record["key"]
        if not same and _same_run_from_elsewhere(old, config):
            same, record = True, old
        if same and resume and "software" in old:
            record["software"] = old["software"]  # what it started under
        if not same and not force and holds_run(run_dir):
            raise RunDirError(
                f"{run_dir} holds {_why_different(old, record)}; use another --out, or --force "
                "to replace it"
            )
        if force and not (same and resume):
            clear_outputs(run_dir)
        elif not resume and (run_dir / "done.json").exists():
            raise RunDirError(
                f"{run_dir} already holds this run, complete ({_trained(run_dir)}); evaluate "
                f"it (intergreen evaluate {run_dir}), or --force to train it again"
            )
        elif not resume and (run_dir / "checkpoints").exists():
            raise RunDirError(
                f"{run_dir} already holds this run's checkpoints; use --resume to continue it "
                "or --force to start again"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        for folder in (run_dir, run_dir / "checkpoints"):
            if folder.is_dir():
                remove_stale_temporaries(folder)
    atomic_write(cfg_file, json.dumps(record, indent=2))


def _trained(run_dir: Path) -> str:
    """``'1,000 decisions'``: what a complete run's done.json says it trained."""
    try:
        return f"{int(json.loads((run_dir / 'done.json').read_text())['timesteps']):,} decisions"
    except (OSError, ValueError, KeyError, TypeError):
        return "done.json"


def complete_run_text(run_dir: Path) -> str:
    """What ``train --resume`` says of a run that is complete: nothing is trained."""
    return f"{run_dir} holds this run, complete ({_trained(run_dir)}): nothing to train"


#: What makes a folder hold a run: a checkpoint or a final model. A run that failed before its
#: first checkpoint (SB3 refusing a hyperparameter, a reward returning NaN in the first
#: episodes) holds neither: its config.json, metrics.csv, tb/ and validation logs are no run.
RUN_MARKS = ("checkpoints", FINAL_MODEL)


def holds_run(run_dir: Path) -> bool:
    """Whether a run ever reached its first checkpoint in ``run_dir`` (:data:`RUN_MARKS`): a
    folder that holds none may be taken by another configuration without ``--force``."""
    return any((run_dir / name).exists() for name in RUN_MARKS)


def discard_unstarted(run_dir: Path, created: bool) -> None:
    """Remove what a run that failed before its first checkpoint wrote (its config.json, which
    would claim a run the folder does not hold, and its :data:`RUN_OUTPUTS`: the logs), and the
    folder itself when this run ``created`` it and it is then empty; any other file (the
    user's) stays, and a folder holding a run (:func:`holds_run`) is left as it is."""
    if holds_run(run_dir):
        return
    clear_outputs(run_dir)
    (run_dir / "config.json").unlink(missing_ok=True)
    if created and run_dir.is_dir() and not any(run_dir.iterdir()):
        run_dir.rmdir()


def clear_outputs(run_dir: Path) -> None:
    for name in RUN_OUTPUTS:
        p = run_dir / name
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


def read_run_record(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's config.json; RunDirError when it is missing or unreadable."""
    try:
        payload = json.loads((Path(run_dir) / "config.json").read_text())
        assert isinstance(payload.get("config"), dict)
    except (OSError, json.JSONDecodeError, AssertionError) as e:
        raise RunDirError(f"{run_dir}: no readable config.json ({e})") from None
    return payload


def load_run_config(run_dir: str | Path) -> TrainConfig:
    """The TrainConfig recorded in a run folder."""
    from pydantic import ValidationError

    from intergreen.agents.config import TrainConfig
    from intergreen.errors import format_validation_error

    try:
        return TrainConfig.model_validate(read_run_record(run_dir)["config"])
    except ValidationError as e:
        raise RunDirError(format_validation_error(e, f"{run_dir}/config.json")) from None


def record_resume(run_dir: Path, step: int, differing: int) -> None:
    """Append a resume to ``RUN_DIR/resumes.jsonl``: ``step``, the checkpoint's decision;
    ``differing``, how many entries of the replayed observation (all envs) differ from the
    one recorded at the checkpoint (0: the run continues exactly; -1: none was recorded);
    ``software``, the versions it resumed under."""
    line = {"step": int(step), "exact": differing == 0, "differing_entries": int(differing),
            "software": software_versions()}  # fmt: skip
    with open(run_dir / RESUMES, "a") as f:
        f.write(json.dumps(line) + "\n")


def read_resumes(run_dir: Path) -> list[dict[str, Any]]:
    """The run's resumes in order (``record_resume``); empty for a run never resumed."""
    path = run_dir / RESUMES
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
