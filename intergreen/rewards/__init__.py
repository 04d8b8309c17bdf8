"""Rewards for traffic-signal control: a registry of named rewards computed from
sensor frames (higher is better), the study's twelve built in, plugins by entry point.

    from intergreen.rewards import registry, RewardContext
    reward = registry.get("average_speed")
    reward.reset(context)        # at every episode start
    r = reward(frames)           # the SensorFrames since the previous decision
"""

from intergreen.rewards import library, registry
from intergreen.rewards.library import STUDY_REWARDS, DemandEstimator
from intergreen.rewards.registry import (
    ENTRY_POINT_GROUP,
    BaseReward,
    Registry,
    Reward,
    RewardContext,
    RewardError,
    check_value,
    resolve_reward,
    reward_metadata,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "STUDY_REWARDS",
    "BaseReward",
    "DemandEstimator",
    "Registry",
    "Reward",
    "RewardContext",
    "RewardError",
    "check_value",
    "library",
    "registry",
    "resolve_reward",
    "reward_metadata",
]
