"""What a report may say about how its runs were made: read from what the runs recorded.

Sources, best first: each run's ``config.json`` (``runs/*/config.json`` of a results
folder, or ``run_configs.json`` of a published one: the same payloads by run name), holding
the resolved hyperparameters and environment options; ``grid.json`` (the batch's grid);
the junction spec named there; the results table itself (episodes, test seeds, simulated
seconds). A folder without run configs is resolved from ``grid.json`` with the presets of
this version, and the report says whether the run keys recorded in ``results.parquet``
match (the key hashes the resolved configuration, so a match proves the settings).

``check_versions`` refuses a report over runs made under different code or reward
versions (``intergreen_version``, ``reward_version`` in config.json, or columns of the same
names in the results); a run that recorded none counts as version ``unrecorded``.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import intergreen.version as version
from intergreen.agents.rundir import read_resumes
from intergreen.common import read_json, span
from intergreen.errors import IntergreenError
from intergreen.experiments.seed_extension import DECIDED, read_decision

RUN_CONFIGS = "run_configs.json"
#: a published folder's record of what each baseline ran with (name -> its cell.json)
BASELINE_CELLS = "baseline_cells.json"
#: in a run folder the runner copied from another batch (``run_batch(reuse=...)``)
REUSED = "reused.json"
VERSION_KEYS = ("intergreen_version", "reward_version")
UNRECORDED = "unrecorded"
NOISE_FIELDS = ("count_sd", "miss_prob", "dropout_prob")


class MixedVersionsError(IntergreenError, ValueError):
    """Runs made under different code or reward versions in one report."""


# ----- run configurations -------------------------------------------------------------------
def _agent_keys(results: pd.DataFrame) -> set[str]:
    if "run_key" not in results:
        return set()
    return set(results.loc[results["kind"] == "agent", "run_key"].dropna().astype(str))


def load_run_configs(root: Path, results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Run name -> config.json payload, for the agent runs whose results are in ``results``
    (matched by key): from ``runs/*/config.json``, with the run's resumes under ``resumes``
    where it was resumed (``resumes.jsonl``) and where its training was copied from under
    ``reused`` (``reused.json``, the runner's ``reuse``), else from ``run_configs.json``."""
    keys = _agent_keys(results)
    configs: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "runs").glob("*/config.json")):
        payload = read_json(path)
        if isinstance(payload, dict) and payload.get("key") in keys:
            resumes = read_resumes(path.parent)
            reused = read_json(path.parent / REUSED)
            configs[path.parent.name] = (
                payload
                | ({"resumes": resumes} if resumes else {})
                | ({"reused": reused} if isinstance(reused, dict) else {})
            )
    if not configs:
        stored = read_json(root / RUN_CONFIGS)
        if isinstance(stored, dict):
            configs = {
                name: p for name, p in stored.items()
                if isinstance(p, dict) and p.get("key") in keys
            }  # fmt: skip
    return configs


def reconstruct_run_configs(grid: dict[str, Any], results: pd.DataFrame) -> dict[str, Any]:
    """config.json payloads rebuilt from ``grid`` with the presets of this version, for the
    cells whose key matches a run key in ``results`` (so the rebuilt settings are the ones the
    run used); each is marked ``"reconstructed"``. Empty when the grid does not load."""
    from intergreen.agents.rundir import run_record
    from intergreen.experiments.grid import GridError, load_grid

    try:
        cells = load_grid(grid).cells()
    except (GridError, ValueError):
        return {}
    keys = _agent_keys(results)
    out: dict[str, Any] = {}
    for cell in cells:
        config = cell.train_config()
        if config.key() not in keys:
            continue
        record = run_record(config)  # the key holds the versions too: a match proves them
        record.pop("software")  # not in the key: this machine's, not the run's
        record.pop("reward_modules", None)  # this process's modules, not the run's
        out[cell.dir_name()] = {
            **record,
            "reconstructed": "from grid.json and the presets of this version; the key matches "
            "the run key recorded in results.parquet",
        }
    return out


# ----- versions -----------------------------------------------------------------------------
def _version(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, (payload.get("config") or {}).get(key))
    return str(value) if value not in (None, "") else UNRECORDED


def run_versions(configs: dict[str, dict[str, Any]], results: pd.DataFrame) -> pd.DataFrame:
    """One row per agent run in ``results``: run (name), reward, intergreen_version,
    reward_version (``unrecorded`` where neither config.json nor the results say), and
    software (:func:`software_text` of config.json's ``software``)."""
    by_key = {p.get("key"): (name, p) for name, p in configs.items()}
    agents = results[results["kind"] == "agent"]
    rows = []
    if agents.empty or "run_key" not in agents:
        return pd.DataFrame(columns=["run", "reward", *VERSION_KEYS, "software"])
    for key, run in agents.groupby("run_key", sort=False):
        first = run.iloc[0]
        name, payload = by_key.get(key, (None, {}))
        row = {
            "run": name or f"{first['reward']}-{first['agent']}-s{first['train_seed']}",
            "reward": str(first["reward"]),
        }
        for k in VERSION_KEYS:
            value = _version(payload, k)
            if value == UNRECORDED and k in run:
                values = run[k].dropna().astype(str).unique()
                value = values[0] if len(values) == 1 else (UNRECORDED if not len(values) else
                                                            "/".join(sorted(values)))  # fmt: skip
            row[k] = value
        row["software"] = software_text(payload.get("software"))
        rows.append(row)
    return pd.DataFrame(rows)


#: How :func:`software_text` names the recorded distributions, in its order.
_SOFTWARE_NAMES = {"eclipse-sumo": "SUMO", "stable-baselines3": "stable-baselines3",
                   "torch": "torch", "gymnasium": "gymnasium", "numpy": "numpy",
                   "sumo-rl": "sumo-rl", "python": "Python"}  # fmt: skip


def software_text(software: Any) -> str:
    """A run's recorded ``software`` (config.json, intergreen.version.software_versions) as
    ``"SUMO 1.28.0, stable-baselines3 2.9.2, ..."``; :data:`UNRECORDED` for a run that
    recorded none (made before intergreen recorded it)."""
    if not isinstance(software, dict) or not software:
        return UNRECORDED
    return ", ".join(
        f"{shown} {software[k]}" for k, shown in _SOFTWARE_NAMES.items() if k in software
    )


def _runs_text(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit]) + (f", … ({len(names)} runs)" if len(names) > limit else "")
    return shown


