"""The agent's loop over a real SQLite store: which calls it makes between runs, and that a run
claimed together with the previous run's end is never left running."""

from __future__ import annotations

import io
import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

import opensweep
from opensweep.agent.runner import Agent, AgentOptions
from opensweep.client.local import LocalClient
from opensweep.core.model import RunState, SweepState
from opensweep.errors import Conflict, InvalidRequest, StoreError

GRID = {"method": "grid", "metric": {"name": "loss"}, "parameters": {"k": {"values": [1, 2, 3, 4]}}}


class CountingClient:
    """The in-process client, counting the verbs the agent calls (not the ones they make)."""

    def __init__(self, url: str) -> None:
        self.inner = LocalClient(url)
        self.calls: Counter[str] = Counter()
        self.after_finish_and_next: Callable[[], None] | None = None

    def __getattr__(self, name: str) -> Any:
        verb = getattr(self.inner, name)
        if not callable(verb):
            return verb

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            answer = verb(*args, **kwargs)
            if name == "finish_and_next" and self.after_finish_and_next is not None:
                self.after_finish_and_next()
            return answer

        return counted


def train() -> None:
    opensweep.init()
    opensweep.log({"loss": float(opensweep.config.k)})


def agent_on(client: CountingClient, count: int | None = None) -> Agent:
    sweep = client.create_sweep(GRID)
    quiet = Console(file=io.StringIO())
    options = AgentOptions(count=count)
    return Agent(client, sweep.id, function=train, options=options, console=quiet)  # type: ignore[arg-type]


def test_between_runs_the_agent_makes_one_call(sqlite_url: str) -> None:
    client = CountingClient(sqlite_url)
    agent = agent_on(client)
    client.calls.clear()
    result = agent.run()
    assert [r.state for r in result.runs] == [RunState.FINISHED] * 4
    assert sorted(r.config["k"] for r in result.runs) == [1, 2, 3, 4]
    # per run: one call that writes its row, ends it and claims the next; besides, one claim
    # to start, one that finds the grid done, and the sweep read at the start and at the end
    assert client.calls == Counter(finish_and_next=4, next_run=2, get_sweep=2)
    assert client.get_sweep(agent.sweep_id).state is SweepState.FINISHED
    for run in result.runs:
        assert [dict(r.values) for r in client.history(run.id)] == [{"loss": run.config["k"]}]
        assert run.summary["loss"] == run.config["k"] and run.last_seq == 0


def test_a_function_that_finishes_its_run_ends_it_with_its_rows(sqlite_url: str) -> None:
    client = CountingClient(sqlite_url)
    sweep = client.create_sweep(GRID)

    def finishing() -> None:
        run = opensweep.init()
        opensweep.log({"loss": float(opensweep.config.k)})
        run.finish()
        # W&B's agent too keeps a run its function finished, whatever comes after
        assert client.inner.get_run(run.id).state is RunState.FINISHED
        if opensweep.config.k == 2:
            raise RuntimeError("after the end")

    quiet = Console(file=io.StringIO())
    agent = Agent(client, sweep.id, function=finishing, console=quiet)  # type: ignore[arg-type]
    client.calls.clear()
    result = agent.run()
    assert [r.state for r in result.runs] == [RunState.FINISHED] * 4
    # per run: the end with its row (finish), then a claim; one more claim finds the grid done
    assert client.calls == Counter(finish_run=4, next_run=5, get_sweep=2)
    for run in result.runs:
        assert [dict(r.values) for r in client.history(run.id)] == [{"loss": run.config["k"]}]


