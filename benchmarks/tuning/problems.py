"""Synthetic cost-aware problems with known optima for benchmarking the CARBS tuner."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from intergreen.tuning import LogitSpace, LogSpace, Param


@dataclass
class Problem:
    """A minimisation problem: params (with search centres), box bounds for baselines, budget."""

    name: str
    params: list[Param]
    #: (low, high, log, integer) per parameter, for TPE and uniform random search.
    box: dict[str, tuple[float, float, bool, bool]]
    #: (values, rng) -> (output, cost)
    evaluate: Callable[[dict, np.random.Generator], tuple[float, float]]
    budget: float
    target: float
    radius: float = 0.3
    carbs_kwargs: dict = field(default_factory=dict)


def _demo(s: dict, rng: np.random.Generator) -> tuple[float, float]:
    out = (math.log10(s["lr"]) + 3) ** 2 * 512 / s["epochs"] + rng.uniform(0, 0.1)
    return out, float(s["epochs"])


def _simple_2d(s: dict, rng: np.random.Generator) -> tuple[float, float]:
    out = ((math.log10(s["lr"]) + 3) ** 2 + 0.2) * 512 / s["hidden_dim"] + rng.uniform(0, 0.1)
    return out, float(s["hidden_dim"])


# Chinchilla fit (Hoffmann et al. 2022): L = E + A / N^a + B / D^b, cost C = 6 N D.
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
#: compute-optimal N_opt ~ C^(b / (a + b))
TRUE_EXPONENT = BETA / (ALPHA + BETA)


def lr_opt(n: float) -> float:
    """Optimal learning rate, shrinking with model size (synthetic)."""
    return 2e-3 * (n / 1e8) ** -0.25


def _chinchilla(s: dict, rng: np.random.Generator) -> tuple[float, float]:
    n, d = s["params"], s["tokens"]
    loss = E + A / n**ALPHA + B / d**BETA
    loss += 0.05 * math.log10(s["lr"] / lr_opt(n)) ** 2 + rng.normal(0, 0.002)
    return loss, 6.0 * n * d


def problems() -> dict[str, Problem]:
    """The benchmark problems by name."""
    return {
        "demo": Problem(
            "demo",
            [
                Param("lr", LogSpace(scale=0.5), 1e-4),
                Param("momentum", LogitSpace(), 0.9),
                Param("epochs", LogSpace(min=2, max=512, is_integer=True), 10),
            ],
            {
                "lr": (1e-6, 1e-1, True, False),
                "momentum": (0.5, 0.999, False, False),
                "epochs": (2, 512, True, True),
            },
            _demo,
            budget=6000.0,
            target=0.5,
            carbs_kwargs={"resample_frequency": 0},
        ),
        "simple_2d": Problem(
            "simple_2d",
            [
                Param("lr", LogSpace(), 1e-5),
                Param("hidden_dim", LogSpace(min=2, max=512, is_integer=True), 32),
            ],
            {"lr": (1e-7, 1e-1, True, False), "hidden_dim": (2, 512, True, True)},
            _simple_2d,
            budget=8000.0,
            target=0.6,
            radius=0.5,
        ),
        "chinchilla": Problem(
            "chinchilla",
            [
                Param("params", LogSpace(), 1e7),
                Param("tokens", LogSpace(), 2e8),
                Param("lr", LogSpace(), 1e-3),
            ],
            {
                "params": (1e5, 1e11, True, False),
                "tokens": (1e6, 1e12, True, False),
                "lr": (1e-5, 1e-1, True, False),
            },
            _chinchilla,
            budget=3e21,
            target=2.65,
        ),
    }


