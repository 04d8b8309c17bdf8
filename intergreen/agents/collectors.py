"""Lean collection loops: one env's steps with an SB3 policy, without SB3's per-step overheads.

A collector steps one env (anything with ``last_obs``, ``episode_start`` and ``step(action)``
in SB3's VecEnv form, e.g. `intergreen.agents.vecenv.EnvCommands`) with a policy and writes
what it collects into arrays, row by row. It computes exactly what SB3's own loop computes
for that env (the same network operations in the same order, hence the same random draws and
the same numbers), but does per step only what that needs:

- the policy's network is run directly (its layers as torch functions, under
  `torch.inference_mode`), not through ``predict``/``forward`` and their conversions and
  checks;
- the env is stepped directly, not through a vectorised env (no stacking, no copies of the
  infos);
- results go straight into preallocated arrays (the algorithm's own buffer where it can).

``on_step(i, info)``, when given, runs after step ``i`` has been taken (the algorithm's
bookkeeping and callbacks, in SB3's order); returning False stops the collection there.

PPO's steps sample from the policy's categorical distribution with torch's generator as
``torch.distributions.Categorical`` does (normalised logits, softmax, ``torch.multinomial``);
DQN's explore epsilon-greedily with a coin (``coin()`` < epsilon) and ``action_space.sample()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.torch_layers import FlattenExtractor, MlpExtractor
from torch import nn

import intergreen.seeds as seeds

#: What a collector's ``on_step`` hook receives: the step's index and its info dict.
StepHook = Callable[[int, dict[str, Any]], bool]


class SteppableEnv(Protocol):
    """One env in SB3's VecEnv form: ``step`` resets at an episode's end and returns
    (obs, reward, done, info, reset_info); ``last_obs`` is the observation to act on."""

    last_obs: np.ndarray | None
    episode_start: bool

    def step(self, action: Any) -> tuple[Any, float, bool, dict[str, Any], dict[str, Any]]: ...


def _layer_function(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A module as the torch function its ``forward`` calls (bit for bit the same result),
    or the module itself where there is no such shortcut."""
    kind = type(module)
    if kind is nn.Linear:
        weight, bias = module.weight, module.bias
        return lambda x: F.linear(x, weight, bias)
    if kind is nn.ReLU and not module.inplace:
        return torch.relu
    if kind is nn.Tanh:
        return torch.tanh
    if kind is nn.Identity:
        return lambda x: x
    return module


