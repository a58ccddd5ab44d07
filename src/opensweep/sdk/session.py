"""``init``/``log``/``finish`` and the process-wide current run, as in W&B.

Three ways to get a run from :func:`init`:

- **function mode**: the agent (same process) wraps each trial in :func:`agent_context`; ``init()``
  joins that run and ``config`` holds the sweep's parameters.
- **command mode**: the agent started this process with ``OPENSWEEP_RUN_ID``, ``OPENSWEEP_URL``
  (and ``OPENSWEEP_PARAMS_FILE``, a JSON file of the parameters); ``init()`` joins that run.
- otherwise ``init()`` starts a plain tracked run (``OPENSWEEP_URL`` or ``./opensweep.db``).

In both agent modes the agent ends the run (it knows the exit code, the exception, the stop
request), except that ``finish()`` in function mode ends it there and then, as W&B's agent
keeps it; the SDK writes metrics. A plain run is ended by the SDK.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Any

from opensweep.client import connect as client_connect
from opensweep.client.base import Client
from opensweep.core import model
from opensweep.core.encoding import decode_value
from opensweep.errors import InvalidRequest, NotFound, OpenSweepError
from opensweep.sdk.config import Config, PreInitConfig, config_as_dict, deep_merge
from opensweep.sdk.run import Run, RunMode
from opensweep.sdk.summary import PreInitSummary
from opensweep.sdk.writer import LentRows, default_agent_id

logger = logging.getLogger("opensweep")

ENV_URL = "OPENSWEEP_URL"
ENV_RUN_ID = "OPENSWEEP_RUN_ID"
ENV_SWEEP_ID = "OPENSWEEP_SWEEP_ID"
ENV_PARAMS_FILE = "OPENSWEEP_PARAMS_FILE"

PRE_INIT_CONFIG = PreInitConfig()
PRE_INIT_SUMMARY = PreInitSummary()

_REINIT_RETURN = {None, False, "default", "return_previous"}
_REINIT_FINISH = {True, "finish_previous"}
_REINIT_NEW = {"create_new"}


def connect(url: str | None = None) -> Client:
    """A client for ``url``, else ``OPENSWEEP_URL``, else ``./opensweep.db``."""
    return client_connect(url)


# -- the agent hook (function mode) ------------------------------------------------------------


@dataclass
class AgentContext:
    """One trial of a function-mode agent. Create it with :func:`agent_context`.

    The agent calls ``stop(reason)`` when its heartbeat learns the run must stop, and
    ``hand_over()`` (or ``close()``) after the user's function returned or raised, *before* it
    ends the run: every logged row is then written, or lent to the agent to write with the end.
    A function that called ``finish()`` ended the run itself (``ended``).
    """

    client: Client
    record: model.Run
    params: dict[str, Any]
    run: Run | None = None  # the SDK run, once the user's function called init()
    requested_stop: str | None = None  # what the agent passed to stop()
    closed: bool = field(default=False)
    flushed: bool = field(default=True)  # False when close() gave up on unwritten rows

    @property
    def exit_code(self) -> int | None:
        """What the user passed to ``run.finish(exit_code=...)``, if anything."""
        return None if self.run is None else self.run.exit_code

    @property
    def error(self) -> str | None:
        """Traceback of an exception that ended a ``with opensweep.init()`` block."""
        return None if self.run is None else self.run.error

    @property
    def stop_reason(self) -> str | None:
        """Why the run must stop: from the agent's ``stop()`` or from a log batch's answer."""
        if self.requested_stop is not None:
            return self.requested_stop
        return None if self.run is None else self.run.stop_reason

    def stop(self, reason: str) -> None:
        """Ask the run to stop: its next ``log()`` raises RunStopped. Thread-safe."""
        if self.requested_stop is None:
            self.requested_stop = reason
        if self.run is not None:
            self.run._request_stop(reason)

    @property
    def ended(self) -> model.Run | None:
        """The run as the function's ``finish()`` ended it (then the agent does not)."""
        return None if self.run is None else self.run.ended

    def close(self, timeout: float | None = None) -> bool:
        """Write the run's rows (the user may not have called finish) and detach. True when
        every logged row was written."""
        lent = self.hand_over(timeout)
        if lent is not None:
            self.flushed = lent.give_back(timeout)
        return self.flushed

    def hand_over(self, timeout: float | None = None) -> LentRows | None:
        """Detach. The rows not written yet are returned, for the agent to write with the
        run's end (it must settle them: ``written()`` or ``give_back()``), or, when the
        writer cannot lend them, written here (``flushed`` says whether all were)."""
        if self.closed:
            return None
        self.closed = True
        lent = None
        if self.run is not None:
            if not self.run.finished:
                lent = self.run._hand_over(timeout)
            self.flushed = self.run.flushed
        if _state.agent is self:
            _state.agent = None
        return lent

    def __enter__(self) -> AgentContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def agent_context(
    client: Client, run: model.Run, params: Mapping[str, Any] | None = None
) -> AgentContext:
    """Make ``run`` the run that the next ``opensweep.init()`` in this process joins.

    ``params`` defaults to ``run.config``. Use as ``with agent_context(client, run) as ctx:``
    around the user's function; the agent then reads ``ctx.exit_code`` / catches the exception
    and ends the run itself.
    """
    ctx = AgentContext(
        client=client,
        record=run,
        params=dict(run.config if params is None else params),
        requested_stop=run.stop_reason if run.stop_requested else None,
    )
    if _state.agent is not None and not _state.agent.closed:
        logger.warning("opensweep: a previous agent context was not closed; closing it")
        _state.agent.close()
    _state.agent = ctx
    return ctx


