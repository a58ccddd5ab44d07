"""scikit-learn's GaussianProcessRegressor vs opensweep's own GP core, as used by ``bayes``.

Same data, same kernel family (ARD Matern-5/2 times a signal variance, plus a noise term),
both fitted by L-BFGS-B from the same number of starts (1 + 2 restarts). Measures CPU time of
the fit and held-out quality (mean log predictive density, higher is better; RMSE) on random
designs of Branin, Hartmann6 and Rosenbrock-10, standardised targets.

    .venv/bin/python benchmarks/search/compare_gp.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from problems import PROBLEMS

from opensweep.search.bayes import gp as gpm


def sample(problem: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    p = PROBLEMS[problem]
    names = sorted(p.parameters)
    u = rng.random((n, len(names)))
    y = []
    for row in u:
        config = {}
        for name, v in zip(names, row, strict=True):
            s = p.parameters[name]
            config[name] = s["min"] + v * (s["max"] - s["min"])
        y.append(p.objective(config))
    return u, np.array(y)


def sklearn_fit(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    d = x.shape[1]
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
        np.ones(d), (5e-3, 1e3), nu=2.5
    ) + WhiteKernel(1e-2, (1e-6, 2.0))
    model = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, z)
    return model, model.kernel_.k2.noise_level  # type: ignore[no-any-return]


def main() -> None:
    print("| problem | n | GP | fit CPU ms | held-out log density | RMSE |")
    print("|---|---|---|---|---|---|")
    for problem in ("branin", "hartmann6", "rosenbrock10"):
        for n in (20, 50, 100, 250):
            res: dict[str, list[tuple[float, float, float]]] = {"own": [], "sklearn": []}
            for seed in range(5):
                rng = np.random.default_rng(seed)
                x, y = sample(problem, n, rng)
                xt, yt = sample(problem, 500, rng)
                mu, sd = y.mean(), y.std()
                z, zt = (y - mu) / sd, (yt - mu) / sd
                t0 = time.process_time()
                own = gpm.fit(x, z, np.zeros(x.shape[1], bool), np.random.default_rng(seed))
                t_own = time.process_time() - t0
                m, v = own.predict(xt)
                v = v + own.hyper.noise
                res["own"].append((t_own, _lpd(zt, m, v), _rmse(zt, m)))
                t0 = time.process_time()
                model, _noise = sklearn_fit(x, z)
                t_sk = time.process_time() - t0
                m, s = model.predict(xt, return_std=True)
                res["sklearn"].append((t_sk, _lpd(zt, m, s**2 + 1e-12), _rmse(zt, m)))
            for name, rows in res.items():
                a = np.median(np.array(rows), axis=0)
                print(f"| {problem} | {n} | {name} | {1e3 * a[0]:.0f} | {a[1]:.2f} | {a[2]:.3f} |")


def _lpd(z: np.ndarray, m: np.ndarray, v: np.ndarray) -> float:
    return float(np.mean(-0.5 * np.log(2 * np.pi * v) - 0.5 * (z - m) ** 2 / v))


def _rmse(z: np.ndarray, m: np.ndarray) -> float:
    return float(np.sqrt(np.mean((z - m) ** 2)))


if __name__ == "__main__":
    main()
