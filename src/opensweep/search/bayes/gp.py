"""A small Gaussian-process core in numpy/scipy: ARD Matern-5/2 with a Hamming distance on
categorical dimensions, hyperparameters fitted by maximum a posteriori (marginal likelihood plus
priors) with L-BFGS-B and analytic gradients.

Inputs live in the unit cube (numeric dimensions) or hold a category index (categorical
dimensions); targets are standardised by the caller. Everything is minimisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

_SQRT5 = math.sqrt(5.0)
MIN_NOISE = 1e-6
# Log-space bounds of the hyperparameters keep the optimiser out of numerically useless corners.
_LOG_LS_BOUNDS = (math.log(5e-3), math.log(1e3))
_LOG_SCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-8), math.log(2.0))


def sq_dists(a: np.ndarray, b: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Per-dimension squared distances, shape (len(a), len(b), d); Hamming on categoricals."""
    diff = a[:, None, :] - b[None, :, :]
    sq = diff * diff
    if is_cat.any():
        sq[..., is_cat] = (sq[..., is_cat] > 0.0).astype(float)
    out: np.ndarray = sq
    return out


def weighted_r2(a: np.ndarray, b: np.ndarray, w: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """sum_k w_k * sq_dists(a, b)_k without the (len(a), len(b), d) tensor (fast prediction)."""
    cont = ~is_cat
    sw = np.sqrt(w[cont])
    ac, bc = a[:, cont] * sw, b[:, cont] * sw
    r2 = (ac * ac).sum(1)[:, None] + (bc * bc).sum(1)[None, :] - 2.0 * (ac @ bc.T)
    np.maximum(r2, 0.0, out=r2)
    for j in np.flatnonzero(is_cat):
        r2 += w[j] * (a[:, j, None] != b[None, :, j])
    out: np.ndarray = r2
    return out


def matern52(r2: np.ndarray) -> np.ndarray:
    r = np.sqrt(np.maximum(r2, 0.0))
    out: np.ndarray = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-_SQRT5 * r)
    return out


