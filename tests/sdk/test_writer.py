"""The background writer: batches, retries, idempotency, bounded memory and refusals.

The clients here are real LocalClients on a SQLite file, wrapped to fail the way a network or
a restarting server does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

import opensweep
from opensweep.client import connect
from opensweep.client.base import Client, LogResult
from opensweep.core.model import MetricRow, RunState
from opensweep.errors import InvalidRequest, TransportError
from opensweep.sdk import LogWriter, WriterSettings
from opensweep.sdk.config import Config
from opensweep.sdk.run import Run, RunMode

FAST = WriterSettings(flush_interval=0.01, backoff_initial=0.01, backoff_max=0.05)


class FlakyClient:
    """A real client whose ``log`` fails on demand."""

    def __init__(self, inner: Client) -> None:
        self.inner = inner
        self.url = inner.url
        self.down = threading.Event()
        self.fail_next = 0
        self.apply_then_fail = False  # the batch lands but the answer is lost
        self.poison: str | None = None  # refuse any batch with this key
        self.calls: list[tuple[int, int]] = []  # (seq, rows)

    def log(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Any = None,
    ) -> LogResult:
        self.calls.append((seq, len(rows)))
        if self.down.is_set():
            raise TransportError("connection refused")
        if self.poison is not None and any(self.poison in r.values for r in rows):
            raise InvalidRequest(f"{self.poison} is not allowed")
        if self.fail_next > 0:
            self.fail_next -= 1
            if self.apply_then_fail:
                self.inner.log(run_id, seq, rows, summary)
            raise TransportError("connection reset")
        return self.inner.log(run_id, seq, rows, summary)

    finish_fails = 0

    def finish_run(self, run_id: str, **kwargs: Any) -> Any:
        if self.finish_fails > 0:
            self.finish_fails -= 1
            raise TransportError("connection refused")
        return self.inner.finish_run(run_id, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def flaky(client: Client) -> FlakyClient:
    return FlakyClient(client)


def values(client: Client, run_id: str, key: str = "i") -> list[Any]:
    return [r.values[key] for r in client.history(run_id)]


def write(writer: LogWriter, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        writer.put_row(i, {"i": i}, time.time())


def test_transient_failures_are_retried_with_the_same_sequence_number(
    client: Client, flaky: FlakyClient
) -> None:
    run = client.start_run()
    flaky.fail_next = 3
    writer = LogWriter(flaky, run.id, settings=FAST)  # type: ignore[arg-type]
    write(writer, 10)
    assert writer.close(timeout=10)
    assert values(client, run.id) == list(range(10))
    assert writer.stats.retries == 3 and writer.stats.rows_written == 10
    first_seq = flaky.calls[0][0]
    assert [seq for seq, _ in flaky.calls[:4]] == [first_seq] * 4


def test_lost_answers_never_duplicate_rows(client: Client, flaky: FlakyClient) -> None:
    run = client.start_run()
    flaky.fail_next = 2
    flaky.apply_then_fail = True
    writer = LogWriter(flaky, run.id, settings=FAST)  # type: ignore[arg-type]
    write(writer, 5)
    assert writer.flush(timeout=10)
    write(writer, 5, start=5)
    assert writer.close(timeout=10)
    assert values(client, run.id) == list(range(10))
    assert client.get_run(run.id).last_seq == 1  # two batches, each applied once


def test_a_backlog_is_sent_without_waiting_for_the_interval(
    client: Client, flaky: FlakyClient
) -> None:
    run = client.start_run()
    slow = WriterSettings(flush_interval=30.0, max_batch_rows=100)
    writer = LogWriter(flaky, run.id, settings=slow)  # type: ignore[arg-type]
    write(writer, 1000)
    deadline = time.monotonic() + 10
    while writer.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.pending == 0  # ten full batches, back to back, no 30 s pause
    assert max(n for _, n in flaky.calls) <= 100
    writer.close(timeout=5)


def test_a_full_buffer_blocks_the_caller_until_the_store_is_back(
    client: Client, flaky: FlakyClient, caplog: pytest.LogCaptureFixture
) -> None:
    run = client.start_run()
    settings = WriterSettings(
        flush_interval=0.01, max_batch_rows=10, max_buffered_rows=50, backoff_max=0.05
    )
    flaky.down.set()
    writer = LogWriter(flaky, run.id, settings=settings)  # type: ignore[arg-type]
    done = threading.Event()

    def produce() -> None:
        write(writer, 200)
        done.set()

    with caplog.at_level(logging.WARNING, logger="opensweep"):
        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(0.5)
        assert not done.is_set()  # blocked, not dropping
        assert writer.pending <= 50 + 10  # the bound, plus one batch in flight
        flaky.down.clear()
        producer.join(timeout=20)
    assert done.is_set()
    assert "log() now blocks" in caplog.text and "connection refused" in caplog.text
    assert writer.close(timeout=10)
    assert values(client, run.id) == list(range(200))


def test_a_refused_row_is_isolated_and_dropped(
    client: Client, flaky: FlakyClient, caplog: pytest.LogCaptureFixture
) -> None:
    run = client.start_run()
    flaky.poison = "bad"
    settings = WriterSettings(flush_interval=10.0, max_batch_rows=64)
    writer = LogWriter(flaky, run.id, settings=settings)  # type: ignore[arg-type]
    write(writer, 20)
    writer.put_row(20, {"i": 20, "bad": 1}, time.time())
    write(writer, 20, start=21)
    with caplog.at_level(logging.WARNING, logger="opensweep"):
        assert writer.close(timeout=10)
    assert values(client, run.id) == [i for i in range(41) if i != 20]
    assert writer.stats.rows_dropped == 1
    assert "refused step 20" in caplog.text


def test_finish_gives_up_after_its_timeout_with_a_warning(
    client: Client, flaky: FlakyClient, caplog: pytest.LogCaptureFixture
) -> None:
    record = client.start_run()
    flaky.down.set()
    run = Run(
        client=flaky,  # type: ignore[arg-type]
        record=record,
        config=Config(),
        mode=RunMode.PLAIN,
        owns_client=False,
        settings=FAST,
    )
    run.log({"i": 1})
    run.log({"i": 2})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="opensweep"):
        run.finish(timeout=0.5)
    assert time.monotonic() - started < 5
    assert not run.flushed
    assert "2 metric rows" in caplog.text and "they are lost" in caplog.text
    assert "OPENSWEEP_FINISH_TIMEOUT" in caplog.text


def test_a_run_ended_elsewhere_stops_the_logger(
    sqlite: str, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    run = opensweep.init()
    opensweep.log({"i": 0})
    run.flush(timeout=10)
    client.finish_run(run.id, state=RunState.KILLED)
    deadline = time.monotonic() + 10
    with (
        caplog.at_level(logging.WARNING, logger="opensweep"),
        pytest.raises(opensweep.RunStopped, match="no longer accepts metrics"),
    ):
        while time.monotonic() < deadline:
            opensweep.log({"i": 1})
            time.sleep(0.005)
    assert run.should_stop
    assert "no longer accepts metrics" in caplog.text


def test_summary_only_batches_and_explicit_flush(client: Client) -> None:
    run = client.start_run()
    writer = LogWriter(client, run.id, settings=WriterSettings(flush_interval=30.0))
    writer.put_summary({"best": 0.5})
    assert writer.flush(timeout=10)  # flush does not wait for the interval
    assert client.get_run(run.id).summary["best"] == 0.5
    assert client.history(run.id) == []
    writer.close(timeout=5)


def test_many_rows_through_a_real_run_on_postgres_and_sqlite(url: str) -> None:
    run = opensweep.init()
    for i in range(3000):
        opensweep.log({"i": i, "loss": 1.0 / (i + 1)})
    run.finish()
    with connect(url) as c:
        assert values(c, run.id) == list(range(3000))
        assert c.get_run(run.id).summary["i"] == 2999


def test_log_never_talks_to_the_store_in_the_callers_thread(
    client: Client, flaky: FlakyClient
) -> None:
    record = client.start_run()
    callers: set[str] = set()
    inner_log = flaky.log

    def spying_log(*args: Any, **kwargs: Any) -> LogResult:
        callers.add(threading.current_thread().name)
        return inner_log(*args, **kwargs)

    flaky.log = spying_log  # type: ignore[method-assign]
    flaky.down.set()  # even with the store away, log() returns at once
    run = Run(
        client=flaky,  # type: ignore[arg-type]
        record=record,
        config=Config(),
        mode=RunMode.PLAIN,
        owns_client=False,
        settings=FAST,
    )
    started = time.monotonic()
    for i in range(2000):
        run.log({"i": i})
    assert time.monotonic() - started < 2.0
    time.sleep(0.1)  # the writer thread tries meanwhile
    assert len(callers) == 1 and threading.current_thread().name not in callers
    assert callers.pop().startswith("opensweep-background")
    flaky.down.clear()
    run.finish(timeout=10)  # finish() may send the rest itself
    assert values(client, record.id) == list(range(2000))


def test_finish_retries_recording_the_end_while_the_server_is_away(
    client: Client, flaky: FlakyClient
) -> None:
    record = client.start_run()
    flaky.finish_fails = 2
    run = Run(
        client=flaky,  # type: ignore[arg-type]
        record=record,
        config=Config(),
        mode=RunMode.PLAIN,
        owns_client=False,
        settings=FAST,
    )
    run.log({"i": 0})
    run.finish(exit_code=0)
    assert flaky.finish_fails == 0
    assert client.get_run(record.id).state is RunState.FINISHED


# -- lending the last rows to the call that ends the run ----------------------------------------


def test_lent_rows_are_one_batch_under_the_next_number(client: Client) -> None:
    run = client.start_run()
    writer = LogWriter(client, run.id, settings=WriterSettings(flush_interval=30.0))
    write(writer, 3)
    writer.put_summary({"best": 7})
    lent = writer.lend()
    assert lent is not None and writer.lend() is None  # lent once
    assert [r.values["i"] for r in lent.batch.rows] == [0, 1, 2]
    assert lent.batch.seq == 0 and lent.batch.summary is not None
    assert lent.batch.summary["best"] == 7 and lent.batch.summary["_step"] == 2
    assert writer.pending == 4  # not written until the end call says so
    client.finish_run(run.id, exit_code=0, last_log=lent.batch)
    lent.written()
    assert writer.pending == 0 and writer.stats.rows_written == 3
    assert values(client, run.id) == [0, 1, 2]
    with pytest.raises(RuntimeError):
        lent.give_back()  # settled already


def test_while_lent_the_thread_sends_nothing_and_given_back_it_sends_them_once(
    client: Client, flaky: FlakyClient
) -> None:
    run = client.start_run()
    writer = LogWriter(flaky, run.id, settings=FAST)  # type: ignore[arg-type]
    write(writer, 5)
    lent = writer.lend()
    assert lent is not None
    time.sleep(0.1)  # ten flush intervals
    assert flaky.calls == []
    assert lent.give_back(timeout=10)
    assert flaky.calls == [(lent.batch.seq, 5)]  # the same number: a retry, were it applied
    assert values(client, run.id) == list(range(5))


def test_a_busy_writer_lends_nothing(client: Client, flaky: FlakyClient) -> None:
    run = client.start_run()
    writer = LogWriter(flaky, run.id, settings=FAST)  # type: ignore[arg-type]
    assert writer.lend() is None  # nothing queued
    flaky.down.set()
    write(writer, 2)
    deadline = time.monotonic() + 10
    while writer.stats.retries == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.lend() is None  # a batch in flight, retried: it keeps its number
    flaky.down.clear()
    assert writer.close(timeout=10)
    assert values(client, run.id) == [0, 1]
