"""The background writer: ``log()`` appends to a queue, a background thread sends its batches.

Guarantees:

- **No loss, no duplicates.** A batch leaves memory only after ``client.log`` answered. Each batch
  carries a run-local sequence number; a batch whose answer was lost is sent again with the same
  number and the same rows, and the controller applies a number once.
- **Retries with exponential backoff** while the store/server is unreachable (``TransportError``,
  ``StoreError`` or any unexpected exception), from ``backoff_initial`` up to ``backoff_max``.
- **Bounded memory.** At most ``max_buffered_rows`` rows wait in the queue (plus one batch in
  flight). Past the bound ``log()`` *blocks* (with one warning) until rows are written: training
  slows down rather than losing data.
- **No idle waiting on a backlog.** The writer sends at most every ``flush_interval`` seconds while
  the queue holds less than a full batch, and back to back while it holds more.
- A row the controller refuses (``InvalidRequest``/``PayloadTooLarge``) is isolated by halving the
  batch and then dropped with a warning; when the run no longer accepts metrics (``Conflict``,
  ``NotFound``: it ended, or it was killed) the queue is dropped and the run is told to stop.
- **The last rows can travel with the run's end.** :meth:`LogWriter.lend` hands an idle writer's
  queue, as its next numbered batch, to the call that ends the run (one write instead of two);
  that caller says :meth:`LentRows.written`, or :meth:`LentRows.give_back` and the writer sends
  them as above.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opensweep.client.base import Client
from opensweep.core.model import LogBatch, MetricRow
from opensweep.errors import (
    ConfigError,
    Conflict,
    InvalidRequest,
    NotFound,
    OpenSweepError,
    PayloadTooLarge,
)
from opensweep.sdk.threads import background

logger = logging.getLogger("opensweep")

# Errors after which sending the same batch again can never succeed.
_REFUSED = (InvalidRequest, PayloadTooLarge, ConfigError)
_RUN_GONE = (Conflict, NotFound)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class WriterSettings:
    flush_interval: float = 0.2  # seconds between batches while there is no backlog
    max_batch_rows: int = 1000
    max_buffered_rows: int = 100_000  # past this, log() blocks until rows are written
    backoff_initial: float = 0.05
    backoff_max: float = 5.0
    finish_timeout: float = 120.0  # how long finish() waits for the last rows
    heartbeat_interval: float = 15.0  # plain runs only: the agent beats for sweep runs

    @classmethod
    def from_env(cls) -> WriterSettings:
        """Defaults, overridden by ``OPENSWEEP_LOG_FLUSH_INTERVAL``, ``OPENSWEEP_LOG_BUFFER_ROWS``
        and ``OPENSWEEP_FINISH_TIMEOUT``."""
        base = cls()
        return cls(
            flush_interval=_env_float("OPENSWEEP_LOG_FLUSH_INTERVAL", base.flush_interval),
            max_buffered_rows=int(_env_float("OPENSWEEP_LOG_BUFFER_ROWS", base.max_buffered_rows)),
            finish_timeout=_env_float("OPENSWEEP_FINISH_TIMEOUT", base.finish_timeout),
        )


class _SummaryWrite:
    """A user write to ``run.summary``, queued in order with the rows."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values


# A queued row: (step, values, wall time).
_Item = tuple[int, dict[str, Any], float] | _SummaryWrite


@dataclass
class WriterStats:
    rows_written: int = 0
    batches_sent: int = 0
    retries: int = 0
    rows_dropped: int = 0