# -- process state ----------------------------------------------------------------------------


@dataclass
class _State:
    run: Run | None = None
    agent: AgentContext | None = None
    env_run_joined: bool = False
    live: list[Run] = field(default_factory=list)
    hooks_installed: bool = False
    uncaught: BaseException | None = None


_state = _State()
_state_lock = threading.RLock()


def current_run() -> Run | None:
    return _state.run


def _package() -> ModuleType | None:
    return sys.modules.get("opensweep")


def _publish(run: Run | None) -> None:
    """Point ``opensweep.run/config/summary`` at ``run`` (W&B rebinds ``wandb.config`` too)."""
    _state.run = run
    pkg = _package()
    if pkg is None:
        return
    pkg.run = run  # type: ignore[attr-defined]
    pkg.config = run.config if run is not None else PRE_INIT_CONFIG  # type: ignore[attr-defined]
    pkg.summary = run.summary if run is not None else PRE_INIT_SUMMARY  # type: ignore[attr-defined]


def _on_finish(run: Run) -> None:
    with _state_lock:
        if run in _state.live:
            _state.live.remove(run)
        if _state.run is run:
            _publish(_state.live[-1] if _state.live else None)


# -- init ---------------------------------------------------------------------------------------


def init(
    project: str | None = None,
    config: Any = None,
    name: str | None = None,
    entity: str | None = None,
    reinit: bool | str | None = None,
    *,
    config_exclude_keys: Iterable[str] | None = None,
    config_include_keys: Iterable[str] | None = None,
    url: str | None = None,
    **ignored: Any,
) -> Run:
    """Start or join a run (W&B's ``wandb.init``); W&B's other keyword arguments are accepted.

    ``config`` (a dict, an argparse namespace or a YAML file) gives defaults; in a sweep the
    sweep's parameters override them, nested dicts merged key by key. A ``config-defaults.yaml``
    in the working directory is read first, like W&B does.
    """
    if reinit not in _REINIT_RETURN | _REINIT_FINISH | _REINIT_NEW:
        raise InvalidRequest(
            f"init(reinit={reinit!r}): expected one of "
            "'return_previous', 'finish_previous', 'create_new', True or False"
        )
    defaults = _defaults(config, config_exclude_keys, config_include_keys)
    with _state_lock:
        _install_process_hooks()
        ctx = _state.agent
        if ctx is not None and not ctx.closed and (ctx.run is None or not ctx.run.finished):
            joined = ctx.run if ctx.run is not None else _join_agent(ctx, defaults)
            _publish(joined)
            return joined
        active = _state.run
        if active is not None and not active.finished:
            if reinit in _REINIT_RETURN:
                return active
            if reinit in _REINIT_FINISH:
                active.finish()
        run_id = os.environ.get(ENV_RUN_ID)
        if run_id and not _state.env_run_joined:
            _state.env_run_joined = True
            run = _join_env(run_id, defaults, url)
        else:
            run = _start_plain(project, entity, name, defaults, url)
        _state.live.append(run)
        _publish(run)
        return run