def check_versions(versions: pd.DataFrame, where: str) -> None:
    """Raise MixedVersionsError (one line: which runs, which versions, what to do) when the
    runs differ in code version, or the runs of one reward in reward version."""
    problems = []
    if not versions.empty:
        groups = versions.groupby("intergreen_version", sort=True)["run"].apply(list)
        if len(groups) > 1:
            problems.append(
                "runs made under different intergreen versions: "
                + "; ".join(f"{v} ({_runs_text(r)})" for v, r in groups.items())
            )
        for reward, runs in versions.groupby("reward", sort=False):
            by = runs.groupby("reward_version", sort=True)["run"].apply(list)
            if len(by) > 1:
                problems.append(
                    f"reward {reward} under different reward versions: "
                    + "; ".join(f"{v} ({_runs_text(r)})" for v, r in by.items())
                )
    if problems:
        raise MixedVersionsError(
            f"{where}: " + "; ".join(problems) + ". A report compares runs of one version: "
            "re-run the other runs with the current code into a fresh folder (`intergreen "
            "compare GRID --out NEW`), or report each version's results folder on its own"
        )


# ----- the set-up ---------------------------------------------------------------------------
@dataclass
class Setup:
    """The facts a report states about its runs, each with a value per distinct setting."""

    source: str
    junction_name: str = "?"
    junction: Any = None  # JunctionSpec, or None when it does not load
    #: the junction file's absolute path the batch or its runs recorded (grid.json's or
    #: config.json's ``junction_file``) where it exists, the one loaded; None: loaded by name
    junction_file: str | None = None
    agents: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    noise: list[dict[str, float]] = field(default_factory=list)
    timesteps: list[int] = field(default_factory=list)
    #: decisions the runs trained, per agent (their distinct values; done.json, else the
    #: results' final-model step): whole collections, so they may exceed ``timesteps``
    trained: dict[str, list[int]] = field(default_factory=dict)
    n_envs: list[int] = field(default_factory=list)
    train_demands: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    seeds_per_controller: tuple[int, int] = (0, 0)
    n_rewards: int = 0  # distinct rewards the agents trained with
    eval_demands: list[str] = field(default_factory=list)
    eval_episodes: tuple[int, int] = (0, 0)
    eval_seeds: tuple[int, int, int] | None = None  # (distinct, lowest, highest)
    eval_seed_role: str = "test"
    #: whether the evaluation seeds are the role's shared set, episodes 0..n-1 of its stream
    #: (``intergreen.seeds.episode_seeds(role, n)``), as ``intergreen evaluate`` draws them
    eval_seeds_shared: bool = False
    simulated_s: float | None = None
    #: grid.json's ``episode_duration`` (s; None: each demand's own length)
    episode_duration: float | None = None
    versions: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the distinct greedy-validation plans of the runs (config.json ``validation``), and the
    #: number of runs that validated none
    validation: list[dict[str, Any]] = field(default_factory=list)
    unvalidated: int = 0
    #: runs per evaluated model (results' ``checkpoint``: ``best`` by validation or ``final``)
    evaluated: dict[str, int] = field(default_factory=dict)
    #: grid.json's ``more_seeds`` rule and the batch's decision (seed_extension.json)
    more_seeds: dict[str, Any] | None = None
    seed_decision: dict[str, Any] | None = None
    #: where the best reward was chosen (validation or test rows), a sentence from the
    #: results (intergreen.experiments.comparisons.choice_text); "" when not stated
    selection: str = ""
    #: grid.json's agents with hyperparameters from a tune: name -> the tune's summary
    #: (intergreen.agents.tuned_params.AgentTuned.summary)
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: baseline name -> its cell.json (baselines/*/cell.json) for the baselines in the results
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: run name -> its resumes (``resumes.jsonl``: step, exact), for the runs resumed
    resumes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: run name -> where its training was copied from (``reused.json``: from, grid)
    reused: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a reward given with parameters: its row label (``weighted[26735a]``, grid.label) -> the
    #: reward as configured (``{"name": ..., PARAMETER: ...}``), from the runs' config.json
    #: ``config.reward``, else grid.json's ``rewards``; only labels the results hold
    reward_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: rewards of the results that are not intergreen's built-in ones, and the user reward
    #: modules the batch or its runs recorded (grid.json / config.json ``reward_modules``)
    user_rewards: list[str] = field(default_factory=list)
    reward_modules: list[str] = field(default_factory=list)

    @property
    def gammas(self) -> list[Any]:
        return sorted({g for a in self.agents.values() for g in a.get("gamma", [])}, key=str)

    @property
    def max_greens(self) -> dict[str, float | None]:
        if self.junction is None:
            return {}
        return {s: st.max_green for s, st in self.junction.stages.items()}


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def default_decisions() -> str:
    """The environment's own default decision mode (JunctionEnv's signature)."""
    from intergreen.junctions.env import JunctionEnv

    return str(inspect.signature(JunctionEnv.__init__).parameters["decisions"].default)


def read_grid(root: Path) -> dict[str, Any]:
    """The folder's grid.json as a mapping ({} when absent or unreadable)."""
    grid = read_json(root / "grid.json")
    return grid if isinstance(grid, dict) else {}


def read_setup(
    root: Path, results: pd.DataFrame, configs: dict[str, dict[str, Any]], selection: str = ""
) -> Setup:
    """Collect the set-up facts from run configs (or, without them, grid.json resolved with
    this version's presets), the junction spec and the results table (test rows);
    ``selection``: the sentence saying where the best reward was chosen."""
    from intergreen.experiments.grid import JUNCTION_FILE
    from intergreen.junctions.catalog import junction_of_record, resolve_junction
    from intergreen.junctions.spec import Noise, SpecError

    meta = read_grid(root)
    keys = _agent_keys(results)
    if configs and all(p.get("reconstructed") for p in configs.values()):
        source = (
            f"{RUN_CONFIGS}, the runs' configurations rebuilt from grid.json with the presets "
            "when the results were published; their keys match the run keys in results.parquet "
            f"({len(configs)} of {counted(len(keys), 'run')})"
        )
    elif configs:
        source = f"the runs' own config.json ({len(configs)} of {counted(len(keys), 'run')})"
    else:
        configs = reconstruct_run_configs(meta, results) if meta.get("rewards") else {}
        if configs:
            source = (
                "grid.json resolved with the presets of this version; the run keys in "
                f"results.parquet match ({len(configs)} of {counted(len(keys), 'run')}), so these "
                "are the "
                "settings the runs used"
            )
        else:
            source = (
                "grid.json only: the runs' configurations are not here and the presets of this "
                "version do not reproduce the recorded run keys, so agent settings are not stated"
            )
    setup = Setup(source=source, selection=selection)
    cfgs = [p.get("config") or {} for p in configs.values()]
    setup.junction_name = str(meta.get("junction") or (cfgs[0].get("junction") if cfgs else "?"))
    # a junction file: its absolute path as the batch (grid.json) or its runs recorded it
    files = [meta.get(JUNCTION_FILE), *(p.get("junction_file") for p in configs.values())]
    junction = junction_of_record(
        setup.junction_name, next((f for f in files if isinstance(f, str)), None)
    )
    setup.junction_file = None if junction == setup.junction_name else junction
    try:
        setup.junction = resolve_junction(junction)
    except (SpecError, OSError, ValueError):
        setup.junction = None
    decisions_default = default_decisions()
    # an agent's name in the grid (results' agent column: ppo_tuned) where it is not the
    # algorithm's (config.json's agent: ppo)
    rows = results[results["kind"] == "agent"]
    names = dict(zip(rows["run_key"].astype(str), rows["agent"].astype(str), strict=True)) if (
        "run_key" in rows) else {}  # fmt: skip
    trained = trained_decisions(root, configs, results)
    for run_name, payload in configs.items():
        cfg = payload.get("config") or {}
        hp = payload.get("hyperparameters") or {}
        env = payload.get("env") or {}
        agent = names.get(str(payload.get("key")), str(cfg.get("agent", "?")))
        facts = setup.agents.setdefault(agent, {})
        facts.setdefault("algorithm", [cfg.get("agent", agent)])
        for name, value in (
            ("preset", cfg.get("preset") or cfg.get("agent", agent)),
            ("gamma", hp.get("gamma")),
            ("learning_rate", hp.get("learning_rate")),
            ("net_arch", (hp.get("policy_kwargs") or {}).get("net_arch")),
            ("overrides", _overrides_text(cfg.get("hyperparams"))),
        ):
            if value is not None and value not in facts.setdefault(name, []):
                facts[name].append(value)
        setup.decisions.append(str(env.get("decisions", decisions_default)))
        if "sensor_noise" in env:
            noise = Noise.model_validate(env["sensor_noise"]).model_dump()
        elif setup.junction is not None:
            noise = setup.junction.sensors.noise.model_dump()
        else:
            noise = {}
        setup.noise.append(noise)
        setup.timesteps.append(int(cfg.get("timesteps", 0)))
        steps = trained.get(str(payload.get("key")))
        if steps is not None and steps not in setup.trained.setdefault(agent, []):
            setup.trained[agent].append(steps)
        setup.n_envs.append(int(cfg.get("n_envs", 1)))
        if payload.get("resumes"):
            setup.resumes[run_name] = list(payload["resumes"])
        if isinstance(payload.get("reused"), dict):
            setup.reused[run_name] = payload["reused"]
        plan = payload.get("validation")
        if isinstance(plan, dict):
            setup.validation.append(plan)
        else:
            setup.unvalidated += 1
    training = meta.get("training") or {}
    if not configs:
        setup.timesteps = [int(training["timesteps"])] if "timesteps" in training else []
        setup.n_envs = [int(training.get("n_envs", 1))] if training else []
    if not setup.noise and setup.junction is not None:
        setup.noise = [setup.junction.sensors.noise.model_dump()]
    setup.validation = _distinct(setup.validation)
    setup.evaluated = evaluated_models(results)
    setup.more_seeds = meta.get("more_seeds") if isinstance(meta.get("more_seeds"), dict) else None
    grid_agents = meta.get("agents") if isinstance(meta.get("agents"), dict) else {}
    setup.tuned = {
        str(name).lower(): spec["tuned"] for name, spec in grid_agents.items()
        if isinstance(spec, dict) and isinstance(spec.get("tuned"), dict)
    }  # fmt: skip
    setup.seed_decision = read_decision(root)
    setup.baselines = _baseline_cells(root, results)
    setup.decisions = _distinct(setup.decisions)
    setup.noise = _distinct(setup.noise)
    setup.timesteps = _distinct(setup.timesteps)
    setup.n_envs = _distinct(setup.n_envs)
    setup.train_demands = [str(d) for d in meta.get("train_demands") or []]
    duration = meta.get("episode_duration")
    setup.episode_duration = float(duration) if isinstance(duration, int | float) else None
    agents = results[results["kind"] == "agent"]
    if not agents.empty:
        setup.seeds = sorted(int(s) for s in agents["train_seed"].dropna().unique())
        per = agents.groupby("controller")["train_seed"].nunique()
        setup.seeds_per_controller = (int(per.min()), int(per.max()))
        setup.n_rewards = int(agents["reward"].nunique()) if "reward" in agents else 0
    setup.eval_demands = list(dict.fromkeys(results["demand"]))
    run = ["controller", "train_seed", "demand"]
    episodes = results.groupby(run, dropna=False).size() if len(results) else None
    if episodes is not None and len(episodes):
        setup.eval_episodes = (int(episodes.min()), int(episodes.max()))
    if "eval_seed" in results and len(results):
        test = results["split"] == "test" if "split" in results else results["eval_seed"].notna()
        role = "test" if test.any() else "validation"  # a grid evaluated on validation seeds
        seeds = results.loc[test if test.any() else results.index, "eval_seed"].dropna()
        if len(seeds):
            setup.eval_seeds = (int(seeds.nunique()), int(seeds.min()), int(seeds.max()))
            setup.eval_seed_role = role
            setup.eval_seeds_shared = is_shared_set(seeds.unique().tolist(), role)
    if "simulated_s" in results and len(results):
        setup.simulated_s = float(results["simulated_s"].max())
    setup.versions = run_versions(configs, results)
    setup.reward_params = reward_params(
        [*(c.get("reward") for c in cfgs), *(meta.get("rewards") or [])], agents
    )
    setup.user_rewards = _user_rewards(agents)
    recorded = [*(meta.get("reward_modules") or []),
                *(m for c in configs.values() for m in c.get("reward_modules") or [])]  # fmt: skip
    setup.reward_modules = [str(m) for m in dict.fromkeys(recorded)]
    return setup


def _user_rewards(agents: pd.DataFrame) -> list[str]:
    """The reward names of ``agents`` (result rows) that are not built into intergreen (a
    user's module registered them, or nothing here does)."""
    from intergreen.rewards.registry import RewardError, describe

    out = []
    for name in dict.fromkeys(agents["reward"].dropna().astype(str)) if "reward" in agents else []:
        base = name.split("[")[0]
        try:
            builtin = describe(base)["source"] == "built-in"
        except RewardError:
            builtin = False
        if not builtin:
            out.append(base)
    return list(dict.fromkeys(out))


def user_rewards_text(setup: Setup) -> str | None:
    """The set-up's sentence on rewards that are not intergreen's (None: there are none)."""
    if not setup.user_rewards:
        return None
    names = ", ".join(setup.user_rewards)
    where = (
        f"registered by {', '.join(f'`{m}`' for m in setup.reward_modules)} (the reward "
        "modules the runs recorded), whose code defines them"
        if setup.reward_modules
        else "their module is not recorded (runs made before intergreen recorded it)"
    )
    return (
        f"**User rewards.** {names} {'is' if len(setup.user_rewards) == 1 else 'are'} not "
        f"among intergreen's built-in rewards: {where}."
    )


def reward_params(rewards: list[Any], results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Row label -> reward mapping for each reward in ``rewards`` given with parameters (a
    mapping: ``{"name": "weighted", "weights": {...}}``) whose label (``weighted[26735a]``,
    :func:`intergreen.experiments.grid.label`) is a reward of ``results``; the first of each
    label, in order."""
    from intergreen.experiments.grid import label

    held = set(results["reward"].dropna().astype(str)) if "reward" in results else set()
    out: dict[str, dict[str, Any]] = {}
    for reward in rewards:
        if isinstance(reward, dict) and len(reward) > 1:
            name = label(reward)
            if name in held and name not in out:
                out[name] = reward
    return out


def reward_legend(setup: Setup) -> str | None:
    """What each row label of a reward given with parameters stands for, e.g. ``weighted[26735a]
    = weighted with {"weights": {"average_speed": 1, "queue": 0.1}}``; None where the report
    has no such reward."""
    if not setup.reward_params:
        return None
    return "; ".join(
        f"{name} = {reward.get('name', 'reward')} with "
        + json.dumps({k: v for k, v in reward.items() if k != "name"}, sort_keys=True)
        for name, reward in sorted(setup.reward_params.items())
    )


def reward_params_text(setup: Setup) -> str | None:
    """The set-up's sentence on the rewards given with parameters (None: there are none)."""
    legend = reward_legend(setup)
    if legend is None:
        return None
    return (
        "**Rewards with parameters.** A row label NAME[HASH] is reward NAME given with "
        "parameters (HASH: the first 6 hex digits of the SHA-256 of their JSON, as in the run "
        f"folders' names): {legend}."
    )


def trained_decisions(root: Path, configs: dict[str, dict[str, Any]],
                      results: pd.DataFrame) -> dict[str, int]:  # fmt: skip
    """Run key -> the decisions the run trained: its ``runs/NAME/done.json`` (``timesteps``),
    else the step of its final model in ``results`` (``checkpoint_step`` where ``checkpoint``
    is ``final``); runs that record neither are left out."""
    out: dict[str, int] = {}
    if {"checkpoint", "checkpoint_step", "run_key"} <= set(results.columns):
        final = results[(results["checkpoint"] == "final") & results["checkpoint_step"].notna()]
        for key, step in zip(final["run_key"], final["checkpoint_step"], strict=True):
            out[str(key)] = int(step)
    for name, payload in configs.items():
        done = read_json(root / "runs" / name / "done.json")
        if isinstance(done, dict) and isinstance(done.get("timesteps"), int):
            out[str(payload.get("key"))] = done["timesteps"]
    return out


def counted(n: int | tuple[int, int], noun: str, plural: str | None = None) -> str:
    """A count, or a span ``(lo, hi)``, with its noun in agreement: ``'1 test episode'``,
    ``'3 test episodes'``, ``'1–3 test episodes'`` (``plural``: default ``noun + 's'``)."""
    lo, hi = (n, n) if isinstance(n, int) else n
    return f"{span(lo, hi)} {noun if hi == 1 else plural or noun + 's'}"


def junction_source(name: str, file: str | None = None) -> str:
    """Where the report's junction facts come from, as the runs recorded it (a name or a
    path; ``file``: the absolute path the batch recorded for it, :attr:`Setup.junction_file`):
    a shipped junction or RESCO scenario as shipped in this version, a user's junction file
    as it is now."""
    from intergreen.junctions.catalog import junction_names
    from intergreen.junctions.resco import PREFIX

    if name.startswith(PREFIX):
        return f"the RESCO scenario {name} as shipped in this version (runs record its name only)"
    if name in junction_names():
        return f"the junction {name} as shipped in this version (runs record its name only)"
    if file is not None:
        return f"the junction file {file} as it is now (given as {name}; runs record its path only)"
    return f"the junction file {name} as it is now (runs record its path only)"


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, int | float) and not isinstance(x, bool) else str(x)


def _values(values: list[Any]) -> str:
    return " / ".join(_num(v) for v in values) if values else "not recorded"


def recorded_baseline_cells(root: Path, results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Baseline name -> its cell.json (what it ran with: a tuned one's parameters, file,
    tune budget and validation episodes), for the baselines in ``results``: from a batch
    folder's ``baselines/*/cell.json``, else from a published folder's
    ``baseline_cells.json`` (:data:`BASELINE_CELLS`, written by ``--publish``)."""
    names = _baseline_names(results)
    if not names:
        return {}
    cells: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "baselines").glob("*/cell.json")):
        cell = read_json(path)
        if isinstance(cell, dict) and cell.get("baseline") in names:
            cells.setdefault(str(cell["baseline"]), cell)
    if not cells:
        stored = read_json(root / BASELINE_CELLS)
        if isinstance(stored, dict):
            cells = {n: c for n, c in stored.items() if n in names and isinstance(c, dict)}
    return cells


def _baseline_names(results: pd.DataFrame) -> set[str]:
    if "kind" not in results:
        return set()
    return set(results.loc[results["kind"] == "baseline", "controller"].astype(str))


def _baseline_cells(root: Path, results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """:func:`recorded_baseline_cells`, with a cell for every other baseline in ``results``:
    its defaults for a registered name (batches from before baselines wrote cell.json), and
    ``unrecorded`` for any other (``vehicle-actuated:tuned``, a parameter file: its
    parameters are not the defaults, and are not known here)."""
    from intergreen.junctions.baselines import BASELINES, baseline_key

    cells = recorded_baseline_cells(root, results)
    for name in sorted(_baseline_names(results) - set(cells)):
        default = baseline_key(name) in BASELINES
        cells[name] = {"baseline": name} | ({} if default else {"unrecorded": True})
    return cells


def baselines_text(setup: Setup) -> str:
    """The sentence on the baselines: which ran with their defaults, and for a tuned one the
    parameters, where they came from, the tune's budget and its validation episodes."""
    plain = [n for n, c in setup.baselines.items() if not c.get("params") and not
             c.get("unrecorded")]  # fmt: skip
    unknown = [n for n, c in setup.baselines.items() if c.get("unrecorded")]
    parts = []
    if plain:
        parts.append(f"{', '.join(plain)} with {'its' if len(plain) == 1 else 'their'} "
                     "default parameters")  # fmt: skip
    for name, cell in setup.baselines.items():
        if not cell.get("params"):
            continue
        v, b = cell.get("validation") or {}, cell.get("budget") or {}
        length = v.get("duration_s") or _tune_default_length(setup, cell)
        episodes = counted(int(v.get("episodes_per_demand", 0)),
                           f"{v.get('seed_role', 'validation')} episode")  # fmt: skip
        text = (
            f"{name} with the parameters in `{shown_tuned_file(cell.get('tuned_file'))}` "
            f"({_params_text(cell['params'])}; defaults {_params_text(cell.get('default_params'))})"
            f", the best trial of a tune ({b.get('method', 'method not recorded')}): "
            f"{counted(int(b.get('trials', 0)), 'trial')} ({b.get('failed_trials', 0)} failed; "
            f"limit {b.get('limit', 'not recorded')}), scored on {episodes} per demand "
            f"({', '.join(map(str, v.get('demands') or []))}) of "
            + (f"{length:g} s" if length else "the junction's default length")
            + f": {v.get('default_wait_s')} s with the defaults, {v.get('tuned_wait_s')} s tuned"
        )
        if setup.simulated_s and length and abs(length - setup.simulated_s) > 1:
            text += (f" (tuned on episodes of another length than this report's "
                     f"{setup.simulated_s:.0f} s test episodes)")  # fmt: skip
        parts.append(text)
    if unknown:
        parts.append(f"{', '.join(unknown)} with parameters this folder does not record (no "
                     f"cell.json or {BASELINE_CELLS})")  # fmt: skip
    return "**Baselines.** " + "; ".join(parts) + "."


def _tune_default_length(setup: Setup, cell: dict[str, Any]) -> float | None:
    """The episode length (s) of a baseline tune that recorded no ``duration_s``: its
    demands' own length (``resolve_demand(...).duration``, what the environment runs without
    a duration; 1800 s for gm_a56's levels) on the junction it was tuned on (the cell's
    ``junction``, else the report's). None when the junction or a demand does not load, or
    the demands' lengths differ."""
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import resolve_demand

    spec, name = setup.junction, cell.get("junction")
    try:
        if name and getattr(spec, "name", None) != name:
            spec = resolve_junction(str(name))
        if spec is None:
            return None
        demands = (cell.get("validation") or {}).get("demands") or []
        lengths = {resolve_demand(spec, d).duration for d in demands}
    except (IntergreenError, OSError, ValueError):  # the length is not known here
        return None
    return lengths.pop() if len(lengths) == 1 else None


def shown_tuned_file(path: str | None) -> str | None:
    """A recorded ``tuned_file`` as a report shows it: an absolute path inside an
    ``intergreen`` package's ``junctions`` folder (a shipped junction's ``tuned/*.json``) from
    its last ``intergreen/junctions/`` on, ``intergreen/junctions/library/gm_a56/tuned/
    fixed-time.json``; any other path as recorded. The path is the recording machine's
    (``/work/study/intergreen/...``), so it is cut by its parts rather than made relative to
    this machine's installed package, which may lie elsewhere."""
    if not path or not Path(path).is_absolute():
        return path
    parts = Path(path).parts
    at = [i for i in range(len(parts) - 1) if parts[i : i + 2] == ("intergreen", "junctions")]
    return "/".join(parts[at[-1] :]) if at else path


def _params_text(params: Any) -> str:
    """``max_green {2: 21, 4: 26.2}, extension 1.148`` from a parameters mapping."""
    if not isinstance(params, dict):
        return "not recorded"
    out = []
    for k, v in params.items():
        if isinstance(v, dict):
            out.append(f"{k} {{" + ", ".join(f"{s}: {_short(x)}" for s, x in v.items()) + "}")
        else:
            out.append(f"{k} {_short(v)}")
    return ", ".join(out)


def tuned_text(setup: Setup) -> str:
    """The sentence on agents whose hyperparameters a tune chose (grid.json's ``tuned``)."""
    from intergreen.agents.tuned_params import changed_hyperparams
    from intergreen.experiments.grid import label as label_of

    texts = []
    for name, t in setup.tuned.items():
        v, b = t.get("validation") or {}, t.get("budget") or {}
        changed = changed_hyperparams(t.get("hyperparams") or {},
                                      t.get("default_hyperparams") or {})  # fmt: skip
        values = (
            "tuned values " + ", ".join(f"{k} {_short(x)}" for k, x in changed.items())
            if changed else "the best trial ran the defaults (no value differs beyond float "
            "rounding): its gap to the defaults' score is noise"
        )  # fmt: skip
        default = v.get("default_wait_s")
        seeds = [int(s) for s in t.get("train_seeds") or []]
        fresh = not set(seeds) & set(setup.seeds)
        suggested = t.get("suggested_timesteps")
        texts.append(
            f"{name.upper()} takes the hyperparameters of the best trial ({t.get('best_trial')}) "
            f"of the CARBS tune in `{t.get('file')}` ({t.get('agent')} for {t.get('reward')} on "
            f"{t.get('junction')}, training demand {label_of(t.get('train_demand'))}): "
            f"{counted(int(b.get('trials', 0)), 'trial')} ({b.get('failed_trials', 0)} failed), "
            f"{_tune_budget(b)}, each trial scored on "
            f"{counted(int(v.get('episodes_per_demand', 0)), v.get('seed_role', 'validation') + ' episode')} "  # noqa: E501
            f"per demand ({', '.join(v.get('demands') or [])}) of each of "
            f"{counted(int(v.get('agents_per_trial', 1)), 'agent')}: "
            f"{_short(v.get('tuned_wait_s'))} s against the defaults' "
            + ("(not run)" if default is None else f"{_short(default)} s")
            + f"; best trial trained {_short(t.get('timesteps'))} decisions per agent"
            + (
                f" (CARBS suggested {_short(suggested)})"
                if suggested not in (None, t.get("timesteps"))
                else ""
            )  # fmt: skip
            + f"; {values}. {_tune_episodes_text(setup, v)}The tune's trials trained on "
            f"{counted(len(seeds), 'seed')}, "
            + ("none of this report's" if fresh else "some of this report's (not fresh)")
        )
    return "**Tuned agents.** " + "; ".join(texts) + "."


def _tune_budget(budget: dict[str, Any]) -> str:
    """``'budget 3000 steps, used 4,848 steps'``: a tune's limit and what it used (tuned.json's
    ``budget``: the cost for a cost limit, the wall clock for a time limit)."""
    limit = str(budget.get("limit", "?"))
    if limit.endswith("wall clock") and budget.get("wall_s") is not None:
        return f"budget {limit}, used {float(budget['wall_s']):,.0f} s"
    if budget.get("cost") is not None:
        return f"budget {limit}, used {float(budget['cost']):,.0f} {budget.get('cost_unit', '')}"
    return f"budget {limit}"


def _duration_text(duration: Any) -> str:
    return f"{duration:g} s" if isinstance(duration, int | float) else "each demand's own length"


def _tune_episodes_text(setup: Setup, validation: dict[str, Any]) -> str:
    """A sentence when the tune scored its trials on another episode length or other demands
    than this grid evaluates (tuned.json's ``validation``, grid.json's ``episode_duration``
    and the results' demands); "" when they agree."""
    if "duration_s" not in validation:
        return "The tune did not record its episode length (a tuned.json before duration_s). "
    tune_demands = [str(d) for d in validation.get("demands") or []]
    same_length = validation["duration_s"] == setup.episode_duration
    if same_length and set(tune_demands) == set(setup.eval_demands):
        return ""
    return (
        f"The tune scored its trials on episodes of {_duration_text(validation['duration_s'])} "
        f"at {', '.join(tune_demands)}; this grid evaluates episodes of "
        f"{_duration_text(setup.episode_duration)} at {', '.join(setup.eval_demands)}. "
    )


def _short(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def decision_text(setup: Setup) -> str:
    """How often the agents decide, from the recorded decision mode and the junction timing."""
    interval = setup.junction.timing.decision_interval if setup.junction is not None else None
    every = f"every {interval:g} s" if interval else "every decision interval"
    texts = {
        "every_interval": f"asked {every} (a request during a change or a minimum green is "
        "ignored: steps of equal length)",
        "when_ready": f"asked only when the controller can act ({every} once the minimum green "
        "has run, otherwise after the change)",
    }
    if not setup.decisions:
        return "with a decision mode not recorded (no run configuration here)"
    return "; ".join(f"{texts.get(d, d)} (`decisions: {d}`)" for d in setup.decisions)


def max_green_text(setup: Setup) -> str:
    greens = setup.max_greens
    if not greens:
        return "not known (the junction spec did not load)"
    capped = {s: g for s, g in greens.items() if g is not None}
    if not capped:
        return "none (a stage can be extended indefinitely)"
    rest = [s for s, g in greens.items() if g is None]
    return ", ".join(f"stage {s} {g:g} s" for s, g in capped.items()) + (
        f"; none on stage{'s' if len(rest) > 1 else ''} {', '.join(rest)}" if rest else ""
    )


def noise_text(setup: Setup) -> str:
    if not setup.noise:
        return "not known"
    parts = []
    for noise in setup.noise:
        if not any(noise.get(k) for k in NOISE_FIELDS):
            parts.append("no sensor noise (count_sd, miss_prob and dropout_prob all 0)")
        else:
            parts.append(
                "seeded sensor noise: "
                + ", ".join(f"{k} {noise.get(k, 0):g}" for k in NOISE_FIELDS)
            )
    return " / ".join(parts)


def _overrides_text(hyperparams: Any) -> str | None:
    """A run's own hyperparameters over its preset (config.json ``config.hyperparams``), as
    ``"learning_starts 500, buffer_size 1000"``; None without any."""
    if not isinstance(hyperparams, dict):
        return None
    # gamma, learning rate and hidden layers are stated with their values already
    shown = {"gamma", "learning_rate", "policy_kwargs"}
    hyperparams = {k: v for k, v in hyperparams.items() if k not in shown}
    if not hyperparams:
        return None
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, int | float) and not isinstance(v, bool)
        else f"{k} {json.dumps(v)}"
        for k, v in sorted(hyperparams.items())
    )  # fmt: skip


