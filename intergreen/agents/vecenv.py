"""A vectorised env that keeps the first env in the learner's process.

SB3's SubprocVecEnv puts every env in its own process, so n_envs=2 on 2 cores runs three
CPU-bound processes (the learner and two SUMOs) and each step pays two pipe round trips.
`LocalFirstVecEnv` runs env 0 in the learner's process and envs 1.. in subprocesses: a step
sends the actions to the subprocesses, steps env 0 here while they work, then collects their
results. Each env sees exactly what it would under SubprocVecEnv (same seeds, same results);
libsumo's one simulation per process still holds, since the learner runs only env 0.

A SUMO step of gm_a56 takes ~0.2 ms, less than the kernel's wake-up of a process blocked on a
pipe under load, so both ends poll the pipe for a short while (``spin_s``) before they block:
the worker while the learner picks the next action, the learner while the worker finishes its
step. Polling stops after ``spin_s`` (PPO's update phase, an episode reset), and is off when
there are more envs than CPU cores, where a polling process would take a core from a busy one.

A worker's warnings go back with its next reply and are shown by the learner's process
(:mod:`intergreen.worker_warnings`): in its format, and once, not once per worker.

Besides SB3's worker commands, a worker collects several steps on its own with a copy of the
policy (``rollout_async``/``rollout_wait``, used by the algorithms in
`intergreen.agents.rollouts`): the learner names the collector class in its setup (one of
`intergreen.agents.collectors`), so this module imports no algorithm.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper

from intergreen.worker_warnings import (
    KeptWarning,
    keep_warnings,
    kept_warnings,
    replay_warnings,
)
from intergreen.workers import owner_environment, take_environment

#: How long either end of a worker pipe polls before it blocks (s).
SPIN_S = 0.002
#: How long close() waits for a busy worker before it terminates it (s).
CLOSE_TIMEOUT_S = 60.0


class WorkerError(RuntimeError):
    """An env in a worker process raised; the message carries the worker's traceback."""


class _Failure:
    """What a worker sends back instead of a result when a command raised."""

    def __init__(self, text: str) -> None:
        self.text = text


class _Warned:
    """A worker's reply with the warnings it raised since its last reply."""

    def __init__(self, reply: Any, kept: tuple[KeptWarning, ...]) -> None:
        self.reply = reply
        self.kept = kept


def _unwrap(message: Any) -> Any:
    """A worker's reply, its warnings shown here (:func:`replay_warnings`)."""
    if isinstance(message, _Warned):
        replay_warnings(message.kept)
        return message.reply
    return message


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def checked_env(env: Any) -> gym.Env:
    """``env`` if it is a gymnasium env, else a TypeError naming what it is."""
    if not isinstance(env, gym.Env):
        raise TypeError(f"an env factory returned {type(env).__name__}, not a gymnasium.Env")
    return env


