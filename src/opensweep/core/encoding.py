"""Canonical value encoding: JSON that keeps NaN and ±inf, and numbers that compare by value.

JSON has no NaN/Infinity. We store them as ``{"__float__": "nan" | "inf" | "-inf"}`` (the same
convention as the W&B reference data), so every store and the wire format round-trip them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_value(value: Any) -> Any:
    """Return a JSON-safe copy of ``value`` (non-finite floats tagged, tuples as lists)."""
    if isinstance(value, float):
        if math.isnan(value):
            return {"__float__": "nan"}
        if math.isinf(value):
            return {"__float__": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    # numpy arrays become lists, numpy scalars plain Python values
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and getattr(value, "ndim", 0) > 0:
        return encode_value(tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return encode_value(item())
    if callable(tolist):
        return encode_value(tolist())
    return str(value)


def decode_value(value: Any) -> Any:
    """Inverse of :func:`encode_value`."""
    if isinstance(value, dict):
        if len(value) == 1 and "__float__" in value and value["__float__"] in _NONFINITE:
            return _NONFINITE[value["__float__"]]
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(encode_value(value), separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    return decode_value(json.loads(text))


def as_metric(value: Any) -> float | None:
    """A logged value as a metric number, or None when it is not one (bool, str, dict...).

    Non-finite floats are returned as they are; callers decide whether NaN counts.
    A string ``"NaN"`` (W&B's backend sometimes sends one) is not a number.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        v = item()
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None
