"""The agent: asks the controller for runs and executes them, one at a time.

Function mode calls a Python function in this process (``opensweep.agent(id, function=f)``);
command mode starts the sweep's ``program``/``command`` as a child process with W&B's macros.
Either way the agent beats a heartbeat for the run, delivers stop requests, and reports how the
run ended. A failing run never stops the agent; ``max_consecutive_failures`` failures in a row do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.text import Text

from opensweep.agent.macros import build_argv
from opensweep.agent.outcome import Outcome
from opensweep.agent.process import ChildProcess
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.core.model import LogBatch, Run, RunState, Sweep, SweepState
from opensweep.errors import Conflict, OpenSweepError, TransportError
from opensweep.sdk.threads import background

DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_POLL_INTERVAL = 5.0


def default_log_dir() -> Path:
    return Path(os.environ.get("OPENSWEEP_LOG_DIR", "opensweep-logs"))


def run_log_path(log_dir: Path, sweep_id: str, run_id: str) -> Path:
    """Where a command-mode run's output goes: ``<log dir>/<sweep id>/<run id>.log``."""
    return log_dir / sweep_id / f"{run_id}.log"


@dataclass
class AgentOptions:
    count: int | None = None
    max_consecutive_failures: int = 5
    term_timeout: float = 30.0
    heartbeat_interval: float = field(
        default_factory=lambda: float(
            os.environ.get("OPENSWEEP_HEARTBEAT_INTERVAL", DEFAULT_HEARTBEAT_INTERVAL)
        )
    )
    poll_interval: float = DEFAULT_POLL_INTERVAL
    log_dir: Path = field(default_factory=default_log_dir)
    echo_output: bool = True


@dataclass
class AgentResult:
    runs: list[Run] = field(default_factory=list)
    reason: str = ""

    def count(self, state: RunState) -> int:
        return sum(1 for r in self.runs if r.state is state)


class _Heartbeat:
    """One run's heartbeat: the agent's beater beats for it while the ``with`` block lasts;
    remembers the first stop reason the controller sends."""

    def __init__(self, beater: _Beater, run_id: str) -> None:
        self._beater, self.run_id = beater, run_id
        self.stop_reason: str | None = None
        self.on_stop: Callable[[str], None] | None = None
        self.on_beat: Callable[[], None] | None = None

    def __enter__(self) -> _Heartbeat:
        self._beater.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        self._beater.current = None

    def answered(self, stops: Mapping[str, str]) -> None:
        reason = stops.get(self.run_id)
        if reason and self.stop_reason is None:
            self.stop_reason = reason
            if self.on_stop is not None:
                self.on_stop(reason)
        if self.on_beat is not None:
            with contextlib.suppress(OpenSweepError):
                self.on_beat()


class _Beater:
    """The agent's one heartbeat thread, for its whole life: every ``interval`` it beats for
    the run in progress (a thread per run cost a start and a join per run: on a busy machine,
    each a wait for the scheduler)."""

    def __init__(self, client: Client, agent_id: str, interval: float) -> None:
        self._client, self._agent_id, self._interval = client, agent_id, interval
        self.current: _Heartbeat | None = None
        self._closed = threading.Event()

    def __enter__(self) -> _Beater:
        self._closed = closed = threading.Event()  # one per loop, should the agent run again
        background.start(lambda: self._loop(closed))
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()

    def _loop(self, closed: threading.Event) -> None:
        while not closed.wait(self._interval):
            beating = self.current
            if beating is None:
                continue
            try:
                stops = self._client.heartbeat(self._agent_id, [beating.run_id])
            except OpenSweepError:
                continue  # the store/server is away; the controller reaps us if it lasts
            if self.current is beating:  # else the run ended while the beat was on its way
                beating.answered(stops)