def setup_lines(setup: Setup) -> list[str]:
    """The report's set-up paragraph, sentence by sentence from ``setup``."""
    spec = setup.junction
    lines = [
        f"**Where these facts come from.** From {setup.source}; "
        f"{junction_source(setup.junction_name, setup.junction_file)}; episodes and seeds from "
        "results.parquet."
    ]
    if spec is not None:
        base = f" (a variant of {spec.extends})" if spec.extends else ""
        sensors = f"{spec.sensors.camera_range:g} m camera zones" + (
            " and stop-line loops" if spec.sensors.stop_line_loops else ""
        )
        lines.append(
            f"**Junction and control.** {setup.junction_name}{base}: simulation step "
            f"{spec.timing.step_length:g} s; agents {decision_text(setup)}; maximum greens: "
            f"{max_green_text(setup)}; sensors: {sensors}, {noise_text(setup)}."
        )
    else:
        lines.append(f"**Junction.** {setup.junction_name} (its spec does not load here).")
    if setup.agents:
        parts = []
        for agent, facts in setup.agents.items():
            net = facts.get("net_arch")
            algorithm = str((facts.get("algorithm") or [agent])[0])
            parts.append(
                f"{agent.upper()} ("
                + (f"{algorithm.upper()}, " if algorithm != agent else "")
                + f"preset {_values(facts.get('preset', []))}: gamma "
                f"{_values(facts.get('gamma', []))}, learning rate "
                f"{_values(facts.get('learning_rate', []))}"
                + (f", hidden layers {' / '.join(map(str, net))}" if net else "")
                + (
                    f"; set over the preset: {' / '.join(facts['overrides'])}"
                    if facts.get("overrides") and agent not in setup.tuned  # tuned: said below
                    else ""
                )
                + ")"
            )
        lines.append("**Agents.** " + "; ".join(parts) + ".")
    rewards = reward_params_text(setup)
    if rewards:
        lines.append(rewards)
    users = user_rewards_text(setup)
    if users:
        lines.append(users)
    if setup.tuned:
        lines.append(tuned_text(setup))
    if setup.baselines:
        lines.append(baselines_text(setup))
    budget = (
        "**Budget and seeds.** "
        + (
            f"{_counts(setup.timesteps)} decisions per run"
            if setup.timesteps
            else "decisions per run not recorded"
        )  # fmt: skip
        + _trained_text(setup)
        + (
            f" on {_counts(setup.n_envs)} simulation{'s' if max(setup.n_envs) > 1 else ''}"
            if setup.n_envs
            else ""
        )  # fmt: skip
        + (f", training demand {', '.join(setup.train_demands)}" if setup.train_demands else "")
    )
    if setup.seeds:
        lo, hi = setup.seeds_per_controller
        unit = _controller_unit(setup)
        budget += f"; training {_seeds(setup.seeds)} ({span(lo, hi)} per {unit})"
    if setup.eval_episodes[1]:
        budget += (
            f"; evaluation: {counted(setup.eval_episodes, 'test episode')} per demand level "
            f"({', '.join(setup.eval_demands)}) per run"
        )
        if setup.eval_seeds:
            n, lo, hi = setup.eval_seeds
            budget += (
                f", episode seed {lo} for every controller"
                if n == 1
                else f", the same {n} episode seeds for every controller ("
                + (
                    stream_text(setup.eval_seed_role, n)
                    if setup.eval_seeds_shared
                    else f"drawn from the {setup.eval_seed_role} seed stream, from {lo} to {hi}"
                )
                + ")"
            )
    if setup.simulated_s:
        budget += f", {setup.simulated_s:.0f} s simulated per episode"
    lines.append(budget + ".")
    lines.append(validation_text(setup))
    if setup.selection:
        lines.append(f"**Choice of the best reward.** {setup.selection}")
    extension = seed_extension_text(setup)
    if extension:
        lines.append(extension)
    resumed = resume_text(setup.resumes)
    if resumed:
        lines.append(resumed)
    reused = reuse_text(setup.reused)
    if reused:
        lines.append(reused)
    lines.append(version_text(setup.versions))
    return lines