class LogWriter:
    """Owns one run's queue of metric rows and the thread that sends them."""

    def __init__(
        self,
        client: Client,
        run_id: str,
        *,
        first_seq: int = 0,
        settings: WriterSettings | None = None,
        on_stop: Callable[[str], None] | None = None,
        heartbeat_agent_id: str | None = None,
        started_at: float | None = None,
    ) -> None:
        self.client = client
        self._started_at = started_at
        self.run_id = run_id
        self.settings = settings or WriterSettings()
        self.stats = WriterStats()
        self._on_stop = on_stop
        self._heartbeat_agent_id = heartbeat_agent_id
        self._queue: deque[_Item] = deque()
        self._seq = first_seq
        self._enqueued = 0  # items ever queued (written by the logging thread only)
        self._processed = 0  # items written or dropped (written by the writer thread only)
        self._flush_target = 0
        self._batch_limit = self.settings.max_batch_rows
        self._inflight: list[_Item] | None = None
        self._lent = False  # the queue's rows are lent to the call that ends the run
        self._last_error: BaseException | None = None
        self._gone: BaseException | None = None  # set when the run no longer accepts metrics
        self._retry_delay = 0.0
        self._warned_full = False
        self._wake = threading.Event()
        self._abort = threading.Event()
        self._closing = False
        self._progress = threading.Condition()
        self._sending = threading.Lock()  # one sender at a time: this thread, or close()
        self._task = background.start(self._main)

    # -- producer side (the training thread) -----------------------------------------------

    def put_row(self, step: int, values: dict[str, Any], t: float) -> None:
        if len(self._queue) >= self._batch_limit:  # a full batch waits: no reason to sleep on
            self._backlog()
        self._queue.append((step, values, t))
        self._enqueued += 1

    def put_summary(self, values: dict[str, Any]) -> None:
        self._queue.append(_SummaryWrite(dict(values)))
        self._enqueued += 1

    def _backlog(self) -> None:
        self._wake.set()
        if len(self._queue) >= self.settings.max_buffered_rows:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        if not self._warned_full:
            self._warned_full = True
            logger.warning(
                "opensweep: %d metric rows of run %s are waiting to be written to %s "
                "(last error: %s); log() now blocks until the store accepts them",
                len(self._queue),
                self.run_id,
                self.client.url,
                self._last_error,
            )
        with self._progress:
            while (
                len(self._queue) >= self.settings.max_buffered_rows
                and self._task.alive
                and not self._abort.is_set()
            ):
                self._progress.wait(0.1)

    @property
    def pending(self) -> int:
        """Items queued or in flight that are not written yet."""
        return self._enqueued - self._processed

    @property
    def last_error(self) -> BaseException | None:
        return self._last_error

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (or dropped). False on timeout."""
        target = self._enqueued
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            self._flush_target = max(self._flush_target, target)
            self._wake.set()
            while self._processed < target:
                if not self._task.alive:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._progress.wait(0.25 if remaining is None else min(remaining, 0.25))
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then stop the thread. On timeout, warn, give up the rest and return False."""
        if timeout is None:
            timeout = self.settings.finish_timeout
        done = self._send_here() or self.flush(timeout)
        if not done:
            lost = self.pending
            self._abort.set()
            logger.warning(
                "opensweep: %d metric rows of run %s could not be written to %s within %.0f s "
                "(last error: %s); they are lost. Raise OPENSWEEP_FINISH_TIMEOUT to wait longer.",
                lost,
                self.run_id,
                self.client.url,
                timeout,
                self._last_error,
            )
        self._closing = True
        self._wake.set()
        self._task.join(timeout=5.0)
        return done

    def lend(self) -> LentRows | None:
        """The rows still queued, as the next batch, for the caller to write together with the
        run's end (one write instead of two); the caller then says whether it did
        (:meth:`LentRows.written`) or gives them back (:meth:`LentRows.give_back`). None when
        there is nothing to lend, or the writer is busy (sending, retrying, more than a batch
        queued, a run that no longer accepts metrics): then ``close()`` as usual."""
        if not self._sending.acquire(blocking=False):
            return None
        try:
            queue = self._queue
            if (
                not queue
                or len(queue) > self._batch_limit
                or self._inflight is not None
                or self._gone is not None
                or self._lent
            ):
                return None
            items = self._take(len(queue))
            rows, summary = self._batch_of(items)
            self._lent = True  # the thread sends nothing meanwhile: the number is taken
            return LentRows(self, items, LogBatch(self._seq, rows, summary or None))
        finally:
            self._sending.release()

    def _lent_written(self, items: list[_Item], rows: int) -> None:
        self._lent = False
        self._seq += 1
        self.stats.batches_sent += 1
        self.stats.rows_written += rows
        self._done(len(items))
        self._closing = True
        self._wake.set()
        self._task.join(timeout=5.0)

    def _lent_back(self, items: list[_Item], timeout: float | None) -> bool:
        with self._sending:
            self._queue.extendleft(reversed(items))  # first again, as one batch: same number
            self._lent = False
        return self.close(timeout)

    def _send_here(self) -> bool:
        """Send what is queued from the calling thread, if the writer thread is not sending:
        the end of a short run, without waking that thread and waiting for it (on a busy
        machine, agents and a database sharing the cores, the wait to be scheduled cost more
        than the send). True when everything is written; else the thread takes over (retries,
        backoff) as usual."""
        if not self._sending.acquire(blocking=False):
            return False
        try:
            while self._inflight is None and self._queue and self._gone is None:
                self._inflight = self._take(self._batch_limit)
                self._send(self._inflight)
            return self._inflight is None and not self._queue
        finally:
            self._sending.release()

    # -- writer thread ---------------------------------------------------------------------

    def _main(self) -> None:
        settings = self.settings
        next_send = time.monotonic() + settings.flush_interval
        next_beat = time.monotonic() + settings.heartbeat_interval
        while not self._abort.is_set():
            if self._lent:
                self._wake.wait(settings.flush_interval)
                self._wake.clear()
                continue
            if self._inflight is None:
                now = time.monotonic()
                if self._heartbeat_agent_id is not None and now >= next_beat:
                    self._heartbeat()
                    next_beat = now + settings.heartbeat_interval
                backlog = len(self._queue)
                if backlog and self._gone is not None:
                    self._discard(self._take(backlog))
                    continue
                if backlog == 0:
                    if self._closing:
                        return
                    self._wake.wait(min(settings.flush_interval, max(0.0, next_beat - now)))
                    self._wake.clear()
                    continue
                urgent = (
                    backlog >= self._batch_limit
                    or self._processed < self._flush_target
                    or self._closing
                )
                if not urgent and now < next_send:
                    self._wake.wait(next_send - now)
                    self._wake.clear()
                    continue
            with self._sending:
                if self._inflight is None:
                    if not self._queue:
                        continue  # close() sent it meanwhile
                    self._inflight = self._take(self._batch_limit)
                self._send(self._inflight)
            if self._inflight is None:
                next_send = time.monotonic() + settings.flush_interval

    def _take(self, limit: int) -> list[_Item]:
        batch: list[_Item] = []
        queue = self._queue
        while queue and len(batch) < limit:
            batch.append(queue.popleft())
        return batch

    def _batch_of(self, items: list[_Item]) -> tuple[list[MetricRow], dict[str, Any]]:
        """The rows of queued items, and the summary update they make."""
        rows: list[MetricRow] = []
        summary: dict[str, Any] = {}
        for item in items:
            if isinstance(item, _SummaryWrite):
                summary.update(item.values)
            else:
                step, values, t = item
                rows.append(MetricRow(step=step, values=values, time=t))
                summary.update(values)
        if rows:  # W&B's summary also tells the last step, its time and the runtime
            last = rows[-1]
            summary["_step"] = last.step
            summary["_timestamp"] = last.time
            if self._started_at is not None and last.time is not None:
                summary["_runtime"] = max(0.0, last.time - self._started_at)
        return rows, summary

    def _send(self, batch: list[_Item]) -> None:
        """Send the batch in flight; clear ``_inflight`` once it left memory (written/dropped)."""
        rows, summary = self._batch_of(batch)
        try:
            result = self.client.log(self.run_id, self._seq, rows, summary or None)
        except _REFUSED as exc:
            self._last_error = exc
            self._refused(batch, exc)
            return
        except _RUN_GONE as exc:
            self._last_error = exc
            self._run_gone(batch, exc)
            return
        except Exception as exc:  # unreachable store/server, or anything else: keep and retry
            self._last_error = exc
            self._backoff(exc)
            return
        self._inflight = None
        self._seq += 1
        self._retry_delay = 0.0
        self._batch_limit = min(self.settings.max_batch_rows, self._batch_limit * 2)
        self.stats.batches_sent += 1
        self.stats.rows_written += len(rows)
        if result.stop_reason is not None and self._on_stop is not None:
            self._on_stop(result.stop_reason)
        self._done(len(batch))

    def _backoff(self, exc: BaseException) -> None:
        self.stats.retries += 1
        s = self.settings
        first = self._retry_delay == 0.0
        self._retry_delay = min(s.backoff_max, max(s.backoff_initial, self._retry_delay * 2))
        if first:
            logger.warning(
                "opensweep: cannot write metrics of run %s to %s (%s: %s); retrying",
                self.run_id,
                self.client.url,
                type(exc).__name__,
                exc,
                exc_info=not isinstance(exc, OpenSweepError),
            )
        self._abort.wait(self._retry_delay)

    def _refused(self, batch: list[_Item], exc: BaseException) -> None:
        self._inflight = None
        if len(batch) > 1:
            # put the batch back in order and send halves, to find the item that is refused
            self._queue.extendleft(reversed(batch))
            self._batch_limit = max(1, len(batch) // 2)
            return
        item = batch[0]
        where = "a summary update" if isinstance(item, _SummaryWrite) else f"step {item[0]}"
        logger.warning(
            "opensweep: the store refused %s of run %s (%s); dropped it", where, self.run_id, exc
        )
        self._discard(batch)

    def _run_gone(self, batch: list[_Item], exc: BaseException) -> None:
        self._inflight = None
        self._gone = exc
        logger.warning(
            "opensweep: run %s no longer accepts metrics (%s); dropping its queued rows",
            self.run_id,
            exc,
        )
        self._discard(batch)
        if self._on_stop is not None:
            self._on_stop(f"the run no longer accepts metrics: {exc}")

    def _discard(self, items: list[_Item]) -> None:
        self.stats.rows_dropped += sum(1 for i in items if not isinstance(i, _SummaryWrite))
        self._done(len(items))

    def _done(self, n: int) -> None:
        with self._progress:
            self._processed += n
            self._progress.notify_all()

    def _heartbeat(self) -> None:
        agent_id = self._heartbeat_agent_id
        if agent_id is None:
            return
        try:
            stops = self.client.heartbeat(agent_id, [self.run_id])
        except Exception as exc:  # a missed beat is retried at the next interval
            logger.debug("opensweep: heartbeat of run %s failed: %s", self.run_id, exc)
            return
        reason = stops.get(self.run_id)
        if reason is not None and self._on_stop is not None:
            self._on_stop(reason)


class LentRows:
    """A run's last rows, lent by its writer (:meth:`LogWriter.lend`) to the call that ends the
    run. Until the lender hears back, the writer sends nothing; either way, exactly once."""

    def __init__(self, writer: LogWriter, items: list[_Item], batch: LogBatch) -> None:
        self._writer, self._items, self.batch = writer, items, batch
        self._settled = False

    def written(self) -> None:
        """The end call wrote them: the writer counts them and stops its thread."""
        self._settle()
        self._writer._lent_written(self._items, len(self.batch.rows))

    def give_back(self, timeout: float | None = None) -> bool:
        """The end call failed: the writer writes them as usual (retries, a refused row
        isolated, warnings), as ``close(timeout)``; True when every row was written."""
        self._settle()
        return self._writer._lent_back(self._items, timeout)

    def _settle(self) -> None:
        if self._settled:
            raise RuntimeError("lent rows were already settled")
        self._settled = True


def default_agent_id() -> str:
    """An agent id for heartbeats of plain runs (no opensweep agent around them)."""
    return f"sdk-{socket.gethostname()}-{os.getpid()}"