def _defaults(
    config: Any, exclude: Iterable[str] | None, include: Iterable[str] | None
) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    defaults_file = Path("config-defaults.yaml")
    if defaults_file.is_file():
        defaults = config_as_dict(defaults_file)
        defaults.pop("wandb_version", None)
    defaults = deep_merge(defaults, config_as_dict(config))
    if include is not None:
        keep = set(include)
        defaults = {k: v for k, v in defaults.items() if k in keep}
    if exclude is not None:
        drop = set(exclude)
        defaults = {k: v for k, v in defaults.items() if k not in drop}
    return defaults


def _sweep_config(defaults: Mapping[str, Any], params: Mapping[str, Any]) -> Config:
    return Config(deep_merge(defaults, params), locked=params.keys())


def _join_agent(ctx: AgentContext, defaults: dict[str, Any]) -> Run:
    run = Run(
        client=ctx.client,
        record=ctx.record,
        config=_sweep_config(defaults, ctx.params),
        mode=RunMode.AGENT,
        owns_client=False,
        on_finish=_on_finish,
    )
    if ctx.requested_stop is not None:
        run._request_stop(ctx.requested_stop)
    ctx.run = run
    _state.live.append(run)
    return run


def _join_env(run_id: str, defaults: dict[str, Any], url: str | None) -> Run:
    client = connect(os.environ.get(ENV_URL) or url)
    try:
        record = client.get_run(run_id)
    except NotFound:
        client.close()
        raise NotFound(
            f"{ENV_RUN_ID}={run_id} names no run in {client.url}: was this process started "
            "by `opensweep agent`? Unset the variable to start a plain run."
        ) from None
    params = _read_params_file(record)
    _exit_on_sigterm()
    return Run(
        client=client,
        record=record,
        config=_sweep_config(defaults, params),
        mode=RunMode.CHILD,
        owns_client=True,
        on_finish=_on_finish,
    )


def _read_params_file(record: model.Run) -> dict[str, Any]:
    path = os.environ.get(ENV_PARAMS_FILE)
    if not path:
        return dict(record.config)
    try:
        params = decode_value(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as exc:
        raise OpenSweepError(
            f"{ENV_PARAMS_FILE}={path}: cannot read the parameters: {exc}"
        ) from exc
    if not isinstance(params, dict):
        raise OpenSweepError(f"{ENV_PARAMS_FILE}={path}: expected a JSON object of parameters")
    return params


def _start_plain(
    project: str | None,
    entity: str | None,
    name: str | None,
    defaults: dict[str, Any],
    url: str | None,
) -> Run:
    client = connect(url)
    try:
        record = client.start_run(project=project, entity=entity, name=name, config=defaults)
    except BaseException:
        client.close()
        raise
    return Run(
        client=client,
        record=record,
        config=Config(defaults),
        mode=RunMode.PLAIN,
        owns_client=True,
        on_finish=_on_finish,
        heartbeat_agent_id=default_agent_id(),
    )


# -- module-level verbs ------------------------------------------------------------------------


def log(
    data: Mapping[str, Any],
    step: int | None = None,
    commit: bool | None = None,
    sync: bool | None = None,
) -> None:
    """Log metrics to the current run (see :meth:`Run.log`)."""
    run = _state.run
    if run is None:
        raise OpenSweepError("call opensweep.init() before opensweep.log()")
    run.log(data, step=step, commit=commit)


def finish(
    exit_code: int | None = None, quiet: bool | None = None, *, timeout: float | None = None
) -> None:
    """Finish the current run, if any (see :meth:`Run.finish`)."""
    run = _state.run
    if run is not None:
        run.finish(exit_code=exit_code, timeout=timeout)


# -- process hooks --------------------------------------------------------------------------------


def _install_process_hooks() -> None:
    """Finish open runs at exit (failed if an exception escaped), like W&B."""
    if _state.hooks_installed:
        return
    _state.hooks_installed = True
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _state.uncaught = exc
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_finish_live_runs)


def _finish_live_runs() -> None:
    exc = _state.uncaught
    for run in list(_state.live):
        if exc is not None and run.error is None:
            run.error = "".join(traceback.format_exception(exc))
        try:
            run.finish(exit_code=None if exc is None else 1)
        except Exception as err:  # at exit, report and go on with the other runs
            logger.warning("opensweep: could not finish run %s at exit: %s", run.id, err)


def _exit_on_sigterm() -> None:
    """In a command-mode child, turn the agent's SIGTERM into SystemExit so that ``finally``
    blocks and the exit hook run and the last rows are written. Only when nobody set a handler."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