def resume_text(resumes: dict[str, list[dict[str, Any]]]) -> str | None:
    """How many runs (run name -> its resumes, ``rundir.read_resumes``) were killed and
    resumed from a checkpoint, and which did not continue
    exactly (their envs did not replay to the observation recorded at the checkpoint); None
    where no run recorded a resume (runs made before resumes were recorded say nothing)."""
    if not resumes:
        return None
    n = sum(len(r) for r in resumes.values())
    inexact = {name: [r["step"] for r in rs if not r.get("exact")]
               for name, rs in resumes.items()}  # fmt: skip
    inexact = {name: steps for name, steps in inexact.items() if steps}
    text = (
        f"**Interruptions.** {counted(len(resumes), 'run')} "
        f"{'was' if len(resumes) == 1 else 'were'} killed and resumed from "
        f"a checkpoint ({counted(n, 'resume')})"
    )
    if not inexact:
        return (
            text + ", each exactly (every env replayed to the observation recorded at the "
            "checkpoint, so these runs are the uninterrupted ones)."
        )
    listed = "; ".join(
        f"{name} (at decision{'s' if len(steps) > 1 else ''} {', '.join(f'{s:,}' for s in steps)})"
        for name, steps in sorted(inexact.items())
    )
    return (
        text + f"; {counted(len(inexact), 'run')} did not continue exactly (the replayed "
        f"simulation did not reach the observation recorded at the checkpoint; they went on "
        f"from the replayed state, so they are not bit for bit an uninterrupted run): {listed}."
    )


