"""Batch grids: rewards x agents x training demands x seeds, read from YAML and validated.

A grid file names what to train (rewards, agents with their hyperparameters, training
demands, seeds, the training budget), how to evaluate (demand levels, episodes) and which
baselines to show beside. :func:`load_grid` checks everything that can be checked without
running SUMO and raises one :class:`GridError` listing every problem, so a typo in the
twelfth reward is found before the first hour of training, not after it.

Each cell of the grid becomes a :class:`RunCell`, whose key is a hash of its resolved
training configuration and of the versions that made it (``intergreen_version``,
``reward_version``: the same hash ``intergreen train`` writes into config.json): the run folder
is named after it, so an unchanged cell is found again on resume, and a changed one, or one
whose reward formula or package version changed, gets a folder of its own. The evaluation
plan's key (the baselines' folders) holds the package version too.

Seeds (intergreen.seeds): ``seeds`` are the runs' base seeds (training streams); evaluation
episodes come from the ``test`` stream, or from ``validation`` (``evaluation.seeds``) when the
grid serves a selection. ``evaluation.validation_episodes`` (default 0: none) evaluates every
controller also on that many episodes of the validation stream per level (rows with ``split =
validation``, :meth:`GridConfig.validation_plan`), on which the report chooses the best reward;
the test plan and its key are unchanged by it, so no finished evaluation is redone.
``more_seeds`` (:class:`MoreSeeds`) adds training seeds to the rewards whose first seeds
score within a margin of the best on validation (intergreen.experiments.seed_extension).

Overrides: :func:`load_grid` takes ``overrides`` (``{"training.timesteps": 300000}``, from
``intergreen compare GRID --set training.timesteps=300000``), set into the file's mapping
before it is validated, so a shipped grid runs with another value without being edited.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

import intergreen.version as version
from intergreen.agents.config import MAX_TRAIN_TIMESTEPS, MAX_VALIDATION_EPISODES, ValidationScore
from intergreen.agents.runenv import EPISODE_OPTIONS
from intergreen.common import field_changes, listing
from intergreen.errors import IntergreenError, validation_problems
from intergreen.junctions.catalog import junction_file, junction_of_record
from intergreen.rewards.registry import canonical_reward, modules_not_loaded
from intergreen.seeds import MAX_BASE_SEED, episode_seeds
from intergreen.yamlfile import YamlError, read_yaml

CONFIG_DIR = Path(__file__).with_name("configs")


class GridError(IntergreenError, ValueError):
    """A grid file with problems; ``problems`` lists each one (field: what is wrong)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        n = len(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''}:\n{lines}")


class AgentSpec(BaseModel):
    """One agent of the grid, under its name in ``agents:`` (the runs' and the report's label):
    the algorithm (``agent``, default: the name), a preset (default: the algorithm's own) and
    overrides, or the best hyperparameters of an agent tune (``tuned``: its tuned.json, a path
    relative to the grid file; :func:`load_grid` replaces it by the tune's summary and puts
    the tuned hyperparameters under ``hyperparams``, where the file's own win)."""

    model_config = ConfigDict(extra="forbid")
    agent: str | None = None
    preset: str | None = None
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    tuned: dict[str, Any] | None = None


