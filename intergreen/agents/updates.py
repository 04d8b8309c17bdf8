"""SB3's DQN gradient steps with less around them (the same arithmetic, bit for bit).

:func:`dqn_update` is ``stable_baselines3.dqn.DQN.train`` for the case the lean collection
loops serve (a plain ``ReplayBuffer`` without memory optimisation or VecNormalize, a flat
float observation, an MLP Q-network): the same replay samples drawn with the same calls to
numpy's global generator, the same target (``r + (1 - done) * gamma * max_a Q_target``), the
same Huber loss, gradient clipping and Adam step, and the same logger records. What it leaves
out is SB3's overhead per step:

- the replay sample's copies into new tensors (numpy views are read in place) and the
  modules' call machinery (the networks run as torch functions,
  :func:`intergreen.agents.collectors.lean_forward`), and a ``loss.item()`` per step;
- autograd, for a Q-network of ``Linear`` layers with ``ReLU`` or ``Tanh`` between them
  (SB3's ``create_mlp``): :class:`_MlpGradients` calls the backward functions autograd would
  call (``smooth_l1_loss_backward``, ``scatter_add_`` for the gather, ``mm`` and ``sum`` for each
  layer, ``threshold_backward`` / ``tanh_backward``), with the same operands, and writes the
  gradients into one flat buffer;
- Adam's loop over parameters, for torch's ``Adam`` with its defaults' options
  (:class:`_FlatAdam`): its moment estimates live in two flat buffers (the optimizer's state
  holds views of them, so checkpoints save and load them as before), so that its element-wise
  updates are one call each for all the parameters instead of one per parameter. Element-wise
  float32 arithmetic gives the same result wherever an element lies in a buffer (checked on
  misaligned sizes in ``tests/agents/test_updates.py``);
- ``clip_grad_norm_``'s grouping of the tensors by device and dtype (:meth:`_Plan.clip`: the
  same norms, one multiplication of the flat buffer), and SB3's switch of the modules'
  training mode at every update (and the collectors' switch back), which functions of
  ``Linear``, ``ReLU`` and ``Tanh`` do not read.

Measured on a real run's state (``benchmarks/agents/dqn_updates.py``; numbers in
``benchmarks/agents/README.md``). The weights are SB3's bit for bit:
``tests/agents/test_equivalence.py`` trains whole runs both ways and
``tests/agents/test_updates.py`` compares single updates at the presets' sizes.

:func:`lean_update_applies` says when :func:`dqn_update` applies; otherwise the caller uses
SB3's ``train()``. Within it, a network or optimizer outside the cases above falls back to
autograd and ``optimizer.step()``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn

from intergreen.agents.collectors import lean_forward, plain_features

_MEAN = 1  # torch's Reduction::Mean, for smooth_l1_loss_backward


def lean_update_applies(model: Any) -> bool:
    """Whether :func:`dqn_update` computes exactly what SB3's ``DQN.train`` would for
    ``model``: a plain ReplayBuffer (no memory optimisation), no VecNormalize, and Q-networks
    that read the flat float observation through a Sequential MLP."""
    buffer = model.replay_buffer
    return (
        type(buffer) is ReplayBuffer
        and not buffer.optimize_memory_usage
        and model._vec_normalize_env is None
        and all(
            plain_features(net) and type(net.q_net) is nn.Sequential
            for net in (model.q_net, model.q_net_target)
        )
    )


class _Batch(NamedTuple):
    obs: torch.Tensor  # (batch, obs_dim) float32
    actions: torch.Tensor  # (batch, 1) int64
    target: torch.Tensor  # (batch, 1) float32: r + (1 - done) * gamma * max_a Q_target


def _sample(model: Any, q_target: Any, batch_size: int) -> _Batch:
    """``ReplayBuffer.sample`` (the batch's indices, then each one's env, from numpy's global
    generator) and DQN's target, as SB3's ``DQN.train`` computes them."""
    buffer = model.replay_buffer
    upper = buffer.buffer_size if buffer.full else buffer.pos
    rows = np.random.randint(0, upper, size=batch_size)
    envs = np.random.randint(0, high=buffer.n_envs, size=(len(rows),))
    obs = torch.from_numpy(buffer.observations[rows, envs, :])
    next_obs = torch.from_numpy(buffer.next_observations[rows, envs, :])
    actions = torch.from_numpy(buffer.actions[rows, envs, :])
    dones = buffer.dones[rows, envs] * (1 - buffer.timeouts[rows, envs])
    dones_t = torch.from_numpy(dones.reshape(-1, 1))
    rewards = torch.from_numpy(buffer.rewards[rows, envs].reshape(-1, 1))
    with torch.no_grad():
        next_q, _ = q_target(next_obs.float()).max(dim=1)
        target = rewards + (1 - dones_t) * model.gamma * next_q.reshape(-1, 1)
    return _Batch(obs.float(), actions.long(), target)


class _FlatAdam:
    """torch's ``Adam.step`` (non-capturable, no AMSGrad, no weight decay, not maximising)
    over flat buffers: ``grads`` (the gradients' home: each parameter's ``.grad`` is a view
    of it) and the two moment estimates (the optimizer's state holds views of them). The
    bias corrections, step size and every element-wise operation are those of torch's
    ``_single_tensor_adam``, in its order."""

    def __init__(self, optimizer: torch.optim.Adam) -> None:
        self.optimizer = optimizer
        self.params: list[nn.Parameter] = list(optimizer.param_groups[0]["params"])
        total = sum(p.numel() for p in self.params)
        self.grads, self.exp_avg, self.exp_avg_sq = (torch.zeros(total) for _ in range(3))
        self.denom = torch.empty(total)
        self.steps = torch.zeros(len(self.params))
        self.views: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.denoms: list[torch.Tensor] = []  # each parameter's part of ``denom``
        start = 0
        for i, p in enumerate(self.params):
            part = slice(start, start + p.numel())
            buffers = (self.grads, self.exp_avg, self.exp_avg_sq)
            views = tuple(buf[part].view_as(p) for buf in buffers)
            state = optimizer.state[p]
            if state:  # a state torch's Adam made (or loaded): carried over as it is
                views[1].copy_(state["exp_avg"])
                views[2].copy_(state["exp_avg_sq"])
                self.steps[i] = state["step"]
            state.update(step=self.steps[i], exp_avg=views[1], exp_avg_sq=views[2])
            p.grad = views[0]
            self.views.append(views)  # type: ignore[arg-type]
            self.denoms.append(self.denom[part].view_as(p))
            start = part.stop

    @staticmethod
    def supports(optimizer: Any) -> bool:
        """Whether ``optimizer`` is an Adam this class reproduces exactly: one parameter group
        of contiguous float32 CPU tensors, default options, and steps all equal."""
        if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
            return False
        group = optimizer.param_groups[0]
        options = ("amsgrad", "maximize", "capturable", "differentiable", "fused")
        if any(group.get(k) for k in options) or group.get("decoupled_weight_decay"):
            return False
        numbers = (group["lr"], *group["betas"], group["eps"])
        if group["weight_decay"] != 0 or not all(isinstance(x, float) for x in numbers):
            return False  # tensor-valued options take torch's other branches
        steps = {float(optimizer.state[p]["step"]) for p in group["params"] if optimizer.state[p]}
        return len(steps) <= 1 and all(
            p.dtype == torch.float32 and p.device.type == "cpu" and p.is_contiguous()
            for p in group["params"]
        )

    def intact(self) -> bool:
        """Whether the optimizer still holds these buffers' views (a ``load_state_dict``
        replaces them) and each parameter's gradient is still its view."""
        state = self.optimizer.state
        return _same(self.optimizer.param_groups[0]["params"], self.params) and all(
            p.grad is g
            and state[p]["exp_avg"].data_ptr() == m.data_ptr()
            and state[p]["exp_avg_sq"].data_ptr() == v.data_ptr()
            and state[p]["step"].data_ptr() == self.steps[i].data_ptr()
            for i, (p, (g, m, v)) in enumerate(zip(self.params, self.views, strict=True))
        )

    def step(self) -> None:
        """One Adam step of every parameter from the gradients in ``grads``."""
        group = self.optimizer.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        self.steps += 1
        step = self.steps[0].item()
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = lr / bias_correction1
        self.exp_avg.lerp_(self.grads, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(self.grads, self.grads, value=1 - beta2)
        torch.sqrt(self.exp_avg_sq, out=self.denom).div_(bias_correction2_sqrt).add_(eps)
        with torch.no_grad():
            for p, (_, m, _), d in zip(self.params, self.views, self.denoms, strict=True):
                p.addcdiv_(m, d, value=-step_size)


def _same(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two parameter lists hold the same tensors (identity, not values)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


Activation = tuple[
    Callable[[torch.Tensor], torch.Tensor],  # forward
    Callable[[torch.Tensor, torch.Tensor], torch.Tensor],  # backward(grad, forward's output)
]
#: Bytes at which torch aligns a fresh tensor's data (c10's CPU allocator).
_ALIGN = 64
_ACTIVATIONS: dict[type, Activation] = {
    nn.ReLU: (torch.relu, lambda g, out: torch.ops.aten.threshold_backward(g, out, 0)),
    nn.Tanh: (torch.tanh, torch.ops.aten.tanh_backward),
}


class _MlpGradients:
    """The Huber loss's gradients for a Sequential of ``Linear`` layers with ``ReLU`` or
    ``Tanh`` between them, computed by the backward functions autograd calls for it, into
    ``grads`` (per layer: weight and bias views, in ``parameters()`` order)."""

    def __init__(self, q_net: nn.Sequential, grads: Sequence[torch.Tensor]) -> None:
        self.linears: list[nn.Linear] = list(q_net[::2])
        self.activations = [_ACTIVATIONS[type(m)] for m in q_net[1::2]]
        self.grads = grads
        # where each gradient is computed: the flat buffer's view itself where it starts on a
        # 64-byte boundary, as autograd's fresh tensors do, else a fresh tensor copied into the
        # view (a matrix product into an unaligned output can differ in the last bit: AVX2)
        self.targets = [g if g.data_ptr() % _ALIGN == 0 else torch.empty_like(g) for g in grads]
        self.copies = [(t, g) for t, g in zip(self.targets, grads, strict=True) if t is not g]
        self.one = torch.tensor(1.0)

    @staticmethod
    def supports(q_net: nn.Sequential) -> bool:
        """Whether ``q_net`` alternates biased ``Linear`` layers and ReLU / Tanh, from a
        Linear to a Linear."""
        layers, between = list(q_net[::2]), list(q_net[1::2])
        return (
            len(q_net) % 2 == 1
            and all(type(m) is nn.Linear and m.bias is not None for m in layers)
            and all(type(m) in _ACTIVATIONS and not getattr(m, "inplace", False)
                    for m in between)
        )  # fmt: skip

    def __call__(self, batch: _Batch) -> torch.Tensor:
        """Write the gradients of SB3's loss for ``batch``; return the loss (0-d)."""
        with torch.no_grad():
            inputs = [batch.obs]  # each Linear's input: the observation, then activations
            x = batch.obs
            for k, layer in enumerate(self.linears):
                x = F.linear(x, layer.weight, layer.bias)
                if k < len(self.activations):
                    x = self.activations[k][0](x)
                    inputs.append(x)
            current = torch.gather(x, dim=1, index=batch.actions)
            loss = F.smooth_l1_loss(current, batch.target)
            g = torch.ops.aten.smooth_l1_loss_backward(self.one, current, batch.target, _MEAN, 1.0)
            g = torch.zeros_like(x).scatter_add_(1, batch.actions, g)
            for k in range(len(self.linears) - 1, -1, -1):
                torch.mm(g.t(), inputs[k], out=self.targets[2 * k])
                torch.sum(g, 0, out=self.targets[2 * k + 1])
                if k > 0:
                    g = self.activations[k - 1][1](g.mm(self.linears[k].weight), inputs[k])
            for target, grad in self.copies:
                grad.copy_(target)
        return loss


class _Plan(NamedTuple):
    adam: _FlatAdam
    gradients: _MlpGradients
    others: tuple[nn.Parameter, ...]  # the policy's parameters outside the Q-network

    def clip(self, max_norm: float) -> None:
        """``torch.nn.utils.clip_grad_norm_(policy.parameters(), max_norm)`` where the only
        gradients are the Q-network's (the flat buffer's views): the same per-tensor norms
        (``_foreach_norm`` of the same views), their norm, the same clamped coefficient, and
        one multiplication of the flat buffer (element-wise, so the same products) instead
        of torch's grouping of the tensors by device and dtype."""
        views = self.gradients.grads
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(views, 2.0)), 2.0)
        clip_coef = float(max_norm) / (total + 1e-6)
        self.adam.grads.mul_(torch.clamp(clip_coef, max=1.0))


