"""Small exact Gaussian-process regression in torch float64.

Kernel (CARBS recipe): homogeneous linear ``s_l * x.z`` plus Matern-3/2 with ARD lengthscales,
zero mean, Gaussian noise plus a 1e-4 jitter. Hyperparameters live in log space and can be
MAP-fitted with a few warm-started Adam steps (noise prior LogNormal(log 0.01, 0.5)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

JITTER = 1e-4
NOISE_PRIOR_LOC = math.log(0.01)
NOISE_PRIOR_SCALE = 0.5
#: Prior std of the other log-hyperparameters around their initial values (MAP fitting only).
HYPER_PRIOR_SCALE = 1.0
_DT = torch.float64
#: Fitted lengthscales stay within exp(+/-LOG_LS_RANGE) of their initial value.
LOG_LS_RANGE = math.log(3.0)


@dataclass
class GPHyper:
    """Log-hyperparameters of the linear + Matern-3/2 kernel."""

    log_lengthscale: list[float]
    log_linear_var: float = 0.0
    log_matern_var: float = 0.0
    log_noise: float = NOISE_PRIOR_LOC
    prior_log_lengthscale: list[float] = field(default_factory=list)

    @staticmethod
    def initial(dim: int, lengthscale: float) -> GPHyper:
        """Defaults: variances 1, lengthscale = search radius, noise 0.01."""
        ll = [math.log(lengthscale)] * dim
        return GPHyper(log_lengthscale=list(ll), prior_log_lengthscale=list(ll))

    def to_json(self) -> dict:
        """JSON-able dict (floats round-trip exactly)."""
        return dict(self.__dict__)

    @staticmethod
    def from_json(d: dict) -> GPHyper:
        """Inverse of ``to_json``."""
        return GPHyper(**d)


def _matern32(x: torch.Tensor, z: torch.Tensor, log_ls: torch.Tensor) -> torch.Tensor:
    ls = torch.exp(log_ls)
    d2 = torch.cdist(x / ls, z / ls).pow(2) if x.shape[0] and z.shape[0] else x.new_zeros(
        (x.shape[0], z.shape[0])
    )
    r = torch.sqrt(d2.clamp_min(1e-30)) * math.sqrt(3.0)
    return (1.0 + r) * torch.exp(-r)


def kernel(x: torch.Tensor, z: torch.Tensor, h: dict[str, torch.Tensor]) -> torch.Tensor:
    """Linear + Matern-3/2 ARD kernel matrix."""
    lin = torch.exp(h["log_linear_var"]) * (x @ z.T)
    return lin + torch.exp(h["log_matern_var"]) * _matern32(x, z, h["log_lengthscale"])


def kernel_diag(x: torch.Tensor, h: dict[str, torch.Tensor]) -> torch.Tensor:
    """Diagonal of ``kernel(x, x)``."""
    return torch.exp(h["log_linear_var"]) * (x * x).sum(-1) + torch.exp(h["log_matern_var"])


def _tensors(hyper: GPHyper, grad: bool = False) -> dict[str, torch.Tensor]:
    return {
        k: torch.tensor(getattr(hyper, k), dtype=_DT, requires_grad=grad)
        for k in ("log_lengthscale", "log_linear_var", "log_matern_var", "log_noise")
    }


def _chol(k: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(k.shape[0], dtype=_DT)
    jitter = 0.0
    for _ in range(6):
        chol, info = torch.linalg.cholesky_ex(k + jitter * eye)
        if int(info) == 0:
            return chol
        jitter = 1e-8 if jitter == 0.0 else jitter * 100
    raise np.linalg.LinAlgError("kernel matrix is not positive definite")


class ExactGP:
    """Exact GP posterior for fixed hyperparameters."""

    def __init__(self, x: np.ndarray, y: np.ndarray, hyper: GPHyper) -> None:
        self.hyper = hyper
        self.h = _tensors(hyper)
        self.x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        self.y = torch.as_tensor(np.asarray(y, dtype=np.float64))
        n = self.x.shape[0]
        k = kernel(self.x, self.x, self.h)
        k = k + (torch.exp(self.h["log_noise"]) + JITTER) * torch.eye(n, dtype=_DT)
        self.chol = _chol(k)
        self.alpha = torch.cholesky_solve(self.y[:, None], self.chol)[:, 0]

    def predict(self, xs: np.ndarray | torch.Tensor, full_cov: bool = False):
        """Latent (noise-free) posterior mean and variance (or covariance) at ``xs``."""
        xs = torch.as_tensor(np.asarray(xs, dtype=np.float64))
        ks = kernel(self.x, xs, self.h)
        mean = ks.T @ self.alpha
        v = torch.linalg.solve_triangular(self.chol, ks, upper=False)
        if full_cov:
            cov = kernel(xs, xs, self.h) - v.T @ v
            return mean.numpy(), cov.numpy()
        var = (kernel_diag(xs, self.h) - (v * v).sum(0)).clamp_min(1e-12)
        return mean.numpy(), var.numpy()

    def sample(self, xs: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """One joint posterior draw of the latent function at ``xs`` from standard normals."""
        mean, cov = self.predict(xs, full_cov=True)
        cov = 0.5 * (cov + cov.T)
        chol = _chol(torch.as_tensor(cov)).numpy()
        return mean + chol @ normals


def fit_hyper(
    x: np.ndarray, y: np.ndarray, hyper: GPHyper, steps: int, lr: float
) -> GPHyper:
    """MAP-fit log-hyperparameters with ``steps`` Adam steps starting from ``hyper``."""
    if steps <= 0 or len(y) < 2:
        return hyper
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    h = _tensors(hyper, grad=True)
    prior_ls = torch.tensor(hyper.prior_log_lengthscale, dtype=_DT)
    opt = torch.optim.Adam(list(h.values()), lr=lr)
    n = xt.shape[0]
    eye = torch.eye(n, dtype=_DT)
    best = (math.inf, None)
    for _ in range(steps + 1):
        opt.zero_grad()
        k = kernel(xt, xt, h) + (torch.exp(h["log_noise"]) + JITTER) * eye
        chol, info = torch.linalg.cholesky_ex(k)
        if int(info) != 0:
            break
        alpha = torch.cholesky_solve(yt[:, None], chol)[:, 0]
        nlml = 0.5 * (yt @ alpha) + torch.log(torch.diagonal(chol)).sum()
        prior = ((h["log_noise"] - NOISE_PRIOR_LOC) / NOISE_PRIOR_SCALE) ** 2 / 2
        prior = prior + ((h["log_lengthscale"] - prior_ls) / HYPER_PRIOR_SCALE).pow(2).sum() / 2
        prior = prior + (h["log_linear_var"] ** 2 + h["log_matern_var"] ** 2) / (
            2 * HYPER_PRIOR_SCALE**2
        )
        loss = nlml + prior
        if not torch.isfinite(loss):
            break
        if float(loss.detach()) < best[0]:
            best = (float(loss.detach()), {k: v.detach().clone() for k, v in h.items()})
        loss.backward()
        opt.step()
        with torch.no_grad():  # keep hyperparameters in a sane range
            for v in h.values():
                v.clamp_(-12.0, 8.0)
            # the quantile spike at the best point pulls lengthscales to ~0; keep them within
            # a factor LENGTHSCALE_RANGE of the search radius
            h["log_lengthscale"].clamp_(prior_ls - LOG_LS_RANGE, prior_ls + LOG_LS_RANGE)
    if best[1] is None:
        return hyper
    b = best[1]
    return GPHyper(
        log_lengthscale=[float(v) for v in b["log_lengthscale"]],
        log_linear_var=float(b["log_linear_var"]),
        log_matern_var=float(b["log_matern_var"]),
        log_noise=float(b["log_noise"]),
        prior_log_lengthscale=list(hyper.prior_log_lengthscale),
    )


class RBFGP1D:
    """1-D GP with an RBF kernel (lengthscale 1, variance 1) for the Pareto reference curve."""

    def __init__(self, c: np.ndarray, y: np.ndarray, noise: float = 0.01) -> None:
        self.c = np.asarray(c, dtype=np.float64)
        k = self._k(self.c, self.c) + (noise + JITTER) * np.eye(len(self.c))
        self.alpha = np.linalg.solve(k, np.asarray(y, dtype=np.float64))

    @staticmethod
    def _k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * (a[:, None] - b[None, :]) ** 2)

    def mean(self, c: np.ndarray) -> np.ndarray:
        """Posterior mean at scaled log costs ``c``."""
        return self._k(np.atleast_1d(np.asarray(c, dtype=np.float64)), self.c) @ self.alpha
