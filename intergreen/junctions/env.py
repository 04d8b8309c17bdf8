"""JunctionEnv: a gymnasium environment of one signalised junction.

Simulation + StageController + sensors + reward. An agent step is a decision:
the agent names an action stage; the controller moves there under the UK rules
(or extends the current stage), and the environment advances at least one
decision interval and then on through any interstage and minimum green until the
agent may decide again (as in the study, where the agent is queried every 0.6 s
once minimum green has run). The reward sees the SensorFrames since the
previous decision.

Observation: the last ``n_stack`` SensorFrames (the study stacks 20 frames of
0.6 s), each as the lane features (occupancy by default) + with pedestrians,
a push-button flag per signalled crossing (as the follow-up study) + one-hot of the
running stage + an interstage flag, then the time in stage (scaled to 0..1 over
``time_scale`` seconds); all in [0, 1]. ``action_masks()`` says which stages the
controller would act on now (sb3-contrib's MaskablePPO reads it); illegal
requests are safe anyway, the controller queues them.
"""

from __future__ import annotations

import json
import math
import types
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import ValidationError

import intergreen.seeds as seeds
from intergreen.common import check_sim_seconds, first_repeat
from intergreen.errors import OptionError, format_validation_error
from intergreen.frames import SensorFrame, UnreadFieldError
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.checker import (
    Findings,
    RuleMonitor,
    RuleViolation,
    rule_profile,
    sumo_link_conflicts,
)
from intergreen.junctions.controller import StageController
from intergreen.junctions.demand import (
    DemandProfile,
    constant_demand,
    describe,
    mixed_totals,
    resolve_demand,
    training_range,
)
from intergreen.junctions.imported import ImportedJunctionSpec
from intergreen.junctions.network import build_network
from intergreen.junctions.program_control import ProgramFollower
from intergreen.junctions.sensors import SensorArray
from intergreen.junctions.simulation import Backend, EpisodeMetrics, Simulation
from intergreen.junctions.spec import MIN_ACTION_STAGES, JunctionSpec, Noise, SpecError
from intergreen.rewards import RewardContext, RewardError
from intergreen.rewards import registry as reward_registry

LANE_FEATURES = ("occupancy", "halting", "count", "mean_speed")
#: when_ready: the agent decides only when the controller can act (the study's way: after
#: an interstage and the minimum green); every_interval: every decision interval, an action
#: taken while a change or a minimum green runs being ignored (equal-length steps: a plain
#: MDP, and vectorised envs that do not wait for each other's long interstages).
DECISION_MODES = ("when_ready", "every_interval")
#: controller: our StageController writes the signal states; program: SUMO runs the
#: network's own signal program (junctions imported from a SUMO network), nothing written
SIGNAL_MODES = ("controller", "program")
DemandArg = str | float | DemandProfile | Sequence[str | float | DemandProfile] | None


#: the reward of an environment made without one (a registry reward)
DEFAULT_REWARD = "queue"

#: sensor_fields: "all" reads every SensorFrame field from the detectors at every sample;
#: "auto" only those the observation's features and the reward's declared ``fields`` use
#: (a reward without declared fields gets all); a list of field names: those besides.
SENSOR_FIELDS = ("all", "auto")