class EnvCommands:
    """One env behind SB3's worker protocol (plus "rollout"); remembers the last observation
    and whether it starts an episode, which a rollout continues from. ``step`` is
    DummyVecEnv's step of one env: the same results, no copies."""

    def __init__(
        self, env: gym.Env, last_obs: np.ndarray | None = None, episode_start: bool = True
    ) -> None:
        self.env = checked_env(env)
        self.reset_info: dict[str, Any] = {}
        self.last_obs = last_obs
        self.episode_start = episode_start
        self.collector: Any = None  # made by the first "rollout" from the learner's setup

    def step(self, action: Any) -> tuple[Any, float, bool, dict[str, Any], dict[str, Any]]:
        """One step in SB3's VecEnv form: reset at the end of an episode."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        if done:
            info["terminal_observation"] = obs
            obs, self.reset_info = self.env.reset()
        self.last_obs, self.episode_start = obs, done
        return obs, reward, done, info, self.reset_info

    def __call__(self, cmd: str, data: Any) -> Any:  # noqa: C901, PLR0911 - one branch a command
        env = self.env
        if cmd == "step":
            return self.step(data)
        if cmd == "rollout":
            setup = data["setup"]
            if setup is not None:  # a new learner (or its first rollout)
                self.collector = setup["collector"].from_setup(setup)
            return self.collector.collect(self, data["n_steps"], data["state"], data["plan"])
        if cmd == "reset":
            options = {"options": data[1]} if data[1] else {}
            obs, self.reset_info = env.reset(seed=data[0], **options)
            self.last_obs, self.episode_start = obs, True
            return obs, self.reset_info
        if cmd == "get_spaces":
            return env.observation_space, env.action_space
        if cmd == "env_method":
            return env.get_wrapper_attr(data[0])(*data[1], **data[2])
        if cmd == "get_attr":
            return env.get_wrapper_attr(data)
        if cmd == "has_attr":
            try:
                env.get_wrapper_attr(data)
            except AttributeError:
                return False
            return True
        if cmd == "set_attr":
            setattr(env, data[0], data[1])
            return None
        if cmd == "is_wrapped":
            return is_wrapped(env, data)
        if cmd == "render":
            return env.render()
        raise NotImplementedError(f"`{cmd}` is not implemented in the worker")


class InProcessRemote:
    """Stands in for a worker pipe, with the env in this process: ``send`` stores a command of
    SB3's worker protocol and ``recv`` runs it. SubprocVecEnv sends to every remote before it
    receives from any, so the subprocess envs step while this one does."""

    def __init__(self, env_fn: Callable[[], gym.Env]):
        self.commands = EnvCommands(env_fn())
        self.env = self.commands.env
        self._message: tuple[str, Any] | None = None

    def send(self, message: tuple[str, Any]) -> None:
        if message[0] == "close":  # SubprocVecEnv.close() sends "close" and never receives
            self._message = None
            self.env.close()
            return
        self._message = message

    def recv(self) -> Any:
        if self._message is None:  # delivered (or raised) already: e.g. close() after an error
            return None
        (cmd, data), self._message = self._message, None
        return self.commands(cmd, data)

    def close(self) -> None:
        """The pipe's close(); the env itself closes on the "close" command."""


class SpinningConnection:
    """A pipe end whose ``recv`` polls for up to ``spin_s`` before it blocks, and raises
    `WorkerError` when the other end reports a failure."""

    def __init__(self, conn: Connection, spin_s: float) -> None:
        self.conn = conn
        self.spin_s = spin_s

    def recv(self) -> Any:
        conn = self.conn
        if self.spin_s > 0 and not conn.poll(0):
            deadline = time.perf_counter() + self.spin_s
            while not conn.poll(0) and time.perf_counter() < deadline:
                pass
        message = _unwrap(conn.recv())
        if isinstance(message, _Failure):
            raise WorkerError(f"an env in a worker process failed:\n{message.text}")
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def _worker(
    remote: Connection,
    parent_remote: Connection,
    env_fn: CloudpickleWrapper,
    spin_s: float,
    owner: tuple[dict[str, str], list[str]],
) -> None:
    """A worker process: take the learner's environment variables and ``sys.path``
    (``owner``: :func:`intergreen.workers.take_environment`), then run commands until "close"
    or the learner goes away. A command that raises sends the traceback back (SB3's worker
    dies instead, leaving an EOFError); the warnings raised go back with the next reply (those
    of making the env with the first; those raised while closing are dropped)."""
    take_environment(*owner)
    parent_remote.close()
    keep_warnings()
    conn = SpinningConnection(remote, spin_s)
    commands = EnvCommands(env_fn.var())
    try:
        while True:
            try:
                cmd, data = conn.recv()
            except (EOFError, KeyboardInterrupt):
                break
            if cmd == "close":
                break
            try:
                reply = commands(cmd, data)
            except Exception:  # noqa: BLE001 - reported to the learner, which raises it
                reply = _Failure(traceback.format_exc())
            kept = kept_warnings()
            remote.send(_Warned(reply, kept) if kept else reply)
    finally:
        commands.env.close()
        remote.close()