def reuse_text(reused: dict[str, dict[str, Any]]) -> str | None:
    """Which runs (run name -> ``reused.json``) were trained by another batch and copied into
    this one, grouped by source; None where none was."""
    if not reused:
        return None
    sources: dict[tuple[str, str], list[str]] = {}
    for name, info in sorted(reused.items()):
        grid = info.get("grid")
        source = (str(info.get("from", "?")), f"of grid {grid!r}" if grid else "of a batch")
        sources.setdefault(source, []).append(name)
    parts = [
        f"{counted(len(names), 'run')} from the results folder {label}, {folder} "
        f"({', '.join(names)})"
        for (folder, label), names in sources.items()
    ]
    n = len(reused)
    return (
        f"**Reused runs.** {counted(n, 'run')} {'was' if n == 1 else 'were'} trained by another "
        "batch under the same run key (the same resolved configuration, package and reward "
        f"versions) and copied here, {'its' if n == 1 else 'their'} evaluations made again by "
        "this batch: " + "; ".join(parts) + "."
    )


def _counts(values: list[int]) -> str:
    """``'100,000'``, ``'1,000 / 2,000'`` (distinct counts of the runs)."""
    return " / ".join(f"{v:,}" for v in values) if values else "not recorded"


def _trained_text(setup: Setup) -> str:
    """Where runs trained more decisions than asked (training stops only between whole
    collections: PPO's rollouts of n_steps, DQN's train_freq steps), per agent; "" where
    every run trained what was asked or none recorded it."""
    more = {a: steps for a, steps in setup.trained.items() if set(steps) - set(setup.timesteps)}
    if not more:
        return ""
    return (
        " as asked (the runs trained more, in whole collections, as training stops only "
        "between them: "
        + ", ".join(f"{a.upper()} {_counts(steps)}" for a, steps in more.items())
        + ")"
    )


