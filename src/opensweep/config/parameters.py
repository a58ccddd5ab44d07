"""``parameters``: W&B's parameter dialect -> :class:`~opensweep.core.space.Param`.

Inference follows W&B: ``value`` -> constant, ``values`` -> categorical (with
``probabilities``: categorical_w_probabilities), ``min``/``max`` both ints -> int_uniform,
otherwise uniform; an explicit ``distribution`` wins. Defaults are W&B's (``q=1.0``,
``mu=0``, ``sigma=1``, ``a=b=1``). Nested ``parameters`` flatten to paths, to any depth;
unlike W&B, nested parameters get the same checks as top-level ones (W&B checks min < max
only at the top level and its strict fill drops nested parameters altogether).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from opensweep.config.violation import (
    Violation,
    is_finite_number,
    is_int,
    is_number,
    join,
    show,
)
from opensweep.core.space import DISTRIBUTIONS, Param

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NO_DEFAULT: Any = object()
# exp() of a larger exponent overflows a float
_MAX_EXPONENT = 700.0


@dataclass(frozen=True)
class Field:
    kind: Literal["any", "list", "number", "int"]
    default: Any = _NO_DEFAULT
    exclusive_minimum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


_ANY = Field("any")
_LIST = Field("list")
_NUM = Field("number")
_INT = Field("int")
_POSITIVE = Field("number", exclusive_minimum=0.0)
_Q = Field("number", default=1.0, exclusive_minimum=0.0)

# distribution -> its keys (besides `distribution`) with types and W&B's defaults
DISTRIBUTION_FIELDS: dict[str, dict[str, Field]] = {
    "constant": {"value": _ANY},
    "categorical": {"values": _LIST},
    "categorical_w_probabilities": {"values": _LIST, "probabilities": _LIST},
    "int_uniform": {"min": _INT, "max": _INT},
    "uniform": {"min": _NUM, "max": _NUM},
    "q_uniform": {"min": _NUM, "max": _NUM, "q": _Q},
    "log_uniform": {"min": _NUM, "max": _NUM},
    "log_uniform_values": {"min": _POSITIVE, "max": _NUM},
    "q_log_uniform": {"min": _NUM, "max": _NUM, "q": _Q},
    "q_log_uniform_values": {"min": _POSITIVE, "max": _NUM, "q": _Q},
    "inv_log_uniform": {"min": _NUM, "max": _NUM},
    "inv_log_uniform_values": {"min": _POSITIVE, "max": _NUM},
    "normal": {
        "mu": Field("number", default=0.0),
        "sigma": Field("number", default=1.0, exclusive_minimum=0.0),
    },
    "q_normal": {
        "mu": Field("number", default=0),
        "sigma": Field("number", default=1, exclusive_minimum=0.0),
        "q": _Q,
    },
    "log_normal": {
        "mu": Field("number", default=0.0),
        "sigma": Field("number", default=1.0, exclusive_minimum=0.0),
    },
    "q_log_normal": {
        "mu": Field("number", default=0),
        "sigma": Field("number", default=1, exclusive_minimum=0.0),
        "q": _Q,
    },
    "beta": {
        "a": Field("number", default=1, exclusive_minimum=0.0),
        "b": Field("number", default=1, exclusive_minimum=0.0),
    },
    "q_beta": {
        "a": Field("number", default=1, exclusive_minimum=0.0),
        "b": Field("number", default=1, exclusive_minimum=0.0),
        "q": _Q,
    },
}
assert tuple(DISTRIBUTION_FIELDS) == DISTRIBUTIONS  # one table, one order

DEPRECATED = {
    "log_uniform": "log_uniform_values",
    "q_log_uniform": "q_log_uniform_values",
    "inv_log_uniform": "inv_log_uniform_values",
}
_EXPONENT_DISTRIBUTIONS = frozenset(DEPRECATED)


@dataclass
class ParsedParameters:
    params: list[Param]
    violations: list[Violation]
    notes: list[str]


def parse_parameters(raw: Any, path: str = "parameters") -> ParsedParameters:
    """Every leaf parameter of a ``parameters`` mapping (nested to any depth), its violations
    and notes (deprecations). Params come sorted by path: W&B's order (sorted keys, depth
    first)."""
    out = ParsedParameters([], [], [])
    _parse_mapping(raw, path, (), out)
    out.params.sort(key=lambda p: p.path)
    _check_name_collisions(out)
    return out


def _parse_mapping(raw: Any, path: str, prefix: tuple[str, ...], out: ParsedParameters) -> None:
    if not isinstance(raw, Mapping):
        out.violations.append(Violation(path, f"must be a mapping of parameters (got {show(raw)})"))
        return
    if not raw:
        out.violations.append(Violation(path, "must name at least one parameter"))
        return
    for name, spec in raw.items():
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            out.violations.append(
                Violation(
                    join(path, name),
                    "invalid parameter name: use letters, digits, `_`, `.` and `-`, "
                    "starting with a letter or `_`",
                )
            )
            continue
        _parse_one(spec, join(path, name), (*prefix, name), out)


def _parse_one(spec: Any, path: str, key: tuple[str, ...], out: ParsedParameters) -> None:
    if not isinstance(spec, Mapping):
        out.violations.append(
            Violation(
                path,
                "must be a mapping such as {value: ...}, {values: [...]}, {min: ..., max: ...}"
                f" or {{distribution: ...}} (got {show(spec)})",
            )
        )
        return
    if "parameters" in spec:  # a nested group
        for extra in spec:
            if extra != "parameters":
                out.violations.append(
                    Violation(join(path, extra), "a nested group takes only `parameters`")
                )
        _parse_mapping(spec["parameters"], join(path, "parameters"), key, out)
        return
    result = fill_parameter(spec, path)
    if isinstance(result, list):
        out.violations.extend(result)
        return
    distribution, filled = result
    out.params.append(Param(path=key, distribution=distribution, spec=filled))
    if distribution in DEPRECATED:
        out.notes.append(
            f"{path}: {distribution} is deprecated: min/max are natural-log exponents "
            f"(values from e^min to e^max); {DEPRECATED[distribution]} takes the values"
        )


def infer_distribution(spec: Mapping[str, Any]) -> str | None:
    """W&B's inference for a spec without ``distribution`` (None when nothing fits)."""
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec and "max" in spec:
        if is_int(spec["min"]) and is_int(spec["max"]):
            return "int_uniform"
        return "uniform"
    return None


