"""The junction environment in gymnasium's registry: ``gym.make("intergreen/Junction-v0")``.

``import intergreen`` registers it (:func:`register`), so that::

    import gymnasium as gym
    import intergreen  # noqa: F401 - registers intergreen/Junction-v0

    env = gym.make("intergreen/Junction-v0", junction="gm_a56", demand="medium",
                   reward="average_speed", seed=1)
    envs = gym.make_vec("intergreen/Junction-v0", num_envs=4, seed=1)

The keyword arguments are :class:`~intergreen.junctions.env.JunctionEnv`'s. ``gym.make_vec``
runs each environment in its own process (libsumo runs one simulation per process) and seeds
environment ``i`` with ``seed + i``; its ``"sync"`` mode keeps every environment in the calling
process, which needs ``backend="traci"``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym

from intergreen.errors import OptionError

__all__ = ["ENV_ID", "make_vector_env", "register"]

ENV_ID = "intergreen/Junction-v0"


def register() -> None:
    """Add ``intergreen/Junction-v0`` to gymnasium's registry (once; later calls do nothing)."""
    if ENV_ID in gym.registry:
        return
    gym.register(
        id=ENV_ID,
        entry_point="intergreen.junctions.env:JunctionEnv",
        vector_entry_point="intergreen.junctions.registration:make_vector_env",
    )


def make_vector_env(
    num_envs: int = 1, seed: int | None = None, **kwargs: Any
) -> gym.vector.AsyncVectorEnv:
    """``num_envs`` junction environments, one SUMO process each (gymnasium's async vector env).

    Args:
        num_envs: environments (worker processes), >= 1.
        seed: environment ``i`` is seeded ``seed + i`` (None: unseeded).
        **kwargs: :class:`~intergreen.junctions.env.JunctionEnv`'s arguments, the same for all.

    Returns:
        A ``gymnasium.vector.AsyncVectorEnv`` with batched observations of shape
        ``(num_envs, observation size)``.
    """
    from intergreen.junctions.env import JunctionEnv

    if num_envs < 1:
        raise OptionError(f"num_envs={num_envs}: give at least 1")
    kwargs.pop("max_episode_steps", None)  # the env ends its episodes itself
    fns = [
        partial(JunctionEnv, seed=None if seed is None else seed + i, **kwargs)
        for i in range(num_envs)
    ]
    return gym.vector.AsyncVectorEnv(fns, context="forkserver")
