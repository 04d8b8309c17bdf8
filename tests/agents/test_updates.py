"""DQN's gradient steps (intergreen.agents.updates) against SB3's ``DQN.train`` at real sizes.

The same state, the same generator seeds, a few hundred updates each way on a filled replay
buffer: the weights, Adam's moments and steps must come out bit for bit equal. (The whole-run
comparisons on a toy env are in test_equivalence.py; these use the presets' network sizes
and odd ones, where torch's kernels take other code paths.)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.logger import configure
from torch import nn

from intergreen.agents import updates
from intergreen.agents.updates import dqn_update, lean_update_applies


class BoxEnv(gym.Env):
    """Spaces only: the replay buffer is filled directly."""

    def __init__(self, obs_dim: int, actions: int) -> None:
        self.observation_space = gym.spaces.Box(-5.0, 5.0, shape=(obs_dim,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(actions)

    def reset(self, *, seed=None, options=None):
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action):
        return np.zeros(self.observation_space.shape, np.float32), 0.0, False, False, {}


def _model(obs_dim: int, actions: int, net_arch: list[int], activation=nn.ReLU) -> DQN:
    model = DQN("MlpPolicy", BoxEnv(obs_dim, actions), seed=3, device="cpu",
                buffer_size=4000, batch_size=64, learning_rate=5e-4, gamma=0.98,
                policy_kwargs={"net_arch": net_arch, "activation_fn": activation})  # fmt: skip
    model.set_logger(configure(None, [""]))
    rng = np.random.default_rng(11)
    buf, n = model.replay_buffer, 3000
    buf.observations[:n] = rng.normal(size=(n, 1, obs_dim)).astype(np.float32)
    buf.next_observations[:n] = rng.normal(size=(n, 1, obs_dim)).astype(np.float32)
    buf.actions[:n] = rng.integers(0, actions, size=(n, 1, 1))
    buf.rewards[:n] = rng.normal(scale=3.0, size=(n, 1)).astype(np.float32)  # some |error| > 1
    buf.dones[:n] = rng.random((n, 1)) < 0.05
    buf.timeouts[:n] = rng.random((n, 1)) < 0.5
    buf.pos = n
    return model


def _train(model: DQN, steps: int, ours: bool, seed: int = 5) -> None:
    np.random.seed(seed)
    if ours:
        dqn_update(model, steps, 64)
    else:
        model.train(gradient_steps=steps, batch_size=64)


def _state(model: DQN) -> list[torch.Tensor]:
    opt = model.policy.optimizer
    moments = [t for p in opt.param_groups[0]["params"] for t in opt.state[p].values()]
    return [*model.policy.state_dict().values(), *moments]


def _assert_same(a: DQN, b: DQN) -> None:
    sa, sb = _state(a), _state(b)
    assert len(sa) == len(sb) > 6
    for x, y in zip(sa, sb, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize(
    ("obs_dim", "actions", "net_arch", "activation"),
    [(40, 4, [128, 128], nn.ReLU),  # the dqn preset's size on gm_a56
     (41, 3, [176, 176], nn.ReLU),  # sizes off every vector width
     (23, 5, [500, 1000], nn.ReLU),  # the study_dqn preset's
     (9, 2, [33], nn.Tanh)],
)  # fmt: skip
def test_flat_updates_are_sb3s_bit_for_bit(obs_dim, actions, net_arch, activation) -> None:
    steps = 40 if net_arch[-1] >= 1000 else 150
    ours, theirs = (_model(obs_dim, actions, net_arch, activation) for _ in range(2))
    assert lean_update_applies(ours)
    _train(ours, steps, ours=True)
    plan = updates._PLANS.get(ours)
    assert plan is not None  # the flat path ran, not the autograd one
    # every gradient is computed into 64-byte-aligned memory, as autograd's: the 9 x 33 case's
    # output weights start at float 330 of the flat buffer, where a matrix product into the view
    # itself differed from autograd's in the last bit on an AVX2 machine
    assert all(t.data_ptr() % 64 == 0 for t in plan.gradients.targets)
    _train(theirs, steps, ours=False)
    _assert_same(ours, theirs)
    # and the losses SB3 logs
    assert ours.logger.name_to_value["train/loss"] == theirs.logger.name_to_value["train/loss"]
    assert ours._n_updates == theirs._n_updates == steps
    # the comparison can fail: a different replay draw gives other weights
    other = _model(obs_dim, actions, net_arch, activation)
    _train(other, steps, ours=False, seed=6)
    assert not torch.equal(_state(other)[0], _state(theirs)[0])


def test_gradient_clipping_is_sb3s_when_it_cuts() -> None:
    """A max_grad_norm that every update exceeds: the flat path's clip (the Q-network's
    gradients only) scales them as clip_grad_norm_ over the policy's parameters does; with a
    gradient on a target-network parameter too (which SB3's norm includes), it defers to
    torch's clip_grad_norm_ and still matches."""
    ours, theirs, unclipped = (_model(40, 4, [128, 128]) for _ in range(3))
    for model in (ours, theirs):
        model.max_grad_norm = 0.05
    _train(ours, 80, ours=True)
    _train(theirs, 80, ours=False)
    _assert_same(ours, theirs)
    _train(unclipped, 80, ours=True)  # the clip did cut: without it other weights
    assert not torch.equal(_state(unclipped)[0], _state(ours)[0])
    stray, theirs = _model(40, 4, [128, 128]), _model(40, 4, [128, 128])
    for model in (stray, theirs):
        model.max_grad_norm = 0.05
        first = next(iter(model.q_net_target.parameters()))
        first.grad = torch.full_like(first, 0.01)
    _train(stray, 30, ours=True)
    assert updates._PLANS.get(stray) is not None and updates._PLANS[stray].others
    _train(theirs, 30, ours=False)
    _assert_same(stray, theirs)
    clean = _model(40, 4, [128, 128])
    clean.max_grad_norm = 0.05
    _train(clean, 30, ours=True)  # the stray gradient changed the norm: the check can fail
    assert not torch.equal(_state(clean)[0], _state(stray)[0])


def test_a_saved_and_reloaded_model_continues_as_sb3s(tmp_path) -> None:
    """Checkpoints save the flat moments through the optimizer's state dict; a load replaces
    them, and the next update rebuilds its buffers from the loaded state."""
    ours, theirs = _model(40, 4, [128, 128]), _model(40, 4, [128, 128])
    _train(ours, 60, ours=True)
    _train(theirs, 60, ours=False)
    ours.save(tmp_path / "ours.zip")
    size = (tmp_path / "ours.zip").stat().st_size
    theirs.save(tmp_path / "theirs.zip")
    assert size <= (tmp_path / "theirs.zip").stat().st_size  # no buffer saved beside the state
    resumed = _model(40, 4, [128, 128])
    resumed.set_parameters(str(tmp_path / "ours.zip"))
    assert not updates._PLANS.get(resumed)
    for model in (ours, resumed):  # on, and from the checkpoint
        _train(model, 60, ours=True, seed=7)
    _train(theirs, 60, ours=False, seed=7)
    _assert_same(ours, theirs)
    _assert_same(resumed, theirs)
    # the optimizer's state loaded in place of the flat buffers' views: rebuilt, not written to
    # stale buffers
    plan = updates._PLANS[ours]
    ours.policy.optimizer.load_state_dict(theirs.policy.optimizer.state_dict())
    assert not plan.adam.intact()
    _train(ours, 20, ours=True, seed=8)
    _train(theirs, 20, ours=False, seed=8)
    assert updates._PLANS[ours] is not plan
    _assert_same(ours, theirs)


def test_networks_and_optimizers_outside_the_flat_path_fall_back_to_autograd() -> None:
    leaky, theirs = _model(12, 3, [32], nn.LeakyReLU), _model(12, 3, [32], nn.LeakyReLU)
    _train(leaky, 50, ours=True)
    assert updates._PLANS.get(leaky) is None
    _train(theirs, 50, ours=False)
    _assert_same(leaky, theirs)
    amsgrad = _model(12, 3, [32])
    amsgrad.policy.optimizer.param_groups[0]["amsgrad"] = True
    theirs = _model(12, 3, [32])
    theirs.policy.optimizer.param_groups[0]["amsgrad"] = True
    _train(amsgrad, 50, ours=True)
    assert updates._PLANS.get(amsgrad) is None
    _train(theirs, 50, ours=False)
    _assert_same(amsgrad, theirs)
    betas = _model(12, 3, [32])
    betas.policy.optimizer.param_groups[0]["betas"] = (torch.tensor(0.9), torch.tensor(0.999))
    assert not updates._FlatAdam.supports(betas.policy.optimizer)


@pytest.mark.parametrize("shapes", [[(128, 40), (128,), (128, 128), (128,), (4, 128), (4,)],
                                    [(5,), (7, 3), (33,), (100,), (9,)]])  # fmt: skip
def test_flat_adam_is_torchs_adam_on_any_sizes(shapes) -> None:
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) * 1e-3 for s in shapes] for _ in range(100)]
    a = [nn.Parameter(p.clone()) for p in start]
    b = [nn.Parameter(p.clone()) for p in start]
    torch_adam, ours = torch.optim.Adam(a, lr=5e-4), torch.optim.Adam(b, lr=5e-4)
    assert updates._FlatAdam.supports(ours)
    flat = updates._FlatAdam(ours)
    for step in grads:
        for p, g in zip(a, step, strict=True):
            p.grad = g.clone()
        torch_adam.step()
        for (view, _, _), g in zip(flat.views, step, strict=True):
            view.copy_(g)
        flat.step()
    for p, q in zip(a, b, strict=True):
        assert torch.equal(p, q)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch_adam.state[p][key], ours.state[q][key])
