"""Log expected improvement (Ament et al., 2023) and its maximisation.

Minimisation throughout: improvement is ``best - f``. The log form keeps a useful gradient where
plain EI underflows to 0, which is most of the space once the model is confident.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.optimize
from scipy.special import erfcx, log_ndtr

from opensweep.search.bayes.gp import GP

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z * Phi(z)) computed stably for every z."""
    z = np.maximum(np.asarray(z, dtype=float), -1e6)
    out = np.empty_like(z)
    mid = z > -1.0
    zm = z[mid]
    out[mid] = np.log(np.exp(-0.5 * zm * zm - _LOG_SQRT_2PI) + zm * np.exp(log_ndtr(zm)))
    zl = z[~mid]
    # phi(z) * (1 - |z| * Phi(z)/phi(z)), with Phi/phi = sqrt(pi/2) * erfcx(-z/sqrt(2))
    t = np.log(erfcx(-zl * _INV_SQRT2) * _SQRT_HALF_PI) + np.log(-zl)
    out[~mid] = -0.5 * zl * zl - _LOG_SQRT_2PI + np.log(-np.expm1(t))
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    sigma = np.sqrt(var)
    out: np.ndarray = log_h((best - mean) / sigma) + np.log(sigma)
    return out


def log_ei_with_grad(
    gp: GP, xq: np.ndarray, cont: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """log EI at ``xq`` and its gradient w.r.t. the continuous dims ``cont``."""
    mean, var, dmean, dvar = gp.predict_with_grad(xq, cont)
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    lh = log_h(z)
    dsigma = dvar / (2.0 * sigma[:, None])
    dz = (-dmean * sigma[:, None] - (best - mean)[:, None] * dsigma) / var[:, None]
    # d log h / dz = Phi(z) / h(z)
    dlh = np.exp(log_ndtr(z) - lh)
    grad = dlh[:, None] * dz + dsigma / sigma[:, None]
    return lh + np.log(sigma), grad


def polish(
    gp: GP,
    starts: np.ndarray,
    cont: np.ndarray,
    best: float,
    lo: np.ndarray,
    hi: np.ndarray,
    maxiter: int = 100,
) -> np.ndarray:
    """Local L-BFGS-B ascent of log EI from every start at once (a separable sum, as BoTorch
    does) over the continuous dims; other dims stay fixed. Returns the moved points."""
    if cont.size == 0 or len(starts) == 0:
        return starts
    b, c = len(starts), cont.size
    fixed = starts.copy()

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        xq = fixed.copy()
        xq[:, cont] = flat.reshape(b, c)
        val, grad = log_ei_with_grad(gp, xq, cont, best)
        return -float(np.sum(val)), -grad.ravel()

    bounds: Sequence[tuple[float, float]] = [(float(lo[j]), float(hi[j])) for j in cont] * b
    res = scipy.optimize.minimize(
        objective,
        starts[:, cont].ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter},
    )
    out = fixed.copy()
    out[:, cont] = res.x.reshape(b, c)
    return out