class LocalFirstVecEnv(SubprocVecEnv):
    """Env 0 in this process, envs 1.. in subprocesses (see the module docstring).

    ``spin_s``: how long pipe ends poll before blocking; None = ``SPIN_S`` when every env has
    a core of its own, else 0.
    """

    def __init__(
        self,
        env_fns: list[Callable[[], gym.Env]],
        start_method: str = "forkserver",
        spin_s: float | None = None,
    ):
        if len(env_fns) < 2:
            raise ValueError("LocalFirstVecEnv needs at least 2 envs; use DummyVecEnv for one")
        if spin_s is None:
            spin_s = SPIN_S if len(env_fns) <= usable_cores() else 0.0
        self.spin_s = spin_s
        self._rollout_owner: object = None
        local = InProcessRemote(env_fns[0])
        try:
            self._start_workers(env_fns[1:], start_method, spin_s)
        except BaseException:
            local.env.close()
            raise
        self.remotes = [local, *self.remotes]
        VecEnv.__init__(self, len(env_fns), self.observation_space, self.action_space)

    def _start_workers(
        self, env_fns: list[Callable[[], gym.Env]], start_method: str, spin_s: float
    ) -> None:
        """SubprocVecEnv.__init__ with our worker and polling pipe ends."""
        self.waiting = False
        self.closed = False
        ctx = mp.get_context(start_method)
        pipes = [ctx.Pipe() for _ in env_fns]
        self.remotes = [SpinningConnection(remote, spin_s) for remote, _ in pipes]
        self.work_remotes = [work for _, work in pipes]
        self.processes = []
        for (remote, work), env_fn in zip(pipes, env_fns, strict=True):
            args = (work, remote, CloudpickleWrapper(env_fn), spin_s, owner_environment())
            # daemon: a crashed learner does not leave its workers behind
            process = ctx.Process(target=_worker, args=args, daemon=True)
            process.start()
            self.processes.append(process)
            work.close()
        self.remotes[0].send(("get_spaces", None))
        self.observation_space, self.action_space = self.remotes[0].recv()

    @property
    def local(self) -> EnvCommands:
        """Env 0, in this process."""
        return self.remotes[0].commands

    def rollout_async(
        self,
        owner: object,
        setup: Callable[[], dict[str, Any]],
        n_steps: int,
        state: dict[str, Any] | None = None,
        plan: dict[str, Any] | None = None,
    ) -> None:
        """Start collecting ``n_steps`` steps in every worker. The workers build their collector
        from ``setup()`` the first time ``owner`` (the learner) asks; ``state`` (policy
        weights) and ``plan`` (per-step settings) go with every request."""
        first = self._rollout_owner is not owner
        base = setup() if first else None
        self._rollout_owner = owner
        for i, remote in enumerate(self.remotes[1:], start=1):
            message = {"setup": None if base is None else base | {"index": i},
                       "state": state, "plan": plan, "n_steps": n_steps}  # fmt: skip
            remote.send(("rollout", message))
        self.waiting = True

    def rollout_wait(self) -> list[dict[str, Any]]:
        """The workers' rollouts, in env order (1..)."""
        results = [remote.recv() for remote in self.remotes[1:]]
        self.waiting = False
        return results

    def close(self) -> None:
        """Close every env, also after an error: a worker still busy (a rollout, a reply
        nobody read) is drained so that it sees "close", and stopped if it does not."""
        if self.closed:
            return
        workers = list(zip(self.remotes[1:], self.processes, strict=True))
        for remote, _ in workers:
            with contextlib.suppress(OSError):  # the worker may be gone already
                remote.conn.send(("close", None))
        for remote, process in workers:
            deadline = time.monotonic() + CLOSE_TIMEOUT_S
            while process.is_alive() and time.monotonic() < deadline:
                try:
                    if remote.conn.poll(0.05):
                        _unwrap(remote.conn.recv())
                except (EOFError, OSError):
                    break
            process.join(timeout=max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.terminate()
                process.join()
            remote.conn.close()
        self.remotes[0].send(("close", None))
        self.waiting = False
        self.closed = True