class TrainingBudget(BaseModel):
    """How long each cell trains and how its training episodes run."""

    model_config = ConfigDict(extra="forbid")
    timesteps: int = Field(
        gt=0,
        le=MAX_TRAIN_TIMESTEPS,
        description="agent decisions per run (`tuned`: the tuned agent's, see load_grid)",
    )
    n_envs: int = Field(default=1, ge=1, le=64, description="SUMO processes per run")
    checkpoint_every: int = Field(default=20_000, gt=0)
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    validate_every: int | None = Field(
        default=None,
        gt=0,
        description="decisions between greedy validation points; the best checkpoint by "
        "validation score is the one evaluated (default: no validation, the final model)",
    )
    validate_episodes: int = Field(
        default=3, ge=1, le=MAX_VALIDATION_EPISODES, description="episodes per validation demand"
    )
    validate_demands: list[str | list[str]] | None = Field(
        default=None, min_length=1, description="validation demands (default: the training one)"
    )
    validate_score: ValidationScore = Field(
        default="mean",
        description="a validation point's score: the mean or the geometric mean of its "
        "episodes' waits (intergreen.agents.curves.validation_scores)",
    )

    @field_validator("env_kwargs")
    @classmethod
    def _no_duration(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "duration" in v:
            raise ValueError(
                "set the episode length with the grid's episode_duration (it applies to training "
                "and evaluation alike, so agents and baselines meet the same episodes), not "
                "training.env_kwargs.duration"
            )
        return v


class EvaluationSpec(BaseModel):
    """Held-out evaluation: the same seeds for every controller (paired comparisons)."""

    model_config = ConfigDict(extra="forbid")
    demands: list[str] = Field(default_factory=lambda: ["low", "medium", "high"], min_length=1)
    episodes: int = Field(default=30, ge=1)
    seeds: Literal["test", "validation"] = Field(
        default="test",
        description="the seed stream: test (reports) or validation (a grid that selects)",
    )
    validation_episodes: int = Field(
        default=0,
        ge=0,
        le=MAX_VALIDATION_EPISODES,
        description="episodes of the validation stream per demand on which every controller is "
        "also evaluated (rows with split = validation: the report chooses the best reward on "
        "them); 0: none, the best is chosen on the test rows (optimistic)",
    )

    @model_validator(mode="after")
    def _one_validation_set(self) -> EvaluationSpec:
        if self.validation_episodes and self.seeds == "validation":
            raise ValueError(
                "validation_episodes adds validation episodes beside the test episodes, but "
                "evaluation.seeds: validation makes the evaluation episodes validation ones "
                "already; drop one of the two (keep seeds: test to report test numbers)"
            )
        return self


class MoreSeeds(BaseModel):
    """Training seeds added where they decide something (issue 16, item 9).

    Once every reward has trained on the grid's ``seeds``, each reward's mean over those
    seeds of its runs' best validation score (best.json: the lowest mean waiting time over
    the validation episodes of a point, s per vehicle, lower is better) is compared with the
    lowest such mean of its agent and training demand; a reward with ``mean <= (1 +
    within) * best`` also trains on ``seeds`` here. Validation scores only: test episodes
    never select (docs/design.md)."""

    model_config = ConfigDict(extra="forbid")
    seeds: list[int] = Field(min_length=1, description="training seeds added to the close rewards")
    within: float = Field(  # le: also refuses inf and nan
        ge=0, le=10, description="relative margin to the best mean validation score (0.3 = 30%)"
    )


class GridConfig(BaseModel):
    """A batch comparison (see the shipped configs/study_quick.yaml for every field)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "study"
    junction: str = "gm_a56"
    rewards: list[str | dict[str, Any]] = Field(min_length=1)
    agents: dict[str, AgentSpec] = Field(min_length=1)
    train_demands: list[str | list[str]] = Field(default_factory=lambda: ["mixed"], min_length=1)
    seeds: list[int] = Field(min_length=1)
    training: TrainingBudget
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    baselines: list[str] = Field(
        default_factory=list,
        description="baselines evaluated beside the agents: names, NAME:tuned (the junction's "
        "tuned parameters) or a baseline tune's tuned.json (relative to the grid file)",
    )
    episode_duration: float | None = Field(
        default=None, gt=0, description="simulated seconds per episode (default: the demand's)"
    )
    more_seeds: MoreSeeds | None = Field(
        default=None, description="seeds added to the rewards close to the best on validation"
    )

    @field_validator("agents", mode="before")
    @classmethod
    def _agents_list(cls, v: Any) -> Any:
        """``agents: [dqn, ppo]`` is short for ``agents: {dqn: {}, ppo: {}}``."""
        if isinstance(v, list):
            return {str(a): {} for a in v}
        return {k: ({} if s is None else s) for k, s in v.items()} if isinstance(v, dict) else v

    @field_validator("seeds")
    @classmethod
    def _seeds_range(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if not 0 <= s <= MAX_BASE_SEED]
        if bad:
            raise ValueError(f"seeds must lie in [0, {MAX_BASE_SEED}]; got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds repeat: {v}")
        return v

    @model_validator(mode="after")
    def _more_seeds_usable(self) -> GridConfig:
        """``more_seeds`` decides on validation scores of several seeds: refuse a grid where it
        could not (no validation during training, one first seed) or would repeat a seed."""
        more = self.more_seeds
        if more is None:
            return self
        problems = []
        if self.training.validate_every is None:
            problems.append(
                "more_seeds selects rewards on validation scores: set training.validate_every "
                "(e.g. 50000) so that every run records its best validation score"
            )
        if len(self.seeds) < 2:
            problems.append(
                f"more_seeds compares seed means, but seeds lists {len(self.seeds)} seed: list "
                "at least 2 first seeds (seed-level statistics need 2 or more per reward)"
            )
        again = sorted(set(more.seeds) & set(self.seeds))
        if again:
            problems.append(f"more_seeds.seeds repeat seeds already in seeds: {again}")
        bad = [s for s in more.seeds if not 0 <= s <= MAX_BASE_SEED]
        if bad:
            problems.append(f"more_seeds.seeds must lie in [0, {MAX_BASE_SEED}]; got {bad}")
        if len(set(more.seeds)) != len(more.seeds):
            problems.append(f"more_seeds.seeds repeat: {more.seeds}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def cells(self, seeds: list[int] | None = None) -> list[RunCell]:
        """Every (reward, agent, training demand, seed) cell, in grid order; ``seeds``: these
        base seeds instead of the grid's ``seeds`` (``more_seeds.seeds`` for the added runs)."""
        env_kwargs = dict(self.training.env_kwargs)
        if self.episode_duration is not None:
            env_kwargs["duration"] = self.episode_duration
        out = []
        for reward in self.rewards:
            for name, spec in self.agents.items():
                agent = (spec.agent or name).lower()
                for demand in self.train_demands:
                    for seed in self.seeds if seeds is None else seeds:
                        out.append(
                            RunCell(
                                agent=agent,
                                label=None if name.lower() == agent else name.lower(),
                                reward=reward,
                                train_demand=demand,
                                seed=seed,
                                junction=self.junction,
                                timesteps=self.training.timesteps,
                                n_envs=self.training.n_envs,
                                checkpoint_every=self.training.checkpoint_every,
                                preset=spec.preset,
                                hyperparams=dict(spec.hyperparams),
                                env_kwargs=env_kwargs,
                                validate_every=self.training.validate_every,
                                validate_episodes=self.training.validate_episodes,
                                validate_demands=self.training.validate_demands,
                                validate_score=self.training.validate_score,
                            )
                        )
        return out

    def episode_options(self) -> dict[str, Any]:
        """The training episodes' options besides their length that every evaluated controller
        plays under too (``pedestrians``, ``sensor_noise`` of ``training.env_kwargs``)."""
        env = self.training.env_kwargs
        return {k: env[k] for k in EPISODE_OPTIONS if k != "duration" and k in env}

    def eval_plan(self) -> EvalPlan:
        return EvalPlan(
            junction=self.junction,
            demands=list(self.evaluation.demands),
            episodes=self.evaluation.episodes,
            duration=self.episode_duration,
            seed_role=self.evaluation.seeds,
            episode_options=self.episode_options(),
        )

    def validation_plan(self) -> EvalPlan | None:
        """The validation episodes every controller also meets (``evaluation.
        validation_episodes`` of the validation stream per demand), None when there are none."""
        if not self.evaluation.validation_episodes:
            return None
        return EvalPlan(
            junction=self.junction,
            demands=list(self.evaluation.demands),
            episodes=self.evaluation.validation_episodes,
            duration=self.episode_duration,
            seed_role="validation",
            episode_options=self.episode_options(),
        )


@dataclass(frozen=True)
class EvalPlan:
    """Where and how every controller is evaluated: ``episodes`` episodes of the
    ``seed_role`` stream per demand, the same for every controller."""

    junction: str
    demands: list[str]
    episodes: int
    duration: float | None
    seed_role: str = "test"
    #: the training episodes' other options (``pedestrians``, ``sensor_noise`` of
    #: ``training.env_kwargs``), which every controller plays under too: baselines included
    episode_options: dict[str, Any] = field(default_factory=dict)

    def seeds(self) -> list[int]:
        """The evaluation episodes' reset seeds."""
        return episode_seeds(self.seed_role, self.episodes)

    def key(self) -> str:
        """A hash of the plan and of the package version that evaluates it (a plan without
        episode options keeps the key it had before plans carried them)."""
        plan = {k: v for k, v in self.__dict__.items() if k != "episode_options" or v}
        return _hash({**plan, "intergreen_version": version.__version__})


@dataclass(frozen=True)
class RunCell:
    """One training run of the grid; ``key()`` names its run folder."""

    agent: str
    reward: str | dict[str, Any]
    train_demand: str | list[str]
    seed: int
    junction: str
    timesteps: int
    n_envs: int
    checkpoint_every: int
    preset: str | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    validate_every: int | None = None
    validate_episodes: int = 3
    validate_demands: list[str | list[str]] | None = None
    validate_score: ValidationScore = "mean"
    #: the agent's name in the grid where it is not the algorithm's (e.g. ``ppo_tuned``)
    label: str | None = None

    @property
    def agent_label(self) -> str:
        """The agent's name in run folders, results and reports (``label``, else ``agent``)."""
        return self.label or self.agent

    def train_config(self):
        from intergreen.agents.config import TrainConfig

        return TrainConfig(
            agent=self.agent,
            junction=self.junction,
            demand=self.train_demand,
            reward=self.reward,
            timesteps=self.timesteps,
            seed=self.seed,
            preset=self.preset,
            hyperparams=self.hyperparams,
            n_envs=self.n_envs,
            checkpoint_every=self.checkpoint_every,
            env_kwargs=self.env_kwargs,
            validate_every=self.validate_every,
            validate_episodes=self.validate_episodes,
            validate_demands=self.validate_demands,
            validate_score=self.validate_score,
        )

    def key(self) -> str:
        """The training configuration's hash (as in the run's config.json)."""
        return self.train_config().key()

    @property
    def reward_label(self) -> str:
        return label(self.reward)

    @property
    def demand_label(self) -> str:
        return label(self.train_demand)

    def dir_name(self) -> str:
        return f"{self.reward_label}-{self.agent_label}-s{self.seed}-{self.key()}"


def label(x: str | list[str] | dict[str, Any]) -> str:
    """A short readable name for a reward or demand given as a string, list or mapping."""
    if isinstance(x, str):
        return x
    if isinstance(x, list):
        return "+".join(map(str, x))
    from intergreen.rewards.registry import reward_label

    return reward_label(str(x.get("name", "reward")), {k: v for k, v in x.items() if k != "name"})


def _written(reward: str | dict[str, Any]) -> str:
    """A grid's reward entry as written: the name, or the mapping as JSON (YAML's flow style)."""
    return reward if isinstance(reward, str) else json.dumps(reward)


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


#: grid.json's key for the absolute path of the grid's junction file (:func:`grid_record`)
JUNCTION_FILE = "junction_file"
#: grid.json: the user reward modules the batch's process had loaded (``--reward-module``,
#: ``$INTERGREEN_REWARD_MODULES``), so that a command reading it can name them.
REWARD_MODULES = "reward_modules"


def grid_record(grid: GridConfig) -> dict[str, Any]:
    """What a batch records of its grid (grid.json): the validated grid and, for a junction
    given as a YAML path or its folder (an imported network), ``junction_file``, that file's
    absolute path (:func:`intergreen.junctions.catalog.junction_file`, as a run's config.json
    records it), so that the batch is reported and its status read from any folder. The
    grid's ``junction`` stays as typed: run and plan keys hash it, so no folder changes its
    name; a shipped junction gets no ``junction_file``. ``reward_modules``: the user reward
    modules loaded (none: absent), a module of the working folder by its file's absolute path
    (:func:`intergreen.rewards.registry.module_location`: status's commands work from any
    folder). :func:`load_grid` reads it back."""
    from intergreen.rewards.registry import module_location, reward_modules

    record = grid.model_dump(mode="json")
    if (path := junction_file(grid.junction)) is not None:
        record[JUNCTION_FILE] = str(path)
    if modules := reward_modules():
        record[REWARD_MODULES] = [module_location(m) for m in modules]
    return record


#: Grid fields a batch may change in its folder without ``--force``: the evaluation (adding
#: validation episodes to a finished grid runs only them) and the name.
CHANGEABLE_IN_PLACE = ("evaluation", "name")


def grid_changes(recorded: dict[str, Any], grid: GridConfig) -> list[str]:
    """How ``grid`` differs from a batch's recorded grid.json, outside
    :data:`CHANGEABLE_IN_PLACE`: ``"training.timesteps: 2000 -> 1500"`` per differing field
    (dotted), both read through :func:`load_grid` (so defaults added since compare equal).
    Empty when they agree, or when the record no longer loads here (nothing to compare)."""
    try:
        old = load_grid(recorded).model_dump(mode="json")
    except (GridError, ValueError):
        return []
    return field_changes(old, grid.model_dump(mode="json"), skip=CHANGEABLE_IN_PLACE)


def resolve_grid_path(name: str | Path) -> Path:
    """A grid file path, or the name of a shipped config (``study_quick``)."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    shipped = CONFIG_DIR / f"{stem}.yaml"
    if str(path) == path.name and shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    if path.is_dir():
        raise GridError(str(name), [f"a folder, not a grid file; give a grid YAML, or a shipped "
                                    f"config ({known})"])  # fmt: skip
    raise GridError(str(name), [f"no such file, nor a shipped config ({known})"])


#: How a grid's training budget is chosen when its file leaves it open (``timesteps: null``).
BUDGET_HINT = (
    "choose it from a convergence check (`intergreen validation-curve RESULTS/runs/*/ "
    "--tolerance 0.05`) and give it with `--set training.timesteps=N` (or in a copy of the file)"
)


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``"a.b.c": value`` of ``overrides`` set at that dotted path
    (mappings on the way are created). GridError when a step of a path is not a mapping."""
    import copy

    out = copy.deepcopy(raw)
    problems = []
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node: Any = out
        for i, step in enumerate(parents):
            node = node.setdefault(step, {}) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                problems.append(
                    f"--set {path}: {'.'.join(parents[: i + 1])} is not a mapping of fields"
                )
                break
        else:
            if not last:
                problems.append(f"--set {path}: give a field name, e.g. training.timesteps")
            else:
                node[last] = value
    if problems:
        raise GridError("--set", problems)
    return out


def load_grid(
    source: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None
) -> GridConfig:
    """Read and validate a grid (path, shipped config name, or mapping); GridError lists all
    problems found.

    ``overrides``: dotted field paths and values set into the grid before it is validated
    (``{"training.timesteps": 300000}``: ``intergreen compare GRID --set KEY=VALUE``); the
    problems then name the file ``with --set ...``. A file may leave ``training.timesteps``
    null (a budget still to be chosen): it loads only with a value given this way.

    A mapping, or a file, may be a batch's grid.json (:func:`grid_record`): its
    ``junction_file``, where that file exists, is the junction checked, so that the grid
    loads from any folder; the grid's ``junction`` stays the name as typed (run and plan keys
    hold it)."""
    if isinstance(source, dict):
        raw, where = copy.deepcopy(source), "grid"
    else:
        path = resolve_grid_path(source)
        where = str(path)
        try:
            raw = read_yaml(path)
        except YamlError as e:
            raise GridError(where, [str(e).removeprefix(f"{where}:").strip()]) from None
        if not isinstance(raw, dict):
            raise GridError(where, ["the file must be a mapping of fields (rewards, agents, ...)"])
    # a batch's grid.json, as a mapping or as the grid file (what `status` says to resume with)
    recorded = raw.pop(JUNCTION_FILE, None)
    modules = raw.pop(REWARD_MODULES, None) or []  # named below where a reward is unknown
    if overrides:
        raw = apply_overrides(raw, overrides)
        where += " with " + " ".join(
            f"--set {k}={v if isinstance(v, str) else json.dumps(v)}"  # as typed, not Python's
            for k, v in overrides.items()
        )
    training = raw.get("training")
    open_budget = isinstance(training, dict) and training.get("timesteps", 0) is None
    base = Path.cwd() if isinstance(source, dict) else path.parent
    unusable = resolve_tuned_agents(raw, base)
    resolve_baseline_files(raw, base)
    problems: list[str] = [] if unusable else _tuned_timesteps(raw)
    grid: GridConfig | None = None
    try:
        grid = GridConfig.model_validate(raw)
    except ValidationError as e:
        problems += validation_problems(e, GridConfig)
    if open_budget:  # pydantic's "not a valid integer" would not say what to do
        problems = [p for p in problems if not p.startswith("training.timesteps:")]
        problems.insert(0, f"training.timesteps: not set in the file; {BUDGET_HINT}")
    problems += semantic_problems(raw, recorded)
    if grid is not None and not any(p.startswith(("junction:", "evaluation.")) for p in problems):
        problems += baseline_problems(grid, junction_of_record(grid.junction, recorded))
    if unusable:  # that agent's other problems follow from it: only the tune's file is wrong
        follow = [f"agents.{name}{end}" for name in unusable for end in (":", ".")]
        if isinstance(training, dict) and training.get("timesteps") == "tuned":
            follow.append("training.timesteps:")
        problems = [*unusable.values(), *(p for p in problems if not p.startswith(tuple(follow)))]
    missing = modules_not_loaded(modules) if any("unknown reward" in p for p in problems) else []
    if missing:  # recorded and not loaded here: the likely cause
        problems.append(
            "the batch's rewards are registered by the reward module(s) it recorded: give "
            f"intergreen {' '.join(f'--reward-module {m}' for m in missing)} before the command"
        )
    if problems:
        raise GridError(where, list(dict.fromkeys(problems)))
    assert grid is not None
    return grid


def semantic_problems(raw: dict[str, Any], recorded_file: str | None = None) -> list[str]:
    """Unknown rewards, agents, presets, hyperparameters, baselines, junction or demands.

    Works on the raw mapping so it can report alongside structural errors; ``recorded_file``:
    the junction file a batch recorded (grid.json), checked instead of ``junction`` where it
    exists (:func:`intergreen.junctions.catalog.junction_of_record`)."""
    from intergreen.agents.config import AGENTS, AgentConfigError, resolve_hyperparameters
    from intergreen.junctions.baselines import BASELINES, is_baseline
    from intergreen.rewards import RewardError, resolve_reward

    problems: list[str] = []
    rewards = raw.get("rewards")
    seen: dict[str, int] = {}  # a reward's canonical form -> its first entry
    for i, r in enumerate(rewards if isinstance(rewards, list) else []):
        if not isinstance(r, str | dict):
            continue
        try:
            resolve_reward(r)
        except (RewardError, TypeError, ValueError) as e:
            # the registry's words: a near name, the known ones, --reward-module for your own
            problems.append(f"rewards[{i}]: {e}")
            continue
        one = json.dumps(canonical_reward(r), sort_keys=True)
        if one in seen:
            first = seen[one]
            problems.append(
                f"rewards[{i}]: {_written(r)} is the reward of rewards[{first}] "
                f"({_written(rewards[first])}) again; list each reward once"
            )
        seen.setdefault(one, i)
    agents = raw.get("agents")
    if isinstance(agents, list):
        agents = {str(a): {} for a in agents}
    for name, spec in (agents or {}).items() if isinstance(agents, dict) else []:
        spec = spec or {}
        if not isinstance(spec, dict):
            continue
        agent = str(spec.get("agent") or name).lower()
        if agent not in AGENTS:
            where = f"agents.{name}" + (".agent" if spec.get("agent") else "")
            fix = "" if spec.get("agent") else f", or say which: `{name}: {{agent: ppo}}`"
            problems.append(f"{where}: unknown agent; use one of {', '.join(AGENTS)}{fix}")
            continue
        hp = spec.get("hyperparams") or {}
        try:
            resolve_hyperparameters(agent, spec.get("preset"), hp if isinstance(hp, dict) else {})
        except AgentConfigError as e:
            problems.append(f"agents.{name}: {e}")
        if isinstance(spec.get("tuned"), dict):
            problems += _tuned_problems(raw, str(name), agent, spec["tuned"])
    baselines = raw.get("baselines")
    for i, b in enumerate(baselines if isinstance(baselines, list) else []):
        if not is_baseline(str(b)):
            problems.append(
                f"baselines[{i}]: unknown baseline {b!r}; known: {', '.join(BASELINES)}, "
                f"NAME:tuned for a junction's tuned parameters (tuned/NAME.json in its folder), "
                "and the path of a baseline tune's tuned.json"
            )
    problems += _junction_and_demand_problems(raw, recorded_file)
    return problems


def untrained_agents(grid: GridConfig) -> list[str]:
    """A problem per DQN agent whose runs end before their first gradient step (each run
    trains at most SB3's ``learning_starts`` decisions): its models stay untrained, and its
    results would be reported as an agent's (beside a tuned agent whose tune fixed a lower
    ``learning_starts``, an untrained network against a trained one). ``compare`` refuses
    such a grid before any run starts."""
    from intergreen.agents.config import (
        collection_unit,
        first_learning_step,
        planned_timesteps,
        resolve_hyperparameters,
        stays_untrained,
    )

    notes = []
    for name, spec in grid.agents.items():
        agent = (spec.agent or name).lower()
        hp = resolve_hyperparameters(agent, spec.preset, spec.hyperparams)
        unit = collection_unit(agent, hp, grid.training.n_envs)
        trained = planned_timesteps(0, grid.training.timesteps, unit)
        if stays_untrained(agent, hp, trained):
            starts = first_learning_step(agent, hp)
            notes.append(
                f"agents.{name}: DQN makes its first gradient step after learning_starts "
                f"{starts:,} decisions and each run trains {trained:,}: its models stay "
                f"untrained (raise training.timesteps, or set agents.{name}.hyperparams."
                f"learning_starts below {trained:,})"
            )
    return notes


def schedule_notes(grid: GridConfig) -> list[str]:
    """A note where the training schedule cannot do what it is set for: validation every
    ``validate_every`` >= ``timesteps`` decisions validates once, at the end (each run's best
    checkpoint is then its final model: nothing is selected); checkpoints every
    ``checkpoint_every`` >= ``timesteps`` decisions leave a killed run nothing to resume from."""
    t = grid.training
    notes = []
    if t.validate_every is not None and t.validate_every >= t.timesteps:
        notes.append(
            f"training.validate_every {t.validate_every:,} >= training.timesteps "
            f"{t.timesteps:,}: each run validates once, at its end, so the checkpoint the "
            f"batch evaluates is the final model (nothing is selected; give validate_every "
            f"below {t.timesteps:,})"
        )
    if t.checkpoint_every >= t.timesteps:
        notes.append(
            f"training.checkpoint_every {t.checkpoint_every:,} >= training.timesteps "
            f"{t.timesteps:,}: a run stopped partway restarts from nothing (give "
            f"checkpoint_every below {t.timesteps:,} to resume runs where they stopped)"
        )
    return notes


def baseline_problems(grid: GridConfig, junction: str) -> list[str]:
    """Each baseline of ``grid`` that cannot run on ``junction`` (the grid's, or the file its
    batch recorded), checked as ``intergreen evaluate`` checks one before any episode
    (:func:`intergreen.agents.evaluation.check_baseline`) in the episodes the batch evaluates
    it on: a tuned one (``NAME:tuned``) without its tuned file for the junction, a parameter
    file that is missing, unreadable or tuned on another junction, two files that results
    would label alike (same folder and file name), ``program`` on a junction without a signal
    programme of its own (gm_a56). Unknown names are left to :func:`semantic_problems`. One
    ``baselines[i]: ...`` line each."""
    from intergreen.agents.evaluation import check_baseline
    from intergreen.agents.runenv import common_episode
    from intergreen.junctions.baselines import baseline_key, baseline_label, is_baseline
    from intergreen.junctions.catalog import resolve_junction

    known = [(i, b) for i, b in enumerate(grid.baselines) if is_baseline(b)]
    if not known:
        return []
    plan = grid.eval_plan()
    spec = resolve_junction(junction)
    episode = common_episode({}, {**plan.episode_options, "duration": plan.duration})
    problems: list[str] = []
    shown: dict[str, tuple[int, str]] = {}  # label -> the first baseline shown so
    for i, name in known:
        try:
            check_baseline(name, spec, plan.demands[0], episode=episode)
        except IntergreenError as e:
            problems.append(f"baselines[{i}]: {' '.join(str(e).split())}")
            continue
        label = baseline_label(name)
        j, first = shown.setdefault(label, (i, name))
        if baseline_key(first) != baseline_key(name):  # two files, one folder and file name
            problems.append(
                f"baselines[{i}]: {name} would be shown as {label!r}, as baselines[{j}] is; "
                "keep the two files in folders of different names"
            )
    return problems


def resolve_baseline_files(raw: dict[str, Any], base: Path) -> None:
    """Make each baseline given as a parameter file's path (``va/tuned.json``, relative to
    ``base``, the grid file's folder) absolute in ``raw``, so that the batch's grid.json runs
    it from any folder. A missing file is left to :func:`baseline_problems`."""
    from intergreen.junctions.baseline_params import is_param_file_name

    baselines = raw.get("baselines")
    for i, b in enumerate(baselines if isinstance(baselines, list) else []):
        if isinstance(b, str) and is_param_file_name(b):
            path = Path(b).expanduser()
            baselines[i] = str((path if path.is_absolute() else base / path).resolve())


def resolve_tuned_agents(raw: dict[str, Any], base: Path) -> dict[str, str]:
    """Replace each agent's ``tuned: PATH`` (relative to ``base``, the grid file's folder) in
    ``raw`` by the tune's summary, taking the algorithm, preset and hyperparameters from its
    tuned.json (the spec's own ``hyperparams`` win). Returns agent name -> the problem of each
    agent whose tune cannot be used (unreadable file, another algorithm); those stay as
    given."""
    from intergreen.agents.tuned_params import AgentTunedError, read_agent_tuned

    agents = raw.get("agents")
    problems: dict[str, str] = {}
    for name, spec in agents.items() if isinstance(agents, dict) else []:
        if not isinstance(spec, dict) or not isinstance(spec.get("tuned"), str | Path):
            continue
        path = Path(spec["tuned"]).expanduser()
        try:
            tuned = read_agent_tuned(path if path.is_absolute() else base / path)
        except AgentTunedError as e:
            problems[name] = f"agents.{name}.tuned: {e}"
            continue
        given = spec.get("agent")
        if given and str(given).lower() != tuned.agent:
            problems[name] = (
                f"agents.{name}.agent: {given} but {tuned.path} tuned {tuned.agent}; drop "
                "`agent:` or give a tune of that agent"
            )
            continue
        hp = spec.get("hyperparams") if isinstance(spec.get("hyperparams"), dict) else {}
        spec.update(
            agent=tuned.agent,
            preset=spec.get("preset") or tuned.doc.get("preset"),
            hyperparams={**tuned.hyperparams, **hp},
            tuned=tuned.summary(),
        )
    return problems


def _tuned_timesteps(raw: dict[str, Any]) -> list[str]:
    """``training.timesteps: tuned``: every run trains as many decisions per agent as the
    tune's best trial did (set in ``raw``); the problem when no or several tunes say."""
    training = raw.get("training")
    if not isinstance(training, dict) or training.get("timesteps") != "tuned":
        return []
    agents = raw.get("agents") if isinstance(raw.get("agents"), dict) else {}
    steps = {
        int(spec["tuned"]["timesteps"]) for spec in agents.values()
        if isinstance(spec, dict) and isinstance(spec.get("tuned"), dict)
        and spec["tuned"].get("timesteps")
    }  # fmt: skip
    if len(steps) != 1:
        why = "no agent has `tuned:`" if not steps else f"the tunes differ ({sorted(steps)})"
        return [f"training.timesteps: tuned, but {why}; give a number of decisions"]
    training["timesteps"] = steps.pop()
    return []


def _tuned_problems(raw: dict[str, Any], name: str, agent: str, tuned: dict[str, Any]) -> list[str]:
    """A tuned agent used where its tune does not speak: another junction, reward or
    algorithm, or training seeds that trained the tune's trials (their episodes would be
    replayed, so the comparison would not be on fresh seeds)."""
    where, file = f"agents.{name}.tuned", tuned.get("file", "the tune")
    problems = []
    if tuned.get("agent") not in (None, agent):
        problems.append(f"{where}: {file} tuned {tuned['agent']}, this agent is {agent}")
    junction = raw.get("junction", "gm_a56")
    if tuned.get("junction") not in (None, junction):
        problems.append(
            f"{where}: {file} was tuned on junction {tuned['junction']}, this grid runs "
            f"{junction}; tune on {junction} or set `junction: {tuned['junction']}`"
        )
    rewards = raw.get("rewards") if isinstance(raw.get("rewards"), list) else []
    tuned_reward = canonical_reward(tuned.get("reward"))  # one reward however it is written
    other = [label(r) for r in rewards if isinstance(r, str | dict)
             and canonical_reward(r) != tuned_reward]  # fmt: skip
    if tuned.get("reward") is not None and other:
        problems.append(
            f"{where}: {file} was tuned for reward {tuned['reward']}, this grid also trains "
            f"{', '.join(other)}; keep `rewards: [{tuned['reward']}]` in a grid with it"
        )
    used = {int(s) for s in tuned.get("train_seeds") or []}
    more = raw.get("more_seeds") if isinstance(raw.get("more_seeds"), dict) else {}
    seeds = [s for s in [*(raw.get("seeds") or []), *(more.get("seeds") or [])]
             if isinstance(s, int)]  # fmt: skip
    clash = sorted(set(seeds) & used)
    if clash:
        start = 1000
        while set(range(start, start + len(seeds))) & used:
            start += 1000
        problems.append(
            f"seeds: {_seed_text(clash)} trained trials of the tune in {file}; compare on "
            f"seeds it never trained on, e.g. "
            + (f"{start}-{start + len(seeds) - 1}" if len(seeds) > 1 else str(start))
        )
    return problems


def _seed_text(seeds: list[int]) -> str:
    return listing(seeds, 8)


def _junction_and_demand_problems(raw: dict[str, Any], recorded_file: str | None) -> list[str]:
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import resolve_demand, training_range

    junction = raw.get("junction", "gm_a56")
    try:
        spec = resolve_junction(junction_of_record(junction, recorded_file))
    except Exception as e:  # SpecError, FileNotFoundError: the message names the fix
        return [f"junction: {' '.join(str(e).split())}"]

    def mixed(d: Any) -> bool:
        try:
            return isinstance(d, str) and training_range(spec, d.removesuffix("+peds")) is not None
        except Exception:  # no demand.yaml: resolve_demand says so
            return False

    def check(where: str, d: Any) -> list[str]:
        if mixed(d) and where.startswith("train"):  # train_demands, training.validate_demands
            return []
        try:
            resolve_demand(spec, d)
        except Exception as e:
            return [f"{where}: {' '.join(str(e).split())}"]
        return []

    problems: list[str] = []
    tds = raw.get("train_demands", ["mixed"])
    for i, d in enumerate(tds if isinstance(tds, list) else []):
        if isinstance(d, list):
            for j, x in enumerate(d):
                problems += check(f"train_demands[{i}][{j}]", x)
        elif isinstance(d, str):
            problems += check(f"train_demands[{i}]", d)
    training = raw.get("training") or {}
    vds = training.get("validate_demands") if isinstance(training, dict) else None
    for i, d in enumerate(vds if isinstance(vds, list) else []):
        for j, x in enumerate(d) if isinstance(d, list) else [(None, d)]:
            where = f"training.validate_demands[{i}]" + (f"[{j}]" if j is not None else "")
            problems += check(where, x)
    ev = raw.get("evaluation") or {}
    eds = ev.get("demands", []) if isinstance(ev, dict) else []
    for i, d in enumerate(eds if isinstance(eds, list) else []):
        if mixed(d):
            problems.append(f"evaluation.demands[{i}]: evaluate on fixed levels, not {d!r}")
        elif isinstance(d, str):
            problems += check(f"evaluation.demands[{i}]", d)
    return problems
