"""A reusable contract test suite for :class:`~opensweep.store.base.Store` implementations.

Subclass :class:`StoreContract` in a pytest module and provide a ``store_url`` fixture that
yields the URL of a fresh, empty store for each test (opensweep's own ``tests/conftest.py`` has one
parametrized over SQLite and PostgreSQL). Override :meth:`StoreContract.open` to test a store
that :func:`opensweep.store.open_store` does not build. The concurrency tests start real OS
processes (``spawn``) that open the same URL, so the URL must be reachable from a new process.

    from opensweep.testing.store_contract import StoreContract

    class TestMyStore(StoreContract):
        pass  # uses the store_url fixture
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import random
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from opensweep import errors
from opensweep.core.model import LogBatch, MetricRow, Run, RunState, Sweep, SweepState
from opensweep.store import Store, open_store

NAN, INF = math.nan, math.inf


def make_sweep(sweep_id: str = "sw1", **overrides: Any) -> Sweep:
    fields: dict[str, Any] = {
        "id": sweep_id,
        "name": "sweep ünïcode ✓",
        "config": {
            "method": "grid",
            "metric": {"name": "val/loss", "goal": "minimize", "target": -INF},
            "parameters": {"lr": {"values": [0.1, NAN, INF]}, "deep": {"a": {"value": 3e6}}},
        },
        "state": SweepState.RUNNING,
        "seed": 2**62 + 7,
        "created_at": 1700000000.25,
        "updated_at": 1700000000.25,
        "project": "proj",
        "entity": "ent",
    }
    fields.update(overrides)
    return Sweep(**fields)


def make_run(run_id: str = "run1", sweep_id: str | None = "sw1", **overrides: Any) -> Run:
    fields: dict[str, Any] = {
        "id": run_id,
        "name": f"name-{run_id}",
        "config": {"lr": 0.001, "layers": 3, "opt": {"name": "adam", "beta": NAN}, "flag": True},
        "state": RunState.RUNNING,
        "created_at": 1700000001.5,
        "sweep_id": sweep_id,
        "updated_at": 1700000001.5,
    }
    fields.update(overrides)
    return Run(**fields)


def full_run(run_id: str = "run1", sweep_id: str | None = "sw1") -> Run:
    """A run with every field set to a non-default value."""
    return make_run(
        run_id,
        sweep_id,
        project="p",
        entity="e",
        agent_id="agent-7",
        heartbeat_at=1700000002.125,
        finished_at=None,
        exit_code=None,
        stop_reason="hyperband: band 3",
        error="Traceback ...\nValueError: ✗",
        notes="random: 1 observation (< 2)",
        summary={"loss": NAN, "best": -INF, "acc": 0.5, "n": 2**60, "tag": "x"},
        last_seq=-1,
        seed=123456789,
    )


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN, ints and floats stay distinct, recursively."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_same_record(a: Any, b: Any) -> None:
    for name in a.__dataclass_fields__:
        left, right = getattr(a, name), getattr(b, name)
        if isinstance(left, dict) or hasattr(left, "items"):
            left, right = dict(left), dict(right)
        assert same(left, right), f"{name}: {left!r} != {right!r}"


def _propose_new(run_id: str, **overrides: Any) -> Any:
    def propose(sweep: Sweep, runs: Sequence[Run]) -> Run:
        return make_run(run_id, sweep.id, **overrides)

    return propose


class StoreContract:
    """Behaviour every Store must have. Needs a ``store_url`` fixture (fresh store per test)."""

    #: processes and claims for the concurrency tests (keep small: each process imports a lot)
    claim_processes = 4
    grid_points = 24
    random_cap = 10

    def open(self, url: str) -> Store:
        return open_store(url)

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        store = self.open(store_url)
        try:
            yield store
        finally:
            store.close()

    # ---------------------------------------------------------------- sweeps
    def test_sweep_round_trip(self, store: Store) -> None:
        sweep = make_sweep()
        store.create_sweep(sweep)
        assert_same_record(store.get_sweep(sweep.id), sweep)
        bare = make_sweep("sw2", project=None, entity=None, config={}, seed=0)
        store.create_sweep(bare)
        assert_same_record(store.get_sweep("sw2"), bare)

    def test_sweep_not_found_and_duplicate(self, store: Store) -> None:
        with pytest.raises(errors.NotFound):
            store.get_sweep("nope")
        store.create_sweep(make_sweep())
        with pytest.raises(errors.Conflict):
            store.create_sweep(make_sweep(name="other"))
        assert store.get_sweep("sw1").name == make_sweep().name

    def test_list_sweeps_order_and_project(self, store: Store) -> None:
        store.create_sweep(make_sweep("b", created_at=2.0, project="p1"))
        store.create_sweep(make_sweep("a", created_at=3.0, project="p2"))
        store.create_sweep(make_sweep("c", created_at=1.0, project="p1"))
        assert [s.id for s in store.list_sweeps()] == ["c", "b", "a"]
        assert [s.id for s in store.list_sweeps(project="p1")] == ["c", "b"]
        assert store.list_sweeps(project="none") == []

    def test_update_sweep_state(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        running_or_paused = {SweepState.RUNNING, SweepState.PAUSED}
        paused = store.update_sweep_state(
            "sw1", SweepState.PAUSED, allowed_from=running_or_paused, now=50.0
        )
        assert paused.state is SweepState.PAUSED and paused.updated_at == 50.0
        assert store.get_sweep("sw1").state is SweepState.PAUSED
        store.update_sweep_state("sw1", SweepState.FINISHED, allowed_from=running_or_paused, now=60)
        with pytest.raises(errors.Conflict, match="Cannot pause finished sweep"):
            store.update_sweep_state(
                "sw1", SweepState.PAUSED, allowed_from=running_or_paused, now=70.0
            )
        with pytest.raises(errors.Conflict, match="Sweep already finished"):
            store.update_sweep_state(
                "sw1", SweepState.CANCELED, allowed_from=running_or_paused, now=70.0
            )
        after = store.get_sweep("sw1")
        assert after.state is SweepState.FINISHED and after.updated_at == 60.0
        with pytest.raises(errors.NotFound):
            store.update_sweep_state("nope", SweepState.PAUSED, allowed_from=[], now=1.0)

    # ---------------------------------------------------------------- runs
    def test_claim_next_round_trips_every_field(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        run = full_run()
        claimed = store.claim_next("sw1", lambda sweep, runs: run)
        assert claimed is not None
        assert_same_record(claimed, run)
        assert_same_record(store.get_run("run1"), run)

    def test_claim_next_fills_in_sweep_id(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        claimed = store.claim_next("sw1", lambda sweep, runs: make_run("r", sweep_id=None))
        assert claimed is not None and claimed.sweep_id == "sw1"
        assert store.get_run("r").sweep_id == "sw1"

    def test_claim_next_shows_sweep_and_runs_in_creation_order(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        seen: list[tuple[str, list[str]]] = []
        for i in range(4):
            # created_at deliberately decreasing: order is creation order, not timestamp order
            def propose(sweep: Sweep, runs: Sequence[Run], i: int = i) -> Run:
                seen.append((sweep.id, [r.id for r in runs]))
                return make_run(f"r{i}", sweep.id, created_at=100.0 - i)

            store.claim_next("sw1", propose)
        assert seen[-1] == ("sw1", ["r0", "r1", "r2"])
        assert [r.id for r in store.list_runs("sw1")] == ["r0", "r1", "r2", "r3"]

    def test_claim_next_skip_shows_only_newer_runs(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.create_sweep(make_sweep("other"))
        for i in range(5):
            store.claim_next("sw1", _propose_new(f"r{i}"))
            store.claim_next("other", _propose_new(f"o{i}"))
        store.update_run("r1", {"state": RunState.FINISHED})
        seen: dict[int, list[tuple[str, str]]] = {}
        for skip in (0, 3, 5, 9):

            def propose(sweep: Sweep, runs: Sequence[Run], skip: int = skip) -> None:
                seen[skip] = [(r.id, r.state.value) for r in runs]

            assert store.claim_next("sw1", propose, skip=skip) is None
        assert [rid for rid, _ in seen[0]] == ["r0", "r1", "r2", "r3", "r4"]
        assert ("r1", "finished") in seen[0]
        assert seen[3] == [("r3", "running"), ("r4", "running")]
        assert seen[5] == [] and seen[9] == []
        claimed = store.claim_next("sw1", _propose_new("r5"), skip=5)
        assert claimed is not None and claimed.id == "r5"

    def test_skip_and_count_see_runs_added_by_another_store(
        self, store: Store, store_url: str
    ) -> None:
        """What a store remembers of a sweep's runs (to read only new ones) never hides the
        runs another process added."""
        store.create_sweep(make_sweep())
        other = self.open(store_url)
        try:
            for i in range(3):
                store.claim_next("sw1", _propose_new(f"a{i}"), skip=i)
            assert store.count_runs("sw1") == 3
            other.claim_next("sw1", _propose_new("b0"))
            other.claim_next("sw1", _propose_new("b1"), skip=4)
            assert store.count_runs("sw1") == 5 and other.count_runs("sw1") == 5
            seen: list[str] = []

            def propose(sweep: Sweep, runs: Sequence[Run]) -> Run:
                seen.extend(r.id for r in runs)
                return make_run("a3", sweep.id)

            store.claim_next("sw1", propose, skip=3)
            assert seen == ["b0", "b1"]
            assert other.count_runs("sw1") == 6
            assert [r.id for r in other.list_runs("sw1")] == ["a0", "a1", "a2", "b0", "b1", "a3"]
        finally:
            other.close()

    def test_list_plain_runs(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("in-sweep"))
        for rid in ("p0", "p1", "p2"):
            store.create_run(make_run(rid, sweep_id=None))
        store.update_run("p1", {"state": RunState.FINISHED})
        assert [r.id for r in store.list_plain_runs()] == ["p0", "p1", "p2"]
        assert [r.id for r in store.list_plain_runs([RunState.RUNNING])] == ["p0", "p2"]
        assert store.list_plain_runs([]) == []
        store.create_run(make_run("q0", sweep_id=None, project="q"))
        assert [r.id for r in store.list_plain_runs(project="q")] == ["q0"]
        assert store.list_plain_runs([RunState.FINISHED], project="q") == []

    def test_count_runs(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.create_sweep(make_sweep("other"))
        for i in range(4):
            store.claim_next("sw1", _propose_new(f"r{i}"))
        store.claim_next("other", _propose_new("x"))
        store.update_run("r0", {"state": RunState.FINISHED})
        store.update_run("r2", {"state": RunState.CRASHED})
        assert store.count_runs("sw1") == 4
        assert store.count_runs("sw1", states=[RunState.RUNNING]) == 2
        assert store.count_runs("sw1", states=[RunState.FINISHED, RunState.CRASHED]) == 2
        assert store.count_runs("sw1", states=[]) == 0
        assert store.count_runs("other") == 1
        assert store.count_runs("no-such-sweep") == 0

    def test_claim_next_none_and_errors_insert_nothing(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        assert store.claim_next("sw1", lambda sweep, runs: None) is None

        def failing(sweep: Sweep, runs: Sequence[Run]) -> Run:
            raise errors.ConfigError("propose failed")

        with pytest.raises(errors.ConfigError, match="propose failed"):
            store.claim_next("sw1", failing)
        assert store.list_runs("sw1") == []
        # the store is still usable after a failed transaction
        assert store.claim_next("sw1", _propose_new("ok")) is not None
        with pytest.raises(errors.Conflict):
            store.claim_next("sw1", _propose_new("ok"))
        assert [r.id for r in store.list_runs("sw1")] == ["ok"]
        with pytest.raises(errors.NotFound):
            store.claim_next("nope", _propose_new("x"))

    def test_create_run_outside_sweep(self, store: Store) -> None:
        run = replace(full_run("plain", sweep_id=None))
        store.create_run(run)
        assert_same_record(store.get_run("plain"), run)
        with pytest.raises(errors.Conflict):
            store.create_run(make_run("plain", sweep_id=None))
        with pytest.raises(errors.NotFound):
            store.create_run(make_run("orphan", sweep_id="no-such-sweep"))
        with pytest.raises(errors.NotFound):
            store.get_run("orphan")

    def test_list_runs_filters_and_cursor(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.create_sweep(make_sweep("other"))
        for i in range(5):
            store.claim_next("sw1", _propose_new(f"r{i}", updated_at=10.0 + i))
        store.claim_next("other", _propose_new("x"))
        store.update_run("r1", {"state": RunState.FINISHED, "updated_at": 20.0, "exit_code": 0})
        store.update_run("r3", {"state": RunState.FAILED, "updated_at": 21.0, "exit_code": 1})
        assert [r.id for r in store.list_runs("sw1")] == ["r0", "r1", "r2", "r3", "r4"]
        assert [r.id for r in store.list_runs("sw1", states=[RunState.RUNNING])] == [
            "r0",
            "r2",
            "r4",
        ]
        done = [RunState.FINISHED, RunState.FAILED]
        assert [r.id for r in store.list_runs("sw1", states=done)] == ["r1", "r3"]
        assert store.list_runs("sw1", states=[]) == []
        assert [r.id for r in store.list_runs("sw1", updated_after=13.0)] == ["r1", "r3", "r4"]
        assert [r.id for r in store.list_runs("sw1", updated_after=20.0)] == ["r3"]
        assert store.list_runs("sw1", updated_after=21.0) == []
        assert store.list_runs("no-such-sweep") == []

    def test_update_run_and_immutability(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("r"))
        changed = store.update_run(
            "r", {"stop_reason": "hyperband", "notes": "n", "summary": {"x": NAN}}
        )
        assert changed.stop_reason == "hyperband" and changed.stop_requested
        assert math.isnan(store.get_run("r").summary["x"])
        final = store.update_run(
            "r",
            {"state": RunState.FAILED, "exit_code": 3, "finished_at": 9.5, "error": "boom"},
        )
        assert final.state is RunState.FAILED and final.exit_code == 3
        assert_same_record(store.get_run("r"), final)
        for changes in ({"notes": "later"}, {"state": RunState.RUNNING}, {}):
            with pytest.raises(errors.Conflict):
                store.update_run("r", changes)
        assert_same_record(store.get_run("r"), final)
        with pytest.raises(errors.NotFound):
            store.update_run("nope", {"notes": "x"})

    def test_change_run_sees_run_and_sweep_and_applies_atomically(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("r", stop_reason="hyperband"))
        seen: list[tuple[str, str | None]] = []

        def finish(run: Run, sweep: Sweep | None) -> dict[str, Any] | None:
            seen.append((run.id, sweep.id if sweep else None))
            if run.state.is_terminal:
                return None
            state = RunState.STOPPED if run.stop_reason else RunState.FINISHED
            return {"state": state, "finished_at": 5.0}

        run, sweep = store.change_run("r", finish)
        assert run.state is RunState.STOPPED and run.finished_at == 5.0
        assert sweep is not None and sweep.id == "sw1" and seen == [("r", "sw1")]
        assert_same_record(store.get_run("r"), run)
        again, _ = store.change_run("r", finish)  # None: nothing changes, no Conflict
        assert_same_record(again, run)
        with pytest.raises(errors.Conflict):
            store.change_run("r", lambda run, sweep: {"notes": "late"})

        plain = make_run("plain", sweep_id=None)
        store.create_run(plain)

        def refuse(run: Run, sweep: Sweep | None) -> dict[str, Any]:
            raise errors.Conflict("no")

        with pytest.raises(errors.Conflict, match="no"):
            store.change_run("plain", refuse)
        assert store.change_run("plain", lambda run, sweep: None) == (store.get_run("plain"), None)
        with pytest.raises(errors.NotFound):
            store.change_run("nope", lambda run, sweep: None)

    def test_change_run_applies_a_log_batch_first_in_the_same_transaction(
        self, store: Store
    ) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("r"))
        store.append_history("r", 0, [MetricRow(0, {"x": 1.0})], {"x": 1.0})
        batch = LogBatch(1, [MetricRow(1, {"x": 2.0}), MetricRow(2, {"x": math.nan})], {"y": 3})
        seen: list[Run] = []

        def end(run: Run, sweep: Sweep | None) -> dict[str, Any] | None:
            seen.append(run)
            return None if run.state.is_terminal else {"state": RunState.FINISHED}

        run, _ = store.change_run("r", end, log=batch)
        assert (seen[0].last_seq, seen[0].summary["y"]) == (1, 3)  # the change saw the batch
        assert run.state is RunState.FINISHED and run.last_seq == 1
        assert run.summary["x"] == 1.0 and run.summary["y"] == 3
        again, _ = store.change_run("r", end, log=batch)  # retried: nothing applied twice
        assert_same_record(again, run)
        assert [r.step for r in store.history("r")] == [0, 1, 2]
        with pytest.raises(errors.Conflict):  # a new batch for an ended run
            store.change_run("r", end, log=LogBatch(2, [MetricRow(3, {"x": 0.0})]))
        assert [r.step for r in store.history("r")] == [0, 1, 2]

        store.claim_next("sw1", _propose_new("r2"))

        def refuse(run: Run, sweep: Sweep | None) -> dict[str, Any]:
            raise errors.Conflict("no")

        with pytest.raises(errors.Conflict, match="no"):  # refused: the batch goes too
            store.change_run("r2", refuse, log=LogBatch(0, [MetricRow(0, {"x": 1.0})]))
        assert store.history("r2") == [] and store.get_run("r2").last_seq == -1

    def test_update_run_rejects_unknown_fields(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("r"))
        with pytest.raises(errors.OpenSweepError):
            store.update_run("r", {"no_such_field": 1})
        with pytest.raises(errors.OpenSweepError):
            store.update_run("r", {"id": "other"})
        with pytest.raises(errors.OpenSweepError):
            store.update_run("r", {"state": "no-such-state"})
        assert store.get_run("r").id == "r"

    def test_annotate_run_even_when_terminal(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        store.claim_next("sw1", _propose_new("r"))
        store.update_run("r", {"state": RunState.CRASHED, "notes": "first"})
        annotated = store.annotate_run("r", "first\nrequeued", now=99.5)
        assert annotated.notes == "first\nrequeued" and annotated.updated_at == 99.5
        again = store.get_run("r")
        assert again.notes == "first\nrequeued" and again.state is RunState.CRASHED
        with pytest.raises(errors.Conflict):  # annotating does not reopen the run
            store.update_run("r", {"notes": "other"})
        with pytest.raises(errors.NotFound):
            store.annotate_run("nope", "x", now=1.0)

    def test_annotate_run_moves_its_sweeps_updated_at(self, store: Store) -> None:
        """Callers of ``claim_next(skip=...)`` learn that old runs changed from the sweep."""
        store.create_sweep(make_sweep(updated_at=50.0))
        store.claim_next("sw1", _propose_new("r"))
        store.annotate_run("r", "a note", now=60.0)
        assert store.get_sweep("sw1").updated_at == 60.0
        store.annotate_run("r", "same clock", now=60.0)  # the clock did not move: still later
        assert store.get_sweep("sw1").updated_at > 60.0

    def test_heartbeat(self, store: Store) -> None:
        store.create_sweep(make_sweep())
        for rid in ("a", "b", "c"):
            store.claim_next("sw1", _propose_new(rid))
        store.update_run("c", {"state": RunState.CRASHED})
        store.heartbeat(["a", "c", "unknown"], now=42.0)
        assert store.get_run("a").heartbeat_at == 42.0
        assert store.get_run("b").heartbeat_at is None
        assert store.get_run("c").heartbeat_at is None  # terminal runs do not change
        store.heartbeat([], now=43.0)

    # ---------------------------------------------------------------- metrics
    def _run(self, store: Store, run_id: str = "r", sweep_id: str = "sw1") -> None:
        try:
            store.get_sweep(sweep_id)
        except errors.NotFound:
            store.create_sweep(make_sweep(sweep_id))
        store.claim_next(sweep_id, _propose_new(run_id))

    def test_history_round_trip(self, store: Store) -> None:
        self._run(store)
        values: dict[str, Any] = {
            "loss": 0.1 + 0.2,
            "nan": NAN,
            "inf": INF,
            "ninf": -INF,
            "int": 7,
            "big": 2**62 + 1,
            "bool": True,
            "str": "NaN",
            "none": None,
            "nested": {"a": [1, NAN, {"b": -INF}], "c": "✓"},
            "tiny": 5e-324,
            "neg0": -0.0,
            'we"ird\\ké ✓,{}': 1.7976931348623157e308,
        }
        rows = [
            MetricRow(step=0, values=values, time=1700000003.75),
            MetricRow(step=1, values={"loss": 0.25}, time=None),
            MetricRow(step=2**62, values={"loss": 1 / 3}, time=NAN),  # a NaN clock: no time
        ]
        assert store.append_history("r", 0, rows, {}) is not None
        got = store.history("r")
        assert [r.step for r in got] == [0, 1, 2**62]
        assert got[2].values == {"loss": 1 / 3} and got[2].time is None
        assert same(dict(got[0].values), values)
        assert got[0].time == 1700000003.75 and got[1].time is None
        assert math.copysign(1.0, got[0].values["neg0"]) == -1.0
        assert type(got[0].values["int"]) is int and type(got[0].values["bool"]) is bool

    def test_history_cursor_and_keys(self, store: Store) -> None:
        self._run(store)
        rows = [MetricRow(step=s, values={"a": s, "b": s * 0.5, "c": "x"}) for s in range(6)]
        store.append_history("r", 0, rows[:3], {})
        store.append_history("r", 1, rows[3:], {})
        assert [r.step for r in store.history("r", after_step=3)] == [4, 5]
        assert store.history("r", after_step=5) == []
        picked = store.history("r", keys=["b", "missing"], after_step=1)
        assert [r.step for r in picked] == [2, 3, 4, 5]
        assert all(set(r.values) == {"b"} for r in picked)
        assert store.history("r", keys=["missing"]) == []
        assert store.history("r", keys=[]) == []
        with pytest.raises(errors.NotFound):
            store.history("nope")

    def test_history_row_with_some_keys(self, store: Store) -> None:
        self._run(store)
        rows = [
            MetricRow(step=0, values={"loss": 1.0}),
            MetricRow(step=1, values={"acc": 0.5}),
            MetricRow(step=2, values={"loss": 0.5, "acc": 0.7}),
        ]
        store.append_history("r", 0, rows, {})
        assert [dict(r.values) for r in store.history("r")] == [dict(r.values) for r in rows]

    def test_summary_merge(self, store: Store) -> None:
        self._run(store)
        store.append_history("r", 0, [], {"loss": 1.0, "acc": NAN, "tag": "a"})
        store.append_history("r", 1, [], {"loss": INF, "new": {"x": -INF}})
        summary = dict(store.get_run("r").summary)
        assert same(summary, {"loss": INF, "acc": NAN, "tag": "a", "new": {"x": -INF}})
        assert store.get_run("r").last_seq == 1
        # every value keeps its type and exact value through a merge (a float stays a float)
        exact = {"big": 1e300, "tiny": 5e-324, "n": 2**62, "third": 1 / 3, "s": 'é "q" \\'}
        after = store.append_history("r", 2, [], {**exact, "nested": [1.0, {"k": None}]})
        assert after is not None
        for run in (after, store.get_run("r")):
            assert {k: (type(v), v) for k, v in run.summary.items() if k in exact} == {
                k: (type(v), v) for k, v in exact.items()
            }
            assert run.summary["nested"] == [1.0, {"k": None}] and run.summary["tag"] == "a"

    def test_append_history_idempotent_by_seq(self, store: Store) -> None:
        self._run(store)
        batch = [MetricRow(step=0, values={"loss": 1.0})]
        after = store.append_history("r", 5, batch, {"loss": 1.0})
        assert after is not None and after.last_seq == 5 and after.summary == {"loss": 1.0}
        assert_same_record(after, store.get_run("r"))
        assert store.append_history("r", 5, batch, {"loss": 1.0}) is None
        later = [MetricRow(step=9, values={"loss": 0.0})]
        assert store.append_history("r", 4, later, {"loss": 0.0}) is None
        assert store.append_history("r", -1, later, {"loss": 0.0}) is None
        run = store.get_run("r")
        assert run.last_seq == 5 and dict(run.summary) == {"loss": 1.0}
        assert [r.step for r in store.history("r")] == [0]
        assert store.append_history("r", 6, later, {"loss": 0.0}) is not None
        assert [r.step for r in store.history("r")] == [0, 9]

    def test_append_history_to_terminal_run(self, store: Store) -> None:
        self._run(store)
        store.append_history("r", 0, [MetricRow(step=0, values={"x": 1})], {"x": 1})
        store.update_run("r", {"state": RunState.FINISHED, "exit_code": 0})
        # a late retry of a batch already applied is not an error ...
        assert store.append_history("r", 0, [MetricRow(step=0, values={"x": 1})], {}) is None
        # ... but new metrics for a finished run are refused, and nothing changes
        with pytest.raises(errors.Conflict):
            store.append_history("r", 1, [MetricRow(step=1, values={"x": 2})], {"x": 2})
        run = store.get_run("r")
        assert run.last_seq == 0 and dict(run.summary) == {"x": 1}
        assert len(store.history("r")) == 1
        with pytest.raises(errors.NotFound):
            store.append_history("nope", 0, [], {})

    def test_append_history_now_moves_updated_at(self, store: Store) -> None:
        self._run(store)
        before = store.get_run("r").updated_at
        store.append_history("r", 0, [MetricRow(step=0, values={"x": 1})], {"x": 1})
        assert store.get_run("r").updated_at == before
        store.append_history("r", 1, [], {"x": 2}, now=1800000000.5)
        assert store.get_run("r").updated_at == 1800000000.5
        assert [r.id for r in store.list_runs("sw1", updated_after=1800000000.0)] == ["r"]

    def test_metric_series(self, store: Store) -> None:
        for rid in ("r0", "r1", "r2"):
            self._run(store, rid)
        self._run(store, "elsewhere", sweep_id="other")
        store.append_history(
            "r0",
            0,
            [
                MetricRow(step=0, values={"val/loss": 3.0, "acc": 0.1}),
                MetricRow(step=1, values={"acc": 0.2}),
                MetricRow(step=2, values={"val/loss": NAN}),
                MetricRow(step=3, values={"val/loss": "NaN"}),
                MetricRow(step=4, values={"val/loss": 1}),
                MetricRow(step=5, values={"val/loss": -INF}),
            ],
            {},
        )
        store.append_history(
            "r2", 0, [MetricRow(step=s, values={"val/loss": s}) for s in (2, 1)], {}
        )
        store.append_history("elsewhere", 0, [MetricRow(step=0, values={"val/loss": 9.0})], {})
        series = store.metric_series("sw1", "val/loss")
        assert list(series) == ["r0", "r1", "r2"]  # every run, in creation order
        assert same(series["r0"], [3.0, NAN, "NaN", 1, -INF])
        assert series["r1"] == []
        assert series["r2"] == [1, 2]  # step order
        assert same(store.metric_series("sw1", "acc"), {"r0": [0.1, 0.2], "r1": [], "r2": []})
        assert store.metric_series("no-such-sweep", "val/loss") == {}

    def test_repeated_step_keeps_last_value(self, store: Store) -> None:
        self._run(store)
        store.append_history("r", 0, [MetricRow(step=3, values={"a": 1, "b": 2})], {})
        store.append_history("r", 1, [MetricRow(step=3, values={"a": NAN, "c": "x"})], {})
        (row,) = store.history("r")
        assert row.step == 3 and same(dict(row.values), {"a": NAN, "b": 2, "c": "x"})
        # ... also inside one batch
        batch = [MetricRow(step=4, values={"a": 1}), MetricRow(step=4, values={"a": 2, "b": 0})]
        store.append_history("r", 2, batch, {})
        assert dict(store.history("r", after_step=3)[0].values) == {"a": 2, "b": 0}

    def test_propose_sees_changes_made_elsewhere(self, store: Store, store_url: str) -> None:
        """Runs handed to ``propose`` are current even when another process changed them."""
        store.create_sweep(make_sweep())
        for rid in ("a", "b", "c"):
            store.claim_next("sw1", _propose_new(rid))
        store.claim_next("sw1", lambda sweep, runs: None)  # the store has now read a, b, c
        other = self.open(store_url)
        try:
            other.update_run("a", {"state": RunState.FINISHED, "exit_code": 0})
            other.heartbeat(["b"], now=77.0)
            other.append_history("c", 0, [MetricRow(step=0, values={"m": 1.5})], {"m": 1.5})
        finally:
            other.close()
        seen: dict[str, Run] = {}

        def propose(sweep: Sweep, runs: Sequence[Run]) -> None:
            seen.update({r.id: r for r in runs})

        store.claim_next("sw1", propose)
        assert seen["a"].state is RunState.FINISHED and seen["a"].exit_code == 0
        assert seen["b"].heartbeat_at == 77.0
        assert dict(seen["c"].summary) == {"m": 1.5} and seen["c"].last_seq == 0

    # ---------------------------------------------------------------- concurrency
    @pytest.mark.parametrize("with_skip", [False, True], ids=["all-runs", "skip"])
    def test_concurrent_claims_exactly_once_and_capped(
        self, store: Store, store_url: str, with_skip: bool
    ) -> None:
        """Several OS processes claim at once: first from a grid (every point exactly once),
        then from an endless space with a cap (never more runs than the cap). ``skip``: each
        process keeps the runs it has seen and reads only newer ones, as the controller claims
        for grid and random."""
        store.create_sweep(make_sweep("grid"))
        store.create_sweep(make_sweep("capped"))
        jobs = [("grid", self.grid_points, None), ("capped", None, self.random_cap)]
        claims = run_claimers(store_url, jobs, self.claim_processes, with_skip=with_skip)

        grid_points = [point for _, point in claims["grid"]]
        assert sorted(grid_points) == list(range(self.grid_points))  # every point exactly once
        stored = store.list_runs("grid")
        assert sorted(r.config["point"] for r in stored) == list(range(self.grid_points))
        assert len({r.id for r in stored}) == self.grid_points
        assert store.count_runs("grid") == self.grid_points

        assert len(claims["capped"]) == self.random_cap
        assert len(store.list_runs("capped")) == self.random_cap
        assert store.count_runs("capped") == self.random_cap


# ---------------------------------------------------------------------- worker processes
def _grid_propose(agent: str, points: int | None, cap: int | None, rng: random.Random) -> Any:
    def propose(sweep: Sweep, runs: Sequence[Run]) -> Run | None:
        # widen the race window: a non-atomic store would hand out a point twice here
        time.sleep(rng.uniform(0, 0.004))
        if cap is not None and len(runs) >= cap:
            return None
        used = {r.config["point"] for r in runs}
        free = [p for p in range(points if points is not None else len(runs) + 1) if p not in used]
        if not free:
            return None
        n = len(runs)
        return make_run(
            f"{sweep.id}-{agent}-{n}",
            sweep.id,
            config={"point": free[0]},
            agent_id=agent,
            name=f"run {n}",
        )

    return propose


def _claim_worker(
    url: str,
    jobs: Sequence[tuple[str, int | None, int | None]],
    agent: str,
    with_skip: bool,
    start: Any,
    out: Any,
) -> None:
    """Claim until ``propose`` says no, for each (sweep id, grid points, cap) in turn.
    ``with_skip``: remember the runs seen and pass ``skip``, as the controller does for grid and
    random."""
    try:
        store = open_store(url)
        try:
            rng = random.Random(agent)
            start.wait(60)
            claimed: dict[str, list[tuple[str, int]]] = {}
            for sweep_id, points, cap in jobs:
                propose = _grid_propose(agent, points, cap, rng)
                got = claimed.setdefault(sweep_id, [])
                seen: list[Run] = []
                while True:
                    if with_skip:
                        skip = len(seen)
                        run = store.claim_next(
                            sweep_id, _remembering(propose, seen, skip), skip=skip
                        )
                    else:
                        run = store.claim_next(sweep_id, propose)
                    if run is None:
                        break
                    seen.append(run)
                    got.append((run.id, int(run.config["point"])))
            out.put(("ok", claimed))
        finally:
            store.close()
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _remembering(inner: Any, seen: list[Run], skip: int) -> Any:
    """``inner`` over the runs seen so far, given the runs from ``skip`` on (a claim may call
    it more than once: each call replaces what the previous one added)."""

    def propose(sweep: Sweep, runs: Sequence[Run]) -> Any:
        seen[skip:] = runs
        return inner(sweep, list(seen))

    return propose


def open_worker(url: str, start: Any, out: Any) -> None:
    """Open (creating if needed) the store at ``url`` once ``start`` is set."""
    try:
        start.wait(60)
        open_store(url).close()
        out.put(("ok", None))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def run_in_processes(
    target: Any, args: Sequence[tuple[Any, ...]], *, timeout: float = 120.0
) -> list[Any]:
    """Run ``target(*a, start, out)`` for each ``a`` in ``args``, each in a new OS process
    (``spawn``), released together by the ``start`` event. Every target must ``out.put`` one
    ``("ok", payload)`` or ``("error", traceback)``. Returns the payloads; fails the test on any
    error, hang or silent death; never leaves a process behind."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*a, start, out), daemon=True) for a in args]
    try:
        for w in workers:
            w.start()
        start.set()
        payloads: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(payloads) < len(workers):
            try:
                status, payload = out.get(timeout=0.5)
            except queue.Empty:
                if time.monotonic() > deadline:
                    pytest.fail(f"worker processes did not finish within {timeout:.0f} s")
                if all(not w.is_alive() for w in workers) and out.empty():
                    codes = [w.exitcode for w in workers]
                    pytest.fail(f"worker processes died without reporting (exit codes {codes})")
                continue
            if status != "ok":
                pytest.fail(f"a worker process failed:\n{payload}")
            payloads.append(payload)
        return payloads
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
                w.join(timeout=5)
        out.close()
        out.join_thread()


def run_claimers(
    url: str,
    jobs: Sequence[tuple[str, int | None, int | None]],
    processes: int,
    *,
    with_skip: bool = False,
) -> dict[str, list[tuple[str, int]]]:
    """Start ``processes`` OS processes that claim at the same moment from the sweeps in
    ``jobs`` ((sweep id, grid points or None, cap or None), in order); return every
    (run id, point) claimed, per sweep. ``with_skip``: see ``_claim_worker``."""
    args = [(url, list(jobs), f"agent{i}", with_skip) for i in range(processes)]
    claimed: dict[str, list[tuple[str, int]]] = {sweep_id: [] for sweep_id, _, _ in jobs}
    for payload in run_in_processes(_claim_worker, args):
        for sweep_id, got in payload.items():
            claimed[sweep_id].extend(got)
    return claimed
