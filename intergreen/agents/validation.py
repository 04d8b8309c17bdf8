"""Greedy validation during training, and the best checkpoint it selects.

With ``validate_every=N`` (``intergreen train --validate-every N``), as the first collection
at or after every ``N`` decisions starts, and once more when training ends, the learner's
greedy policy (``predict(deterministic=True)``) plays ``validate_episodes`` episodes per
validation demand (the training demand unless ``validate_demands`` names others), reset with
the first seeds of the ``validation`` stream (intergreen.seeds): the same episodes at every
point, so the points are comparable, and never a training or test episode. They run through
:func:`intergreen.agents.evaluation.evaluate` in a worker process of the run's own (one,
started at the first point and kept until training ends), on libsumo: the training env holds
its process's one libsumo run, and traci, the other way to run a second simulation beside it,
costs about 1.4 times the CPU time per episode for the same numbers. The model goes to the
worker as a zip saved at the point (``.validation_model.zip`` in the run folder), which
becomes ``best_model.zip`` when the point is the best.

The run folder gains:

- ``validation.csv``: one row per validation episode (intergreen.agents.curves);
- ``best_model.zip``: the model at the point with the lowest score (the mean waiting time of
  its episodes; the earliest of equal ones) and ``best.json`` (its ``step``, ``score``,
  ``metric``); ``model.zip`` stays the final model.

Validation draws from no generator training uses (the greedy policy samples nothing; the
episodes' draws come from their seeds), so a run trains the same weights with validation on
or off. A resume keeps the rows up to the checkpoint (intergreen.agents.runlogs) and puts back
the best model saved with it (intergreen.agents.checkpoints), so a killed-and-resumed run ends
with the rows and the best model of an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from intergreen.agents.checkpoints import checkpoint_best_model, link_or_copy
from intergreen.agents.config import (
    VALIDATION_BACKEND,
    VALIDATION_METRIC,
    TrainConfig,
    algorithm_class,
)
from intergreen.agents.curves import (
    VALIDATION_FIELDS,
    best_point,
    read_validation,
    validation_scores,
)
from intergreen.agents.evaluation import evaluate
from intergreen.agents.policy import AgentPolicy
from intergreen.agents.rundir import BEST_INFO, BEST_MODEL, VALIDATION_LOG, RunDirError
from intergreen.agents.runenv import RunEnv
from intergreen.common import atomic_path, atomic_write
from intergreen.seeds import episode_seeds
from intergreen.workers import CrashSafePool

#: The model of the point being validated, as the worker loads it.
VALIDATING_MODEL = ".validation_model.zip"


def play_validation(
    model_zip: str,
    agent: str,
    name: str,
    run_env: RunEnv,
    reward: Any,
    demands: list[Any],
    seeds: list[int],
) -> Any:
    """The validation worker's job: ``model_zip``'s greedy policy on every (demand, seed)
    episode, in ``run_env`` (evaluate's DataFrame, one row per episode; ground-truth totals
    only)."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    model = algorithm_class(agent).load(model_zip, device="cpu")
    policy = AgentPolicy(model, name, run_env, reward)
    return evaluate([policy], demands=demands, seeds=seeds, workers=1, detail=False)


