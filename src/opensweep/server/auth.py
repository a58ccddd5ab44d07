"""Bearer-token auth and the request size limit, as plain ASGI middleware (cheap per request).

A request carries its token as ``Authorization: Bearer <token>`` (the HTTP client, scripts) or
as the ``opensweep_token`` cookie (the dashboard in a browser). Tokens are compared with
:func:`hmac.compare_digest` against every configured token, and never logged or echoed.
A read-only token allows GET/HEAD/OPTIONS only (a dashboard for viewers).
"""

from __future__ import annotations

import hmac
import secrets
import string
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opensweep.core.encoding import dumps
from opensweep.errors import InvalidRequest

Access = Literal["write", "read"]
ACCESS_SCOPE_KEY = "opensweep_access"
TOKEN_COOKIE = "opensweep_token"
MIN_TOKEN_LENGTH = 16
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_token(token: str, what: str = "token") -> str:
    """A token must be printable ASCII without spaces and long enough to resist guessing."""
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise InvalidRequest(f"{what} must be at least {MIN_TOKEN_LENGTH} characters long")
    if not set(token) <= _TOKEN_CHARS:
        raise InvalidRequest(f"{what} must be printable ASCII without spaces")
    return token


def access_of(scope: Scope) -> Access:
    """The access level the auth middleware granted this request ("write" without auth)."""
    state = scope.get("state") or {}
    value = state.get(ACCESS_SCOPE_KEY, "write")
    return "read" if value == "read" else "write"


async def _send_error(send: Send, status: int, code: str, message: str, **headers: str) -> None:
    body = dumps({"code": code, "message": message, "details": {}}).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _presented_token(scope: Scope) -> bytes | None:
    auth = _header(scope, b"authorization")
    if auth is not None:
        scheme, _, value = auth.partition(b" ")
        if scheme.lower() == b"bearer" and value.strip():
            return value.strip()
        return b""  # present but malformed: treated as a wrong token
    cookie = _header(scope, b"cookie")
    if cookie is not None:
        try:
            jar: SimpleCookie = SimpleCookie(cookie.decode("latin-1"))
        except CookieError:
            return None
        morsel = jar.get(TOKEN_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value.encode("latin-1", errors="replace")
    return None


class TokenAuth:
    """Refuses requests without a valid token, except on public paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        read_only_tokens: Iterable[str] = (),
        is_public: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.app = app
        self._write = [token.encode()] if token else []
        self._read = [t.encode() for t in read_only_tokens]
        self._is_public = is_public

    @property
    def enabled(self) -> bool:
        return bool(self._write or self._read)

    def _match(self, presented: bytes) -> Access | None:
        # Compare against every token (no early exit) so timing says nothing about which matched.
        write = False
        read = False
        for expected in self._write:
            write |= hmac.compare_digest(presented, expected)
        for expected in self._read:
            read |= hmac.compare_digest(presented, expected)
        return "write" if write else "read" if read else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        presented = _presented_token(scope)
        access = self._match(presented) if presented else None
        state: dict[str, Any] = scope.setdefault("state", {})
        if access is not None:
            state[ACCESS_SCOPE_KEY] = access
        path: str = scope.get("path", "")
        if self._is_public(path):
            if access is None:
                state[ACCESS_SCOPE_KEY] = "read"
            await self.app(scope, receive, send)
            return
        if access is None:
            message = "a bearer token is required" if presented is None else "invalid token"
            await _send_error(send, 401, "unauthorized", message, **{"WWW-Authenticate": "Bearer"})
            return
        if access == "read" and scope.get("method", "GET") not in READ_METHODS:
            await _send_error(send, 403, "forbidden", "this token is read-only")
            return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """413 for bodies over ``max_bytes`` (by Content-Length, or while streaming a chunked body)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body is larger than {self.max_bytes} bytes"
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                await _send_error(send, 400, "invalid_request", "invalid Content-Length")
                return
            if too_big:
                await _send_error(send, 413, "payload_too_large", message)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI lets HTTPException through its body parsing; our handler renders it.
                    raise HTTPException(status_code=413, detail=message)
            return msg

        await self.app(scope, limited_receive, send)