class JunctionEnv(gym.Env[np.ndarray, np.int64]):
    """A UK signalised junction in SUMO, seen through roadside sensors.

    **Description.** One agent step is one signal decision. The agent names an action stage;
    the stage controller extends the running stage or moves to the named one under the UK
    rules (amber, red+amber, intergreens, minimum greens, permitted stage transitions), and the
    environment advances at least one decision interval and, with ``decisions="when_ready"``,
    on through any interstage and minimum green until the controller can act again (the
    study's way: decisions every 0.6 s once the minimum green has run).

    **Action space.** ``Discrete(len(action_stages))``: action ``i`` requests stage
    ``action_stages[i]`` (gm_a56: 0 -> stage 2, the main road; 1 -> stage 4, the side roads).
    ``action_masks()`` says which requests the controller would act on now; the others are safe
    (the controller queues them).

    **Observation space.** ``Box(0, 1, shape=(n_stack * row + 1,), float32)`` with
    ``row = n_lanes * len(features) + n_crossings + n_stages + 1``: per sensor frame (oldest
    first, the last ``n_stack`` frames), each feature per approach lane (occupancy of the camera
    zone, or halting / count / mean speed scaled to [0, 1]), with pedestrians a push-button flag
    per signalled crossing, a one-hot of the running stage over all the junction's stages, an
    interstage flag; then the time in the running stage in seconds divided by ``time_scale``
    (capped at 1). gm_a56 with the defaults: 6 lanes, 4 stages, ``20 * 11 + 1 = 221`` values.

    **Reward.** The reward named by ``reward`` (see ``intergreen rewards list``), computed from
    the sensor frames since the previous decision; higher is better. A value that is not a
    finite number raises :class:`~intergreen.rewards.RewardError` (SUMO is closed first).

    **Starting state.** Each ``reset`` draws the episode's demand (for a list or ``"mixed"``)
    and SUMO's seed from the env's seeded generator, starts SUMO on an empty network and runs
    to the first decision.

    **Episode end.** Never ``terminated``; ``truncated`` when the simulated time reaches the
    episode's duration (default: the demand's, 1800 s for the study levels). The last ``info``
    holds ``episode_metrics`` (ground truth from SUMO: waiting time, delay, throughput, ...)
    and ``episode_reward``.

    Args:
        junction: a shipped junction name (``intergreen junctions list``), a junction YAML path,
            or a :class:`~intergreen.junctions.spec.JunctionSpec`.
        demand: a demand level (``"low"``, ``"medium"``, ``"high"``: 1680, 2210, 2540 veh/h
            into gm_a56; ``"low_v1"``, ...: the levels before issue 16), a total such as
            ``"1900vph"`` or a number in veh/h, a profile name or YAML path, a
            :class:`DemandProfile`, a list of these (one drawn per episode), or ``"mixed"`` (a
            total drawn per episode from the training range, 1200-3000 veh/h on gm_a56;
            ``"mixed_v1"``: 1200-2571); ``+peds`` adds pedestrians. None (the default): the
            junction's own default (``medium`` on gm_a56, the route files of an imported
            network: ``intergreen.junctions.demand.default_demand``).
        reward: a reward name, ``{"name": ..., **params}``, a Reward object, or a function
            ``(frames, context) -> float``; None: the registry's ``queue`` (``DEFAULT_REWARD``).
        seed: seeds the env's generator (demand draws, SUMO's seed, sensor noise); the first
            ``reset()`` without a seed uses it and later resets continue its sequence.
        n_stack: sensor frames stacked in the observation (>= 1; the study: 20 frames of 0.6 s).
        features: lane features per frame, from ``"occupancy"``, ``"halting"``, ``"count"``,
            ``"mean_speed"``.
        time_scale: seconds in stage that map to 1.0 in the observation's last value.
        duration: simulated seconds per episode (default: the demand's duration).
        backend: ``"libsumo"`` (in process, one simulation per process) or ``"traci"`` (a SUMO
            server process).
        gui: watch in sumo-gui (uses traci).
        action_stages: the stages the agent chooses among, at least two, each named once
            (default: the junction's). Stages that leave a movement of the demand's traffic
            without any green are allowed with a UserWarning naming its signal groups and the
            stage that serves them (:func:`warn_unserved_traffic`).
        sensor_noise: camera noise ``{"count_sd", "miss_prob", "dropout_prob"}`` (default: the
            junction YAML's ``sensors.noise``).
        pedestrians: run pedestrians and their crossings (default: when the demand has them).
        decisions: ``"when_ready"`` (decide only when the controller can act) or
            ``"every_interval"`` (every decision interval; requests during a change or a
            minimum green are ignored).
        simulation_factory: builds each episode's :class:`Simulation` (same arguments).
        render_mode: ``"human"`` opens sumo-gui.
        sensor_fields: the SensorFrame fields read from the detectors at each sample:
            ``"all"``; ``"auto"``, those the observation's features and the reward's declared
            ``fields`` use (all when the reward declares none), as training does; or a list of
            fields read besides those. The same frames, fewer detector reads; reading a field
            that was not read raises :class:`~intergreen.frames.UnreadFieldError`.
        check_rules: judge the link states SUMO shows (``getRedYellowGreenState``) every step with
            the independent checker (:mod:`intergreen.junctions.checker`: exact amber and red+amber
            of the junction's rule profile (``rules: program`` with ``signals="program"``: the
            program's own), minimum and maximum greens, intergreens, SUMO's own foe matrix,
            permitted transitions); the first violation closes SUMO and ``step``/``reset`` raise
            :class:`~intergreen.junctions.checker.RuleViolation` naming the time, the rule and the
            links. With ``signals="program"`` the network's own program is judged under the
            junction's profile and nothing stops it: what breaks the profile is counted in
            ``rule_findings`` (:class:`~intergreen.junctions.checker.Findings`, cleared by
            ``reset``). Off by default (a state read and the check per step).

    Raises:
        SpecError: an unknown junction, demand or action stage, an invalid junction YAML or
            ``sensor_noise``, pedestrians on a junction without crossings.
        OptionError: ``action_stages`` naming fewer than two stages or a stage twice (one
            line naming ``action_stages=``: :func:`check_action_stages`), an unknown
            feature, ``n_stack < 1``, an unknown ``decisions`` mode or
            ``sensor_fields`` value or field.
        RewardError: an unknown reward or bad reward parameters.
    """

    metadata = {"render_modes": ["human"]}

    def __init__(
        self,
        junction: str | Path | JunctionSpec = "gm_a56",
        demand: DemandArg = None,
        reward: Any = None,
        seed: int | None = None,
        *,
        n_stack: int = 20,
        features: Sequence[str] = ("occupancy",),
        time_scale: float = 60.0,
        duration: float | None = None,
        backend: Backend = "libsumo",
        gui: bool = False,
        action_stages: Sequence[str] | None = None,
        sensor_noise: Noise | dict | None = None,
        pedestrians: bool | None = None,
        decisions: str = "when_ready",
        signals: str = "controller",
        simulation_factory: Callable[..., Simulation] | None = None,
        render_mode: str | None = None,
        sensor_fields: str | Sequence[str] = "all",
        check_rules: bool = False,
    ) -> None:
        super().__init__()
        _check_numbers(seed, duration, time_scale)  # before anything is built
        self.spec_ = resolve_junction(junction)
        spec = self.spec_
        for f in features:
            if f not in LANE_FEATURES:
                raise OptionError(f"unknown observation feature {f!r}; use {LANE_FEATURES}")
        if n_stack < 1:
            raise OptionError(f"n_stack must be >= 1, got {n_stack}")
        chosen = spec.action_stages if action_stages is None else action_stages
        self.action_stages = [str(s) for s in chosen]
        for s in self.action_stages:
            if s not in spec.stages:
                raise SpecError(f"action stage {s!r} is not a stage of {spec.name}")
        if action_stages is not None:  # the caller's choice (a junction's own is its YAML's)
            check_action_stages(spec, self.action_stages)
        self._demand_choice, demand_has_peds, demands = self._demand_sampler(demand)
        if action_stages is not None and signals == "controller":
            # the movements with traffic in any demand the episodes can draw
            warn_unserved_traffic(spec, self.action_stages, {
                m for d in demands for p in d.periods for m, v in p.flows.items() if v > 0
            })  # fmt: skip
        self.pedestrians = demand_has_peds if pedestrians is None else bool(pedestrians)
        self.network = build_network(spec, pedestrians=self.pedestrians)
        self.lanes = tuple(spec.approach_lane_ids)
        arms = set(self.network.crossing_arms)
        self.crossing_arms = tuple(a for a in spec.arms if a in arms) if self.pedestrians else ()
        if self.pedestrians and not self.crossing_arms:
            raise SpecError(f"junction {spec.name} has no signalled pedestrian crossings")
        # the stages that run a crossing: one of them must be the controller's to call
        walk = [s for s in spec.stages if spec.crossings_of(s)] if (
            self.pedestrians and signals == "controller"
        ) else []  # fmt: skip
        if walk and not set(walk) & set(self.action_stages):
            stages = ",".join(sorted({*self.action_stages, *walk}))
            warnings.warn(
                f"the demand brings pedestrians, but the action stages "
                f"({', '.join(self.action_stages)}) leave out the pedestrian stage "
                f"{' or '.join(walk)}: no controller can call it, so pedestrians wait to the "
                f"episode's end; add it (--stages {stages}, or action_stages="
                f"{sorted({*self.action_stages, *walk})})",
                UserWarning,
                stacklevel=1,
            )
        noise = spec.sensors.noise if sensor_noise is None else _noise(sensor_noise)
        self.reward_fn, self.reward_info = _resolve_reward(reward)
        self._reward_named = types.SimpleNamespace(name=self.reward_info["name"])  # check_value
        #: the reward as labelled in results: a batch's NAME[HASH] (rewards.registry.spec_label)
        self.reward_label = reward_registry.spec_label(
            DEFAULT_REWARD if reward is None else reward, self.reward_info
        )
        self.sensor_fields = self._sensor_fields(sensor_fields, features)
        self.sensors = SensorArray(
            self.network, self.lanes, noise, seed or 0, self.crossing_arms, self.sensor_fields
        )
        # signals="program": SUMO runs the network's own program (the program baseline)
        if signals not in SIGNAL_MODES:
            raise OptionError(f"signals={signals!r}: use one of {', '.join(SIGNAL_MODES)}")
        if signals == "program" and not isinstance(spec, ImportedJunctionSpec):
            raise OptionError(
                f"controller program: junction {spec.name} has no signal programme of its own "
                "(its network holds only netconvert's default one, which does not follow its "
                "signal rules); the program baseline runs the programme of a junction imported "
                "from a SUMO network (`intergreen junctions import`): choose another controller"
            )
        self.signals = signals
        self.controller: StageController | ProgramFollower = (
            StageController(spec, self.network.links)
            if signals == "controller"
            else ProgramFollower(spec, self.network.links, self.network.tls_id)
        )
        # check_rules: judge the link states SUMO shows, every step (checker.py)
        self._rules = (
            RuleMonitor(
                spec,
                self.network.links,
                conflicts=sumo_link_conflicts(self.network.net_file, self.network.tls_id),
                profile=rule_profile(spec, signals),
            )
            if check_rules
            else None
        )
        # the network's own program breaking the profile: findings about it, not errors
        self.rule_findings: Findings | None = None
        if self._rules is not None and signals == "program":
            facts = spec.facts  # type: ignore[attr-defined]  # imported: rule_profile checked
            program = f"program {facts.program_id!r} of traffic light {facts.tls_id}"
            self.rule_findings = Findings(self._rules.profile, program)
        self.duration = duration
        self._warned_past: set[float] = set()  # demand lengths warned of (_warn_past_demand)
        self.backend: Backend = backend
        self.gui = gui or render_mode == "human"
        self.render_mode = render_mode
        self.features = tuple(features)
        self.n_stack = n_stack
        self.time_scale = time_scale
        self.step_length = spec.timing.step_length
        self.decision_steps = round(spec.timing.decision_interval / self.step_length)
        interval = spec.sensors.sample_interval
        self.sample_steps = 1 if interval is None else round(interval / self.step_length)
        if decisions not in DECISION_MODES:
            raise OptionError(f"decisions={decisions!r}: use one of {', '.join(DECISION_MODES)}")
        self.decisions = decisions
        self._reward_context = reward_context(spec, self.network.speed_limits)

        self._stages = list(spec.stages)
        n_lane = len(self.lanes)
        n_peds = len(self.crossing_arms)
        self._row_len = n_lane * len(self.features) + n_peds + len(self._stages) + 1
        self._obs_size = n_stack * self._row_len + 1
        self._feature_slices = [
            (f, slice(i * n_lane, (i + 1) * n_lane)) for i, f in enumerate(self.features)
        ]
        k = n_lane * len(self.features)
        self._ped_slice = slice(k, k + n_peds)
        self._stage_slice = slice(k + n_peds, k + n_peds + len(self._stages))
        self._stage_rows = {s: np.eye(len(self._stages))[i] for i, s in enumerate(self._stages)}
        self._zone_capacity = np.maximum(
            np.array([min(spec.sensors.camera_range, L) for L in self.network.lane_lengths]) / 7.0,
            1.0,
        )
        self.observation_space = gym.spaces.Box(
            0.0, 1.0, shape=(n_stack * self._row_len + 1,), dtype=np.float32
        )
        self.action_space = gym.spaces.Discrete(len(self.action_stages))
        self.sim: Simulation | None = None
        # builds each episode's Simulation (same arguments as Simulation); e.g. one that
        # runs a prebuilt route file
        self.simulation_factory = simulation_factory or Simulation
        self._buf = np.zeros((2 * n_stack, self._row_len), dtype=np.float32)
        self._pos = 0
        self._last_state = ""
        self.frames: list[SensorFrame] = []  # since the previous decision
        self.history: deque[SensorFrame] = deque(maxlen=200)  # recent frames, for baselines
        self.episode_reward = 0.0
        self.episode_metrics: EpisodeMetrics | None = None
        self.demand: DemandProfile | None = None
        self._seed = seed
        self._seed_role: str | None = None  # of the last explicit seed (intergreen.seeds)
        if seed is not None:
            self.action_space.seed(seed)

    def _sensor_fields(
        self, option: str | Sequence[str], features: Sequence[str]
    ) -> tuple[str, ...] | None:
        """The SensorFrame fields to read (None: all) for the ``sensor_fields`` option:
        "all"; "auto" (the observation's features and the reward's declared fields; all when
        the reward declares none); or a list, read besides those of "auto"."""
        extra: Sequence[str] = ()
        if isinstance(option, str):
            if option not in SENSOR_FIELDS:
                raise OptionError(
                    f"sensor_fields={option!r}: use one of {', '.join(SENSOR_FIELDS)} or a "
                    "list of SensorFrame fields"
                )
            if option == "all":
                return None
        else:
            extra = option
        declared = getattr(getattr(self.reward_fn, "reward", self.reward_fn), "fields", None)
        if declared is None:
            return None
        return tuple(dict.fromkeys([*features, *declared, *extra]))

    # ----- demand ----------------------------------------------------------------------
    def _demand_sampler(
        self, demand: DemandArg
    ) -> tuple[Callable[[np.random.Generator], DemandProfile], bool, list[DemandProfile]]:
        """One demand, a list to draw from each episode, or 'mixed' / 'mixed+peds' (the
        training range); whether it brings pedestrians; and the profiles an episode can
        draw (for 'mixed' one, its lowest total: every total splits by the same shares)."""
        spec = self.spec_
        mixed = (
            training_range(spec, demand.removesuffix("+peds")) if isinstance(demand, str) else None
        )
        if mixed is not None:
            low, high, version = mixed
            levels = np.array(mixed_totals(low, high))
            peds = demand.endswith("+peds")
            first = constant_demand(spec, float(levels[0]), pedestrians=peds, version=version)
            return (
                lambda rng: constant_demand(
                    spec, float(rng.choice(levels)), pedestrians=peds, version=version
                ),
                peds,
                [first],
            )
        if isinstance(demand, list | tuple):
            profiles = [resolve_demand(spec, d) for d in demand]
            if not profiles:
                raise SpecError("demand list is empty")
            peds = any(p.has_pedestrians for p in profiles)
            return lambda rng: profiles[int(rng.integers(len(profiles)))], peds, profiles
        profile = resolve_demand(spec, demand)
        return lambda rng: profile, profile.has_pedestrians, [profile]

    # ----- gymnasium API --------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: a new SUMO run, then advance to the first decision.

        Args:
            seed: reseeds the env's generator, which draws the demand, SUMO's seed (in the
                block of the seed's role, :mod:`intergreen.seeds`) and the sensor noise's; None
                continues its sequence (the first reset uses the constructor's ``seed``).
            options: ``{"initial_stage": "2"}`` starts in that stage (default: the first).

        Returns:
            The observation (``observation_space.shape``, float32 in [0, 1]) and the info
            dict (``time`` in s, ``stage``, ``action_mask``, ``demand``).
        """
        seed = seed if seed is not None else self._seed
        if seed is not None:
            self._seed_role = seeds.role_of(seed)
        super().reset(seed=seed)
        self._seed = None  # later resets continue the seeded sequence
        self._close_sim()
        rng = self.np_random
        self.demand = self._demand_choice(rng)
        sumo_seed = seeds.sumo_seed(rng, self._seed_role)
        duration = self.duration if self.duration is not None else self.demand.duration
        self._warn_past_demand(duration)
        self.sim = self.simulation_factory(
            self.spec_,
            self.demand,
            seed=sumo_seed,
            backend=self.backend,
            gui=self.gui,
            duration=duration,
            network=self.network,
        )
        self.sim.start()
        self.sensors.reset(self.sim.conn, seed=sumo_seed)
        self.controller.reset((options or {}).get("initial_stage"))
        if isinstance(self.controller, ProgramFollower):
            self.controller.attach(self.sim.conn)
        if self._rules is not None:
            self._rules.reset()
        if self.rule_findings is not None:
            self.rule_findings.reset()
        self._last_state = ""
        self._last_sample = 0.0
        self._buf[:] = 0
        self._pos = 0
        self.frames = []
        self.history.clear()
        self.episode_reward = 0.0
        self.episode_metrics = None
        if hasattr(self.reward_fn, "reset"):
            self.reward_fn.reset(self._reward_context)
        self._advance_to_decision()
        return self._observation(), self._info()

    def _warn_past_demand(self, duration: float) -> None:
        """Warn (once per demand length) where the episode runs past the demand's last period: no
        vehicle departs after it, so the means and the throughput per hour cover a partly
        empty run (a route-file demand runs as its files say, so it is not judged here)."""
        demand = self.demand
        if demand is None or demand.route_files or duration <= demand.duration + 1e-6:
            return
        if demand.duration in self._warned_past:  # mixed: one line for its many totals
            return
        self._warned_past.add(demand.duration)
        warnings.warn(
            f"duration {duration:g} s runs past the end of demand {demand.name} "
            f"({demand.duration:g} s): no vehicle departs in the last "
            f"{duration - demand.duration:g} s, so the means and the throughput cover a partly "
            f"empty run; give a duration of at most {demand.duration:g} s or a longer demand",
            stacklevel=3,
        )

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Request stage ``action_stages[action]`` and advance to the next decision.

        Returns:
            ``(observation, reward, terminated, truncated, info)``: terminated is always
            False; truncated at the episode's end, whose info adds ``episode_metrics`` and
            ``episode_reward``.

        Raises:
            RewardError: the reward returned a value that is not a finite number (SUMO is
                closed first).
        """
        if self.sim is None or not self.sim.running:
            raise RuntimeError("call reset() before step()")
        a = int(action)
        if not 0 <= a < len(self.action_stages):
            raise ValueError(f"action {action!r} outside 0..{len(self.action_stages) - 1}")
        if self.decisions == "when_ready" or self.controller.ready_for_decision():
            self.controller.request(self.action_stages[a])
        self.frames = []
        done = self._advance_to_decision()
        try:
            value = self.reward_fn(self.frames, self._reward_context)
            if type(value) is float and math.isfinite(value):  # the common case, checked fast
                reward = value
            else:  # a number of another type, or not a number (the text "1.0", a bool, NaN)
                try:
                    reward = reward_registry.check_value(self._reward_named, value)
                except RewardError as e:
                    raise RewardError(f"{e} (at t={self.frames[-1].time:.1f}s)") from None
        except UnreadFieldError as e:  # a field the reward reads but does not declare
            self._close_sim()
            raise UnreadFieldError(f"reward {self.reward_info['name']!r}: {e}") from None
        except BaseException:  # a RewardError or a bug in the reward: SUMO is closed first
            self._close_sim()
            raise
        self.episode_reward += reward
        obs = self._observation()
        info = self._info()
        if done:
            self.episode_metrics = self.sim.finish()
            info["episode_metrics"] = self.episode_metrics.as_dict()
            info["episode_reward"] = self.episode_reward
        return obs, reward, False, done, info

    def action_masks(self) -> np.ndarray:
        return self.controller.action_mask(self.action_stages)

    def render(self) -> None:
        """Nothing to return: with ``render_mode="human"`` sumo-gui draws the junction itself at
        every simulation step (gymnasium's "human" mode); other modes are not offered
        (``metadata["render_modes"]``)."""
        return None

    def close(self) -> None:
        self._close_sim()

    def _close_sim(self) -> None:
        if self.sim is not None:
            self.sim.close()

    # ----- internals -------------------------------------------------------------------
    def _advance(self, sample: bool) -> None:
        """One simulation step; with ``sample`` the sensors are read into a frame."""
        sim, ctl = self.sim, self.controller
        state = ctl.step()
        if state != self._last_state:
            sim.set_signal_state(state)
            self._last_state = state
        sim.step()
        if self._rules is not None:
            self._check_rules()
        if sample:
            self._sample()

    def _check_rules(self) -> None:
        """Judge the state SUMO showed during the step just simulated; on a violation close
        SUMO and raise RuleViolation (the time, the rule and the links). The network's own
        program (``signals="program"``) is not stopped: its violations go to
        ``rule_findings``."""
        sim = self.sim
        state = sim.conn.trafficlight.getRedYellowGreenState(self.network.tls_id)
        found = self._rules.push(state, sim.time)
        if self.rule_findings is not None:
            self.rule_findings.record(found)
        elif found:
            self._close_sim()
            raise RuleViolation(found)

    def _sample(self) -> None:
        """Read the sensors: a frame covering the time since the previous one, and its row of
        the observation (written in place, twice: see ``_observation``)."""
        sim, ctl = self.sim, self.controller
        now = sim.time
        frame = self.sensors.read(sim.conn, now, now - self._last_sample)
        self._last_sample = now
        self.frames.append(frame)
        self.history.append(frame)
        pos = self._pos
        row = self._buf[pos]
        for name, lanes in self._feature_slices:
            row[lanes] = self._lane_feature(frame, name)
        if self.crossing_arms:  # the push buttons: someone waits at the crossing
            row[self._ped_slice] = frame.ped_waiting > 0
        row[self._stage_slice] = self._stage_rows[ctl.current_stage]
        row[-1] = 1.0 if ctl.in_interstage else 0.0
        self._buf[pos + self.n_stack] = row
        self._pos = (pos + 1) % self.n_stack

    def _lane_feature(self, frame: SensorFrame, name: str) -> np.ndarray:
        if name == "occupancy":
            return frame.occupancy
        if name == "mean_speed":
            return np.minimum(frame.mean_speed / frame.speed_limit, 1.0)
        return np.minimum(getattr(frame, name) / self._zone_capacity, 1.0)

    def _advance_to_decision(self) -> bool:
        """Advance one decision interval, then until a decision is possible (sampling the
        sensors every ``sample_steps`` and at the decision); True at the episode's end."""
        sim, ctl, every = self.sim, self.controller, self.sample_steps
        end = sim.duration - 1e-9
        done = False
        for _ in range(self.decision_steps):
            self._advance(sim.steps % every == every - 1)
            if sim.time >= end:
                done = True
                break
        while not done and self.decisions == "when_ready" and not ctl.ready_for_decision():
            self._advance(sim.steps % every == every - 1)
            done = sim.time >= end
        if self._last_sample < sim.time:
            self._sample()
        return done

    def _observation(self) -> np.ndarray:
        """The last ``n_stack`` rows, oldest first (rows ``pos .. pos + n_stack`` of the
        doubled buffer), then the time in stage: a new array."""
        p = self._pos
        obs = np.empty(self._obs_size, dtype=np.float32)
        obs[:-1] = self._buf[p : p + self.n_stack].reshape(-1)
        obs[-1] = min(self.controller.time_in_stage / self.time_scale, 1.0)
        return obs

    def _info(self) -> dict[str, Any]:
        return {
            "time": self.sim.time if self.sim else 0.0,
            "stage": self.controller.current_stage,
            "action_mask": self.action_masks(),
            "demand": self.demand.name if self.demand else None,
        }

    def metadata_dict(self) -> dict[str, Any]:
        """What a run records about this environment."""
        return {
            "junction": self.spec_.name,
            # the demand profile (its own "duration": the profile's length) and the episode's
            "demand": describe(self.demand) if self.demand else None,
            "episode_duration": self.duration if self.duration is not None else (
                self.demand.duration if self.demand else None),  # fmt: skip
            "reward": self.reward_info,
            "decisions": self.decisions,
            "signals": self.signals,
            "n_stack": self.n_stack,
            "features": list(self.features),
            "action_stages": self.action_stages,
            "step_length": self.step_length,
            "decision_interval": self.spec_.timing.decision_interval,
            # the rule profile the shown signals were judged by every step, else None
            "check_rules": self.checked_rules,
        }

    @property
    def checked_rules(self) -> str | None:
        """The name of the rule profile SUMO's signal states are judged by every step
        (``check_rules=True``), else None."""
        return self._rules.profile.name if self._rules is not None else None


def check_action_stages(
    spec: JunctionSpec, stages: Sequence[str], option: str = "action_stages"
) -> None:
    """Refuse action stages that name fewer than :data:`MIN_ACTION_STAGES` distinct stages
    (the controller would hold the one stage all episode and starve the others) or a stage
    twice (the baselines would count it as two stages and hold it: vehicle-actuated held
    stage 4 of ``2,4,4`` all episode). The stages' names are checked elsewhere.

    Args:
        spec: the junction.
        stages: the action stages as given.
        option: what the user gave them with: ``"--stages"`` (simulate's option: ``--stages
            2,4``) or ``"action_stages"`` (``make_env(action_stages=...)``, ``--env
            action_stages=...``: ``action_stages=["2", "4"]``).

    Raises:
        OptionError: one line naming ``option`` with the stages given, what is wrong and the
            fix (the junction's stages, and its own action stages as an example).
    """
    chosen = [str(s) for s in stages]
    given = _stages_as_given(option, chosen, quoted=True)
    if len(set(chosen)) < MIN_ACTION_STAGES:
        example = spec.action_stages  # the junction's own: at least two (spec.py checks)
        held = f"stage {chosen[0]}" if chosen else "its initial stage"
        what = f"with {'one' if chosen else 'none'} it holds {held}"
        raise OptionError(
            f"{given}: the controller needs at least {MIN_ACTION_STAGES} action stages to "
            f"choose among; {what} all episode and the traffic of the other stages never gets "
            f"a green; give at least two of {spec.name}'s stages {', '.join(spec.stages)}, "
            f"e.g. {_stages_as_given(option, example)}"
        )
    repeated = first_repeat(chosen)
    if repeated is not None:
        once = list(dict.fromkeys(chosen))
        raise OptionError(
            f"{given}: stage {repeated} is named more than once; the baselines would take it "
            f"for two stages and hold it; name each stage once, e.g. "
            f"{_stages_as_given(option, once)}"
        )


def _stages_as_given(option: str, stages: Sequence[str], quoted: bool = False) -> str:
    """Stages as the user writes them with ``option``: ``--stages 2,4`` (``'2,4'`` quoted) or
    ``action_stages=["2", "4"]``."""
    if option.startswith("--"):
        text = ",".join(stages)
        return f"{option} {text!r}" if quoted else f"{option} {text}"
    return f"{option}={json.dumps(list(stages))}"


def warn_unserved_traffic(spec: JunctionSpec, stages: Sequence[str], traffic: set[str]) -> None:
    """Warn (UserWarning) when the action ``stages`` give no green at all to a vehicle
    movement ``ARM.turn`` in ``traffic`` (those with a flow > 0) that another stage serves: its
    vehicles wait to the episode's end (gm_a56 with stages 1,2: the side roads E and W). The
    warning names the signal groups, their arms and movements, and the stages that would serve
    them. Allowed, not refused: a study may restrict the stages on purpose."""

    def green(chosen: Sequence[str]) -> set[str]:
        return {m for s in chosen for g in spec.stages[s].groups
                for m in spec.signal_groups[g].movements}  # fmt: skip

    others = [s for s in spec.stages if s not in stages]
    unserved = [m for m in spec.movements
                if m in traffic and m not in green(stages) and m in green(others)]  # fmt: skip
    if not unserved:
        return
    groups = [g for g, sg in spec.signal_groups.items() if set(sg.movements) & set(unserved)]
    arms = sorted({m.split(".")[0] for m in unserved}, key=list(spec.arms).index)
    add: list[str] = []  # the fewest stages that serve them, greedily
    while left := set(unserved) - green(add):
        add.append(max(others, key=lambda s: len(left & green([s]))))
    add.sort(key=list(spec.stages).index)
    plural = "s" if len(groups) > 1 else ""
    warnings.warn(
        f"the action stages {','.join(stages)} give no green to signal group{plural} "
        f"{', '.join(groups)} (arm{'s' if len(arms) > 1 else ''} {', '.join(arms)}: "
        f"{', '.join(unserved)}), which the demand sends traffic through: it waits to the "
        f"episode's end; stage{'s' if len(add) > 1 else ''} {', '.join(add)} "
        f"serve{'' if len(add) > 1 else 's'} {'them' if plural else 'it'} (add "
        f"{'them' if len(add) > 1 else 'it'} to the action stages, e.g. "
        f"{','.join([*stages, *add])})",
        UserWarning,
        stacklevel=2,
    )


def _noise(sensor_noise: Noise | dict) -> Noise:
    try:
        return Noise.model_validate(sensor_noise)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, "sensor_noise")) from None