class Validator:
    """Scores a run's greedy policy on the validation episodes and keeps its best model.

    ``step`` arguments are the learner's decisions so far (``model.num_timesteps``).
    """

    def __init__(self, config: TrainConfig, run_dir: Path) -> None:
        assert config.validate_every is not None
        self.config = config
        self.run_dir = Path(run_dir)
        self.every = config.validate_every
        self.seeds = episode_seeds("validation", config.validate_episodes)
        self.demands = config.validation_demands()
        self.run_env = RunEnv(
            config.junction, config.resolved_env_kwargs() | {"backend": VALIDATION_BACKEND}
        )
        self.next_step = self.every
        self._pool: CrashSafePool | None = None

    @property
    def best_model(self) -> Path:
        return self.run_dir / BEST_MODEL

    def start(self, step: int) -> None:
        """Training (re)starts at ``step``: the next point is the first multiple of ``every``
        above it (a point at ``step`` itself was taken before the checkpoint)."""
        self.next_step = (step // self.every + 1) * self.every

    def due(self, step: int) -> bool:
        return step >= self.next_step

    def last_step(self) -> int | None:
        """The step of the newest validation point logged, None before the first."""
        scores = validation_scores(self._rows(), kind=self.config.validate_score)
        return int(scores["step"].iloc[-1]) if not scores.empty else None

    def validate(self, model: Any, step: int) -> float:
        """Play the validation episodes with ``model``'s greedy policy, log them, keep the
        model as best_model.zip when its score is the lowest so far; returns the score (s per
        vehicle)."""
        saved = self.run_dir / VALIDATING_MODEL
        model.save(saved)
        frame = self._play(saved)
        # the training reward's episode sum (evaluate's reward_<name> column)
        (reward_column,) = [c for c in frame if c.startswith("reward_")]
        frame["reward"] = frame[reward_column]
        frame["step"] = step
        frame["episode"] = [self.seeds.index(s) for s in frame["seed"]]
        frame["demand"] = [_label(d) for d in frame["demand"]]
        self._append(frame[list(VALIDATION_FIELDS)].to_dict("records"))
        self.next_step = (step // self.every + 1) * self.every
        scores = validation_scores(self._rows(), kind=self.config.validate_score)
        best = best_point(scores)
        assert best is not None
        if best[0] == step:
            with atomic_path(self.best_model) as tmp:  # a checkpoint's hard link keeps the old
                saved.replace(tmp)
            self._write_best(*best)
        else:
            saved.unlink()
        return float(scores["score"].iloc[-1])

    def _play(self, model_zip: Path) -> Any:
        if self._pool is None:
            self._pool = CrashSafePool(1)
        job = (str(model_zip), self.config.agent, self.run_dir.name, self.run_env,
               self.config.reward, self.demands, self.seeds)  # fmt: skip
        self._pool.submit("validation", play_validation, *job)
        while True:
            for outcome in self._pool.wait():
                if outcome.error is not None:
                    raise outcome.error
                return outcome.result

    def close(self) -> None:
        """Stop the validation worker (training has ended, or failed) and wait for it to
        exit: after a finished run it is idle (every validation point was collected); after a
        failure or Ctrl-C the point it was playing is dropped (a resume validates again)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
        (self.run_dir / VALIDATING_MODEL).unlink(missing_ok=True)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """After the logs were cut back to ``checkpoint``'s step: best_model.zip and best.json
        as they stood at it (none before the first validation point)."""
        best = best_point(validation_scores(self._rows(), kind=self.config.validate_score))
        saved = checkpoint_best_model(self.run_dir, checkpoint)
        if best is None:
            clear_best(self.run_dir)
            return
        if saved is None:
            raise RunDirError(
                f"{self.run_dir}: the checkpoint at step {checkpoint['step']} holds no best model "
                f"although {VALIDATION_LOG} scored points before it; remove the run folder (or "
                "use --force) to train it again"
            )
        link_or_copy(saved, self.best_model)
        self._write_best(*best)

    def _rows(self):
        import pandas as pd

        path = self.run_dir / VALIDATION_LOG
        return read_validation(self.run_dir) if path.exists() else pd.DataFrame()

    def _append(self, rows: list[dict[str, Any]]) -> None:
        path = self.run_dir / VALIDATION_LOG
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=VALIDATION_FIELDS, lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def _write_best(self, step: int, score: float) -> None:
        info = {"step": step, "score": score, "metric": VALIDATION_METRIC,
                "score_kind": self.config.validate_score, "model": BEST_MODEL}  # fmt: skip
        atomic_write(self.run_dir / BEST_INFO, json.dumps(info, indent=2))


def clear_best(run_dir: Path) -> None:
    """Remove best_model.zip and best.json (a run that starts again from step 0)."""
    (Path(run_dir) / BEST_MODEL).unlink(missing_ok=True)
    (Path(run_dir) / BEST_INFO).unlink(missing_ok=True)


def _label(demand: Any) -> str:
    """A demand as one CSV cell (a list drawn from: joined with ``+``)."""
    return "+".join(map(str, demand)) if isinstance(demand, list) else str(demand)


__all__ = ["Validator", "clear_best"]
