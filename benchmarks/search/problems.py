"""Benchmark problems: a W&B ``parameters`` block, an objective of a flat config, a goal.

All minimise. The optimum (when known) lets the report show simple regret.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problem:
    name: str
    parameters: Mapping[str, Mapping[str, Any]]  # W&B dialect, explicit distributions
    objective: Callable[[Mapping[str, Any]], float]
    optimum: float | None = None


def _branin(c: Mapping[str, Any]) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
)  # fmt: skip
_H_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)  # fmt: skip
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(c: Mapping[str, Any]) -> float:
    x = np.array([c[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


def _rosenbrock10(c: Mapping[str, Any]) -> float:
    x = np.array([c[f"x{i:02d}"] for i in range(10)])
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


_BATCH_EFFECT = {16: 0.12, 32: 0.02, 64: 0.0, 128: 0.05, 256: 0.2}


def _mixed(c: Mapping[str, Any]) -> float:
    """A made-up validation loss with the shape of a real one: a log-lr valley whose best lr
    depends on depth, a categorical batch-size effect, an interior dropout optimum that
    depends on depth (deeper nets want more dropout)."""
    lr, depth, drop, bs = c["lr"], c["depth"], c["dropout"], c["batch_size"]
    best_log_lr = -2.5 - 0.15 * (depth - 4) + 0.25 * math.log2(bs / 64)
    loss = 0.3 * (math.log10(lr) - best_log_lr) ** 2
    loss += 0.04 * (depth - 5) ** 2 / 4
    loss += 2.0 * (drop - (0.1 + 0.05 * depth)) ** 2
    loss += _BATCH_EFFECT[bs]
    return 0.1 + loss


_DIGITS: dict[str, Any] = {}


def _digits(c: Mapping[str, Any]) -> float:
    """Validation error of PCA + RBF-SVC on scikit-learn's bundled digits (fixed split)."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if not _DIGITS:
        x, y = load_digits(return_X_y=True)
        _DIGITS["split"] = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_tr, x_va, y_tr, y_va = _DIGITS["split"]
    model = make_pipeline(
        StandardScaler(),
        PCA(n_components=int(c["n_components"]), random_state=0),
        SVC(C=c["C"], gamma=c["gamma"], class_weight=c["class_weight"]),
    )
    model.fit(x_tr, y_tr)
    return float(1.0 - model.score(x_va, y_va))


def _uniform(lo: float, hi: float) -> dict[str, Any]:
    return {"distribution": "uniform", "min": lo, "max": hi}


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(
        "branin", {"x1": _uniform(-5.0, 10.0), "x2": _uniform(0.0, 15.0)}, _branin, 0.397887
    ),
    "hartmann6": Problem(
        "hartmann6", {f"x{i}": _uniform(0.0, 1.0) for i in range(1, 7)}, _hartmann6, -3.32237
    ),
    "rosenbrock10": Problem(
        "rosenbrock10", {f"x{i:02d}": _uniform(-2.0, 2.0) for i in range(10)}, _rosenbrock10, 0.0
    ),
    "mixed": Problem(
        "mixed",
        {
            "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
            "batch_size": {"distribution": "categorical", "values": [16, 32, 64, 128, 256]},
            "depth": {"distribution": "int_uniform", "min": 1, "max": 8},
            "dropout": _uniform(0.0, 0.8),
        },
        _mixed,
        0.1,
    ),
    "digits": Problem(
        "digits",
        {
            "C": {"distribution": "log_uniform_values", "min": 1e-2, "max": 1e3},
            "gamma": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
            "n_components": {"distribution": "int_uniform", "min": 2, "max": 64},
            "class_weight": {"distribution": "categorical", "values": ["balanced", None]},
        },
        _digits,
        None,
    ),
}
