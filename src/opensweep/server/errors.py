"""Every failure leaves the server as ``{code, message, details}`` with the error's HTTP status.

``OpenSweepError`` subclasses carry their own code and status; request validation errors become
``invalid_request`` (400) naming the field; routing errors (unknown path, wrong method) keep
their status with a code; anything unexpected is a 500 whose body says nothing internal (the
traceback goes to the server log).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from opensweep.core.encoding import dumps
from opensweep.errors import OpenSweepError

log = logging.getLogger("opensweep.server")

_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def code_of(exc: StarletteHTTPException) -> str:
    """The error code for an HTTP error raised by Starlette/FastAPI or our middleware."""
    return _STATUS_CODES.get(exc.status_code, "error")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return dumps({"code": code, "message": message, "details": details or {}}).encode()


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    body = error_body(code, message, details)
    return Response(body, status_code=status, media_type="application/json")


def log_opensweep_error(exc: OpenSweepError) -> None:
    """Server-side failures (the database is unavailable) go to the log; caller errors don't."""
    if exc.http_status >= 500:
        log.warning("%s: %s", exc.code, exc.message)


def opensweep_error_response(exc: OpenSweepError) -> Response:
    return error_response(exc.http_status, exc.code, exc.message, exc.details)


def _location(loc: Sequence[Any]) -> str:
    """``("body", "rows", 3, "step")`` -> ``rows[3].step``; query/path parameters by name."""
    path = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or (str(loc[0]) if loc else "request")


def validation_error_response(exc: RequestValidationError) -> Response:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error", "")
            problems.append(
                {
                    "field": "body",
                    "message": f"not valid JSON ({detail})" if detail else "not valid JSON",
                }
            )
            continue
        where = _location(err.get("loc", ()))
        # Never echo the input back: it may be huge or not JSON-safe.
        problems.append({"field": where, "message": str(err.get("msg", "invalid value"))})
    if not problems:
        return error_response(400, "invalid_request", "invalid request")
    first = problems[0]
    message = f"{first['field']}: {first['message']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    return error_response(400, "invalid_request", message, {"errors": problems})


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    async def on_opensweep_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, OpenSweepError)  # registered for this class only
        log_opensweep_error(exc)
        return opensweep_error_response(exc)

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = code_of(exc)
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        response = error_response(exc.status_code, code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["allow"] = ", ".join(_allowed_methods(request))
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "error", "internal server error (see the server log)")

    app.add_exception_handler(OpenSweepError, on_opensweep_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
