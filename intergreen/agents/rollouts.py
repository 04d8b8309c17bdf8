"""SB3's PPO and DQN, driven by lean collection loops (`intergreen.agents.collectors`).

The algorithms, policies, buffers and losses are stable-baselines3's; what changes is how
their steps are collected, chosen by ``collection``:

``"fast"`` (the default)
    One env (a DummyVecEnv of one): SB3's own collection loop, step for step in the same
    order (action, env step, callbacks, info buffer, buffer write, DQN's schedule and target
    updates), without its per-step overheads: the policy's network runs directly, the env is
    stepped without the vectorised env's copies, and transitions are written into SB3's
    buffer in place. What it learns is exactly what SB3's loop learns: the same transitions,
    random draws and weights (tests/agents/test_equivalence.py).

    Several envs (a `LocalFirstVecEnv`): every env collects its share in parallel with the
    learner's current policy (neither algorithm changes its policy while it collects: PPO
    collects ``n_steps`` per env, DQN ``train_freq`` steps, then learns), the workers in their
    processes and the learner for env 0. SB3 instead steps all envs in lockstep and runs the
    forward pass for every env on the learner's one core; with the study's decision timing
    each lockstep step also waits for the slower env's decision. What the algorithms learn
    from is the same kind of data: every transition comes from the learner's current policy,
    with SB3's handling of time limits; the callbacks see the same steps, infos and timestep
    counts, in the same order, at the end of each collection instead of as they happen. PPO's
    workers get the policy's weights with each rollout; DQN's read a shared-memory snapshot of
    the Q-network, taken as each collection starts. Actions are sampled (PPO) or explored (DQN:
    each env draws its own epsilon-greedy coin where SB3 draws one for all envs) from each
    process's own seeded generator, so a run is reproducible but not identical to a lockstep
    run; and DQN learns one collection behind (`ParallelCollectDQN`). Each collection reports
    its generators' state; the learner keeps the latest (``collector_rng_states``) for its
    checkpoints and, resumed, hands them to its new collectors (``resume_collector_rng_states``),
    so a resumed run explores as the uninterrupted one would.

``"sb3"``
    SB3's own ``collect_rollouts``, unchanged: its exact lockstep behaviour with any number of
    envs, for users who need it (and the reference the fast path is tested against).

The lean loops fall back to SB3's own where they do not apply (continuous actions, dict
observations, other buffers, VecNormalize, gSDE, episodic ``train_freq``).

SB3 internals used here (``_last_obs``, ``_last_episode_starts``, ``_update_info_buffer``,
``_on_step``, ``_total_timesteps``, ``_episode_num``, ...) are those of the SB3 versions
pyproject.toml allows; the equivalence tests fail if a new version changes them.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.type_aliases import RolloutReturn, TrainFreq, TrainFrequencyUnit
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from intergreen.agents.collectors import RolloutCollector, StepCollector, replay_arrays
from intergreen.agents.hp_ranges import COLLECTIONS
from intergreen.agents.updates import dqn_update, lean_update_applies
from intergreen.agents.vecenv import EnvCommands, LocalFirstVecEnv

#: The ways to collect steps (see the module docstring).


def _learner_seed(model: PPO | DQN) -> int:
    return 0 if model.seed is None else int(model.seed)


def _stacked(parts: list[dict[str, Any]], key: str) -> np.ndarray:
    """One collected field of every env, as (steps, envs, ...)."""
    return np.stack([p[key] for p in parts], axis=1)


def _check_collection(collection: str) -> str:
    if collection not in COLLECTIONS:
        raise ValueError(f"collection={collection!r}: use one of {', '.join(COLLECTIONS)}")
    return collection


def _signature_with_collection(init: Callable, base: type) -> None:
    """Give ``init`` (``*args, collection, **kwargs``) the signature of ``base.__init__`` plus
    ``collection``, so that the valid hyperparameters can be read from it."""
    params = list(inspect.signature(base.__init__).parameters.values())
    extra = inspect.Parameter("collection", inspect.Parameter.KEYWORD_ONLY, default="fast",
                              annotation=str)  # fmt: skip
    init.__signature__ = inspect.Signature([*params, extra])  # type: ignore[attr-defined]


def _single_env(env: VecEnv) -> EnvCommands | None:
    """The one env of a DummyVecEnv of one, to be stepped directly; else None."""
    if type(env) is DummyVecEnv and env.num_envs == 1:
        return EnvCommands(env.envs[0])
    return None


def _write_transition(buf: ReplayBuffer, rows: dict[str, np.ndarray], j: int) -> None:
    """``ReplayBuffer.add`` of row ``j`` of one env's collected steps, written in place."""
    pos = buf.pos
    buf.observations[pos, 0] = rows["obs"][j]
    buf.next_observations[pos, 0] = rows["next_obs"][j]
    buf.actions[pos, 0, 0] = rows["actions"][j]
    buf.rewards[pos, 0] = rows["rewards"][j]
    buf.dones[pos, 0] = rows["dones"][j]
    if buf.handle_timeout_termination:
        buf.timeouts[pos, 0] = rows["timeouts"][j]
    buf.pos += 1
    if buf.pos == buf.buffer_size:
        buf.full, buf.pos = True, 0


