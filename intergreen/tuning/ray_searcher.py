"""CARBS as a Ray Tune ``Searcher``, so the tuner can drive trials on a Ray cluster.

Optional extra: ``pip install 'intergreen[ray]'``. Ray trial ids are the CARBS suggestion ids,
so Ray's pending trials are CARBS's Thompson fantasies. The objective reports the metric and
the cost (``cost_key``; when the result lacks it, the trial config's value of that name)::

    from ray import tune
    from intergreen.tuning import LogSpace, Param
    from intergreen.tuning.ray_searcher import CARBSSearcher

    searcher = CARBSSearcher(params, metric="avg_waiting_time", mode="min")  # no param_space
    tune.Tuner(objective, tune_config=tune.TuneConfig(search_alg=searcher, num_samples=64,
               max_concurrent_trials=8)).fit()

For the agents, :func:`agent_trainable` wraps :func:`intergreen.tuning.loop.run_trial`
(``params = spec.search_params()``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    from ray.tune.search import Searcher
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise ImportError(
        "CARBSSearcher needs Ray Tune: pip install 'intergreen[ray]' (or 'ray[tune]')"
    ) from e

from intergreen.tuning import CARBS, CARBSParams, Param

UUID = "suggestion_uuid"


class CARBSSearcher(Searcher):
    """Ray Tune searcher backed by :class:`~intergreen.tuning.CARBS`.

    ``carbs_params``: extra :class:`CARBSParams` fields (the direction comes from ``mode``).
    A trial that errors, or reports no finite metric, is observed as a failure.
    """

    def __init__(
        self,
        params: Sequence[Param],
        metric: str | None = None,
        mode: str | None = None,
        cost_key: str = "cost",
        carbs_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        self.params = list(params)
        self.cost_key = cost_key
        self.carbs_params = dict(carbs_params or {})
        self.carbs: CARBS | None = None
        self.configs: dict[str, dict[str, Any]] = {}

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        if self.carbs is None:  # once searching, the direction cannot change
            self._metric = self._metric or metric
            self._mode = self._mode or mode
        return not config  # the search space is CARBS's own

    def _tuner(self) -> CARBS:
        if self.carbs is None:
            if self._metric is None:
                raise RuntimeError("CARBSSearcher: set metric= (here or in tune.TuneConfig)")
            mode = self._mode or "min"
            if mode not in ("min", "max"):
                raise ValueError(f"mode={mode!r}: use 'min' or 'max'")
            self._mode = mode
            cfg = {"better_direction_sign": -1 if mode == "min" else 1, **self.carbs_params}
            self.carbs = CARBS(CARBSParams(**cfg), self.params)
        return self.carbs

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        s = self._tuner().suggest(suggestion_id=trial_id).suggestion
        config = {k: v for k, v in s.items() if k != UUID}
        self.configs[trial_id] = config
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        carbs = self._tuner()
        if trial_id not in carbs.outstanding:
            return
        config = self.configs.pop(trial_id, None)
        if config is None:  # restored searcher: the config lives in CARBS's pending set
            carbs.forget(trial_id)
            return
        result = result or {}
        value = result.get(self._metric)
        cost = result.get(self.cost_key, config.get(self.cost_key, 1.0))
        try:
            value = float(value) if value is not None else math.nan
        except (TypeError, ValueError):
            value = math.nan
        failed = error or not math.isfinite(value)
        carbs.observe(
            {**config, UUID: trial_id},
            None if failed else value,
            cost if cost and float(cost) > 0 else 1.0,
            is_failure=failed,
        )

    def save(self, checkpoint_path: str) -> None:
        self._tuner().save(checkpoint_path)
        Path(checkpoint_path + ".configs.json").write_text(json.dumps(self.configs))

    def restore(self, checkpoint_path: str) -> None:
        self.carbs = CARBS.load(checkpoint_path)
        self.params = self.carbs.params
        self._mode = "min" if self.carbs.config.better_direction_sign < 0 else "max"
        side = Path(checkpoint_path + ".configs.json")
        self.configs = json.loads(side.read_text()) if side.exists() else {}


def agent_trainable(spec: Any, out: str | Path) -> Callable[[dict[str, Any]], None]:
    """A Ray function trainable that trains and evaluates ``spec.train_seeds`` agents per trial.

    Reports ``avg_waiting_time`` and ``cost`` (env steps or training seconds, per
    ``spec.cost``); each trial's run folder is ``out/trials/<ray trial id>``.
    """
    from intergreen.tuning.loop import run_trial

    out = Path(out).resolve()

    def trainable(config: dict[str, Any]) -> None:
        from ray import tune

        tid = tune.get_context().get_trial_id()
        r = run_trial(spec, tid, config, str(out / "trials" / tid), spec.seed)
        if "error" in r:
            raise RuntimeError(r["error"])
        cost = r["timesteps"] if spec.cost == "steps" else r["train_s"]
        tune.report({"avg_waiting_time": r["output"], "cost": float(cost)})

    return trainable


__all__ = ["CARBSSearcher", "agent_trainable"]