def matern52_grad_r2(r2: np.ndarray) -> np.ndarray:
    """d matern52 / d r² (finite at r = 0)."""
    r = np.sqrt(np.maximum(r2, 0.0))
    out: np.ndarray = -(5.0 / 6.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
    return out


@dataclass(frozen=True)
class Hyper:
    lengthscales: np.ndarray  # (d,)
    scale: float  # signal variance
    noise: float  # noise variance (standardised units)


def lengthscale_prior(d: int) -> tuple[float, float]:
    """(mu, sigma) of the log-normal prior on every lengthscale (inputs in the unit cube).

    Measured on held-out points of Branin, Hartmann6 and Rosenbrock-10 with 10-60 observations,
    a median of 1 predicted better than the dimension-scaled prior of Hvarfner et al. (2024),
    which at these sizes explains too much of the function as noise.
    """
    return 0.0, 1.0


class GP:
    """A fitted GP: posterior mean/variance and their gradients for the acquisition."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        is_cat: np.ndarray,
        hyper: Hyper,
        noise: np.ndarray | None = None,
    ) -> None:
        self.x = x
        self.y = y
        self.is_cat = is_cat
        self.hyper = hyper
        self.noise = np.full(len(y), hyper.noise) if noise is None else noise
        self.inv_sq_ls = 1.0 / hyper.lengthscales**2
        k = self.kernel(x, x)
        k[np.diag_indices_from(k)] += self.noise
        self.chol = scipy.linalg.cho_factor(k, lower=True, check_finite=False)
        self.alpha = scipy.linalg.cho_solve(self.chol, y, check_finite=False)

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r2 = weighted_r2(a, b, self.inv_sq_ls, self.is_cat)
        return self.hyper.scale * matern52(r2)

    def with_points(self, x_new: np.ndarray, y_new: np.ndarray) -> GP:
        """Conditioned on extra noise-free (fantasy) observations, same hyperparameters."""
        return GP(
            np.vstack([self.x, x_new]),
            np.concatenate([self.y, y_new]),
            self.is_cat,
            self.hyper,
            np.concatenate([self.noise, np.full(len(y_new), MIN_NOISE)]),
        )

    def predict(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at ``xq`` (m, d)."""
        kq = self.kernel(xq, self.x)
        mean = kq @ self.alpha
        v = scipy.linalg.cho_solve(self.chol, kq.T, check_finite=False)
        var = self.hyper.scale - np.einsum("ij,ji->i", kq, v)
        return mean, np.maximum(var, 1e-12)

    def predict_with_grad(
        self, xq: np.ndarray, cont: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients w.r.t. the continuous dims ``cont`` of ``xq``."""
        sq = sq_dists(xq, self.x, self.is_cat)
        r2 = sq @ self.inv_sq_ls
        kq = self.hyper.scale * matern52(r2)  # (m, n)
        dk_dr2 = self.hyper.scale * matern52_grad_r2(r2)  # (m, n)
        diff = xq[:, None, cont] - self.x[None, :, cont]  # (m, n, c)
        dk_dx = dk_dr2[..., None] * 2.0 * diff * self.inv_sq_ls[cont]  # (m, n, c)
        mean = kq @ self.alpha
        dmean = np.einsum("mnc,n->mc", dk_dx, self.alpha)
        v = scipy.linalg.cho_solve(self.chol, kq.T, check_finite=False).T  # (m, n)
        var = self.hyper.scale - np.einsum("mn,mn->m", kq, v)
        dvar = -2.0 * np.einsum("mnc,mn->mc", dk_dx, v)
        clipped = var < 1e-12
        var = np.where(clipped, 1e-12, var)
        dvar[clipped] = 0.0
        return mean, var, dmean, dvar


def _unpack(theta: np.ndarray, d: int) -> tuple[np.ndarray, float, float]:
    return np.exp(theta[:d]), float(np.exp(theta[d])), float(np.exp(theta[d + 1])) + MIN_NOISE


def neg_log_posterior(
    theta: np.ndarray, sq: np.ndarray, y: np.ndarray, prior: tuple[float, float]
) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior) and its gradient in log space.

    ``theta`` = [log lengthscales (d), log signal variance, log(noise - MIN_NOISE)];
    ``sq`` = per-dimension squared distances of the training inputs, shape (n, n, d).
    """
    n, _, d = sq.shape
    ls, scale, noise = _unpack(theta, d)
    inv_sq_ls = 1.0 / ls**2
    r2 = sq @ inv_sq_ls
    kf = scale * matern52(r2)
    k = kf.copy()
    k[np.diag_indices(n)] += noise
    try:
        chol = scipy.linalg.cho_factor(k, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = scipy.linalg.cho_solve(chol, y, check_finite=False)
    # K^-1 from the factor (LAPACK potri: a third of the work of solving against I).
    k_inv, info = scipy.linalg.lapack.dpotri(chol[0], lower=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    k_inv = np.tril(k_inv) + np.tril(k_inv, -1).T
    log_det = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
    nll = 0.5 * float(y @ alpha) + 0.5 * log_det + 0.5 * n * math.log(2 * math.pi)
    # d nll / d theta = -0.5 tr(W dK/dtheta) with W = alpha alpha^T - K^-1
    w = np.outer(alpha, alpha) - k_inv
    grad = np.empty_like(theta)
    wg = w * (scale * matern52_grad_r2(r2))
    # dK/dlog ls_i = dk/dr2 * (-2) * sq_i / ls_i^2
    grad[:d] = -0.5 * np.einsum("ij,ijk->k", wg, sq) * (-2.0 * inv_sq_ls)
    grad[d] = -0.5 * float(np.sum(w * kf))
    grad[d + 1] = -0.5 * float(np.trace(w)) * (noise - MIN_NOISE)
    # Priors: log-normal lengthscales, log-normal signal variance around 1, and a noise prior
    # that prefers little noise (standardised targets) but lets real noise be explained.
    mu, sigma = prior
    z = (theta[:d] - mu) / sigma
    nll += 0.5 * float(z @ z)
    grad[:d] += z / sigma
    nll += 0.5 * float(theta[d]) ** 2
    grad[d] += theta[d]
    noise_mu, noise_sigma = -4.0, 1.5
    zn = (theta[d + 1] - noise_mu) / noise_sigma
    nll += 0.5 * zn * zn
    grad[d + 1] += zn / noise_sigma
    return nll, grad


def fit(
    x: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    rng: np.random.Generator,
    restarts: int = 2,
    maxiter: int = 200,
    ftol: float | None = None,
) -> GP:
    """Fit hyperparameters by MAP from the prior's centre plus ``restarts`` random starts.

    Raises ``np.linalg.LinAlgError`` when no start gives a usable model.
    """
    d = x.shape[1]
    prior = lengthscale_prior(d)
    sq = sq_dists(x, x, is_cat)
    bounds = [_LOG_LS_BOUNDS] * d + [_LOG_SCALE_BOUNDS, _LOG_NOISE_BOUNDS]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    starts = [np.concatenate([np.full(d, prior[0]), [0.0, math.log(1e-2)]])]
    for _ in range(restarts):
        ls0 = rng.normal(prior[0], prior[1], size=d)
        starts.append(np.concatenate([ls0, [rng.normal(0.0, 0.5), rng.normal(-4.0, 1.5)]]))
    best: tuple[float, np.ndarray] | None = None
    for theta0 in starts:
        res = scipy.optimize.minimize(
            neg_log_posterior,
            np.clip(theta0, lo, hi),
            args=(sq, y, prior),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter} if ftol is None else {"maxiter": maxiter, "ftol": ftol},
        )
        if np.isfinite(res.fun) and res.fun < 1e24 and (best is None or res.fun < best[0]):
            best = (float(res.fun), res.x)
    if best is None:
        raise np.linalg.LinAlgError("no hyperparameter start gave a positive-definite kernel")
    ls, scale, noise = _unpack(best[1], d)
    return GP(x, y, is_cat, Hyper(ls, scale, noise))
