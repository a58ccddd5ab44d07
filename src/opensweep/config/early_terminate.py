"""``early_terminate``: the allowed keys and defaults of each scheduler type, as a table.

A scheduler added under ``schedulers/`` adds its row here (config does not import schedulers:
layering). Defaults follow W&B (hyperband: ``eta=3``, ``strict=true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opensweep.config.spec import EarlyTerminateSpec
from opensweep.config.violation import (
    Violation,
    is_finite_number,
    is_integral,
    join,
    show,
)

NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class Option:
    kind: Literal["int", "number", "bool", "choice"]
    description: str
    default: Any = NO_DEFAULT
    minimum: float | None = None  # value >= minimum
    exclusive_minimum: float | None = None  # value > exclusive_minimum
    choices: tuple[str, ...] = ()  # kind "choice": the allowed strings


@dataclass(frozen=True)
class EarlyTerminateType:
    description: str
    options: Mapping[str, Option]
    # at least one of these key groups must be fully present (e.g. min_iter | max_iter + s)
    requires_one_of: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


_MIN_ITER = Option("int", "first rung (iterations = rows logged with the metric)", minimum=1)
_MAX_ITER = Option("int", "last rung; rungs are max_iter / eta^k for k = 1..s", minimum=1)
_S = Option("int", "number of rungs below max_iter", minimum=1)
_ETA = Option("number", "keep the best 1/eta at each rung", default=3, exclusive_minimum=1)

EARLY_TERMINATE_TYPES: dict[str, EarlyTerminateType] = {
    "hyperband": EarlyTerminateType(
        description="W&B's hyperband: stop runs worse than the rung threshold",
        options={
            "min_iter": _MIN_ITER,
            "max_iter": _MAX_ITER,
            "s": _S,
            "eta": _ETA,
            "strict": Option(
                "bool", "compare the value at the rung, not the best so far", default=True
            ),
        },
        requires_one_of=(("min_iter",), ("max_iter", "s")),
    ),
    # Defaults of min_iter (1), min_runs and strict live in schedulers/asha.py (chosen on
    # benchmarks/early_stop); an unset min_iter matters there (with s it adds no extra rung).
    "asha": EarlyTerminateType(
        description="asynchronous successive halving (rungs min_iter * eta^k below max_iter)",
        options={
            "min_iter": _MIN_ITER,
            "max_iter": Option("int", "full length of a run; no rung at or past it", minimum=2),
            "s": _S,
            "eta": _ETA,
            "min_runs": Option(
                "int", "runs that must reach a rung before it stops any (default 3)", minimum=1
            ),
            "strict": Option(
                "bool", "compare the value at the rung, not the best up to it (default false)"
            ),
            "progress": Option(
                "bool",
                "above the first rung, the runs that improved most since the previous rung go on"
                " too (default true)",
            ),
            "model": Option(
                "choice",
                "level: rank runs by their value (and progress); curve: above the first rung,"
                " also by their value extrapolated to the next rung with a slope fitted on the"
                " sweep (default level)",
                choices=("level", "curve"),
            ),
            "z": Option(
                "number",
                "model: curve only: a run goes on while its prediction is within z residual"
                " standard deviations of the best prediction (default 3)",
                minimum=0,
            ),
        },
    ),
}


def _check_option(option: Option, value: Any) -> tuple[Any, str | None]:
    """(the value to keep, or an error message)."""
    if option.kind == "bool":
        if not isinstance(value, bool):
            return value, f"must be true or false (got {show(value)})"
        return value, None
    if option.kind == "choice":
        if not isinstance(value, str) or value not in option.choices:
            return value, f"must be one of {', '.join(option.choices)} (got {show(value)})"
        return value, None
    if option.kind == "int":
        if not (is_integral(value) and is_finite_number(value)):
            return value, f"must be an integer (got {show(value)})"
        value = int(value)
    elif not is_finite_number(value):
        return value, f"must be a number (got {show(value)})"
    if option.minimum is not None and value < option.minimum:
        return value, f"must be >= {option.minimum:g} (got {show(value)})"
    if option.exclusive_minimum is not None and value <= option.exclusive_minimum:
        return value, f"must be > {option.exclusive_minimum:g} (got {show(value)})"
    return value, None


def parse_early_terminate(
    raw: Any, path: str = "early_terminate"
) -> tuple[EarlyTerminateSpec | None, list[Violation]]:
    """Validate ``early_terminate`` and fill its defaults; every problem is reported."""
    if not isinstance(raw, Mapping):
        return None, [Violation(path, f"must be a mapping with a `type` (got {show(raw)})")]
    kinds = ", ".join(EARLY_TERMINATE_TYPES)
    kind = raw.get("type")
    if kind is None:
        return None, [Violation(join(path, "type"), f"is required (one of {kinds})")]
    table = EARLY_TERMINATE_TYPES.get(kind) if isinstance(kind, str) else None
    if table is None:
        return None, [Violation(join(path, "type"), f"must be one of {kinds} (got {show(kind)})")]
    violations: list[Violation] = []
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "type":
            continue
        option = table.options.get(key) if isinstance(key, str) else None
        if option is None:
            allowed = ", ".join(["type", *table.options])
            violations.append(
                Violation(join(path, key), f"unknown key for {kind} (allowed: {allowed})")
            )
            continue
        checked, error = _check_option(option, value)
        if error:
            violations.append(Violation(join(path, key), error))
        else:
            options[key] = checked
    if table.requires_one_of and not any(
        all(k in raw for k in group) for group in table.requires_one_of
    ):
        alternatives = " or ".join(" + ".join(group) for group in table.requires_one_of)
        violations.append(Violation(path, f"{kind} needs {alternatives}"))
    for key, option in table.options.items():
        if key not in options and option.default is not NO_DEFAULT:
            options[key] = option.default
    if violations:
        return None, violations
    return EarlyTerminateSpec(type=kind, options=options), []