def _resolve_reward(reward: Any) -> tuple[Callable, dict]:
    """A reward callable and its metadata; the registry's ``queue`` when none is given."""
    if reward is None:
        reward = DEFAULT_REWARD
    if callable(reward) and not isinstance(reward, type) and not hasattr(reward, "reset"):
        reward = reward_registry.function_reward(reward)  # a plain f(frames, context)
    fn = reward_registry.resolve_reward(reward)
    return _adapt(fn), reward_registry.reward_metadata(fn)


def _adapt(reward: Any) -> Callable:
    """Registry rewards take frames only; the env calls with (frames, context)."""

    def call(frames, context):
        return reward(frames)

    call.reset = reward.reset  # type: ignore[attr-defined]
    call.reward = reward  # type: ignore[attr-defined]
    return call


def reward_context(
    spec: JunctionSpec, speed_limits: Sequence[float] | None = None
) -> RewardContext:
    """The reward context of a junction. ``speed_limits`` (m/s per approach lane) default to
    the arms' limits; pass ``Network.speed_limits`` to use the built network's."""
    lanes = tuple(spec.approach_lane_ids)
    if speed_limits is None:
        speed_limits = [spec.arms[lane.rsplit("_", 1)[0]].speed_limit for lane in lanes]
    limits = np.array(speed_limits, dtype=float)
    stage_lanes = {s: spec.stage_lanes(s) for s in spec.action_stages}
    for array in (limits, *stage_lanes.values()):  # shared by every episode: read-only
        array.flags.writeable = False
    return RewardContext(
        junction=spec.name,
        lanes=lanes,
        step_length=spec.timing.step_length,
        decision_interval=spec.timing.decision_interval,
        speed_limits=limits,
        camera_range=spec.sensors.camera_range,
        stop_line_loops=spec.sensors.stop_line_loops,
        stage_lanes=stage_lanes,
        spec=spec,
    )


