"""The SDK's ``Run``: what ``opensweep.init()`` returns (W&B's ``wandb.Run``)."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from enum import Enum
from types import TracebackType
from typing import Any

from opensweep.client.base import Client
from opensweep.core import model
from opensweep.errors import InvalidRequest, OpenSweepError, RunStopped, StoreError, TransportError
from opensweep.sdk.config import Config
from opensweep.sdk.summary import Summary
from opensweep.sdk.writer import LentRows, LogWriter, WriterSettings

logger = logging.getLogger("opensweep")

_PLAIN_TYPES = frozenset({float, int, str, bool, type(None)})
END_RETRY_SECONDS = 30.0  # how long finish() retries recording the end of a plain run


class RunMode(Enum):
    PLAIN = "plain"  # started by init() outside any agent: the SDK ends it
    AGENT = "agent"  # function mode: the agent in this process ends it
    CHILD = "child"  # command mode: the agent that started this process ends it


def snapshot(value: Any) -> Any:
    """A copy of a logged value that later changes by the caller cannot alter."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, Mapping):
        return {str(k): snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [snapshot(v) for v in value]
    if isinstance(value, bool | int | float | str):  # subclasses (IntEnum, numpy.float64...)
        tolist = getattr(value, "tolist", None)
        return tolist() if callable(tolist) else value
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist):
        return snapshot(tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return snapshot(item())
    return str(value)


def _row_from(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidRequest(f"log() takes a dict of metrics, not {type(data).__name__}")
    row: dict[str, Any] = {}
    for key, value in data.items():
        if type(key) is not str:
            raise InvalidRequest(f"log(): metric names must be strings, got {key!r}")
        row[key] = value if type(value) in _PLAIN_TYPES else snapshot(value)
    return row


class Run:
    """A tracked run. Create it with :func:`opensweep.init`, never directly."""

    def __init__(
        self,
        *,
        client: Client,
        record: model.Run,
        config: Config,
        mode: RunMode,
        owns_client: bool,
        settings: WriterSettings | None = None,
        on_finish: Callable[[Run], None] | None = None,
        heartbeat_agent_id: str | None = None,
    ) -> None:
        self._client = client
        self._record = record
        self._mode = mode
        self._owns_client = owns_client
        self._on_finish = on_finish
        self._settings = settings or WriterSettings.from_env()
        self._lock = threading.Lock()
        self._step = 0
        self._pending: dict[str, Any] = {}
        self._stop_reason: str | None = record.stop_reason if record.stop_requested else None
        self._finished = False
        self.flushed = True  # False when finish() gave up on rows it could not write
        self.ended: model.Run | None = None  # the run as finish() ended it, in an agent
        self.exit_code: int | None = None  # as given to finish()
        self.error: str | None = None  # traceback of an exception that ended a `with` block
        self._end_state: model.RunState | None = None  # e.g. killed by Ctrl-C
        self.config = config
        self._config_saved: dict[str, Any] = dict(record.config)
        config._listen(self._config_written)
        self.summary = Summary(record.summary, on_write=self._summary_written)
        self._summary_data = self.summary._data
        self._writer = LogWriter(
            client,
            record.id,
            first_seq=record.last_seq + 1,
            settings=self._settings,
            on_stop=self._request_stop,
            heartbeat_agent_id=heartbeat_agent_id,
            started_at=record.created_at,
        )
        self.started_at = time.time()
        self._save_config()  # a sweep run's config also holds the script's defaults

    # -- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def project(self) -> str | None:
        return self._record.project

    @property
    def entity(self) -> str | None:
        return self._record.entity

    @property
    def sweep_id(self) -> str | None:
        return self._record.sweep_id

    @property
    def path(self) -> str:
        return "/".join(p for p in (self.entity, self.project, self.id) if p)

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def mode(self) -> RunMode:
        return self._mode

    @property
    def finished(self) -> bool:
        return self._finished

    # -- stopping ----------------------------------------------------------------------------

    @property
    def should_stop(self) -> bool:
        """True once the controller asked this run to stop (e.g. hyperband pruned it)."""
        return self._stop_reason is not None

    @property
    def stop_reason(self) -> str | None:
        return self._stop_reason

    def _request_stop(self, reason: str) -> None:
        # called from the writer thread or the agent's heartbeat thread; one assignment
        if self._stop_reason is None:
            self._stop_reason = reason

    # -- logging -----------------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Record metrics (W&B's step rules). Raises :class:`RunStopped` once the run must stop.

        - no ``step``: the values join the pending row, which is committed at the current step
          (then the step advances) unless ``commit=False``;
        - ``step`` given: a larger step commits the pending row first; a smaller one is ignored
          with a warning; the row at ``step`` is committed by ``commit=True``, by a later step,
          or by ``finish()``.
        """
        if self._finished:
            raise OpenSweepError(
                f"run {self.id} is finished: log() needs an active run (call opensweep.init())"
            )
        row = _row_from(data)
        with self._lock:
            if step is None:
                self._pending.update(row)
                if commit is None or commit:
                    self._commit()
            else:
                step = self._check_step(step)
                if step < self._step:
                    logger.warning(
                        "opensweep: log(step=%d) is less than the current step %d; steps must "
                        "increase, so this data is ignored: %r",
                        step,
                        self._step,
                        sorted(row),
                    )
                else:
                    if step > self._step:
                        self._commit()
                        self._step = step
                    self._pending.update(row)
                    if commit:
                        self._commit()
        if self._stop_reason is not None:
            raise RunStopped(self.id, self._stop_reason)

    @staticmethod
    def _check_step(step: Any) -> int:
        if isinstance(step, bool) or not isinstance(step, int):
            index = getattr(step, "__index__", None)
            if isinstance(step, bool) or not callable(index):
                raise InvalidRequest(f"log(step=...) must be an integer, got {step!r}")
            step = index()
        if step < 0:
            raise InvalidRequest(f"log(step=...) must be >= 0, got {step}")
        return int(step)

    def _commit(self) -> None:
        """Queue the pending row (caller holds the lock)."""
        if not self._pending:
            return
        row = self._pending
        self._pending = {}
        self._summary_data.update(row)
        self._writer.put_row(self._step, row, time.time())
        self._step += 1

    def _summary_written(self, values: dict[str, Any]) -> None:
        if self._finished:
            raise OpenSweepError(f"run {self.id} is finished: its summary can no longer change")
        with self._lock:
            self._writer.put_summary({k: snapshot(v) for k, v in values.items()})

    def _config_written(self) -> None:
        if self._finished:
            raise OpenSweepError(f"run {self.id} is finished: its config can no longer change")
        self._save_config()

    def _save_config(self, *, last_chance: bool = False) -> None:
        """Send the config when it differs from what the store has (sweep defaults merged at
        init, ``config.update`` later). A failure is retried at ``finish()``, where it warns."""
        current = {k: snapshot(v) for k, v in self.config._data.items()}
        if current == self._config_saved:
            return
        try:
            self._client.update_config(self.id, current)
        except OpenSweepError as exc:
            if last_chance:
                logger.warning("opensweep: could not save the config of run %s: %s", self.id, exc)
            return
        self._config_saved = current

    def flush(self, timeout: float | None = None) -> bool:
        """Commit the pending row and wait until everything logged so far is written."""
        with self._lock:
            self._commit()
        return self._writer.flush(timeout)

    # -- ending ------------------------------------------------------------------------------

    def finish(
        self,
        exit_code: int | None = None,
        quiet: bool | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Write every logged row (waiting up to ``timeout``, default ``OPENSWEEP_FINISH_TIMEOUT``
        or 120 s, with a warning past it) and end the run: exit code 0 -> finished, else failed.

        In a function-mode agent the run ends here too, its last rows written with the end in
        one write; as with W&B's agent, it stays ended whatever the function does next. In a
        command-mode child the agent ends the run when the process exits.
        """
        if self._finished:
            return
        with self._lock:
            self._commit()
            self._finished = True
        if exit_code is not None:
            self.exit_code = exit_code
        try:
            self._save_config(last_chance=True)  # while the run still accepts it
            if self._mode is RunMode.AGENT:
                self._end_in_agent(timeout)
                return
            self.flushed = self._writer.close(timeout)
            if self._mode is RunMode.PLAIN:
                self._end_plain_run()
        finally:
            if self._owns_client:
                self._close_client()
            if self._on_finish is not None:
                self._on_finish(self)

    def _end_in_agent(self, timeout: float | None) -> None:
        """``finish()`` in a function-mode agent. Should recording the end fail, the rows are
        written as usual and the agent ends the run once the function returns."""
        lent = self._last_rows(timeout)
        try:
            self.ended = self._client.finish_run(
                self.id,
                state=self._end_state,
                exit_code=0 if self.exit_code is None else self.exit_code,
                error=self.error,
                last_log=None if lent is None else lent.batch,
            )
        except OpenSweepError as exc:
            logger.debug("opensweep: the agent will end run %s (%s)", self.id, exc)
            if lent is not None:
                self.flushed = lent.give_back(timeout)
            return
        except BaseException:  # e.g. Ctrl-C during the call: the rows still go out
            if lent is not None:
                self.flushed = lent.give_back(timeout)
            raise
        if lent is not None:
            lent.written()

    def _hand_over(self, timeout: float | None) -> LentRows | None:
        """The function of a function-mode agent returned without ``finish()``: the agent ends
        the run. Returns the last rows for it to write with that end, or None when they were
        written here (as ``finish()`` writes them)."""
        with self._lock:
            self._commit()
            self._finished = True
        try:
            self._save_config(last_chance=True)
            return self._last_rows(timeout)
        finally:
            if self._on_finish is not None:
                self._on_finish(self)

    def _last_rows(self, timeout: float | None) -> LentRows | None:
        """The rows not written yet, lent to go with the run's end; or, when the writer cannot
        lend them, None once they are written here (``flushed`` says whether all were)."""
        lent = self._writer.lend()
        if lent is None:
            self.flushed = self._writer.close(timeout)
        return lent

    def _end_plain_run(self) -> None:
        """Record the end, retrying while the store/server is away (a retried finish is
        harmless: the controller answers it with the run as it ended)."""
        code = 0 if self.exit_code is None else self.exit_code
        deadline = time.monotonic() + END_RETRY_SECONDS
        delay = self._settings.backoff_initial
        while True:
            try:
                self._client.finish_run(
                    self.id, state=self._end_state, exit_code=code, error=self.error
                )
                return
            except (TransportError, StoreError) as exc:
                if time.monotonic() + delay > deadline:
                    logger.warning(
                        "opensweep: could not record the end of run %s: %s", self.id, exc
                    )
                    return
            except OpenSweepError as exc:
                logger.warning("opensweep: could not record the end of run %s: %s", self.id, exc)
                return
            time.sleep(delay)
            delay = min(self._settings.backoff_max, delay * 2)

    def _close_client(self) -> None:
        try:
            self._client.close()
        except Exception as exc:  # closing must never mask the real outcome
            logger.debug("opensweep: closing the client failed: %s", exc)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, RunStopped):
            self.finish()
        else:
            self.error = "".join(traceback.format_exception(exc))
            if isinstance(exc, KeyboardInterrupt):
                self._end_state = model.RunState.KILLED  # W&B: Ctrl-C -> killed
            self.finish(exit_code=1)

    # -- W&B calls accepted so that scripts run unchanged --------------------------------------

    def define_metric(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Accepted for W&B scripts; opensweep keeps every metric's full history anyway."""

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for W&B scripts (gradient/parameter histograms are not collected)."""

    def save(self, *args: Any, **kwargs: Any) -> bool:
        """Accepted for W&B scripts; files stay where they are (nothing is uploaded)."""
        return True

    def __repr__(self) -> str:
        return f"<opensweep Run {self.id} {self.name!r} ({self._mode.value})>"