def lean_forward(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module``'s forward pass as a chain of torch functions (a Sequential's layers) that
    skips ``nn.Module.__call__``'s hooks machinery; other modules are called as they are.
    The weights are the module's own (updated in place by its optimizer)."""
    if type(module) is not nn.Sequential:
        return _layer_function(module)
    layers = [_layer_function(m) for m in module]

    def forward(x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = layer(x)
        return x

    return forward


def plain_features(policy: nn.Module) -> bool:
    """Whether the policy's features are its observation as it is (a flattened float vector),
    so that its networks can be fed the observation directly."""
    space = policy.observation_space
    return (
        isinstance(space, spaces.Box)
        and len(space.shape) == 1
        and space.dtype == np.float32
        and type(getattr(policy, "features_extractor", None)) is FlattenExtractor
    )


class PolicyActor:
    """An ActorCriticPolicy's action, value and log-probability for one observation, computed
    as ``policy.forward`` does (its MLP extractor, value and action nets, a categorical
    distribution), with the networks run as torch functions. Other policies fall back to
    ``policy.forward`` itself."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        extractor = getattr(policy, "mlp_extractor", None)
        self.lean = (
            plain_features(policy)
            and getattr(policy, "share_features_extractor", False)
            and type(extractor) is MlpExtractor
            and isinstance(getattr(policy, "action_dist", None), CategoricalDistribution)
        )
        if self.lean:
            self.pi = lean_forward(extractor.policy_net)
            self.vf = lean_forward(extractor.value_net)
            self.action_net = lean_forward(policy.action_net)
            self.value_net = lean_forward(policy.value_net)

    @torch.inference_mode()
    def __call__(self, obs: np.ndarray) -> tuple[int, float, float]:
        """(action, value, log-probability) for one observation (shape: the obs space's)."""
        x = torch.from_numpy(obs).unsqueeze(0)
        if not self.lean:
            action, value, log_prob = self.policy(self.policy.obs_to_tensor(obs)[0])
            return int(action[0]), value.item(), log_prob.item()
        value = self.value_net(self.vf(x))
        logits = self.action_net(self.pi(x))
        # torch.distributions.Categorical(logits=...): normalise, then sample from the softmax
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        action = torch.multinomial(F.softmax(logits, dim=-1), 1, True)
        return action.item(), value.item(), logits.gather(-1, action).item()

    @torch.inference_mode()
    def greedy(self, obs: np.ndarray) -> int:
        """SB3's deterministic action for one observation (``predict(obs, deterministic=True)``:
        the categorical distribution's mode, the argmax of its probabilities)."""
        if not self.lean:
            x = self.policy.obs_to_tensor(obs)[0]
            return int(self.policy._predict(x, deterministic=True)[0])
        logits = self.action_net(self.pi(torch.from_numpy(obs).unsqueeze(0)))
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        return int(F.softmax(logits, dim=-1).argmax(dim=1))

    def value(self, obs: np.ndarray) -> torch.Tensor:
        """SB3's ``predict_values`` of one observation, shape (1,) (the time-limit bootstrap)."""
        with torch.no_grad():
            return self.policy.predict_values(self.policy.obs_to_tensor(obs)[0])[0]


class GreedyQ:
    """The greedy action of a DQN Q-network (``QNetwork._predict(obs, deterministic=True)``)
    for one observation, with the network run as torch functions."""

    def __init__(self, q_net: Any) -> None:
        self.q_net = q_net
        lean = plain_features(q_net) and type(q_net.q_net) is nn.Sequential
        self.forward = lean_forward(q_net.q_net) if lean else None

    @torch.inference_mode()
    def __call__(self, obs: np.ndarray) -> int:
        if self.forward is None:
            return int(self.q_net._predict(self.q_net.obs_to_tensor(obs)[0], deterministic=True))
        return int(self.forward(torch.from_numpy(obs).unsqueeze(0)).argmax(dim=1))


def greedy_action(model: Any) -> Callable[[np.ndarray], int]:
    """A trained model's greedy action for one observation, as ``model.predict(obs,
    deterministic=True)`` gives it (the same action, bit for bit: tests/agents/
    test_equivalence.py), with the network run as torch functions (:class:`GreedyQ` for a DQN,
    :meth:`PolicyActor.greedy` for an actor-critic with a categorical distribution); other
    models fall back to ``predict``. ``obs``: one observation of the model's space (float32
    as the env gives it; other dtypes are converted as SB3 converts them)."""
    policy = getattr(model, "policy", None)
    dtype = getattr(getattr(model, "observation_space", None), "dtype", None)
    pick: Callable[[np.ndarray], int] | None = None
    if isinstance(model.action_space, spaces.Discrete) and dtype == np.float32:
        if getattr(policy, "q_net", None) is not None:
            pick = GreedyQ(policy.q_net)
        elif hasattr(policy, "mlp_extractor"):
            pick = PolicyActor(policy).greedy
    if pick is None:
        return lambda obs: int(model.predict(obs, deterministic=True)[0])
    lean = pick
    return lambda obs: lean(np.asarray(obs, dtype=np.float32))


def rollout_arrays(n_steps: int, obs_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Arrays for ``n_steps`` PPO steps of one env (dtypes as SB3's RolloutBuffer)."""
    f32 = np.float32
    return {
        "obs": np.zeros((n_steps, *obs_shape), dtype=f32),
        "actions": np.zeros(n_steps, dtype=f32),
        "rewards": np.zeros(n_steps, dtype=f32),
        "episode_starts": np.zeros(n_steps, dtype=f32),
        "values": np.zeros(n_steps, dtype=f32),
        "log_probs": np.zeros(n_steps, dtype=f32),
        "dones": np.zeros(n_steps, dtype=bool),
    }


class RolloutCollector:
    """Runs one env's PPO rollouts with a policy: the learner's own, or a worker's copy."""

    def __init__(self, policy: Any, gamma: float) -> None:
        self.policy = policy
        self.gamma = gamma
        self.actor = PolicyActor(policy)

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> RolloutCollector:
        """A worker's collector: a policy built like the learner's, and its own seeded
        torch generator (seed and env index)."""
        torch.manual_seed(worker_seed(setup))
        kwargs = setup["policy_kwargs"] | {"optimizer_class": _no_optimizer}
        policy = setup["policy_class"](
            setup["observation_space"], setup["action_space"], _no_learning, **kwargs
        )
        policy.set_training_mode(False)
        return _resumed(cls(policy, setup["gamma"]), setup)

    @staticmethod
    def rng_state() -> dict[str, Any]:
        """The generator that samples the actions: the process's torch generator."""
        return {"torch": torch.get_rng_state()}

    @staticmethod
    def set_rng_state(state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])

    def collect(
        self,
        env: SteppableEnv,
        n_steps: int,
        state: dict[str, np.ndarray] | None = None,
        plan: dict[str, Any] | None = None,
        out: dict[str, np.ndarray] | None = None,
        on_step: StepHook | None = None,
    ) -> dict[str, Any]:
        """``n_steps`` steps of ``env`` from where it stands, with the policy (first loaded
        with ``state``, the learner's weights, when given; ``plan`` is unused). Rows go into
        ``out`` (arrays of `rollout_arrays`' keys and shapes, n_steps rows; new ones when
        None). Returns the arrays, each step's info, ``steps`` (the rows written: fewer than
        n_steps when ``on_step`` stopped the collection, whose step SB3 does not store), and
        the observation and episode start the next collection starts from (SB3's: after a
        stop, those before the stopped step) and, after a whole collection, its value."""
        policy, actor, gamma = self.policy, self.actor, self.gamma
        if state is not None:
            policy.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        if env.last_obs is None:
            raise RuntimeError("the env was not reset before its first rollout")
        arrays = out if out is not None else rollout_arrays(n_steps, env.last_obs.shape)
        obs_rows, actions, rewards = arrays["obs"], arrays["actions"], arrays["rewards"]
        starts, values, log_probs = arrays["episode_starts"], arrays["values"], arrays["log_probs"]
        dones = arrays["dones"]
        infos: list[dict[str, Any]] = []
        reward32 = np.zeros(1, dtype=np.float32)
        for i in range(n_steps):
            obs, start = env.last_obs, env.episode_start
            action, value, log_prob = actor(obs)
            _, reward, done, info, _ = env.step(action)
            if on_step is not None and not on_step(i, info):
                # stopped: SB3 stores nothing of this step and continues from before it
                return {**arrays, "infos": infos, "steps": i, "last_obs": obs,
                        "last_episode_start": start, "last_value": None}  # fmt: skip
            reward32[0] = reward  # SB3's VecEnvs hold rewards as float32
            if done and info.get("TimeLimit.truncated", False):
                # SB3's time-limit bootstrap, in its arithmetic (float32 + tensor)
                reward32[0] += gamma * actor.value(info["terminal_observation"])
            obs_rows[i], starts[i], actions[i] = obs, start, action
            values[i], log_probs[i], rewards[i], dones[i] = value, log_prob, reward32[0], done
            infos.append(info)
        return {
            **arrays,
            "infos": infos,
            "steps": n_steps,
            "last_obs": env.last_obs,
            "last_episode_start": env.episode_start,
            "last_value": float(actor.value(env.last_obs)[0]),
            "rng_state": self.rng_state(),
        }


def replay_arrays(n_steps: int, obs_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Arrays for ``n_steps`` DQN steps of one env."""
    return {
        "obs": np.zeros((n_steps, *obs_shape), dtype=np.float32),
        "next_obs": np.zeros((n_steps, *obs_shape), dtype=np.float32),
        "actions": np.zeros(n_steps, dtype=np.int64),
        "rewards": np.zeros(n_steps, dtype=np.float32),
        "dones": np.zeros(n_steps, dtype=bool),
        "timeouts": np.zeros(n_steps, dtype=bool),
    }


class StepCollector:
    """Runs one env's DQN steps: epsilon-greedy on a Q-network (the learner's own, or, in a
    worker, one sharing its memory). ``coin()`` draws the exploration coin (uniform in
    [0, 1)): the learner's ``np.random.rand`` as SB3's DQN, or a worker's own generator."""

    def __init__(
        self, q_net: Any, action_space: spaces.Discrete, coin: Callable[[], float]
    ) -> None:
        self.q_net = q_net
        self.greedy = GreedyQ(q_net)
        self.action_space = action_space
        self.coin = coin

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> StepCollector:
        """A worker's collector, with its own seeded generators (seed and env index)."""
        seed = worker_seed(setup)
        action_space = setup["action_space"]
        action_space.seed(seed)
        collector = cls(setup["q_net"], action_space, np.random.default_rng(seed).random)
        return _resumed(collector, setup)

    def _coin_generator(self) -> np.random.Generator | None:
        """The Generator behind ``coin`` when it is one's ``random`` (parallel collectors; one
        env's collection draws from numpy's global generator instead)."""
        owner = getattr(self.coin, "__self__", None)
        return owner if isinstance(owner, np.random.Generator) else None

    def rng_state(self) -> dict[str, Any]:
        """The generators of the exploration coins and of the random actions."""
        gen = self._coin_generator()
        return {"coins": None if gen is None else gen.bit_generator.state,
                "actions": self.action_space.np_random.bit_generator.state}  # fmt: skip

    def set_rng_state(self, state: dict[str, Any]) -> None:
        gen = self._coin_generator()
        if gen is not None and state["coins"] is not None:
            gen.bit_generator.state = state["coins"]
        self.action_space.np_random.bit_generator.state = state["actions"]

    def collect(
        self,
        env: SteppableEnv,
        n_steps: int,
        state: dict[str, np.ndarray] | None = None,
        plan: dict[str, Any] | None = None,
        out: dict[str, np.ndarray] | None = None,
        on_step: StepHook | None = None,
    ) -> dict[str, Any]:
        """``n_steps`` steps of ``env``; ``plan`` gives each step's epsilon and whether it is
        still in the warm-up (random actions, no coin); ``state`` is unused (the Q-network
        is shared). Rows go into ``out`` (`replay_arrays`' keys; new ones when None); next
        observations are the terminal ones at an episode's end, as SB3 stores them."""
        assert plan is not None
        if env.last_obs is None:
            raise RuntimeError("the env was not reset before its first rollout")
        arrays = out if out is not None else replay_arrays(n_steps, env.last_obs.shape)
        obs_rows, next_rows, actions = arrays["obs"], arrays["next_obs"], arrays["actions"]
        rewards, dones, timeouts = arrays["rewards"], arrays["dones"], arrays["timeouts"]
        greedy, coin, sample = self.greedy, self.coin, self.action_space.sample
        warmup, epsilons = plan["warmup"], plan["epsilons"]
        infos: list[dict[str, Any]] = []
        for j in range(n_steps):
            obs = env.last_obs
            action = sample() if warmup[j] or coin() < epsilons[j] else greedy(obs)
            new_obs, reward, done, info, _ = env.step(action)
            obs_rows[j] = obs
            next_rows[j] = info["terminal_observation"] if done else new_obs
            actions[j], rewards[j], dones[j] = action, reward, done
            timeouts[j] = info.get("TimeLimit.truncated", False)
            infos.append(info)
            if on_step is not None and not on_step(j, info):
                # stopped: the hook stored nothing of this step; SB3 continues from before it
                return {**arrays, "infos": infos, "steps": j, "last_obs": obs}
        return {**arrays, "infos": infos, "steps": n_steps, "last_obs": env.last_obs,
                "rng_state": self.rng_state()}  # fmt: skip


def worker_seed(setup: dict[str, Any]) -> int:
    """A worker's seed: from the learner's seed and the env's index (intergreen.seeds)."""
    return seeds.worker_seed(setup["seed"], setup["index"])


def _resumed(collector: Any, setup: dict[str, Any]) -> Any:
    """``collector`` with the generator state a resumed learner's checkpoint holds for this
    env (``setup["rng_states"]``), if any."""
    states = setup.get("rng_states")
    if states is not None and states[setup["index"]] is not None:
        collector.set_rng_state(states[setup["index"]])
    return collector


def _no_learning(_: float) -> float:
    return 0.0


def _no_optimizer(*_: Any, **__: Any) -> None:
    """A worker's policy is never trained (and torch's first optimizer takes ~1 s to make)."""