def _check_numbers(seed: Any, duration: Any, time_scale: Any) -> None:
    """Refuse a seed, episode length or time scale that would fail deep in numpy or SUMO, or
    run without end (``duration=1e9``, ``inf``, ``nan``), as the command line refuses them.

    Raises:
        OptionError: naming the argument, the value and what it takes.
    """
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise OptionError(f"seed {seed!r}: give a whole number >= 0 (or None)")
    for name, value in (("duration", duration), ("time_scale", time_scale)):
        if value is None and name == "duration":
            continue  # the demand's own length
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise OptionError(f"{name} {value!r}: give a number of simulated seconds")
        if not value >= 1:  # also NaN
            raise OptionError(f"{name} {value!r}: give at least 1 simulated second")
        check_sim_seconds(float(value), name)


def make_env(
    junction: str | Path | JunctionSpec = "gm_a56",
    demand: DemandArg = None,
    reward: Any = None,
    seed: int | None = None,
    **kwargs: Any,
) -> JunctionEnv:
    """A :class:`JunctionEnv`: ``make_env("gm_a56", "medium", "average_speed", seed=1)``.

    Args:
        junction: a shipped junction name, a junction YAML path or a ``JunctionSpec``.
        demand: a level (``"low"``, ``"medium"``, ``"high"``: 1680, 2210, 2540 veh/h on
            gm_a56), a total in veh/h (``"1900vph"``), a profile name or file, a list, or
            ``"mixed"``; None: the junction's default (as :class:`JunctionEnv`).
        reward: a reward name, ``{"name": ..., **params}``, a Reward object or a function
            ``(frames, context) -> float``; None: minus the queued vehicles.
        seed: the env's seed (demand draws, SUMO's seed, sensor noise).
        **kwargs: the other keyword arguments of :class:`JunctionEnv` (``duration`` in s,
            ``n_stack``, ``features``, ``decisions``, ``action_stages``, ``sensor_noise``, ...).

    Returns:
        The environment; observations have ``n_stack * (lanes * features + crossings + stages
        + 1) + 1`` values (221 for gm_a56 with the defaults), actions index ``action_stages``.

    Raises:
        OptionError: an unknown keyword argument (the message lists the valid ones), or a bad
            value of one.
        SpecError: an unknown or invalid junction or demand.
        RewardError: an unknown reward or bad reward parameters.
    """
    import inspect

    valid = [p for p in inspect.signature(JunctionEnv.__init__).parameters if p != "self"]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise OptionError(
            f"unknown environment option(s) {', '.join(unknown)}; valid: {', '.join(valid[4:])}"
        )
    return JunctionEnv(junction, demand, reward, seed, **kwargs)
