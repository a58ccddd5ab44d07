"""Helpers shared by the schedulers: option reading, goal signs, number formatting."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from opensweep.config.spec import EarlyTerminateSpec, MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.errors import ConfigError


def _bad(key: str, message: str) -> ConfigError:
    path = f"early_terminate.{key}"
    return ConfigError(f"invalid {path}: {message}", violations=[(path, message)])


def require_metric(spec: SweepSpec) -> MetricSpec:
    if spec.metric is None:
        message = "early_terminate needs a metric to compare runs by"
        raise ConfigError(message, violations=[("metric", message)])
    return spec.metric


def options_of(spec: SweepSpec) -> Mapping[str, Any]:
    et: EarlyTerminateSpec | None = spec.early_terminate
    return {} if et is None else et.options


def int_option(
    options: Mapping[str, Any], key: str, default: int | None = None, *, minimum: int = 1
) -> int | None:
    """An integer option (an integral float such as ``27.0`` is accepted), or ``default``."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, f"must be an integer (got {value!r})")
    if isinstance(value, float) and not value.is_integer():
        raise _bad(key, f"must be an integer (got {value!r})")
    if value < minimum:
        raise _bad(key, f"must be >= {minimum} (got {value!r})")
    return int(value)


def eta_option(options: Mapping[str, Any], default: float = 3) -> float:
    value = options.get("eta", default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad("eta", f"must be a number greater than 1 (got {value!r})")
    if value <= 1:
        raise _bad("eta", f"must be greater than 1 (got {value!r})")
    return value


def bool_option(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(key, f"must be true or false (got {value!r})")
    return value


def bad_option(key: str, message: str) -> ConfigError:
    return _bad(key, message)


def signed_history(trial: Trial, metric: MetricSpec) -> list[float]:
    """The trial's valid metric values (non-finite dropped), negated when maximizing.

    In this "minimize space" smaller is always better, as in W&B's engine.
    """
    values = trial.finite_history
    if metric.goal == "maximize":
        return [-v for v in values]
    return list(values)


def shown(value: float, metric: MetricSpec) -> str:
    """A minimize-space value back in the user's units, short."""
    original = -value if metric.goal == "maximize" else value
    return f"{original:.6g}"