def evaluated_models(results: pd.DataFrame) -> dict[str, int]:
    """Agent runs per evaluated model: results' ``checkpoint`` (``best`` by validation score,
    or ``final``; a run that records none counts as ``final``)."""
    if "run_key" not in results or results.empty:
        return {}
    runs = results[results["kind"] == "agent"].drop_duplicates("run_key")
    if runs.empty:
        return {}
    column = runs["checkpoint"] if "checkpoint" in runs else pd.Series("final", index=runs.index)
    counts = column.fillna("final").value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _seed_abbrev(seeds: list[Any]) -> str:
    shown = ", ".join(str(s) for s in seeds[:2])
    return shown + (f", … ({len(seeds)} seeds)" if len(seeds) > 2 else "")


def shared_selection_text(configs: dict[str, dict[str, Any]], results: pd.DataFrame) -> str:
    """A sentence for the choice of the best reward where its validation episodes (rows of
    ``results`` with split = validation) include those that chose each run's checkpoint (the
    runs' ``validation`` plans in ``configs``): the two selections share them; "" where they
    do not (or either is missing)."""
    if "split" not in results or "eval_seed" not in results:
        return ""
    chosen_on = set(results.loc[results["split"] == "validation", "eval_seed"].dropna().astype(int))
    plans = [c.get("validation") for c in configs.values() if isinstance(c.get("validation"), dict)]
    checkpoint = {int(s) for plan in plans for s in plan.get("seeds") or []}
    shared = chosen_on & checkpoint
    if not shared:
        return ""
    return (
        f" {len(shared)} of these episodes per level also chose each run's "
        f"checkpoint (its validation during training), so the two selections share "
        f"{'it' if len(shared) == 1 else 'them'}; neither reads a test episode."
    )


