"""The HTTP client: the Client protocol over the server's JSON API (httpx).

Errors come back as the same :class:`~opensweep.errors.OpenSweepError` subclasses the server
raised; a server that cannot be reached is a :class:`~opensweep.errors.TransportError`, never a
raw httpx exception.

Retries, so that agents ride out a server restart: every call is retried with exponential
backoff while the server is unreachable (connection refused), for up to ``retry_for`` seconds
(default ``OPENSWEEP_RETRY_FOR``, else 120).
A call whose request may have reached the server before the connection broke is retried only
when repeating it is harmless: reads, ``log`` (the server applies a ``seq`` once), ``heartbeat``,
``finish_run`` and ``set_sweep_state`` (a repeat that finds the change already made returns the
current record). ``next_run`` after such a break first looks for a run the lost answer may have
handed to this agent, so a claimed run is never orphaned; ``finish_and_next`` finishes again
(harmless, as above) and then does the same.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from opensweep.client.base import LogResult, SweepAction
from opensweep.core.encoding import encode_value
from opensweep.core.model import SWEEP_ACTIONS, LogBatch, MetricRow, Run, RunState, Sweep
from opensweep.errors import (
    Conflict,
    InvalidRequest,
    OpenSweepError,
    SchemaVersionError,
    StoreError,
    TransportError,
    error_from_dict,
)
from opensweep.wire import codec
from opensweep.wire.models import API_PREFIX

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRY_FOR = 120.0
_RETRY_STATUSES = frozenset({502, 503, 504})


class _Unsent(Exception):
    """The request surely did not reach the server (connection refused, pool timeout)."""


class _Lost(Exception):
    """The request may have reached the server but no answer came back."""


class MaybeAppliedError(TransportError):
    """The connection broke after a request that is not safe to repeat was sent."""


class _ClientTransport(httpx.BaseTransport):
    """Sends through the whole ``httpx.Client`` (the slower path, kept as a fallback)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request)