def use_foreach(optimizer: torch.optim.Optimizer) -> None:
    """Switch torch's Adam to its multi-tensor ("foreach") implementation where the user
    chose none: the same arithmetic in the same order (the equivalence tests compare the
    weights with SB3's, bit for bit), with one kernel call per operation for all the
    parameters instead of one per parameter: 0.8-0.95 of the for-loop's time on CPU here,
    which SB3 gets by default only on GPUs."""
    if type(optimizer) is not torch.optim.Adam:
        return
    for group in optimizer.param_groups:
        if group.get("foreach") is None and not group.get("fused"):
            group["foreach"] = True


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Run the gradient steps with the CPU's denormal floats flushed to zero (this thread
    only; SUMO's steps, made between updates on the same thread, are left as they were).

    Adam's moment estimates of weights whose gradient has become zero (inputs that fire at
    some hours only, dead ReLU units) decay by beta1 = 0.9 and beta2 = 0.999 per update into
    the denormal range (below 1.2e-38), where every arithmetic operation on them takes the
    CPU's slow path: in a `dqn` run on gm_a56 at 650k decisions, 28.6 % of Adam's moment
    entries were denormal and a gradient step took 1.32 times as long as with them flushed
    (`benchmarks/agents/dqn_updates.py`). Flushed, they become zero, which changes no
    weight: such a moment's step is below 1e-30, under the float32 spacing of the weight it
    would move (the benchmark's 300 steps and `tests/agents/test_equivalence.py` end with the
    same weights, bit for bit).
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _lean_spaces(model: PPO | DQN) -> bool:
    return isinstance(model.action_space, spaces.Discrete) and isinstance(
        model.observation_space, spaces.Box
    )


class _CollectorStates:
    """The learner's record of its parallel collectors' generator states (see the module
    docstring); one env's collection draws from the learner's own generators."""

    _collector_states: list[dict[str, Any] | None] | None = None
    _resume_states: list[dict[str, Any] | None] | None = None

    def collector_rng_states(self) -> list[dict[str, Any] | None] | None:
        """Each env's collector generators after the latest parallel collection (None before
        one, or with one env)."""
        return self._collector_states

    def resume_collector_rng_states(self, states: list[dict[str, Any] | None]) -> None:
        """Give the collectors made from now on these generator states (a checkpoint's)."""
        self._resume_states = self._collector_states = list(states)

    def _record_states(self, parts: list[dict[str, Any]]) -> None:
        self._collector_states = [p.get("rng_state") for p in parts]

    def _excluded_save_params(self) -> list[str]:
        saved = super()._excluded_save_params()  # type: ignore[misc]
        return [*saved, "_collector_states", "_resume_states"]