def is_shared_set(seeds: list[Any], role: str) -> bool:
    """Whether ``seeds`` (in any order) are episodes 0..n-1 of ``role``'s stream with base 0,
    the set every controller shares (:func:`intergreen.seeds.episode_seeds`)."""
    from intergreen.seeds import ROLES, episode_seeds

    if role not in ROLES or not seeds:
        return False
    try:
        mine = sorted(int(s) for s in seeds)
    except (TypeError, ValueError):
        return False
    return mine == sorted(episode_seeds(role, len(mine)))


def stream_text(role: str, n: int) -> str:
    """``'episodes 0–29 of the test seed stream: intergreen.seeds.episode_seeds("test", 30)'``
    (the seeds themselves are 63-bit hashes, so their range says nothing)."""
    first = "episode 0" if n == 1 else f"episodes 0–{n - 1}"
    return f'{first} of the {role} seed stream: `intergreen.seeds.episode_seeds("{role}", {n})`'


def _validation_seeds_text(role: str, seeds: list[Any]) -> str:
    """How a validation plan's episodes were reset (its ``seeds``: those of every point)."""
    if is_shared_set(list(seeds), role):
        where = stream_text(role, len(seeds))
    else:
        where = f"seeds of the {role} stream {_seed_abbrev(list(seeds))}"
    return f"reset with {where} (the same at every point, never a training or test episode)"


def _controller_unit(setup: Setup) -> str:
    """What one set of training seeds belongs to: ``'reward and agent'`` where the runs cross
    rewards with agents, else ``'agent'``."""
    return "reward and agent" if setup.n_rewards > 1 else "agent"