class HttpClient:
    """A :class:`~opensweep.client.base.Client` talking to ``opensweep server`` at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry_for: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = _check_url(url)
        if token is None:
            token = os.environ.get("OPENSWEEP_TOKEN") or None
        headers = {"accept": "application/json", "user-agent": "opensweep-client"}
        if token:
            headers["authorization"] = f"Bearer {token.strip()}"
        try:
            self._http = httpx.Client(
                base_url=self.url + API_PREFIX,
                headers=headers,
                timeout=timeout,
                transport=transport,
            )
            # Requests go straight to the transport (the connection pool, or a proxy's when the
            # environment names one for this URL): httpx.Client's per-request work (merging the
            # URL, headers and cookies, redirects, auth, hooks) costs more CPU than the HTTP
            # exchange itself (about 170 of 530 µs a call), and this client needs none of it.
            pick = getattr(self._http, "_transport_for_url", None)
            self._transport: httpx.BaseTransport = (
                pick(httpx.URL(self.url + API_PREFIX))
                if callable(pick)
                else _ClientTransport(self._http)  # an httpx without that helper
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise InvalidRequest(f"invalid server URL {url!r}: {exc}") from None
        self._base = self.url + API_PREFIX
        self._headers = httpx.Headers(headers)
        self._json_headers = httpx.Headers({**headers, "content-type": "application/json"})
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self.retry_for = _retry_for_from_env() if retry_for is None else float(retry_for)
        self._handed_out: set[str] = set()  # run ids next_run returned (claim recovery)

    # --- transport ------------------------------------------------------------------------------

    def _send_once(
        self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        content = None
        headers = self._headers
        if body is not None:
            text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
            content = text.encode()
            headers = self._json_headers
        try:
            request = httpx.Request(
                method,
                self._base + path,
                params=params or None,
                headers=headers,
                content=content,
                extensions=self._extensions,
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise InvalidRequest(f"cannot send {method} {path}: {exc}") from None
        try:
            response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()  # hands the connection back to the pool for the next call
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Unsent(str(exc) or type(exc).__name__) from None
        except httpx.HTTPError as exc:
            raise _Lost(str(exc) or type(exc).__name__) from None
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        if 200 <= status < 300:
            if data is None and response.content:
                raise TransportError(
                    f"{self.url} answered {status} with something that is not JSON"
                )
            return data
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            raise error_from_dict(data)
        if status in _RETRY_STATUSES:
            raise _Lost(f"HTTP {status}")
        raise TransportError(
            f"{self.url} answered HTTP {status} without an opensweep error body",
            details={"status": status},
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        safe: bool,
        on_lost_retry: Callable[[OpenSweepError], Any] | None = None,
    ) -> Any:
        """Send with retries. ``safe``: repeating the request is harmless (see module doc).

        ``on_lost_retry`` turns an error on a repeat after a lost answer into a result (e.g. a
        Conflict because the first attempt already finished the run), or re-raises it.
        """
        deadline = time.monotonic() + self.retry_for
        attempt = 0
        lost_before = False
        while True:
            try:
                return self._send_once(method, path, body, params)
            except (_Unsent, _Lost) as exc:
                lost = isinstance(exc, _Lost)
                if lost and not safe:
                    raise MaybeAppliedError(
                        f"lost the connection to {self.url} during {method} {path}; "
                        "the request may or may not have been applied"
                    ) from None
                lost_before = lost_before or lost
                reason = str(exc)
            except SchemaVersionError:
                raise
            except StoreError as exc:  # database briefly unavailable behind the server
                if not safe:
                    raise
                lost_before = True
                reason = exc.message
            except OpenSweepError as exc:
                if lost_before and on_lost_retry is not None:
                    return on_lost_retry(exc)
                raise
            attempt += 1
            delay = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())
            if time.monotonic() + delay > deadline:
                raise TransportError(
                    f"cannot reach opensweep server at {self.url} ({reason}); "
                    f"gave up after {self.retry_for:g} s",
                    details={"url": self.url},
                ) from None
            time.sleep(delay)

    @staticmethod
    def _decode(build: Callable[[Any], T], data: Any) -> T:
        try:
            return build(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TransportError(f"unexpected answer from the server: {exc!r}") from None

    # --- sweeps ---------------------------------------------------------------------------------

    def create_sweep(
        self,
        config: Mapping[str, Any],
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
    ) -> Sweep:
        body = {"config": encode_value(config), "project": project, "entity": entity, "name": name}
        data = self._call("POST", "/sweeps", body, safe=False)
        return self._decode(codec.sweep_from_wire, data)

    def get_sweep(self, sweep_id: str) -> Sweep:
        data = self._call("GET", f"/sweeps/{_seg(sweep_id)}", safe=True)
        return self._decode(codec.sweep_from_wire, data)

    def list_sweeps(self, project: str | None = None) -> list[Sweep]:
        params = {} if project is None else {"project": project}
        data = self._call("GET", "/sweeps", params=params, safe=True)
        return self._decode(lambda d: [codec.sweep_from_wire(s) for s in d], data)

    def set_sweep_state(self, sweep_id: str, action: SweepAction) -> Sweep:
        def already_done(exc: OpenSweepError) -> Any:
            current = self.get_sweep(sweep_id)
            target = SWEEP_ACTIONS.get(action)
            if isinstance(exc, Conflict) and target is not None and current.state is target[1]:
                return codec.sweep_to_wire(current)
            raise exc

        data = self._call(
            "POST",
            f"/sweeps/{_seg(sweep_id)}/state",
            {"action": action},
            safe=True,
            on_lost_retry=already_done,
        )
        return self._decode(codec.sweep_from_wire, data)

    def rerun_crashed(self, sweep_id: str) -> int:
        data = self._call("POST", f"/sweeps/{_seg(sweep_id)}/rerun-crashed", {}, safe=False)
        return self._decode(lambda d: int(d["count"]), data)

    # --- runs -----------------------------------------------------------------------------------

    def next_run(self, sweep_id: str, agent_id: str) -> Run | None:
        path = f"/sweeps/{_seg(sweep_id)}/next-run"
        try:
            data = self._call("POST", path, {"agent_id": agent_id}, safe=False)
        except MaybeAppliedError:
            # The answer was lost: the server may have handed us a run. Find it, or ask again.
            recovered = self._recover_claim(sweep_id, agent_id)
            if recovered is not None:
                return recovered
            data = self._call("POST", path, {"agent_id": agent_id}, safe=False)
        run = self._decode(lambda d: _optional_run_at(d, "run"), data)
        if run is not None:
            self._handed_out.add(run.id)
        return run

    def _recover_claim(self, sweep_id: str, agent_id: str) -> Run | None:
        for run in self.list_runs(sweep_id):
            if (
                run.agent_id == agent_id
                and run.state is RunState.RUNNING
                and run.id not in self._handed_out
            ):
                self._handed_out.add(run.id)
                return run
        return None

    def start_run(
        self,
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Run:
        body = {
            "project": project,
            "entity": entity,
            "name": name,
            "config": None if config is None else encode_value(config),
        }
        data = self._call("POST", "/runs", body, safe=False)
        return self._decode(codec.run_from_wire, data)

    def get_run(self, run_id: str) -> Run:
        data = self._call("GET", f"/runs/{_seg(run_id)}", safe=True)
        return self._decode(codec.run_from_wire, data)

    def update_config(self, run_id: str, config: Mapping[str, Any]) -> Run:
        # Setting keys to values is idempotent: safe to send again after a lost answer.
        body = {"config": encode_value(dict(config))}
        data = self._call("POST", f"/runs/{_seg(run_id)}/config", body, safe=True)
        return self._decode(codec.run_from_wire, data)

    def list_runs(self, sweep_id: str, *, updated_after: float | None = None) -> list[Run]:
        params = {} if updated_after is None else {"updated_after": repr(float(updated_after))}
        data = self._call("GET", f"/sweeps/{_seg(sweep_id)}/runs", params=params, safe=True)
        return self._decode(lambda d: [codec.run_from_wire(r) for r in d], data)

    def list_plain_runs(self, project: str | None = None) -> list[Run]:
        params = {} if project is None else {"project": project}
        data = self._call("GET", "/runs", params=params, safe=True)
        return self._decode(lambda d: [codec.run_from_wire(r) for r in d], data)

    def finish_run(
        self,
        run_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> Run:
        def already_finished(exc: OpenSweepError) -> Any:
            current = self.get_run(run_id)
            if isinstance(exc, Conflict) and current.state.is_terminal:
                return codec.run_to_wire(current)
            raise exc

        data = self._call(
            "POST",
            f"/runs/{_seg(run_id)}/finish",
            codec.end_request_json(_end_body(state, exit_code, error), last_log),
            safe=True,
            on_lost_retry=already_finished,
        )
        return self._decode(codec.run_from_wire, data)

    def finish_and_next(
        self,
        run_id: str,
        agent_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> tuple[Run, Run | None]:
        end = {**_end_body(state, exit_code, error), "agent_id": agent_id}
        body = codec.end_request_json(end, last_log)
        try:
            data = self._call("POST", f"/runs/{_seg(run_id)}/finish-and-next", body, safe=False)
        except MaybeAppliedError:
            # The answer was lost: the run may have ended and a next run may be ours. Both
            # halves are recoverable: finishing again returns the run as it ended, and the
            # claim is found (or made) as in next_run.
            ended = self.finish_run(
                run_id, state=state, exit_code=exit_code, error=error, last_log=last_log
            )
            if ended.sweep_id is None:
                return ended, None
            recovered = self._recover_claim(ended.sweep_id, agent_id)
            return ended, recovered or self.next_run(ended.sweep_id, agent_id)
        ended, run = self._decode(
            lambda d: (codec.run_from_wire(d["finished"]), _optional_run_at(d, "next")), data
        )
        if run is not None:
            self._handed_out.add(run.id)
        return ended, run

    def log(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any] | None = None,
    ) -> LogResult:
        body = codec.log_request_json(seq, list(rows), summary)
        data = self._call("POST", f"/runs/{_seg(run_id)}/log", body, safe=True)
        return self._decode(
            lambda d: LogResult(
                applied=bool(d["applied"]),
                stop_reason=None if d.get("stop_reason") is None else str(d["stop_reason"]),
            ),
            data,
        )

    def heartbeat(self, agent_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        body = {"agent_id": agent_id, "run_ids": list(run_ids)}
        data = self._call("POST", "/heartbeat", body, safe=True)
        return self._decode(lambda d: {str(k): str(v) for k, v in d["stop"].items()}, data)

    def history(
        self, run_id: str, *, keys: Sequence[str] | None = None, after_step: int | None = None
    ) -> list[MetricRow]:
        params: dict[str, Any] = {}
        if keys is not None:
            params["keys"] = list(keys)
        if after_step is not None:
            params["after_step"] = int(after_step)
        data = self._call("GET", f"/runs/{_seg(run_id)}/history", params=params, safe=True)
        return self._decode(lambda d: [codec.row_from_wire(r) for r in d], data)

    # --- other ----------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's ``/health`` answer (status, version, auth_required, read_only)."""
        data = self._call("GET", "/health", safe=True)
        return self._decode(dict, data)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpClient({self.url!r})"


def _retry_for_from_env() -> float:
    """``OPENSWEEP_RETRY_FOR`` (seconds to keep retrying an unreachable server), else 120."""
    text = os.environ.get("OPENSWEEP_RETRY_FOR")
    if not text:
        return DEFAULT_RETRY_FOR
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InvalidRequest(f"OPENSWEEP_RETRY_FOR must be a number of seconds >= 0 (got {text!r})")
    return value


def _check_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash, or InvalidRequest."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # ValueError when out of range
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise InvalidRequest(f"invalid server URL {url!r}: expected http(s)://host:port")
    return url.strip().rstrip("/")


def _end_body(state: RunState | None, exit_code: int | None, error: str | None) -> dict[str, Any]:
    """How a run ended, as finish and finish-and-next take it."""
    return {
        "state": None if state is None else RunState(state).value,
        "exit_code": exit_code,
        "error": error,
    }


def _optional_run_at(data: Any, key: str) -> Run | None:
    return None if data[key] is None else codec.run_from_wire(data[key])


def _seg(value: str) -> str:
    """One path segment, percent-encoded (ids may hold any unicode)."""
    if not value:
        raise InvalidRequest("an id must not be empty")
    return quote(value, safe="")
