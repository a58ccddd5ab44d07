"""A reusable contract test suite for :class:`~opensweep.client.base.Client` implementations.

Subclass :class:`ClientContract` in a pytest module. By default it builds a
:class:`~opensweep.client.local.LocalClient` on the ``store_url`` fixture (a fresh, empty store
per test); to test another client, override the ``client`` fixture:

    from opensweep.testing.client_contract import ClientContract

    class TestHttpClient(ClientContract):
        @pytest.fixture
        def client(self, server_url: str) -> Iterator[Client]:
            c = HttpClient(server_url, token=TOKEN)
            yield c
            c.close()

Every test uses the client's verbs only (no clock, no store), so the suite runs unchanged in
process and over HTTP. Time-dependent behaviour (reaping) is tested with a fake clock in
``tests/controller``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from opensweep.client.base import Client
from opensweep.core.model import LogBatch, MetricRow, Run, RunState, SweepState
from opensweep.errors import ConfigError, Conflict, InvalidRequest, NotFound

NAN, INF = math.nan, math.inf

GRID_CONFIG: dict[str, Any] = {
    "method": "grid",
    "metric": {"name": "val/loss", "goal": "minimize"},
    "parameters": {
        "lr": {"values": [0.1, 0.01, 0.001]},
        "optimizer": {"values": ["adam", "sgd"]},
    },
}
GRID_POINTS = {(lr, opt) for lr in (0.1, 0.01, 0.001) for opt in ("adam", "sgd")}


def random_config(**extra: Any) -> dict[str, Any]:
    return {
        "method": "random",
        "metric": {"name": "val/loss", "goal": "minimize"},
        "parameters": {"lr": {"min": 0.0001, "max": 0.1}, "layers": {"values": [1, 2, 3]}},
        **extra,
    }


def same_value(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (and containers compare element-wise)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


class ClientContract:
    """The behaviour every Client must have. See the module doc for how to plug a client in."""

    @pytest.fixture
    def client(self, store_url: str) -> Iterator[Client]:
        from opensweep.client.local import LocalClient

        c = LocalClient(store_url)
        yield c
        c.close()

    # -------------------------------------------------------------- helpers
    @staticmethod
    def drain(client: Client, sweep_id: str, agent: str = "agent-1") -> list[Run]:
        """Claim and finish runs until the sweep hands out no more."""
        runs = []
        while (run := client.next_run(sweep_id, agent)) is not None:
            runs.append(client.finish_run(run.id, exit_code=0))
            assert len(runs) < 1000, "the sweep never stops handing out runs"
        return runs

    # -------------------------------------------------------------- sweeps
    def test_create_sweep_stores_the_users_config(self, client: Client) -> None:
        config = {**GRID_CONFIG, "name": "from-config", "description": "ünïcode ✓"}
        sweep = client.create_sweep(config, project="proj", entity="ent")
        assert re.fullmatch(r"[a-z0-9]{8}", sweep.id)
        assert sweep.state is SweepState.RUNNING
        assert sweep.name == "from-config"
        assert (sweep.project, sweep.entity) == ("proj", "ent")
        assert sweep.path == f"ent/proj/{sweep.id}"
        assert same_value(dict(sweep.config), config)
        assert isinstance(sweep.seed, int)
        again = client.get_sweep(sweep.id)
        assert (again.id, again.name, again.state, again.seed) == (
            sweep.id,
            sweep.name,
            sweep.state,
            sweep.seed,
        )
        assert same_value(dict(again.config), config)

    def test_sweep_name_argument_wins_and_a_name_is_always_given(self, client: Client) -> None:
        named = client.create_sweep({**GRID_CONFIG, "name": "cfg"}, name="arg")
        assert named.name == "arg"
        unnamed = client.create_sweep(GRID_CONFIG)
        assert unnamed.name
        assert unnamed.id != named.id

    def test_seed_comes_from_the_config_or_is_drawn_once(self, client: Client) -> None:
        seeded = client.create_sweep(random_config(seed=1234))
        assert seeded.seed == 1234
        drawn = client.create_sweep(random_config())
        assert client.get_sweep(drawn.id).seed == drawn.seed

    def test_list_sweeps_filters_by_project(self, client: Client) -> None:
        a = client.create_sweep(GRID_CONFIG, project="p1")
        b = client.create_sweep(GRID_CONFIG, project="p2")
        assert {s.id for s in client.list_sweeps()} == {a.id, b.id}
        assert [s.id for s in client.list_sweeps("p1")] == [a.id]
        assert client.list_sweeps("nope") == []

    def test_invalid_config_lists_every_violation_and_stores_nothing(self, client: Client) -> None:
        bad = {
            "method": "no-such-method",
            "parameters": {"lr": {"min": 0.1, "max": 0.01}},
            "run_cap": "ten",
        }
        with pytest.raises(ConfigError) as info:
            client.create_sweep(bad)
        paths = [path for path, _ in info.value.violations]
        assert len(paths) >= 3, info.value.violations
        assert any(p.startswith("method") for p in paths)
        assert any(p.startswith("parameters.lr") for p in paths)
        assert any(p.startswith("run_cap") for p in paths)
        assert client.list_sweeps() == []

    def test_unknown_ids_are_not_found(self, client: Client) -> None:
        with pytest.raises(NotFound):
            client.get_sweep("nosuchsw")
        with pytest.raises(NotFound):
            client.next_run("nosuchsw", "agent")
        with pytest.raises(NotFound):
            client.set_sweep_state("nosuchsw", "pause")
        with pytest.raises(NotFound):
            client.list_runs("nosuchsw")
        with pytest.raises(NotFound):
            client.get_run("nosuchrn")
        with pytest.raises(NotFound):
            client.finish_run("nosuchrn", exit_code=0)
        with pytest.raises(NotFound):
            client.log("nosuchrn", 0, [MetricRow(step=0, values={"x": 1})])
        with pytest.raises(NotFound):
            client.history("nosuchrn")

    # -------------------------------------------------------------- next_run
    def test_grid_hands_out_every_point_once_then_finishes(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        runs = self.drain(client, sweep.id)
        assert {(r.config["lr"], r.config["optimizer"]) for r in runs} == GRID_POINTS
        assert len(runs) == len(GRID_POINTS)
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED
        assert client.next_run(sweep.id, "late-agent") is None

    def test_a_claimed_run_belongs_to_the_sweep_and_the_agent(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG, project="proj")
        run = client.next_run(sweep.id, "agent-7")
        assert run is not None
        assert re.fullmatch(r"[a-z0-9]{8}", run.id)
        assert run.name
        assert run.state is RunState.RUNNING
        assert (run.sweep_id, run.agent_id, run.project) == (sweep.id, "agent-7", "proj")
        assert set(run.config) == {"lr", "optimizer"}
        stored = client.get_run(run.id)
        assert (stored.id, stored.state, stored.agent_id) == (run.id, run.state, "agent-7")
        assert [r.id for r in client.list_runs(sweep.id)] == [run.id]

    def test_sweep_finishes_only_when_its_last_run_ends(self, client: Client) -> None:
        sweep = client.create_sweep({"method": "grid", "parameters": {"x": {"values": [1, 2]}}})
        first = client.next_run(sweep.id, "a")
        second = client.next_run(sweep.id, "b")
        assert first is not None and second is not None
        assert client.next_run(sweep.id, "c") is None
        client.finish_run(first.id, exit_code=0)
        assert client.get_sweep(sweep.id).state is SweepState.RUNNING
        client.finish_run(second.id, exit_code=1)
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    def test_finish_and_next_ends_a_run_and_claims_the_next(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "agent-1")
        seen = []
        while run is not None:
            seen.append(run)
            failing = len(seen) == 2
            ended, run = client.finish_and_next(
                seen[-1].id,
                "agent-2",
                exit_code=1 if failing else 0,
                error="boom" if failing else None,
            )
            assert ended.id == seen[-1].id
            assert ended.state is (RunState.FAILED if failing else RunState.FINISHED)
            assert client.get_run(ended.id).state is ended.state
            if run is not None:
                assert (run.state, run.sweep_id, run.agent_id) == (
                    RunState.RUNNING,
                    sweep.id,
                    "agent-2",
                )
            assert len(seen) <= len(GRID_POINTS)
        assert {(r.config["lr"], r.config["optimizer"]) for r in seen} == GRID_POINTS
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    def test_finish_and_next_finishes_the_sweep_with_its_last_run(self, client: Client) -> None:
        sweep = client.create_sweep(random_config(run_cap=3))
        first, second = client.next_run(sweep.id, "a"), client.next_run(sweep.id, "b")
        assert first is not None and second is not None
        ended, third = client.finish_and_next(first.id, "a", exit_code=0)
        assert ended.state is RunState.FINISHED and third is not None
        assert client.finish_and_next(second.id, "b", exit_code=0)[1] is None  # cap reached
        assert client.get_sweep(sweep.id).state is SweepState.RUNNING  # the third still runs
        ended, after = client.finish_and_next(third.id, "a", exit_code=1)
        assert (ended.state, after) == (RunState.FAILED, None)
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    def test_finish_and_next_claims_nothing_when_the_end_is_refused(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "a")
        assert run is not None
        client.finish_run(run.id, exit_code=0)
        with pytest.raises(Conflict):  # ended before, differently
            client.finish_and_next(run.id, "a", exit_code=1)
        with pytest.raises(NotFound):
            client.finish_and_next("nosuchrn", "a", exit_code=0)
        assert [r.id for r in client.list_runs(sweep.id)] == [run.id]
        plain = client.start_run()
        ended, after = client.finish_and_next(plain.id, "a", exit_code=0)  # no sweep, no next
        assert (ended.state, after) == (RunState.FINISHED, None)

    def test_run_cap_is_never_exceeded(self, client: Client) -> None:
        sweep = client.create_sweep(random_config(run_cap=3))
        runs = self.drain(client, sweep.id)
        assert len(runs) == 3
        assert len(client.list_runs(sweep.id)) == 3
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    def test_failed_runs_count_for_run_cap(self, client: Client) -> None:
        sweep = client.create_sweep(random_config(run_cap=2))
        for _ in range(2):
            run = client.next_run(sweep.id, "a")
            assert run is not None
            client.finish_run(run.id, exit_code=3, error="boom")
        assert client.next_run(sweep.id, "a") is None

    def test_a_seeded_random_sweep_is_reproducible(self, client: Client) -> None:
        configs = []
        for _ in range(2):
            sweep = client.create_sweep(random_config(seed=42, run_cap=4))
            configs.append([dict(r.config) for r in self.drain(client, sweep.id)])
        assert configs[0] == configs[1]
        assert len({r["lr"] for r in configs[0]}) == 4  # and the runs differ from each other

    def test_metric_target_stops_new_runs(self, client: Client) -> None:
        config = random_config()
        config["metric"] = {"name": "val/loss", "goal": "minimize", "target": 0.5}
        sweep = client.create_sweep(config)
        a = client.next_run(sweep.id, "a")
        b = client.next_run(sweep.id, "b")
        assert a is not None and b is not None
        client.log(a.id, 0, [MetricRow(step=0, values={"val/loss": 0.9})])
        client.finish_run(a.id, exit_code=0)
        assert client.next_run(sweep.id, "a") is not None  # 0.9 misses the target
        client.log(b.id, 0, [MetricRow(step=0, values={"val/loss": 0.4})])
        client.finish_run(b.id, exit_code=0)
        assert client.next_run(sweep.id, "b") is None
        running = [r for r in client.list_runs(sweep.id) if r.state is RunState.RUNNING]
        assert len(running) == 1
        assert client.get_sweep(sweep.id).state is SweepState.RUNNING
        client.finish_run(running[0].id, exit_code=0)
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    # -------------------------------------------------------------- logging
    def test_log_round_trips_nan_inf_and_every_kind_of_value(self, client: Client) -> None:
        run = client.start_run(project="p")
        rows = [
            MetricRow(step=0, values={"loss": NAN, "acc": 0.5, "n": 3}, time=1.5),
            MetricRow(step=1, values={"loss": INF, "neg": -INF, "label": "ünï", "ok": True}),
            MetricRow(step=2, values={"loss": 0.25, "big": 3e6, "nested": {"a": [1, NAN]}}),
        ]
        summary = {"loss": 0.25, "best": -INF, "nan": NAN}
        result = client.log(run.id, 0, rows, summary)
        assert result.applied and result.stop_reason is None
        got = client.history(run.id)
        assert [r.step for r in got] == [0, 1, 2]
        for want, have in zip(rows, got, strict=True):
            assert same_value(dict(have.values), dict(want.values)), (have, want)
        stored = client.get_run(run.id)
        for key, value in summary.items():
            assert same_value(stored.summary[key], value), key
        assert stored.last_seq == 0

    def test_history_filters_by_keys_and_step(self, client: Client) -> None:
        run = client.start_run()
        rows = [MetricRow(step=i, values={"a": i, "b": -i}) for i in range(5)]
        client.log(run.id, 0, rows)
        only_a = client.history(run.id, keys=["a"])
        assert [dict(r.values) for r in only_a] == [{"a": i} for i in range(5)]
        later = client.history(run.id, after_step=2)
        assert [r.step for r in later] == [3, 4]

    def test_log_is_idempotent_by_sequence_number(self, client: Client) -> None:
        run = client.start_run()
        batch = [MetricRow(step=0, values={"x": 1.0})]
        assert client.log(run.id, 0, batch, {"x": 1.0}).applied
        assert not client.log(run.id, 0, batch, {"x": 1.0}).applied
        assert client.log(run.id, 1, [MetricRow(step=1, values={"x": 2.0})], {"x": 2.0}).applied
        assert not client.log(run.id, 0, batch, {"x": 1.0}).applied  # a late retry
        assert [dict(r.values) for r in client.history(run.id)] == [{"x": 1.0}, {"x": 2.0}]
        stored = client.get_run(run.id)
        assert stored.summary["x"] == 2.0
        assert stored.last_seq == 1

    def test_a_negative_sequence_number_is_refused(self, client: Client) -> None:
        run = client.start_run()
        with pytest.raises(InvalidRequest):
            client.log(run.id, -1, [MetricRow(step=0, values={"x": 1})])
        assert client.history(run.id) == []

    def test_logging_to_an_ended_run_is_a_conflict_but_a_retry_is_not(self, client: Client) -> None:
        run = client.start_run()
        client.log(run.id, 0, [MetricRow(step=0, values={"x": 1})])
        client.finish_run(run.id, exit_code=0)
        with pytest.raises(Conflict):
            client.log(run.id, 1, [MetricRow(step=1, values={"x": 2})])
        assert not client.log(run.id, 0, [MetricRow(step=0, values={"x": 1})]).applied
        assert len(client.history(run.id)) == 1

    def test_a_runs_last_rows_travel_with_its_end_once(self, client: Client) -> None:
        run = client.start_run()
        client.log(run.id, 0, [MetricRow(step=0, values={"x": 1.0})], {"x": 1.0})
        last = LogBatch(1, [MetricRow(step=1, values={"x": NAN, "s": "ü"})], {"x": 2.0})
        ended = client.finish_run(run.id, exit_code=0, last_log=last)
        assert ended.state is RunState.FINISHED and ended.last_seq == 1
        assert ended.summary["x"] == 2.0
        again = client.finish_run(run.id, exit_code=0, last_log=last)  # a retried finish
        assert again.state is RunState.FINISHED and again.last_seq == 1
        history = client.history(run.id)
        assert [r.step for r in history] == [0, 1]
        assert same_value(dict(history[1].values), {"x": NAN, "s": "ü"})

    def test_finish_and_next_writes_the_last_rows_before_the_claim(self, client: Client) -> None:
        config = random_config(run_cap=2)
        config["metric"] = {"name": "val/loss", "goal": "minimize", "target": 0.5}
        sweep = client.create_sweep(config)
        run = client.next_run(sweep.id, "a")
        assert run is not None
        last = LogBatch(0, [MetricRow(step=0, values={"val/loss": 0.4})], {"val/loss": 0.4})
        ended, after = client.finish_and_next(run.id, "a", exit_code=0, last_log=last)
        # the target was reached by the rows that came with the end: nothing more is handed out
        assert (ended.state, ended.summary["val/loss"], after) == (RunState.FINISHED, 0.4, None)
        assert [dict(r.values) for r in client.history(run.id)] == [{"val/loss": 0.4}]
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED

    def test_last_rows_for_an_ended_run_are_refused_with_the_end(self, client: Client) -> None:
        run = client.start_run()
        client.finish_run(run.id, state=RunState.KILLED)
        late = LogBatch(0, [MetricRow(step=0, values={"x": 1})])
        with pytest.raises(Conflict):
            client.finish_run(run.id, state=RunState.KILLED, last_log=late)
        with pytest.raises(InvalidRequest):
            client.finish_run(client.start_run().id, exit_code=0, last_log=LogBatch(-1, []))
        assert client.history(run.id) == []
        assert client.get_run(run.id).last_seq == -1

    def test_list_plain_runs_by_project(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG, project="p")
        assert client.next_run(sweep.id, "a") is not None  # a sweep run: not listed
        first = client.start_run(project="p", name="one")
        other = client.start_run(project="q ✓")
        second = client.start_run(project="p")
        client.finish_run(second.id, exit_code=0)
        assert [r.id for r in client.list_plain_runs("p")] == [first.id, second.id]
        assert [r.id for r in client.list_plain_runs("q ✓")] == [other.id]
        assert [r.id for r in client.list_plain_runs()] == [first.id, other.id, second.id]
        assert client.list_plain_runs("none") == []
        listed = client.list_plain_runs("p")
        assert listed[0].name == "one" and listed[1].state is RunState.FINISHED

    def test_list_runs_after_a_time_returns_what_changed(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        runs = [client.next_run(sweep.id, "a") for _ in range(3)]
        assert all(r is not None for r in runs)
        cursor = max(r.updated_at or 0.0 for r in client.list_runs(sweep.id))
        changed = runs[1]
        assert changed is not None
        client.log(changed.id, 0, [MetricRow(step=0, values={"val/loss": 1.0})])
        assert [r.id for r in client.list_runs(sweep.id, updated_after=cursor)] == [changed.id]

    # -------------------------------------------------------------- finishing
    def test_exit_codes_decide_the_final_state(self, client: Client) -> None:
        ok = client.finish_run(client.start_run().id, exit_code=0)
        assert ok.state is RunState.FINISHED and ok.exit_code == 0
        assert ok.finished_at is not None
        returned = client.finish_run(client.start_run().id)
        assert returned.state is RunState.FINISHED
        bad = client.finish_run(
            client.start_run().id, exit_code=2, error="Traceback ...\nValueError: ü"
        )
        assert bad.state is RunState.FAILED and bad.exit_code == 2
        assert bad.error == "Traceback ...\nValueError: ü"
        explicit = client.finish_run(client.start_run().id, state=RunState.KILLED, exit_code=0)
        assert explicit.state is RunState.KILLED

    def test_finishing_twice(self, client: Client) -> None:
        run = client.finish_run(client.start_run().id, exit_code=0)
        again = client.finish_run(run.id, exit_code=0)  # a retry: same outcome, no error
        assert again.state is RunState.FINISHED
        with pytest.raises(Conflict):
            client.finish_run(run.id, exit_code=1)
        with pytest.raises(Conflict):
            client.finish_run(run.id, state=RunState.CRASHED)
        with pytest.raises(InvalidRequest):
            client.finish_run(client.start_run().id, state=RunState.RUNNING)

    def test_plain_runs_live_outside_sweeps(self, client: Client) -> None:
        run = client.start_run(
            project="p", entity="e", name="my run ✓", config={"lr": 0.1, "inf": INF}
        )
        assert run.sweep_id is None and run.state is RunState.RUNNING
        assert run.name == "my run ✓" and (run.project, run.entity) == ("p", "e")
        assert same_value(dict(client.get_run(run.id).config), {"lr": 0.1, "inf": INF})
        assert client.start_run().name  # a name is generated

    def test_config_updates_are_saved_until_the_run_ends(self, client: Client) -> None:
        run = client.start_run(config={"lr": 0.1, "opt": {"name": "adam"}})
        after = client.update_config(run.id, {"epochs": 10, "opt": {"name": "sgd"}, "x": NAN})
        expected = {"lr": 0.1, "opt": {"name": "sgd"}, "epochs": 10, "x": NAN}
        assert same_value(dict(after.config), expected)
        assert same_value(dict(client.get_run(run.id).config), expected)
        client.finish_run(run.id, exit_code=0)
        with pytest.raises(Conflict, match="config cannot change"):
            client.update_config(run.id, {"epochs": 11})
        assert client.get_run(run.id).config["epochs"] == 10
        with pytest.raises(NotFound):
            client.update_config("no-such-run", {"a": 1})

    def test_config_updates_keep_the_sweeps_parameters(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "agent")
        assert run is not None
        chosen = dict(run.config)
        after = client.update_config(run.id, {"lr": 123.0, "epochs": 5, "optimizer": "rmsprop"})
        assert dict(after.config) == {**chosen, "epochs": 5}
        assert dict(client.get_run(run.id).config) == {**chosen, "epochs": 5}

    # -------------------------------------------------------------- sweep states
    def test_pause_and_resume(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        assert client.set_sweep_state(sweep.id, "pause").state is SweepState.PAUSED
        assert client.set_sweep_state(sweep.id, "pause").state is SweepState.PAUSED
        assert client.next_run(sweep.id, "a") is None
        assert client.get_sweep(sweep.id).state is SweepState.PAUSED
        assert client.set_sweep_state(sweep.id, "resume").state is SweepState.RUNNING
        assert client.next_run(sweep.id, "a") is not None

    def test_stop_lets_running_runs_finish(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "a")
        assert run is not None
        assert client.set_sweep_state(sweep.id, "stop").state is SweepState.FINISHED
        assert client.next_run(sweep.id, "a") is None
        assert client.heartbeat("a", [run.id]) == {}
        assert client.log(run.id, 0, [MetricRow(step=0, values={"val/loss": 1.0})]).applied
        assert client.finish_run(run.id, exit_code=0).state is RunState.FINISHED
        with pytest.raises(Conflict, match="Sweep already finished"):
            client.set_sweep_state(sweep.id, "stop")
        with pytest.raises(Conflict, match="Cannot pause finished sweep"):
            client.set_sweep_state(sweep.id, "pause")

    def test_cancel_asks_running_runs_to_stop_and_they_end_killed(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "a")
        done = client.next_run(sweep.id, "b")
        assert run is not None and done is not None
        client.finish_run(done.id, exit_code=0)
        assert client.set_sweep_state(sweep.id, "cancel").state is SweepState.CANCELED
        assert client.heartbeat("a", [run.id]) == {run.id: "sweep canceled"}
        logged = client.log(run.id, 0, [MetricRow(step=0, values={"val/loss": 1.0})])
        assert logged.stop_reason == "sweep canceled"
        assert client.next_run(sweep.id, "c") is None
        assert client.finish_run(run.id, exit_code=-9).state is RunState.KILLED
        assert client.get_run(done.id).state is RunState.FINISHED  # ended runs stay as they were
        with pytest.raises(Conflict, match="Sweep already canceled"):
            client.set_sweep_state(sweep.id, "cancel")
        with pytest.raises(Conflict):
            client.set_sweep_state(sweep.id, "resume")

    def test_an_unknown_action_is_refused(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        with pytest.raises(InvalidRequest):
            client.set_sweep_state(sweep.id, "explode")  # type: ignore[arg-type]
        assert client.get_sweep(sweep.id).state is SweepState.RUNNING

    # -------------------------------------------------------------- stops and heartbeats
    def test_heartbeat_reports_only_runs_that_must_stop(self, client: Client) -> None:
        sweep = client.create_sweep(GRID_CONFIG)
        run = client.next_run(sweep.id, "a")
        ended = client.next_run(sweep.id, "a")
        assert run is not None and ended is not None
        client.finish_run(ended.id, exit_code=0)
        stops = client.heartbeat("a", [run.id, ended.id, "nosuchrn"])
        assert run.id not in stops
        assert set(stops) == {ended.id, "nosuchrn"}

    def test_hyperband_stop_reaches_the_run_through_log_and_heartbeat(self, client: Client) -> None:
        config = {
            "method": "grid",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"x": {"values": [1, 2, 3, 4]}},
            "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
        }
        sweep = client.create_sweep(config)
        good = [client.next_run(sweep.id, "a") for _ in range(2)]
        for seq, (run, loss) in enumerate(zip(good, (0.1, 0.2), strict=True)):
            assert run is not None
            result = client.log(run.id, seq, [MetricRow(step=0, values={"loss": loss})])
            assert result.stop_reason is None
            client.finish_run(run.id, exit_code=0)
        bad = client.next_run(sweep.id, "b")
        assert bad is not None
        result = client.log(bad.id, 0, [MetricRow(step=0, values={"loss": 10.0})])
        assert result.applied and result.stop_reason
        assert client.heartbeat("b", [bad.id]) == {bad.id: result.stop_reason}
        assert client.get_run(bad.id).stop_reason == result.stop_reason
        ended = client.finish_run(bad.id, exit_code=0)
        assert ended.state is RunState.STOPPED
        assert ended.stop_reason == result.stop_reason
        assert [dict(r.values) for r in client.history(bad.id)] == [{"loss": 10.0}]

    def test_many_claims_never_repeat_a_grid_point(self, client: Client) -> None:
        config = {
            "method": "grid",
            "parameters": {"a": {"values": [1, 2, 3, 4]}, "b": {"values": ["x", "y", "z"]}},
        }
        sweep = client.create_sweep(config)
        agents = itertools.cycle(["a1", "a2", "a3"])
        claimed = []
        while (run := client.next_run(sweep.id, next(agents))) is not None:
            claimed.append((run.config["a"], run.config["b"]))
        assert sorted(claimed) == sorted(itertools.product([1, 2, 3, 4], ["x", "y", "z"]))
