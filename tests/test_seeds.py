"""Seeds with roles (intergreen.seeds): disjoint across roles, runs, envs and episodes, for the
reset seed and SUMO's seed; the env and the training streams use them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from intergreen import seeds
from intergreen.seeds import SeedError, episode_seed, episode_seeds, role_of, sumo_seed

#: Realistic ranges: 100 base seeds x 8 envs x 50 episodes of training; 2 000 evaluation
#: episodes of each evaluation role.
BASES, ENVS, EPISODES, EVAL_EPISODES = range(100), range(8), range(50), 2000


@pytest.fixture(scope="module")
def train_seeds() -> dict[tuple[int, int, int], int]:
    return {
        (b, i, k): episode_seed(b, "train", i, k)
        for b, i, k in itertools.product(BASES, ENVS, EPISODES)
    }


def test_no_two_training_streams_share_a_seed(train_seeds) -> None:
    assert len(set(train_seeds.values())) == len(train_seeds) == 40_000
    # the old scheme gave env i of --seed 1 the seed of env i-1 of --seed 2 (seed + i)
    for b, i in itertools.product(range(1, 50), range(1, 8)):
        mine = {train_seeds[b, i, k] for k in EPISODES}
        assert not mine & {train_seeds[b + 1, i - 1, k] for k in EPISODES}


def test_roles_are_disjoint_and_recoverable(train_seeds) -> None:
    evaluation = {r: episode_seeds(r, EVAL_EPISODES) for r in ("validation", "test")}
    assert len(set(evaluation["validation"])) == len(set(evaluation["test"])) == EVAL_EPISODES
    everything = [set(train_seeds.values()), set(evaluation["validation"]), set(evaluation["test"])]
    for a, b in itertools.combinations(everything, 2):
        assert not a & b
    assert {role_of(s) for s in train_seeds.values()} == {"train"}
    assert {role_of(s) for s in evaluation["validation"]} == {"validation"}
    assert {role_of(s) for s in evaluation["test"]} == {"test"}
    assert role_of(1) is None and role_of(123_456) is None  # given by hand (simulate --seed)
    assert all(0 <= s < 2**63 for s in evaluation["test"])


def test_sumo_seeds_of_each_role_lie_in_their_own_block(train_seeds) -> None:
    blocks = {}
    for role, group in (
        ("train", list(train_seeds.values())[:5000]),
        ("validation", episode_seeds("validation", 2000)),
        ("test", episode_seeds("test", 2000)),
        (None, list(range(2000))),
    ):
        # the env seeds the episode's generator with the reset seed, draws the demand, then SUMO's
        drawn = []
        for s in group:
            rng = np.random.default_rng(s)
            rng.integers(30)
            drawn.append(sumo_seed(rng, role_of(s) if role else None))
        blocks[role] = set(drawn)
        assert all(0 <= x < 2**31 for x in drawn)
    for a, b in itertools.combinations(blocks.values(), 2):
        assert not a & b
    assert min(blocks["test"]) >= 3 * 2**29 and max(blocks[None]) < 2**29


def test_one_run_never_repeats_a_sumo_seed() -> None:
    drawn = []
    for i, k in itertools.product(range(8), range(200)):  # 8 envs x 200 episodes
        rng = np.random.default_rng(episode_seed(42, "train", i, k))
        rng.integers(30)
        drawn.append(sumo_seed(rng, "train"))
    assert len(set(drawn)) == len(drawn)


def test_bad_roles_and_seeds_are_refused() -> None:
    with pytest.raises(SeedError, match="unknown seed role 'eval'; use one of train, validation"):
        episode_seed(1, "eval")
    with pytest.raises(SeedError, match="base seed must be a non-negative integer"):
        episode_seed(-1, "train")
    with pytest.raises(SeedError, match="base seed must be at most 4294967295"):
        episode_seed(2**32, "train")
    with pytest.raises(SeedError, match="episodes must be >= 1"):
        episode_seeds("test", 0)
    with pytest.raises(SeedError, match="env index"):
        episode_seed(1, "train", 1.5)  # type: ignore[arg-type]


def test_describe_records_the_recipe() -> None:
    d = seeds.describe(3, "train", 2)
    assert d["base"] == 3 and d["role"] == "train" and "SeedSequence" in d["scheme"]
    assert d["first_episode_seeds"] == [episode_seed(3, "train", 0, 0), episode_seed(3, "train", 1)]


def test_env_draws_sumo_seeds_in_the_seed_roles_block() -> None:
    from intergreen.junctions.env import make_env

    env = make_env("gm_a56", "low", duration=6.0)
    try:
        got = {}
        for role in ("train", "validation", "test"):
            env.reset(seed=episode_seed(5, role))
            got[role] = env.sim.seed
            env.reset()  # the next episode continues the stream, in the same role's block
            got[role + "+1"] = env.sim.seed
        env.reset(seed=7)
        got["hand"] = env.sim.seed
    finally:
        env.close()
    for role, tag in seeds.ROLE_TAGS.items():
        for key in (role, role + "+1"):
            assert tag * 2**29 <= got[key] < (tag + 1) * 2**29, (key, got[key])
    assert got["hand"] < 2**29 and len(set(got.values())) == len(got)


def test_training_envs_of_two_runs_play_different_episodes() -> None:
    """Env 1 of base seed 1 and env 0 of base seed 2 shared their stream under ``seed + i``;
    now every env of every run plays its own (SB3's ``seed + i`` reset seed is ignored)."""
    from intergreen.agents.config import TrainConfig
    from intergreen.agents.training import _make_env

    played = {}
    for base, i in [(1, 0), (1, 1), (2, 0)]:
        cfg = TrainConfig(agent="dqn", demand="mixed", timesteps=10, seed=base, n_envs=2,
                          env_kwargs={"duration": 3.0})  # fmt: skip
        env = _make_env(cfg, i)
        try:
            for episode in range(3):
                env.reset(seed=base + i if episode == 0 else None)  # what SB3 passes
                assert env.stream_state == {"episode": episode, "actions": []}
                inner = env.unwrapped
                played[base, i, episode] = (inner.demand.name, inner.sim.seed)
        finally:
            env.close()
    assert len({v[1] for v in played.values()}) == len(played)  # no SUMO seed twice
    streams = {b_i: [played[(*b_i, k)] for k in range(3)] for b_i in [(1, 0), (1, 1), (2, 0)]}
    assert streams[1, 1] != streams[2, 0] and streams[1, 0] != streams[2, 0]
    assert len({d for d, _ in played.values()}) > 1  # the demand draws differ too
