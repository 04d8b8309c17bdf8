"""Every seed intergreen uses is derived here, and every seed has a role.

Roles (the experiment protocol of docs/design.md):

- ``train``: the episodes agents train on;
- ``validation``: every selection (tuning trials, checkpoint choice, baseline tuning);
- ``test``: reports and ``intergreen evaluate`` only; never a selection.

An episode's reset seed is derived with numpy's ``SeedSequence`` from (role, base seed, env
index, episode number): training env ``i`` of a run with base seed ``b`` resets its episode
``k`` with ``episode_seed(b, "train", i, k)``; the shared evaluation episodes are
``episode_seeds("test", n)`` (base 0, env 0, episodes 0..n-1), the same for every controller so
that comparisons are paired. The environment draws the episode's demand and SUMO's seed from
the generator seeded with it.

Layout of a derived seed (63 bits): bits 61-62 hold the role's tag (1 train, 2 validation,
3 test; 0 marks a seed given by hand, such as ``simulate --seed 1``), bits 0-60 a SeedSequence
draw. So seeds of different roles never coincide, and the streams of two runs, or of two envs
of one run, share a seed only by a 61-bit hash collision (about n^2 / 2^62 for n seeds).

SUMO takes a 31-bit seed: :func:`sumo_seed` draws it inside the role's quarter of [0, 2^31),
so SUMO seeds of different roles are disjoint too (within a role, two episodes share a SUMO
seed with probability about n^2 / 2^30; their demand draws still differ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intergreen.errors import OptionError

ROLES = ("train", "validation", "test")
#: Role tag of a derived seed (bits 61-62); 0 is a seed given by hand.
ROLE_TAGS = {"train": 1, "validation": 2, "test": 3}
TAG_SHIFT = 61
#: Base seeds (a run's ``--seed``) lie in [0, MAX_BASE_SEED].
MAX_BASE_SEED = 2**32 - 1
#: SUMO seeds of one role lie in [tag * SUMO_BLOCK, (tag + 1) * SUMO_BLOCK).
SUMO_BLOCK = 2**29
#: Recorded in run configs: what the numbers below mean.
SCHEME = (
    "intergreen.seeds/1: reset seed of (base, role, env, episode) = role tag << 61 | "
    "SeedSequence([tag, base, env, episode]).generate_state(1, uint64)[0] >> 3; SUMO seed = "
    "tag * 2^29 + a draw below 2^29 from the episode's generator"
)


class SeedError(OptionError):
    """A role or seed outside what the seed scheme allows; the message names the fix."""


def _check(name: str, value: Any, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise SeedError(f"{name} must be a non-negative integer, got {value!r}")
    if high is not None and value > high:
        raise SeedError(f"{name} must be at most {high}, got {value}")
    return int(value)


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a SeedError listing them."""
    if role not in ROLE_TAGS:
        raise SeedError(f"unknown seed role {role!r}; use one of {', '.join(ROLES)}")
    return role


def episode_seed(base: int, role: str, env: int = 0, episode: int = 0) -> int:
    """The reset seed of episode ``episode`` of env ``env`` in the ``role`` stream of base seed
    ``base`` (a 63-bit int; see the module docstring). Raises SeedError on a bad role or a
    negative or too large number."""
    tag = ROLE_TAGS[check_role(role)]
    entropy = [
        tag,
        _check("base seed", base, MAX_BASE_SEED),
        _check("env index", env),
        _check("episode", episode),
    ]
    draw = int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])
    return (tag << TAG_SHIFT) | (draw >> 3)


def episode_seeds(
    role: str, episodes: int, *, base: int = 0, env: int = 0, start: int = 0
) -> list[int]:
    """Reset seeds of episodes ``start .. start + episodes - 1`` of one stream; with the
    defaults, the evaluation set of ``role`` that every controller shares."""
    if _check("episodes", episodes) < 1:
        raise SeedError(f"episodes must be >= 1, got {episodes}")
    return [episode_seed(base, role, env, start + k) for k in range(episodes)]


def role_of(seed: int) -> str | None:
    """The role a derived seed belongs to; None for a seed given by hand (tag 0)."""
    tag = (int(seed) >> TAG_SHIFT) & 3
    return {v: k for k, v in ROLE_TAGS.items()}.get(tag)


def sumo_seed(rng: np.random.Generator, role: str | None) -> int:
    """SUMO's seed for an episode, drawn from the episode's generator inside ``role``'s block
    of [0, 2^31) (hand-given seeds use block 0)."""
    tag = 0 if role is None else ROLE_TAGS[check_role(role)]
    return tag * SUMO_BLOCK + int(rng.integers(SUMO_BLOCK))


def worker_seed(base: int, env: int) -> int:
    """Seed of the exploration generators (epsilon coins, sampled actions) of the collector that
    steps training env ``env`` in its own process (see intergreen.agents.rollouts)."""
    entropy = [_check("base seed", base, MAX_BASE_SEED), _check("env index", env)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def describe(base: int, role: str, n_envs: int) -> dict[str, Any]:
    """What a run records about its seeds: the scheme, its base seed and role, and the reset
    seed of each env's first episode (the rest follow from the scheme)."""
    return {
        "scheme": SCHEME,
        "base": base,
        "role": check_role(role),
        "first_episode_seeds": [episode_seed(base, role, i, 0) for i in range(n_envs)],
        "evaluation_role": "test",
        "selection_role": "validation",
    }


__all__ = [
    "MAX_BASE_SEED",
    "ROLES",
    "SCHEME",
    "SeedError",
    "check_role",
    "describe",
    "episode_seed",
    "episode_seeds",
    "role_of",
    "sumo_seed",
    "worker_seed",
]