def fill_parameter(
    spec: Mapping[str, Any], path: str
) -> tuple[str, dict[str, Any]] | list[Violation]:
    """(distribution, spec with defaults) for one leaf parameter, or its violations."""
    given = spec.get("distribution")
    if given is not None:
        if not isinstance(given, str) or given not in DISTRIBUTION_FIELDS:
            return [
                Violation(
                    join(path, "distribution"),
                    f"unknown distribution {show(given)} (one of {', '.join(DISTRIBUTIONS)})",
                )
            ]
        distribution = given
    else:
        inferred = infer_distribution(spec)
        if inferred is None:
            keys = ", ".join(str(k) for k in spec) or "none"
            return [
                Violation(
                    path,
                    "cannot tell the distribution: give `value`, `values`, `min` and `max`, "
                    f"or `distribution` (keys given: {keys})",
                )
            ]
        distribution = inferred
    fields = DISTRIBUTION_FIELDS[distribution]
    violations: list[Violation] = []
    filled: dict[str, Any] = {}
    for k, v in spec.items():
        if k == "distribution":
            continue
        field = fields.get(k) if isinstance(k, str) else None
        if field is None:
            allowed = ", ".join(["distribution", *fields])
            violations.append(
                Violation(
                    join(path, k), f"not a key of a {distribution} parameter (allowed: {allowed})"
                )
            )
            continue
        error = _check_field(distribution, field, v)
        if error:
            violations.append(Violation(join(path, k), error))
        filled[k] = v
    for k, field in fields.items():
        if k in filled:
            continue
        if field.required:
            violations.append(Violation(join(path, k), f"is required by {distribution}"))
        else:
            filled[k] = field.default
    if violations:
        return violations
    violations = _check_relations(distribution, filled, path)
    if violations:
        return violations
    filled["distribution"] = distribution
    return distribution, filled


def _check_field(distribution: str, field: Field, value: Any) -> str | None:
    if field.kind == "any":
        return None
    if field.kind == "list":
        if not isinstance(value, list | tuple) or not value:
            return f"must be a non-empty list (got {show(value)})"
        return None
    if field.kind == "int":
        if not is_int(value):
            hint = "; use distribution: uniform for real numbers" if is_number(value) else ""
            return f"must be an integer for {distribution} (got {show(value)}){hint}"
        return None
    if not is_number(value):
        return f"must be a number (got {show(value)})"
    if not math.isfinite(value):
        return f"must be finite (got {show(value)})"
    if field.exclusive_minimum is not None and value <= field.exclusive_minimum:
        return f"must be > {field.exclusive_minimum:g} (got {show(value)})"
    return None


def _check_relations(distribution: str, spec: Mapping[str, Any], path: str) -> list[Violation]:
    violations: list[Violation] = []
    if "min" in spec and "max" in spec and spec["min"] >= spec["max"]:
        violations.append(
            Violation(
                join(path, "min"), f"must be < max (got {show(spec['min'])} >= {show(spec['max'])})"
            )
        )
    if distribution in _EXPONENT_DISTRIBUTIONS:
        for k in ("min", "max"):
            if abs(spec[k]) > _MAX_EXPONENT:
                violations.append(
                    Violation(
                        join(path, k),
                        f"is a natural-log exponent for {distribution}; |{k}| must be <= "
                        f"{_MAX_EXPONENT:g} (got {show(spec[k])}); did you mean "
                        f"{DEPRECATED[distribution]}?",
                    )
                )
    if distribution == "categorical_w_probabilities":
        values, probs = spec["values"], spec["probabilities"]
        bad = [i for i, p in enumerate(probs) if not is_finite_number(p) or p < 0]
        for i in bad:
            violations.append(
                Violation(
                    f"{path}.probabilities[{i}]", f"must be a number >= 0 (got {show(probs[i])})"
                )
            )
        if len(values) != len(probs):
            violations.append(
                Violation(
                    join(path, "probabilities"),
                    f"must have one entry per value ({len(values)} values, {len(probs)} "
                    "probabilities)",
                )
            )
        elif not bad and not math.isclose(sum(probs), 1.0, rel_tol=1e-5, abs_tol=1e-8):
            violations.append(
                Violation(join(path, "probabilities"), f"must sum to 1 (got {sum(probs):g})")
            )
    return violations


def _check_name_collisions(out: ParsedParameters) -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for p in out.params:
        other = seen.get(p.name)
        if other is not None and other != p.path:
            out.violations.append(
                Violation(
                    "parameters." + ".parameters.".join(p.path),
                    f"its dotted name {p.name!r} is also the name of "
                    f"parameters.{'.parameters.'.join(other)}",
                )
            )
        seen[p.name] = p.path
