"""An agent tune's result, ``OUT/tuned.json``: the best trial's hyperparameters with what chose
them, written by ``intergreen tune --agent`` and read by experiment grids (an agent spec's
``tuned:``), so that tuned and default settings meet on fresh training seeds and test episodes.

The document (``format: intergreen-agent-tuned/1``)::

    agent, reward, junction, train_demand, preset
    hyperparams        the best trial's resolved hyperparameters (train()'s ``hyperparams``)
    timesteps          decisions per agent the best trial trained (its runs' done.json:
                       whole collections, e.g. PPO rollouts of n_steps; what a grid's
                       ``timesteps: tuned`` trains)
    suggested_timesteps the decisions CARBS suggested for it (the cost dimension's value)
    default_hyperparams the centre the tune started from (trial t0000: the preset's)
    validation         seed role ("validation"), demands, episodes per demand and agent,
                       agents per trial, the episode length (``duration_s``, s; None: each
                       demand's own), the best's and the defaults' mean waiting time (s/veh)
    train_seeds        every training seed a trial of the tune used (a comparison must use
                       others: its seeds would replay the tune's training episodes)
    budget             trials (failed ones too), total cost, wall clock (s)

Errors: :class:`AgentTunedError` (a missing, unreadable or foreign file; the message names the
file and what to do).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intergreen.common import atomic_write
from intergreen.errors import IntergreenError

FORMAT = "intergreen-agent-tuned/1"
FILE = "tuned.json"


class AgentTunedError(IntergreenError, ValueError):
    """A tuned.json that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class AgentTuned:
    """A read ``tuned.json`` (see the module docstring); ``path`` is where it was read."""

    path: Path
    doc: dict[str, Any]

    @property
    def agent(self) -> str:
        return str(self.doc["agent"])

    @property
    def hyperparams(self) -> dict[str, Any]:
        return dict(self.doc["hyperparams"])

    def changed(self) -> dict[str, Any]:
        """The best trial's hyperparameters that differ from the defaults' (``{}``: the best
        trial ran the defaults, its score's gap to theirs is noise). Numbers equal to 6
        significant digits count as equal: CARBS's search space returns a default as a
        rounded float (a learning rate of 0.0005 as 0.0004999999)."""
        return changed_hyperparams(self.hyperparams, self.doc.get("default_hyperparams") or {})

    @property
    def train_seeds(self) -> list[int]:
        return [int(s) for s in self.doc["train_seeds"]]

    def summary(self) -> dict[str, Any]:
        """What a grid records about the tune (grid.json; the report's sentences)."""
        keep = ("agent", "reward", "junction", "train_demand", "preset", "hyperparams",
                "default_hyperparams", "timesteps", "suggested_timesteps", "best_trial",
                "validation", "budget", "train_seeds")  # fmt: skip
        return {"file": str(self.path), **{k: self.doc.get(k) for k in keep}}


def trial_train_seeds(trials: list[dict[str, Any]], train_seeds: int, stride: int) -> list[int]:
    """Every training seed of ``trials`` (each trains ``train_seeds`` agents, seeds
    ``seed + k * stride``; intergreen.tuning.loop.trial_runs)."""
    seeds = {int(t["seed"]) + k * stride for t in trials if "seed" in t for k in range(train_seeds)}
    return sorted(seeds)


def write_agent_tuned(
    out: Path,
    spec_json: dict[str, Any],
    trials: list[dict[str, Any]],
    timesteps: int,
    default_hyperparams: dict[str, Any],
    budget: dict[str, Any],
    stride: int,
    default_id: str = "t0000",
    suggested_timesteps: int | None = None,
) -> Path | None:
    """Write ``out/tuned.json`` from a tune's trial records (intergreen.tuning.loop; None,
    nothing written, when no trial succeeded). ``spec_json``: the TuneSpec's JSON;
    ``timesteps``: the decisions per agent the best trial trained; ``budget``: limit and use,
    recorded as given plus trial counts; ``default_id``: the trial that ran the defaults;
    ``suggested_timesteps``: the decisions CARBS suggested for the best trial."""
    ok = [t for t in trials if t.get("status") == "done"]
    if not ok:
        return None
    best = min(ok, key=lambda t: t["output"])
    default = next((t for t in ok if t["id"] == default_id), None)
    agents = int(spec_json.get("train_seeds", 1))
    doc = {
        "format": FORMAT,
        "agent": spec_json["agent"],
        "reward": spec_json["reward"],
        "junction": spec_json["junction"],
        "train_demand": spec_json["train_demand"],
        "preset": spec_json.get("preset"),
        "hyperparams": best["hyperparams"],
        "timesteps": int(timesteps),
        "suggested_timesteps": None if suggested_timesteps is None else int(suggested_timesteps),
        "default_hyperparams": default_hyperparams,
        "best_trial": best["id"],
        "validation": {
            "seed_role": spec_json.get("eval_seeds", "validation"),
            "demands": list(spec_json["eval_demands"]),
            "episodes_per_demand": int(spec_json["eval_episodes"]),
            "duration_s": spec_json.get("eval_duration"),
            "agents_per_trial": agents,
            "tuned_wait_s": round(float(best["output"]), 3),
            "default_wait_s": round(float(default["output"]), 3) if default else None,
        },
        "train_seeds": trial_train_seeds(trials, agents, stride),
        "budget": {
            **budget,
            "trials": len(trials),
            "failed_trials": sum(t.get("status") == "failed" for t in trials),
            "cost": round(sum(float(t.get("cost") or 0.0) for t in trials), 1),
            "cost_unit": spec_json.get("cost", "steps"),
        },
    }
    path = Path(out) / FILE
    atomic_write(path, json.dumps(doc, indent=2))
    return path


_MISSING = object()


def changed_hyperparams(hyperparams: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``hyperparams`` that differ from ``defaults`` beyond float rounding
    (numbers equal to 6 significant digits count as equal)."""
    return {k: v for k, v in hyperparams.items() if _differs(v, defaults.get(k, _MISSING))}


def _differs(a: Any, b: Any) -> bool:
    """Whether two hyperparameter values differ beyond float rounding (mappings and lists
    element by element; booleans and strings exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) != len(b) or any(_differs(x, y) for x, y in zip(a, b, strict=True))
    if _number(a) and _number(b):
        return not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    return a != b


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def read_agent_tuned(path: str | Path) -> AgentTuned:
    """Read an agent tune's ``tuned.json`` (or the tune folder holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / FILE
    hint = "run `intergreen tune --agent ... --out DIR` first, then give DIR/tuned.json"
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise AgentTunedError(f"{p}: no such file; {hint}") from None
    except (OSError, json.JSONDecodeError) as e:
        raise AgentTunedError(f"{p}: not a readable tuned.json ({e}); {hint}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise AgentTunedError(
            f"{p}: format {got!r}, not an agent tune's {FORMAT!r} (a baseline's tuned.json "
            f"goes to `--param-file` or the junction's tuned/ folder); {hint}"
        )
    return AgentTuned(p.resolve(), doc)


__all__ = [
    "FILE",
    "FORMAT",
    "AgentTuned",
    "AgentTunedError",
    "changed_hyperparams",
    "read_agent_tuned",
    "trial_train_seeds",
    "write_agent_tuned",
]