class RefusingEnds(CountingClient):
    """Refuses, once each, an end that carries a run's last rows (as a store that is briefly
    away would): the rows must still be written, once, and the run ended."""

    def __init__(self, url: str, error: Exception) -> None:
        super().__init__(url)
        self.error = error
        self.refused = 0

    def finish_and_next(self, *args: Any, **kwargs: Any) -> Any:
        return self._maybe_refuse("finish_and_next", *args, **kwargs)

    def finish_run(self, *args: Any, **kwargs: Any) -> Any:
        return self._maybe_refuse("finish_run", *args, **kwargs)

    def _maybe_refuse(self, verb: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[verb] += 1
        if kwargs.get("last_log") is not None:
            self.refused += 1
            raise self.error
        return getattr(self.inner, verb)(*args, **kwargs)


@pytest.mark.parametrize(
    "error", [StoreError("database is locked"), InvalidRequest("refused"), Conflict("ended")]
)
def test_rows_an_end_could_not_carry_are_written_by_the_writer(
    sqlite_url: str, error: Exception
) -> None:
    client = RefusingEnds(sqlite_url, error)
    agent = agent_on(client, count=2)
    result = agent.run()
    assert client.refused == 3  # finish_and_next, then finish_run, of the first run; the last
    assert [r.state for r in result.runs] == [RunState.FINISHED] * 2
    for run in result.runs:  # written through log() instead, exactly once
        assert [dict(r.values) for r in client.history(run.id)] == [{"loss": run.config["k"]}]


def test_when_finish_cannot_end_the_run_the_agent_does_and_no_row_is_lost(
    sqlite_url: str,
) -> None:
    client = RefusingEnds(sqlite_url, StoreError("database is locked"))
    sweep = client.create_sweep(GRID)

    def finishing() -> None:
        run = opensweep.init()
        opensweep.log({"loss": float(opensweep.config.k)})
        run.finish()
        assert client.inner.get_run(run.id).state is RunState.RUNNING  # not ended: refused

    quiet = Console(file=io.StringIO())
    options = AgentOptions(count=2)
    agent = Agent(client, sweep.id, function=finishing, options=options, console=quiet)  # type: ignore[arg-type]
    result = agent.run()
    assert client.refused == 2  # each run's finish() with its row
    assert [r.state for r in result.runs] == [RunState.FINISHED] * 2
    for run in result.runs:
        assert [dict(r.values) for r in client.history(run.id)] == [{"loss": run.config["k"]}]


def test_the_last_counted_run_claims_nothing_more(sqlite_url: str) -> None:
    client = CountingClient(sqlite_url)
    agent = agent_on(client, count=2)
    client.calls.clear()
    result = agent.run()
    assert result.reason == "count 2 reached"
    assert client.calls["finish_run"] == 1 and client.calls["finish_and_next"] == 1
    assert [r.state for r in client.list_runs(agent.sweep_id)] == [RunState.FINISHED] * 2


def test_a_run_claimed_just_before_an_interrupt_is_ended_not_left_running(
    sqlite_url: str,
) -> None:
    client = CountingClient(sqlite_url)
    agent = agent_on(client)

    def interrupt() -> None:  # a SIGTERM arriving while the agent's call was on its way
        agent._interrupted = signal.SIGTERM

    client.after_finish_and_next = interrupt
    result = agent.run()
    assert result.reason == "interrupted"
    runs = client.list_runs(agent.sweep_id)
    assert [r.state for r in runs] == [RunState.FINISHED, RunState.KILLED]
    assert runs[1].error == "the agent stopped before this run began"


def test_run_lines_are_plain_text_in_a_log_and_styled_on_a_terminal(sqlite_url: str) -> None:
    client = CountingClient(sqlite_url)
    agent = agent_on(client, count=1)
    result = agent.run()
    name = result.runs[0].name
    k = result.runs[0].config["k"]
    log = agent.console.file.getvalue()  # type: ignore[attr-defined]
    assert f"▶ {name} k={k}\n" in log
    assert f"■ {name} finished loss={float(k):.4g} (step 0)\n" in log
    assert "\x1b[" not in log and "[/" not in log

    terminal = Console(file=io.StringIO(), force_terminal=True)
    agent = Agent(client, agent.sweep_id, function=train, console=terminal)  # type: ignore[arg-type]
    agent.options.count = 1
    agent.run()
    shown = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in shown and "■" in shown


def test_one_beater_beats_for_each_run_in_turn(sqlite_url: str) -> None:
    client = LocalClient(sqlite_url)
    sweep = client.create_sweep({"method": "grid", "parameters": {"k": {"values": [1, 2]}}})

    def slow() -> None:
        opensweep.init()
        time.sleep(0.3)

    options = AgentOptions(heartbeat_interval=0.05)
    quiet = Console(file=io.StringIO())
    result = Agent(client, sweep.id, function=slow, options=options, console=quiet).run()
    assert len(result.runs) == 2
    for run in client.list_runs(sweep.id):
        assert run.heartbeat_at is not None and run.heartbeat_at > run.created_at + 0.04


def test_a_stop_sent_with_a_heartbeat_reaches_a_run_that_does_not_log(sqlite_url: str) -> None:
    client = LocalClient(sqlite_url)
    sweep = client.create_sweep(GRID)
    waited: list[float] = []

    def waits_for_the_stop() -> None:
        run = opensweep.init()
        with LocalClient(sqlite_url) as other:
            other.set_sweep_state(sweep.id, "cancel")
        started = time.monotonic()
        while not run.should_stop and time.monotonic() - started < 5:
            time.sleep(0.01)
        waited.append(time.monotonic() - started)

    options = AgentOptions(heartbeat_interval=0.05)
    quiet = Console(file=io.StringIO())
    result = Agent(
        client, sweep.id, function=waits_for_the_stop, options=options, console=quiet
    ).run()
    assert waited and waited[0] < 2  # delivered by a beat, not by the 5 s give-up
    assert [r.state for r in result.runs] == [RunState.KILLED]  # a canceled sweep's run