class Agent:
    def __init__(
        self,
        client: Client,
        sweep_id: str,
        *,
        function: Callable[[], Any] | None = None,
        options: AgentOptions | None = None,
        console: Console | None = None,
    ) -> None:
        self.client = client
        self.sweep_id = sweep_id
        self.function = function
        self.options = options or AgentOptions()
        # No automatic highlighting (a regex pass over every line: 0.2 ms a line, two lines a
        # run; the markup styles them anyway) and no wrapping (a log file keeps whole lines).
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self._plain = not self.console.is_terminal
        self.agent_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._interrupted: int | None = None  # the signal that asked us to stop
        self._on_beat: Callable[[], None] | None = None
        self._metric: str | None = None  # the sweep's metric (its config never changes)
        self._status: Status | None = None  # the live line, on a terminal only
        self._beater = _Beater(client, self.agent_id, self.options.heartbeat_interval)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> AgentResult:
        result = AgentResult()
        sweep = self.client.get_sweep(self.sweep_id)
        self._metric = _metric_name(sweep)
        failures_in_a_row = 0
        run: Run | None = None  # claimed together with the end of the previous run
        with self._signal_handlers(), self._live_line(), self._beater:
            while True:
                reason = self._reason_to_stop(len(result.runs), failures_in_a_row)
                if reason is not None:
                    result.reason = reason
                    break
                if run is None:
                    run = self._next_run()
                if run is None:
                    sweep = self.client.get_sweep(self.sweep_id)
                    if sweep.state is SweepState.PAUSED:
                        time.sleep(self.options.poll_interval)
                        continue
                    result.reason = f"sweep {sweep.state.value}: no more runs"
                    break
                outcome = self._execute(sweep, run)
                # Claim the next run in the same call when the agent surely goes on: this run
                # is not the count-th, and would not be one failure too many.
                goes_on = self._reason_to_stop(len(result.runs) + 1, failures_in_a_row + 1) is None
                ended, run = self._end(run, outcome, claim_next=goes_on)
                result.runs.append(ended)
                self._print_ended(ended)
                failures_in_a_row = failures_in_a_row + 1 if ended.state is RunState.FAILED else 0
            if run is not None:  # claimed with the last run's end, then interrupted
                self._end(
                    run, Outcome(RunState.KILLED, None, "the agent stopped before this run began")
                )
        self.console.print(f"[bold]agent done[/bold]: {result.reason}")
        return result

    def _reason_to_stop(self, runs_done: int, failures_in_a_row: int) -> str | None:
        if failures_in_a_row >= self.options.max_consecutive_failures:
            return (
                f"{failures_in_a_row} runs failed in a row "
                "(--max-consecutive-failures); stopping this agent"
            )
        if self._interrupted is not None:
            return "interrupted"
        if self.options.count is not None and runs_done >= self.options.count:
            return f"count {self.options.count} reached"
        return None

    def _next_run(self) -> Run | None:
        delay = 1.0
        while True:
            try:
                return self.client.next_run(self.sweep_id, self.agent_id)
            except TransportError as exc:  # the server restarts: wait and carry on
                self.console.print(f"[yellow]server unreachable ({exc.message}); retrying[/yellow]")
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
                if self._interrupted is not None:
                    return None

    def _execute(self, sweep: Sweep, run: Run) -> Outcome:
        config_text = _format_config(run.config)
        self._say((f"▶ {run.name}", "cyan"), f" {config_text}")
        if run.notes:
            self._say(("  " + run.notes, "dim"))
        status = self._status
        self._on_beat = None
        if status is not None:
            status.update(f"{escape(run.name)} starting")

            def show_progress() -> None:
                # the live line: config, step and metric, refreshed on every heartbeat
                current = self.client.get_run(run.id)
                line = f"{run.name} {config_text} {_metric_text(current, self._metric)}"
                status.update(escape(line))

            self._on_beat = show_progress
        if self.function is not None:
            from opensweep.agent.function_mode import run_function

            return run_function(self, run)
        return self._run_command(sweep, run)

    def _end(
        self, run: Run, outcome: Outcome, *, claim_next: bool = False
    ) -> tuple[Run, Run | None]:
        """Record how ``run`` ended, with the function's last rows if it left any; with
        ``claim_next``, also claim the next run in that call."""
        if outcome.ended is not None:  # the function's finish() ended it; the loop claims
            return outcome.ended, None
        lent = outcome.last_rows
        if lent is None:
            return self._record_end(run, outcome, None, claim_next)
        try:
            answer = self._record_end(run, outcome, lent.batch, claim_next)
        except OpenSweepError:
            # Not written: the writer writes them as it would have (retries, a refused row
            # isolated, a warning when the run takes no more), then the end goes on its own.
            lent.give_back()
            return self._record_end(run, outcome, None, claim_next)
        except BaseException:
            lent.give_back()
            raise
        lent.written()
        return answer

    def _record_end(
        self, run: Run, outcome: Outcome, last_log: LogBatch | None, claim_next: bool
    ) -> tuple[Run, Run | None]:
        end: dict[str, Any] = {
            "state": outcome.state,
            "exit_code": outcome.exit_code,
            "error": outcome.error,
            "last_log": last_log,
        }
        if claim_next:
            try:
                return self.client.finish_and_next(run.id, self.agent_id, **end)
            except OpenSweepError:
                pass  # nothing was claimed; end the run on its own, which says what went wrong
        try:
            ended = self.client.finish_run(run.id, **end)
        except Conflict:
            if last_log is not None:
                raise  # the rows were not written either: the caller gives them back
            ended = self.client.get_run(run.id)  # already ended (e.g. reaped)
        return ended, None

    @contextlib.contextmanager
    def _live_line(self) -> Iterator[None]:
        """One status line for the agent's life (a spinner with the current run), only on a
        terminal: starting one per run costs a thread each time."""
        if self._plain:
            yield
            return
        with self.console.status("waiting for a run") as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None

    # -- command mode --------------------------------------------------------------------------

    def _run_command(self, sweep: Sweep, run: Run) -> Outcome:
        from opensweep.core.encoding import dumps

        config = sweep.config
        log_path = run_log_path(self.options.log_dir, self.sweep_id, run.id)
        params_file = log_path.with_suffix(".params.json")
        params_file.parent.mkdir(parents=True, exist_ok=True)
        params_file.write_text(dumps(dict(run.config)))
        env = dict(os.environ)
        env.update(
            {
                "OPENSWEEP_URL": self.client.url,
                "OPENSWEEP_SWEEP_ID": self.sweep_id,
                "OPENSWEEP_RUN_ID": run.id,
                "OPENSWEEP_RUN_NAME": run.name,
                "OPENSWEEP_PARAMS_FILE": str(params_file.resolve()),
                "OPENSWEEP_AGENT_ID": self.agent_id,
            }
        )
        command = config.get("command")
        argv = build_argv(
            list(command) if command else None,
            dict(run.config),
            program=config.get("program"),
            env=env,
            interpreter=sys.executable,
            params_file=str(params_file.resolve()),
        )
        echo: IO[str] | None = sys.stdout if self.options.echo_output else None
        try:
            child = ChildProcess(argv, env=env, log_path=log_path, echo=echo)
        except OSError as exc:
            return Outcome(RunState.FAILED, None, f"could not start {argv!r}: {exc}")
        stop_reason: str | None = None
        with self.heartbeat(run.id) as hb:
            while child.poll() is None:
                if self._interrupted is not None:
                    child.send(self._interrupted)
                    child.terminate(self.options.term_timeout)
                elif hb.stop_reason is not None:
                    stop_reason = hb.stop_reason
                    child.terminate(self.options.term_timeout)
                child.wait(timeout=0.2)
        code = child.close()
        if self._interrupted is not None:
            return Outcome(RunState.KILLED, code, "agent interrupted")
        if stop_reason is not None:
            return Outcome(RunState.STOPPED, code, None)
        tail = None if code == 0 else _tail(log_path)
        return Outcome(None, code, tail)

    def heartbeat(self, run_id: str) -> _Heartbeat:
        hb = _Heartbeat(self._beater, run_id)
        hb.on_beat = self._on_beat
        return hb

    # -- signals -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            if self._interrupted is not None or self.function is not None:
                # second Ctrl-C, or function mode: stop right away
                signal.default_int_handler(signum, frame)
            self._interrupted = signum
            self.console.print("[yellow]stopping: the current run is being terminated[/yellow]")

        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, handle)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    # -- output --------------------------------------------------------------------------------

    def _print_ended(self, run: Run) -> None:
        colour = {
            RunState.FINISHED: "green",
            RunState.STOPPED: "yellow",
            RunState.FAILED: "red",
            RunState.KILLED: "red",
            RunState.CRASHED: "red",
        }.get(run.state, "white")
        parts: list[str | tuple[str, str]] = [
            (f"■ {run.name} {run.state.value}", colour),
            f" {_metric_text(run, self._metric)}",
        ]
        if run.stop_reason and run.state is RunState.STOPPED:
            parts.append((f" ({run.stop_reason})", "dim"))
        self._say(*parts)
        if run.state is RunState.FAILED and run.error:
            last = run.error.strip().splitlines()[-1] if run.error.strip() else ""
            self._say((f"  {last}", "red"))

    def _say(self, *parts: str | tuple[str, str]) -> None:
        """One line per run event: styled on a terminal; plain text into a pipe or log file,
        where rich's rendering (markup, terminal queries) costs ~0.3 ms a line."""
        if self._plain:
            text = "".join(p if isinstance(p, str) else p[0] for p in parts)
            self.console.file.write(text + "\n")
        else:
            self.console.print(Text.assemble(*parts))


