"""Canonical value encoding: NaN/inf and numpy values round-trip through JSON."""

from __future__ import annotations

import math

import numpy as np

from opensweep.core.encoding import as_metric, dumps, loads


def test_nonfinite_floats_round_trip() -> None:
    back = loads(dumps({"x": [math.nan, math.inf, -math.inf, 1.0]}))
    assert math.isnan(back["x"][0]) and back["x"][1:] == [math.inf, -math.inf, 1.0]


def test_numpy_arrays_and_scalars_encode_as_plain_values() -> None:
    value = {"a": np.array([1.5, np.nan]), "b": np.float32(2.5), "c": np.int64(3)}
    back = loads(dumps(value))
    assert back["a"][0] == 1.5 and math.isnan(back["a"][1])
    assert back["b"] == 2.5 and back["c"] == 3 and type(back["c"]) is int


def test_as_metric_refuses_bools_and_strings() -> None:
    assert as_metric(True) is None and as_metric("NaN") is None and as_metric(None) is None
    assert as_metric(np.float64(0.5)) == 0.5 and as_metric(3) == 3.0
