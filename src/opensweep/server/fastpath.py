"""The agent's hot calls without FastAPI's per-request machinery.

An agent's trial is one or two requests (``finish-and-next`` carrying the run's last rows, after
a ``log`` or two for a longer run; ``next-run`` and ``finish`` on their own at the ends) plus
heartbeats, and FastAPI spends more CPU on routing, dependency solving and its middleware than
the JSON work itself.
:class:`FastPath` sits inside the auth and size-limit middleware and answers these calls
directly: match the path, parse the JSON body, validate it with the *same* pydantic model the
route declares, run the *same* handler on a thread of its own pool, encode the answer.

It only ever takes the happy path. A request it does not fully accept (another content type, no
``Content-Length``, a large body, invalid JSON, a body or id the model refuses) is handed, body
and all, to the FastAPI app, which answers it exactly as before (the 400 naming the field). So the
routes, their validation errors and the OpenAPI document stay the contract; this only makes the
valid requests cheaper. Errors the handler raises are rendered as the app's handlers render them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, NamedTuple

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opensweep.client.base import Client
from opensweep.errors import OpenSweepError
from opensweep.server.errors import code_of, error_body, log_opensweep_error
from opensweep.wire.models import API_PREFIX

log = logging.getLogger("opensweep.server")

# Hot requests are small (one claim, a few logged rows); bigger ones take the regular route.
MAX_FAST_BODY = 1024 * 1024
_ID_MAX = 256  # the routes' IdParam: 1-256 characters, no control characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON = b"application/json"
# Threads for the handlers (they block on the database): as many as the store's PostgreSQL pool
# holds connections. A concurrent.futures pool hands a call to a thread in about half the CPU of
# Starlette's run_in_threadpool (anyio's queue and capacity limiter): measured 30-40 against
# 65-90 us a call, paid on every agent request.
FAST_THREADS = 32

Handler = Callable[[Client, str, Any], Any]


class FastRoute(NamedTuple):
    model: type[BaseModel]
    handler: Handler  # (backend, path id or "", validated body) -> JSON-safe content


class FastRoutes(NamedTuple):
    """Handlers by path shape: ``/api/v1/{name}``, ``/api/v1/sweeps/{id}/{verb}``, ..."""

    top: dict[str, FastRoute]  # "heartbeat"
    sweep: dict[str, FastRoute]  # "next-run"
    run: dict[str, FastRoute]  # "log", "finish"


def encode(content: Any) -> bytes:
    """The JSON body of an answer (content is JSON-safe: the codec tags non-finite floats).
    ASCII escapes keep any stored text (even a lone surrogate from a local writer) sendable."""
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


async def send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def call_in_thread(threads: Executor, func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(threads, func, *args)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the app after the body was read here: the body once, then the client."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class FastPath:
    """ASGI middleware answering valid hot API calls; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, *, backend: Client, routes: FastRoutes) -> None:
        self.app = app
        self.backend = backend
        self.routes = routes
        self._prefix = API_PREFIX + "/"
        self._threads = ThreadPoolExecutor(FAST_THREADS, thread_name_prefix="opensweep-fastpath")

    def _match(self, path: str) -> tuple[FastRoute, str] | None:
        if not path.startswith(self._prefix):
            return None
        parts = path[len(self._prefix) :].split("/")
        if len(parts) == 1:
            route = self.routes.top.get(parts[0])
            return None if route is None else (route, "")
        if len(parts) != 3:
            return None
        kind, ident, verb = parts
        table = self.routes.run if kind == "runs" else self.routes.sweep if kind == "sweeps" else {}
        route = table.get(verb)
        if route is None or not 0 < len(ident) <= _ID_MAX or _CONTROL.search(ident):
            return None
        return route, ident

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        found = self._match(scope["path"])
        if found is None or not _small_json(scope):
            await self.app(scope, receive, send)
            return
        route, ident = found
        chunks = []
        while True:
            try:
                message = await receive()
            except HTTPException as exc:  # the size limit, counting a body while it streams
                detail = exc.detail if isinstance(exc.detail, str) else "request failed"
                await send_json(send, exc.status_code, error_body(code_of(exc), detail))
                return
            if message["type"] != "http.request":
                return  # the client went away before sending its body: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            request = route.model.model_validate(json.loads(body))
        except Exception:  # not for us: the app names the problem (or refuses the JSON)
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            content = await call_in_thread(
                self._threads, route.handler, self.backend, ident, request
            )
        except OpenSweepError as exc:
            log_opensweep_error(exc)
            await send_json(send, exc.http_status, error_body(exc.code, exc.message, exc.details))
            return
        except Exception as exc:
            log.error("internal error on POST %s", scope["path"], exc_info=exc)
            message_text = "internal server error (see the server log)"
            await send_json(send, 500, error_body("error", message_text))
            return
        await send_json(send, 200, encode(content))


def _small_json(scope: Scope) -> bool:
    """A JSON body of known, small length (what the HTTP client sends for these calls)."""
    content_type = length = None
    for key, value in scope["headers"]:
        if key == b"content-type":
            content_type = value
        elif key == b"content-length":
            length = value
    return (
        content_type == _JSON
        and length is not None
        and length.isdigit()
        and int(length) <= MAX_FAST_BODY
    )