def _metric_name(sweep: Sweep) -> str | None:
    metric = sweep.config.get("metric")
    return str(metric.get("name")) if isinstance(metric, Mapping) and metric.get("name") else None


def _format_config(config: Mapping[str, Any], prefix: str = "") -> str:
    parts = []
    for k, v in config.items():
        if isinstance(v, Mapping):
            parts.append(_format_config(v, f"{prefix}{k}."))
        else:
            parts.append(f"{prefix}{k}={v:.4g}" if isinstance(v, float) else f"{prefix}{k}={v}")
    return " ".join(parts)


def _metric_text(run: Run, name: str | None) -> str:
    if not name or name not in run.summary:
        return ""
    value = run.summary[name]
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    step = run.summary.get("_step")
    return f"{name}={shown}" + (f" (step {step})" if step is not None else "")


def _tail(path: Path, lines: int = 30) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:]) or None


def run_agent(
    sweep_id: str,
    *,
    function: Callable[[], Any] | None = None,
    count: int | None = None,
    url: str | None = None,
    project: str | None = None,
    entity: str | None = None,
    options: AgentOptions | None = None,
    client: Client | None = None,
) -> AgentResult:
    """Run an agent until the sweep has no more runs for it (or ``count`` runs are done)."""
    from opensweep.core.paths import parse_sweep_path

    del project, entity  # accepted for W&B compatibility; the sweep id alone names the sweep
    path = parse_sweep_path(sweep_id)
    opts = options or AgentOptions()
    if count is not None:
        opts.count = count
    owned = client is None
    client = client or connect(url)
    try:
        return Agent(client, path.sweep_id, function=function, options=opts).run()
    finally:
        if owned:
            client.close()


__all__ = ["Agent", "AgentOptions", "AgentResult", "run_agent", "run_log_path"]
