"""The public API of ``import intergreen`` and the environment in gymnasium's registry."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import intergreen

ROOT = Path(__file__).resolve().parents[2]


def test_version_and_a_cheap_import() -> None:
    """``import intergreen`` gives the version and loads no simulator, learner or pandas."""
    code = (
        "import json, sys, intergreen; print(json.dumps([intergreen.__version__, "
        "sorted(m for m in ('torch', 'stable_baselines3', 'libsumo', 'traci', 'pandas', "
        "'intergreen.junctions.env', 'intergreen.agents.training') if m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=True)  # fmt: skip
    got_version, heavy = json.loads(out.stdout)
    assert got_version == version("intergreen") == intergreen.__version__
    assert heavy == []


def test_public_names() -> None:
    from intergreen.agents.evaluation import evaluate
    from intergreen.agents.training import train
    from intergreen.junctions.env import JunctionEnv, make_env
    from intergreen.rewards import registry

    assert intergreen.make_env is make_env and intergreen.JunctionEnv is JunctionEnv
    assert intergreen.train is train and intergreen.evaluate is evaluate
    assert intergreen.registry is registry and "average_speed" in intergreen.registry.names()
    assert set(intergreen.__all__) <= set(dir(intergreen))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        intergreen.nope  # noqa: B018


def test_gym_make_passes_the_env_checker() -> None:
    env = gym.make("intergreen/Junction-v0")
    try:
        assert env.spec is not None and env.spec.id == intergreen.ENV_ID
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_gym_make_takes_the_env_arguments() -> None:
    env = gym.make("intergreen/Junction-v0", junction="gm_a56", demand="high",
                   reward="average_speed", seed=3, duration=60)  # fmt: skip
    try:
        obs, info = env.reset()
        assert obs.shape == (221,) and obs.dtype == np.float32 == env.observation_space.dtype
        assert env.unwrapped.reward_info["name"] == "average_speed"
        assert info["demand"] == "high"
        truncated = False
        while not truncated:
            obs, reward, terminated, truncated, info = env.step(np.int64(0))
            assert not terminated and 0.0 <= reward < 1.5  # speed / limit, not minus a queue
        assert info["episode_metrics"]["simulated_s"] == pytest.approx(60, abs=0.61)
    finally:
        env.close()


def test_make_vec_runs_one_process_per_env_with_their_own_seeds() -> None:
    def run() -> np.ndarray:
        envs = gym.make_vec("intergreen/Junction-v0", num_envs=2, seed=5, demand="high",
                            duration=60)  # fmt: skip
        try:
            obs, _ = envs.reset()
            steps = [obs]
            for _ in range(15):
                obs, *_ = envs.step(np.array([1, 1]))
                steps.append(obs)
            return np.stack(steps)
        finally:
            envs.close()

    first, again = run(), run()
    assert first.shape == (16, 2, 221)
    np.testing.assert_array_equal(first, again)  # seeded
    assert not np.array_equal(first[:, 0], first[:, 1])  # env 1 is seeded 6, not 5


def test_the_readme_in_python_section_runs_as_written(tmp_path, monkeypatch) -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("## In Python")
    section = text[start : text.index("\n## ", start + 5)]
    blocks = [b.split("```")[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 3
    namespace: dict = {"__name__": "__main__"}  # as a script run (make_vec's guard)
    monkeypatch.chdir(tmp_path)  # the third block writes timeline.png
    try:
        for block in blocks[:2]:
            exec(block, namespace)  # noqa: S102 - the README's own code
        assert namespace["obs"].shape == (221,)
        assert namespace["envs"].num_envs == 2
        assert namespace["env"].spec.id == "intergreen/Junction-v0"
        namespace["env"].close()
        exec(blocks[2], namespace)  # noqa: S102
        metrics = namespace["result"].metrics
        assert metrics["arm_wait_E"] >= 0 and metrics["co2_g_per_vkm"] > 0
        assert (tmp_path / "timeline.png").stat().st_size > 10_000
    finally:
        for name in ("env", "envs"):
            if name in namespace:
                namespace[name].close()
