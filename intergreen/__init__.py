"""intergreen: reinforcement-learning traffic-signal control on a UK junction in SUMO.

The public API (each name is imported on first use, so ``import intergreen`` stays cheap):

- ``intergreen.make_env(junction, demand, reward, seed, **options)``: a
  :class:`~intergreen.junctions.env.JunctionEnv` (a ``gymnasium.Env``);
- ``intergreen.JunctionEnv``: the environment class;
- ``intergreen.train(agent, ...)``: train a DQN or PPO agent, returns its model path;
- ``intergreen.evaluate(controllers, ...)``: waiting time and other metrics per episode;
- ``intergreen.registry``: the reward registry (``register``, ``get``, ``names``, ``describe``);
- ``intergreen.IntergreenError``: the base of every error a user can fix;
- ``intergreen.__version__``.

Importing the package registers the environment with gymnasium as ``intergreen/Junction-v0``::

    import gymnasium as gym
    import intergreen

    env = gym.make("intergreen/Junction-v0", junction="gm_a56", demand="medium",
                   reward="average_speed", seed=1)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from intergreen.errors import IntergreenError
from intergreen.junctions.registration import ENV_ID
from intergreen.junctions.registration import register as _register_env
from intergreen.version import __version__

if TYPE_CHECKING:
    from intergreen.agents.evaluation import evaluate
    from intergreen.agents.training import train
    from intergreen.junctions.env import JunctionEnv, make_env
    from intergreen.rewards import registry

__all__ = [
    "ENV_ID",
    "IntergreenError",
    "JunctionEnv",
    "__version__",
    "evaluate",
    "make_env",
    "registry",
    "train",
]

#: name -> (module, attribute; None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "make_env": ("intergreen.junctions.env", "make_env"),
    "JunctionEnv": ("intergreen.junctions.env", "JunctionEnv"),
    "train": ("intergreen.agents.training", "train"),
    "evaluate": ("intergreen.agents.evaluation", "evaluate"),
    "registry": ("intergreen.rewards.registry", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'intergreen' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


_register_env()
