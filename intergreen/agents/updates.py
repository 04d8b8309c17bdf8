"""SB3's DQN gradient steps with less around them (the same arithmetic, bit for bit).

:func:`dqn_update` is ``stable_baselines3.dqn.DQN.train`` for the case the lean collection
loops serve (a plain ``ReplayBuffer`` without memory optimisation or VecNormalize, a flat
float observation, an MLP Q-network): the same replay samples drawn with the same calls to
numpy's global generator, the same target (``r + (1 - done) * gamma * max_a Q_target``), the
same Huber loss, gradient clipping and optimizer step, and the same logger records. What it
leaves out is SB3's overhead per step: the replay sample's copies into new tensors (numpy
views are read in place), the modules' call machinery (the networks run as torch functions,
:func:`intergreen.agents.collectors.lean_forward`), and a ``loss.item()`` per step. Measured
on a real run's state (``benchmarks/agents/dqn_updates.py``: a ``dqn`` run at 600 000
decisions, 300 steps, 12 interleaved rounds, CPU time): 1.10 times as fast as SB3's
``train()`` with denormals flushed in both (medians 1.84 and 2.02 ms per step), 1.52 times
SB3's own (2.76 ms, denormals not flushed), the same weights bit for bit;
``tests/agents/test_equivalence.py`` trains whole runs both ways.

:func:`lean_update_applies` says when it applies; otherwise the caller uses SB3's ``train()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn

from intergreen.agents.collectors import lean_forward, plain_features


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


def dqn_update(model: Any, gradient_steps: int, batch_size: int) -> None:
    """``gradient_steps`` of SB3's DQN updates on ``model`` (see the module docstring); the
    caller checked :func:`lean_update_applies`."""
    model.policy.set_training_mode(True)
    model._update_learning_rate(model.policy.optimizer)
    buffer, optimizer = model.replay_buffer, model.policy.optimizer
    q_net, q_target = lean_forward(model.q_net.q_net), lean_forward(model.q_net_target.q_net)
    params = list(model.policy.parameters())
    losses = torch.empty(gradient_steps)
    for i in range(gradient_steps):
        # ReplayBuffer.sample: the batch's indices, then each one's env, from numpy's generator
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
        current = torch.gather(q_net(obs.float()), dim=1, index=actions.long())
        loss = F.smooth_l1_loss(current, target)
        losses[i] = loss.detach()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, model.max_grad_norm)
        optimizer.step()
    model._n_updates += gradient_steps
    model.logger.record("train/n_updates", model._n_updates, exclude="tensorboard")
    # SB3 logs the mean of the losses' Python floats (float64 copies of the float32 values)
    model.logger.record("train/loss", np.mean(losses.numpy().astype(np.float64)))
