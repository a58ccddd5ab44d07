"""``log()``: W&B's step and commit rules, the summary, and values stored faithfully."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pytest

import opensweep
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.errors import InvalidRequest, OpenSweepError


def rows_of(client: Client, run_id: str) -> list[tuple[int, dict[str, Any]]]:
    return [(r.step, dict(r.values)) for r in client.history(run_id)]


def test_steps_auto_increment_and_commit_false_merges(client: Client) -> None:
    run = opensweep.init()
    opensweep.log({"a": 1})
    opensweep.log({"b": 2}, commit=False)
    opensweep.log({"c": 3}, commit=False)
    opensweep.log({"d": 4})  # commits the merged row at step 1
    opensweep.log({})  # an empty commit adds no row
    opensweep.log({"e": 5})
    assert run.step == 3
    run.finish()
    assert rows_of(client, run.id) == [
        (0, {"a": 1}),
        (1, {"b": 2, "c": 3, "d": 4}),
        (2, {"e": 5}),
    ]


def test_explicit_steps_follow_wandb(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    run = opensweep.init()
    opensweep.log({"a": 1}, step=0)
    opensweep.log({"b": 2}, step=0)  # same step: merged, not committed yet
    opensweep.log({"c": 3}, step=5)  # a larger step commits step 0 first
    with caplog.at_level(logging.WARNING, logger="opensweep"):
        opensweep.log({"late": 9}, step=2)  # smaller than the current step: ignored
    assert "less than the current step 5" in caplog.text
    opensweep.log({"d": 4}, step=5, commit=True)  # commit closes step 5
    opensweep.log({"e": 5})  # auto step continues after 5
    opensweep.log({"f": 6}, step=np.int64(9))  # numpy integers are steps too
    run.finish()  # finish commits the pending row
    assert rows_of(client, run.id) == [
        (0, {"a": 1, "b": 2}),
        (5, {"c": 3, "d": 4}),
        (6, {"e": 5}),
        (9, {"f": 6}),
    ]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_invalid_steps_are_refused(sqlite: str, bad: Any) -> None:
    opensweep.init()
    with pytest.raises(InvalidRequest, match="step"):
        opensweep.log({"a": 1}, step=bad)


def test_invalid_data_is_refused(sqlite: str) -> None:
    opensweep.init()
    with pytest.raises(InvalidRequest, match="dict"):
        opensweep.log([1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="strings"):
        opensweep.log({1: 2})  # type: ignore[dict-item]


def test_log_outside_a_run_says_what_to_do(sqlite: str) -> None:
    with pytest.raises(OpenSweepError, match=r"call opensweep\.init\(\) before"):
        opensweep.log({"a": 1})
    run = opensweep.init()
    run.finish()
    with pytest.raises(OpenSweepError, match="finished"):
        run.log({"a": 1})


def test_summary_keeps_last_values_and_user_writes(client: Client) -> None:
    run = opensweep.init()
    opensweep.log({"loss": 3.0, "acc": 0.1})
    opensweep.log({"loss": 2.0})
    assert opensweep.summary["loss"] == 2.0 and run.summary.acc == 0.1
    opensweep.summary["best_loss"] = 1.5
    run.summary.update({"note": "ok"})
    run.summary.extra = 7
    opensweep.log({"loss": 1.0})
    opensweep.summary["acc"] = 0.9  # a user write after a logged value wins
    opensweep.log({"loss": 0.5}, commit=False)  # not committed: not in the summary yet
    assert opensweep.summary["loss"] == 1.0
    run.finish()
    stored = client.get_run(run.id).summary
    assert {k: stored[k] for k in ("loss", "acc", "best_loss", "note", "extra")} == {
        "loss": 0.5,
        "acc": 0.9,
        "best_loss": 1.5,
        "note": "ok",
        "extra": 7,
    }
    assert stored["_step"] == 3 and stored["_runtime"] >= 0
    assert len(client.history(run.id)) == 4


def test_nan_inf_and_numpy_values_are_stored_faithfully(url: str) -> None:
    run = opensweep.init()
    array = np.array([1.0, np.nan])
    nested = {"inner": [1, 2]}
    opensweep.log(
        {
            "nan": math.nan,
            "inf": math.inf,
            "ninf": -math.inf,
            "np64": np.float64(0.25),
            "np32": np.float32(0.5),
            "npint": np.int64(3),
            "array": array,
            "nested": nested,
            "text": "NaN",
            "flag": True,
        }
    )
    array[0] = 99.0  # changes after log() must not leak into the stored row
    nested["inner"].append(3)
    run.finish()
    with connect(url) as client:
        [row] = client.history(run.id)
        values = row.values
        summary = client.get_run(run.id).summary
    assert math.isnan(values["nan"]) and values["inf"] == math.inf and values["ninf"] == -math.inf
    assert values["np64"] == 0.25 and values["np32"] == 0.5 and values["npint"] == 3
    assert values["array"][0] == 1.0 and math.isnan(values["array"][1])
    assert values["nested"] == {"inner": [1, 2]}
    assert values["text"] == "NaN" and values["flag"] is True
    assert math.isnan(summary["nan"]) and summary["ninf"] == -math.inf
