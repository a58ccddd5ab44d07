"""Run lookups for the public API: filter matching, W&B order keys and a run's best metric value.

Filters are W&B's (MongoDB-style) dicts, reduced to what a local store needs: equality on
``state``, ``name``/``display_name``, ``id``, ``sweep``, ``config.<path>`` and
``summary_metrics.<path>`` (or ``summary.<path>``), comparison operators (``$eq $ne $gt $gte
$lt $lte $in $nin``) and ``$and``/``$or`` lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opensweep.core import model
from opensweep.core.encoding import as_metric
from opensweep.errors import InvalidRequest

_MISSING = object()
_RUN_FIELDS = {
    "state": lambda r: r.state.value,
    "name": lambda r: r.name,
    "display_name": lambda r: r.name,
    "displayName": lambda r: r.name,
    "id": lambda r: r.id,
    "sweep": lambda r: r.sweep_id,
    "createdAt": lambda r: r.created_at,
    "created_at": lambda r: r.created_at,
    "updatedAt": lambda r: r.updated_at,
    "updated_at": lambda r: r.updated_at,
}
_SECTIONS = {"config": "config", "summary": "summary", "summary_metrics": "summary"}


def lookup(run: model.Run, key: str) -> Any:
    """The value a filter/order key names on a run, or ``_MISSING``."""
    if key in _RUN_FIELDS:
        return _RUN_FIELDS[key](run)
    section, _, rest = key.partition(".")
    if section not in _SECTIONS or not rest:
        raise InvalidRequest(
            f"unknown run field {key!r}: use state, name, id, sweep, createdAt, "
            "config.<key> or summary_metrics.<key>",
            details={"key": key},
        )
    data: Mapping[str, Any] = run.config if _SECTIONS[section] == "config" else run.summary
    found = _path_get(data, rest)
    if found is _MISSING and section == "config" and rest.endswith(".value"):
        found = _path_get(data, rest[: -len(".value")])  # W&B's old "config.lr.value" form
    return found


def _path_get(data: Mapping[str, Any], path: str) -> Any:
    if path in data:  # a flat key that contains dots ("val.loss") wins
        return data[path]
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b  # True is not 1 in a filter
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _compare(op: str, value: Any, operand: Any, key: str) -> bool:
    if value is _MISSING:
        return op in ("$ne", "$nin")
    if op == "$eq":
        return _same(value, operand)
    if op == "$ne":
        return not _same(value, operand)
    if op in ("$in", "$nin"):
        if not isinstance(operand, list | tuple | set | frozenset):
            raise InvalidRequest(f"filter {key!r}: {op} needs a list", details={"key": key})
        inside = any(_same(value, o) for o in operand)
        return inside if op == "$in" else not inside
    order: dict[str, Callable[[Any, Any], bool]] = {
        "$gt": lambda a, b: a > b,
        "$gte": lambda a, b: a >= b,
        "$lt": lambda a, b: a < b,
        "$lte": lambda a, b: a <= b,
    }
    if op not in order:
        raise InvalidRequest(
            f"filter {key!r}: unsupported operator {op!r} (use $eq $ne $gt $gte $lt $lte $in $nin)",
            details={"key": key, "operator": op},
        )
    try:
        return order[op](value, operand)
    except TypeError:
        return False


def matches(run: model.Run, filters: Mapping[str, Any] | None) -> bool:
    """True when ``run`` satisfies every condition of ``filters``."""
    if not filters:
        return True
    for key, condition in filters.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list | tuple):
                raise InvalidRequest(f"filter {key!r} needs a list of filters")
            results = (matches(run, f) for f in condition)
            if not (all(results) if key == "$and" else any(results)):
                return False
            continue
        value = lookup(run, key)
        if (
            isinstance(condition, Mapping)
            and condition
            and all(str(k).startswith("$") for k in condition)
        ):
            if not all(_compare(str(op), value, arg, key) for op, arg in condition.items()):
                return False
        elif value is _MISSING or not _same(value, condition):
            return False
    return True


@dataclass(frozen=True)
class OrderKey:
    """A W&B order string: ``+key`` ascending, ``-key`` (the default) descending."""

    key: str
    ascending: bool

    @classmethod
    def parse(cls, order: str) -> OrderKey:
        text = order.strip()
        ascending = False
        if text[:1] in ("+", "-"):
            ascending = text[0] == "+"
            text = text[1:]
        if not text:
            raise InvalidRequest(f"invalid order {order!r}: expected [+|-]key")
        # W&B: a bare name is a summary metric unless it is a run field
        section = text.split(".", 1)[0]
        if text not in _RUN_FIELDS and section not in _SECTIONS:
            text = f"summary_metrics.{text}"
        return cls(text, ascending)

    def value(self, run: model.Run) -> Any:
        return lookup(run, self.key)


def finite_metric(value: Any) -> float | None:
    """A logged value as a finite number, else None (W&B drops NaN, inf, bools, strings)."""
    number = as_metric(value)
    if number is None or not math.isfinite(number):
        return None
    return number


def metric_extremum(values: Sequence[Any], summary_value: Any, goal: str) -> float | None:
    """W&B's best value of a run: min/max over the metric's history *and* its summary value."""
    numbers = [n for n in (finite_metric(v) for v in [*values, summary_value]) if n is not None]
    if not numbers:
        return None
    return max(numbers) if goal == "maximize" else min(numbers)


MISSING = _MISSING