def validation_text(setup: Setup) -> str:
    """How the runs were validated during training and which model the test episodes
    evaluate: from the runs' config.json ``validation`` plans and results' ``checkpoint``."""
    parts = []
    for plan in setup.validation:
        demands = ", ".join(str(d) for d in plan.get("demands", [])) or "the training demand"
        seeds = plan.get("seeds") or []
        parts.append(
            f"every {_short(plan.get('every'))} decisions (and once at the end) the greedy policy "
            f"played {counted(int(plan.get('episodes', 0)), 'episode')} per validation demand "
            f"({demands}), "
            + _validation_seeds_text(str(plan.get("role", "validation")), seeds)
            + "; a point's score is the "
            f"{str(plan.get('score_kind', 'mean')).replace('_', ' ')} of "
            f"{plan.get('metric', '?')} over them (s/veh, lower is better)"
        )
    if parts:
        text = (
            "**Validation and the evaluated model.** During training, "
            + "; in other runs, ".join(parts)
        )
        if setup.unvalidated:
            text += f"; {counted(setup.unvalidated, 'run')} trained without validation"
    else:
        text = "**Validation and the evaluated model.** The runs trained without validation"
    counts = setup.evaluated
    models = []
    if counts.get("best"):
        best = counted(counts["best"], "run")
        models.append(f"its checkpoint at its best validation point ({best})")
    if counts.get("final"):
        models.append(f"its final model ({counted(counts['final'], 'run')})")
    if models:
        text += ". The test episodes evaluate, for each run, " + "; or ".join(models)
    return text + "."


def _pct(gap: float) -> str:
    return "the best" if gap == 0 else ("+inf %" if gap == float("inf") else f"+{gap:.0%}")


def seed_extension_text(setup: Setup) -> str | None:
    """The ``more_seeds`` rule and what it decided (grid.json and seed_extension.json); None
    for a grid without the rule."""
    rule = setup.more_seeds
    if not rule:
        return None
    first, added = _seeds(_first_seeds(setup)), _seeds(list(rule.get("seeds", [])))
    within = float(rule.get("within", 0))
    head = (
        f"**Seeds added where they decide.** The grid's rule (`more_seeds`): once "
        f"{first} of every reward had trained, each reward's mean over them of its runs' best "
        f"validation score was compared with the lowest such mean; rewards within "
        f"{within * 100:g}% of it (mean ≤ {1 + within:g} × the lowest) trained on {added} "
        "too. Validation episodes decided this; no test episode was read."
    )
    decision = setup.seed_decision
    if not decision:
        return head + " Its decision (seed_extension.json) is not in this folder."
    if decision.get("status") != DECIDED:
        n = len(decision.get("missing") or [])
        return head + (
            f" It has not been applied: {counted(n, 'first-phase run')} had not finished "
            "training, so "
            "no reward has the added seeds yet."
        )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in decision.get("rewards") or []:
        groups.setdefault((r["agent"], r["train_demand"]), []).append(r)
    texts = []
    for (agent, demand), rows in groups.items():
        rows = sorted(rows, key=lambda r: r["mean"])
        best = rows[0]
        chosen = [r for r in rows if r["extended"]]
        kept = [r for r in rows if not r["extended"]]

        def scores(rs: list[dict[str, Any]]) -> str:
            return ", ".join(f"{r['reward']} {r['mean']:.2f} s ({_pct(r['gap'])})" for r in rs)

        label = f"{agent.upper()}, training demand {demand}: " if len(groups) > 1 else ""
        rest = f"{first} only for {scores(kept)}" if kept else "none kept to the first seeds"
        texts.append(
            f"{label}lowest mean {best['mean']:.2f} s ({best['best_reward']}); more seeds for "
            f"{scores(chosen)}; {rest}"
        )
    return head + " Mean best validation scores: " + "; ".join(texts) + "."


def _first_seeds(setup: Setup) -> list[int]:
    """The first-phase seeds of a ``more_seeds`` grid (its decision's, else every seed below
    the added ones)."""
    decision = setup.seed_decision or {}
    if decision.get("first"):
        return [int(s) for s in decision["first"]]
    added = set((setup.more_seeds or {}).get("seeds", []))
    return [s for s in setup.seeds if s not in added]


def _seeds(seeds: list[int]) -> str:
    """``'seed 1'``, ``'seeds 1, 3'``, ``'seeds 1–10'``."""
    return f"{'seed' if len(seeds) == 1 else 'seeds'} {_seed_list(seeds)}"


def _seed_list(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def version_text(versions: pd.DataFrame) -> str:
    """The report's versions sentence: the code and reward versions the runs record, and,
    where that is not this package's version (or unrecorded), that the report's names keep
    the meaning they had for the code that made the runs."""
    if versions.empty:
        return "**Versions.** No agent runs."
    code = _distinct(list(versions["intergreen_version"]))
    rewards = versions.drop_duplicates("reward")[["reward", "reward_version"]]
    if code == [UNRECORDED] and set(rewards["reward_version"]) == {UNRECORDED}:
        text = ("**Versions.** The runs' configurations record no code or reward version "
                "(recorded as `unrecorded`; every run the same).")  # fmt: skip
    else:
        rv = ", ".join(f"{r.reward} {r.reward_version}" for r in rewards.itertuples())
        text = f"**Versions.** intergreen {', '.join(code)}; reward versions: {rv}."
    text += " " + _software_sentence(versions)
    if code != [version.__version__]:
        text += (
            f" This report was built with intergreen {version.__version__}: its names (demand "
            "levels, baselines, rewards) mean what they meant to the code that made the runs, "
            "which may differ from this version's (its README's Demand levels, Baselines and "
            "Built-in rewards say what changed)."
        )
    return text


def _software_sentence(versions: pd.DataFrame) -> str:
    """Which SUMO and learner versions the runs recorded (config.json's ``software``): one
    set for all, or each set with its runs; runs that recorded none counted apart."""
    if "software" not in versions:
        return "Software: not recorded."
    counts = versions["software"].value_counts(sort=False)
    recorded = [(text, n) for text, n in counts.items() if text != UNRECORDED]
    missing = int(counts.get(UNRECORDED, 0))
    if not recorded:
        return "Software (SUMO and the learner's packages): not recorded by the runs."
    if len(recorded) == 1 and not missing:
        return f"Software (every run's config.json): {recorded[0][0]}."
    parts = [f"{text} ({n} run{'s' if n != 1 else ''})" for text, n in recorded]
    if missing:
        parts.append(f"not recorded ({missing} run{'s' if missing != 1 else ''}, made before "
                     "intergreen recorded it)")  # fmt: skip
    return "Software (the runs' config.json): " + "; ".join(parts) + "."