class ParallelRolloutPPO(_CollectorStates, PPO):
    """SB3's PPO, collected by lean loops (``collection="fast"``, the default: one env in
    SB3's order, several envs in parallel) or by SB3's own (``collection="sb3"``); see the
    module docstring."""

    def __init__(self, *args: Any, collection: str = "fast", **kwargs: Any) -> None:
        self.collection = _check_collection(collection)
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        use_foreach(self.policy.optimizer)

    def train(self) -> None:
        """SB3's update, with denormals flushed (`flush_denormals`)."""
        with flush_denormals():
            super().train()

    def _lean(self) -> bool:
        return (
            self.collection == "fast"
            and _lean_spaces(self)
            and type(self.rollout_buffer) is RolloutBuffer
            and not self.use_sde
        )

    def _worker_setup(self) -> dict[str, Any]:
        return {
            "collector": RolloutCollector,
            "policy_class": type(self.policy),
            "policy_kwargs": self.policy_kwargs,
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "gamma": self.gamma,
            "seed": _learner_seed(self),
            "rng_states": self._resume_states,
        }

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        if self._lean():
            if isinstance(env, LocalFirstVecEnv):
                return self._collect_parallel(env, callback, rollout_buffer, n_rollout_steps)
            single = _single_env(env)
            if single is not None:
                return self._collect_single(single, env, callback, rollout_buffer, n_rollout_steps)
        return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)

    # ----- one env: SB3's loop, lean ---------------------------------------------------------
    def _collect_single(
        self,
        single: EnvCommands,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """SB3's ``collect_rollouts`` for one env, step for step (see the module docstring)."""
        assert self._last_obs is not None, "No previous observation was provided"
        assert self._last_episode_starts is not None
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        single.last_obs = self._last_obs[0]
        single.episode_start = bool(self._last_episode_starts[0])
        buf = rollout_buffer
        out = {
            "obs": buf.observations[:, 0],
            "actions": buf.actions[:, 0, 0],
            "rewards": buf.rewards[:, 0],
            "episode_starts": buf.episode_starts[:, 0],
            "values": buf.values[:, 0],
            "log_probs": buf.log_probs[:, 0],
            "dones": np.zeros(n_rollout_steps, dtype=bool),
        }
        locals_: dict[str, Any] = {"self": self, "env": env, "callback": callback,
                                   "rollout_buffer": rollout_buffer}  # fmt: skip

        def on_step(i: int, info: dict[str, Any]) -> bool:
            self.num_timesteps += 1
            infos, dones = [info], np.array([single.episode_start])
            locals_.update(infos=infos, dones=dones, n_steps=i, new_obs=single.last_obs[None])
            callback.update_locals(locals_)
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            buf.pos = i + 1  # the row is written right after (the collector)
            return True

        part = RolloutCollector(self.policy, self.gamma).collect(
            single, n_rollout_steps, out=out, on_step=on_step
        )
        env.reset_infos[0] = single.reset_info
        self._last_obs = part["last_obs"][None]
        self._last_episode_starts = np.array([part["last_episode_start"]])
        if part["steps"] < n_rollout_steps:
            return False
        buf.full = buf.pos == buf.buffer_size
        values = torch.tensor([[part["last_value"]]], dtype=torch.float32)
        buf.compute_returns_and_advantage(last_values=values, dones=self._last_episode_starts)
        locals_.update(values=values, dones=self._last_episode_starts)
        callback.update_locals(locals_)
        callback.on_rollout_end()
        return True

    # ----- several envs: in parallel ---------------------------------------------------------
    def _collect_parallel(
        self,
        env: LocalFirstVecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        state = {k: v.detach().cpu().numpy() for k, v in self.policy.state_dict().items()}
        env.rollout_async(self, self._worker_setup, n_rollout_steps, state=state)
        local = RolloutCollector(self.policy, self.gamma).collect(env.local, n_rollout_steps)
        parts = [local, *env.rollout_wait()]
        self._record_states(parts)
        return self._replay(parts, env, callback, rollout_buffer, n_rollout_steps)

    def dump_logs(self, iteration: int = 0) -> None:
        """SB3's, counting the iterations made before a resume (from a checkpoint taken as a
        rollout starts) in ``time/iterations``."""
        before = self._num_timesteps_at_start // (self.n_steps * self.n_envs)
        super().dump_logs(iteration + before if iteration > 0 else iteration)

    def _replay(
        self,
        parts: list[dict[str, Any]],
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """Call the callbacks step by step as SB3's lockstep loop does, then fill the buffer."""
        obs, all_dones = _stacked(parts, "obs"), _stacked(parts, "dones")
        all_rewards, all_actions = _stacked(parts, "rewards"), _stacked(parts, "actions")
        last_obs = np.stack([p["last_obs"] for p in parts])
        next_obs = np.concatenate([obs[1:], last_obs[None]])
        for i in range(n_rollout_steps):
            infos = [p["infos"][i] for p in parts]
            dones, rewards, actions, new_obs = (
                all_dones[i],
                all_rewards[i],
                all_actions[i],
                next_obs[i],
            )
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
        buf = rollout_buffer
        buf.observations[:] = obs.reshape(buf.observations.shape)
        buf.actions[:] = all_actions.reshape(buf.actions.shape)
        buf.rewards[:] = all_rewards
        buf.episode_starts[:] = _stacked(parts, "episode_starts")
        buf.values[:] = _stacked(parts, "values")
        buf.log_probs[:] = _stacked(parts, "log_probs")
        buf.pos, buf.full = n_rollout_steps, True
        self._last_obs = last_obs
        self._last_episode_starts = np.array([p["last_episode_start"] for p in parts])
        last_values = torch.as_tensor([p["last_value"] for p in parts], dtype=torch.float32)
        buf.compute_returns_and_advantage(last_values=last_values, dones=self._last_episode_starts)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True


_signature_with_collection(ParallelRolloutPPO.__init__, PPO)


class ParallelCollectDQN(_CollectorStates, DQN):
    """SB3's DQN, collected by lean loops (``collection="fast"``, the default: one env in
    SB3's order, several envs in parallel) or by SB3's own (``collection="sb3"``); see the
    module docstring.

    With several envs, while the workers collect, the learner (done with env 0's steps) makes
    the gradient steps that SB3 makes after the collection, so DQN learns one collection
    behind: the update after collection k samples the replay buffer and uses the target
    network as they stood after collection k-1 (8 of up to 100 000 transitions at the
    presets). The workers act with a shared snapshot of the Q-network taken when the
    collection starts; everything happens in a fixed order, whatever the timing, so runs stay
    reproducible.
    """

    _trained_ahead = False

    def __init__(self, *args: Any, collection: str = "fast", **kwargs: Any) -> None:
        self.collection = _check_collection(collection)
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        use_foreach(self.policy.optimizer)

    def _lean(self, train_freq: TrainFreq) -> bool:
        buffer = self.replay_buffer
        return (
            self.collection == "fast"
            and _lean_spaces(self)
            and train_freq.unit == TrainFrequencyUnit.STEP
            and type(buffer) is ReplayBuffer
            and not buffer.optimize_memory_usage
            and self._vec_normalize_env is None
        )

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_local_collector", "_snapshot",
                "_single_collector", "_single_rows"]  # fmt: skip

    def _worker_setup(self) -> dict[str, Any]:
        return {
            "collector": StepCollector,
            "q_net": self._snapshot,
            "action_space": self.action_space,
            "seed": _learner_seed(self),
            "rng_states": self._resume_states,
        }

    def _plan(self, n_steps: int, learning_starts: int, n_envs: int) -> dict[str, Any]:
        """Each step's epsilon and warm-up flag, as SB3's lockstep loop would set them."""
        start = self.num_timesteps
        epsilons = [self.exploration_rate]
        for j in range(1, n_steps):
            progress = 1.0 - float(start + j * n_envs) / float(self._total_timesteps)
            epsilons.append(float(self.exploration_schedule(progress)))
        warmup = [start + j * n_envs < learning_starts for j in range(n_steps)]
        return {"epsilons": epsilons, "warmup": warmup}

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        action_noise: ActionNoise | None = None,
        learning_starts: int = 0,
        log_interval: int | None = None,
    ) -> RolloutReturn:
        self._trained_ahead = False
        if self._lean(train_freq):
            if isinstance(env, LocalFirstVecEnv):
                return self._collect_parallel(
                    env, callback, train_freq, replay_buffer, learning_starts, log_interval
                )
            single = _single_env(env)
            if single is not None and action_noise is None:
                return self._collect_single(
                    single, env, callback, train_freq, replay_buffer, learning_starts,
                    log_interval,
                )  # fmt: skip
        return super().collect_rollouts(
            env, callback, train_freq, replay_buffer, action_noise, learning_starts, log_interval
        )

    # ----- one env: SB3's loop, lean ---------------------------------------------------------
    def _collect_single(
        self,
        single: EnvCommands,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        learning_starts: int,
        log_interval: int | None,
    ) -> RolloutReturn:
        """SB3's ``collect_rollouts`` for one env, step for step (see the module docstring)."""
        assert self._last_obs is not None, "self._last_obs was not set"
        if self.policy.training:  # else nothing to switch (see dqn_update)
            self.policy.set_training_mode(False)
        n_steps = train_freq.frequency
        callback.on_rollout_start()
        single.last_obs = self._last_obs[0]
        if getattr(self, "_single_collector", None) is None:
            self._single_collector = StepCollector(self.q_net, self.action_space, np.random.rand)
        rows = getattr(self, "_single_rows", None)
        if rows is None or len(rows["obs"]) != n_steps:
            rows = self._single_rows = replay_arrays(n_steps, self.observation_space.shape)
        buf = replay_buffer
        locals_: dict[str, Any] = {"self": self, "env": env, "callback": callback,
                                   "replay_buffer": replay_buffer}  # fmt: skip
        episodes = 0

        def on_step(j: int, info: dict[str, Any]) -> bool:
            nonlocal episodes
            self.num_timesteps += 1
            infos, dones = [info], rows["dones"][j : j + 1]
            locals_.update(infos=infos, dones=dones, actions=rows["actions"][j : j + 1],
                           rewards=rows["rewards"][j : j + 1], num_collected_steps=j + 1,
                           num_collected_episodes=episodes)  # fmt: skip
            callback.update_locals(locals_)
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            _write_transition(buf, rows, j)
            self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
            self._on_step()
            if dones[0]:
                episodes += 1
                self._episode_num += 1
                if log_interval is not None and self._episode_num % log_interval == 0:
                    self.dump_logs()
            return True

        part = self._single_collector.collect(
            single, n_steps, plan=self._plan(n_steps, learning_starts, 1), out=rows,
            on_step=on_step,
        )  # fmt: skip
        env.reset_infos[0] = single.reset_info
        steps = part["steps"]
        self._last_obs = part["last_obs"][None]
        if steps > 0:  # SB3 keeps the observation each stored step started from
            self._last_original_obs = rows["obs"][steps - 1][None].copy()
        if steps < n_steps:
            return RolloutReturn(steps + 1, episodes, continue_training=False)
        callback.on_rollout_end()
        return RolloutReturn(n_steps, episodes, continue_training=True)

    # ----- several envs: in parallel ---------------------------------------------------------
    def _collect_parallel(
        self,
        env: LocalFirstVecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        learning_starts: int,
        log_interval: int | None,
    ) -> RolloutReturn:
        if self.policy.training:  # else nothing to switch (see dqn_update)
            self.policy.set_training_mode(False)
        n_steps = train_freq.frequency
        callback.on_rollout_start()
        plan = self._plan(n_steps, learning_starts, env.num_envs)
        self._take_snapshot()
        env.rollout_async(self, self._worker_setup, n_steps, plan=plan)
        if getattr(self, "_local_collector", None) is None:
            rng = np.random.default_rng(_learner_seed(self))
            self.action_space.seed(_learner_seed(self))
            self._local_collector = StepCollector(self.q_net, self.action_space, rng.random)
            if self._resume_states is not None and self._resume_states[0] is not None:
                self._local_collector.set_rng_state(self._resume_states[0])
        parts = [self._local_collector.collect(env.local, n_steps, plan=plan)]
        self._train_ahead(self.num_timesteps + n_steps * env.num_envs, n_steps * env.num_envs)
        parts += env.rollout_wait()
        self._record_states(parts)
        all_obs, all_next = _stacked(parts, "obs"), _stacked(parts, "next_obs")
        all_actions, all_rewards = _stacked(parts, "actions"), _stacked(parts, "rewards")
        all_dones = _stacked(parts, "dones")
        episodes = 0
        for j in range(n_steps):
            infos = [p["infos"][j] for p in parts]
            actions, rewards, dones = all_actions[j], all_rewards[j], all_dones[j]
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                self._trained_ahead = False
                return RolloutReturn((j + 1) * env.num_envs, episodes, continue_training=False)
            self._update_info_buffer(infos, dones)
            replay_buffer.add(all_obs[j], all_next[j], actions, rewards, dones, infos)
            self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
            self._on_step()
            for done in dones:
                if done:
                    episodes += 1
                    self._episode_num += 1
                    if log_interval is not None and self._episode_num % log_interval == 0:
                        self.dump_logs()
        self._last_obs = np.stack([p["last_obs"] for p in parts])
        self._last_original_obs = self._last_obs
        callback.on_rollout_end()
        return RolloutReturn(n_steps * env.num_envs, episodes, continue_training=True)

    def _take_snapshot(self) -> None:
        """Copy the Q-network into the workers' shared snapshot (made on first use)."""
        if getattr(self, "_snapshot", None) is None:
            self._snapshot = copy.deepcopy(self.q_net).share_memory()
        with torch.no_grad():
            for mine, shared in zip(
                self.q_net.state_dict().values(), self._snapshot.state_dict().values(), strict=True
            ):
                shared.copy_(mine)

    def _train_ahead(self, timesteps_after: int, collected: int) -> None:
        """The gradient steps SB3's learn() makes after this collection, made now."""
        if timesteps_after > 0 and timesteps_after > self.learning_starts:
            steps = self.gradient_steps if self.gradient_steps >= 0 else collected
            if steps > 0:
                self._update(steps, self.batch_size)
                self._trained_ahead = True

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's update, unless it was made during the collection (`_train_ahead`)."""
        if self._trained_ahead:
            self._trained_ahead = False
            return
        self._update(gradient_steps, batch_size)

    def _update(self, gradient_steps: int, batch_size: int) -> None:
        """SB3's gradient steps with denormals flushed (`flush_denormals`): made by
        `intergreen.agents.updates.dqn_update` (the same arithmetic with less around it) with
        ``collection="fast"`` where it applies, else by SB3's ``DQN.train``."""
        with flush_denormals():
            if self.collection == "fast" and lean_update_applies(self):
                dqn_update(self, gradient_steps, batch_size)
            else:
                super().train(gradient_steps, batch_size)


_signature_with_collection(ParallelCollectDQN.__init__, DQN)