_PLANS: weakref.WeakKeyDictionary[Any, _Plan] = weakref.WeakKeyDictionary()


def _plan(model: Any) -> _Plan | None:
    """The flat-buffer update for ``model`` (made on first use, remade when the optimizer's
    state was replaced), or None where its network or optimizer is outside its cases."""
    optimizer, q_net = model.policy.optimizer, model.q_net.q_net
    plan = _PLANS.get(model)
    if plan is not None and plan.adam.optimizer is optimizer and plan.adam.intact():
        return plan
    if not (_FlatAdam.supports(optimizer) and _MlpGradients.supports(q_net)):
        return None
    if not _same(optimizer.param_groups[0]["params"], list(q_net.parameters())):
        return None
    adam = _FlatAdam(optimizer)
    mine = {id(p) for p in adam.params}
    others = tuple(p for p in model.policy.parameters() if id(p) not in mine)
    plan = _Plan(adam, _MlpGradients(q_net, [g for g, _, _ in adam.views]), others)
    _PLANS[model] = plan
    return plan


def dqn_update(model: Any, gradient_steps: int, batch_size: int, flat: bool = True) -> None:
    """``gradient_steps`` of SB3's DQN updates on ``model`` (see the module docstring); the
    caller checked :func:`lean_update_applies`. ``flat=False`` leaves autograd and torch's
    ``optimizer.step()`` in place (the previous path, kept for networks and optimizers the
    flat one does not cover, and for ``benchmarks/agents/dqn_updates.py``)."""
    plan = _plan(model) if flat else None
    if plan is None:
        # the flat path's networks are Linear, ReLU and Tanh run as torch functions, whose
        # results do not depend on the modules' training mode: it is left as it is
        model.policy.set_training_mode(True)
    model._update_learning_rate(model.policy.optimizer)
    q_target = lean_forward(model.q_net_target.q_net)
    q_net = lean_forward(model.q_net.q_net) if plan is None else None
    params = model.policy.parameters
    losses = torch.empty(gradient_steps)
    for i in range(gradient_steps):
        batch = _sample(model, q_target, batch_size)
        if plan is not None:
            losses[i] = plan.gradients(batch)
            if any(p.grad is not None for p in plan.others):
                torch.nn.utils.clip_grad_norm_(params(), model.max_grad_norm)
            else:
                plan.clip(model.max_grad_norm)
            plan.adam.step()
            continue
        assert q_net is not None
        current = torch.gather(q_net(batch.obs), dim=1, index=batch.actions)
        loss = F.smooth_l1_loss(current, batch.target)
        losses[i] = loss.detach()
        model.policy.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params(), model.max_grad_norm)
        model.policy.optimizer.step()
    model._n_updates += gradient_steps
    model.logger.record("train/n_updates", model._n_updates, exclude="tensorboard")
    # SB3 logs the mean of the losses' Python floats (float64 copies of the float32 values)
    model.logger.record("train/loss", np.mean(losses.numpy().astype(np.float64)))
