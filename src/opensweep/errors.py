"""One error tree for the whole package.

Every error a user can see derives from :class:`OpenSweepError` and carries a stable
``code``. The server maps the code to an HTTP status and a ``{code, message, details}`` body;
the HTTP client raises the same class again from that body, so callers never see a raw
transport or database exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OpenSweepError(Exception):
    """Base of every opensweep error."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ConfigError(OpenSweepError):
    """A sweep config (or a request) is invalid. ``violations`` lists every problem found."""

    code = "invalid_config"
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        violations: list[tuple[str, str]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.violations: list[tuple[str, str]] = list(violations or [])
        merged = dict(details or {})
        if self.violations:
            merged.setdefault("violations", [{"path": p, "message": m} for p, m in self.violations])
        super().__init__(message, details=merged)

    def __str__(self) -> str:
        if not self.violations:
            return self.message
        lines = [self.message] + [f"  {p}: {m}" if p else f"  {m}" for p, m in self.violations]
        return "\n".join(lines)


class InvalidRequest(OpenSweepError):
    """A request is malformed (wrong types, bad values) — not a config problem."""

    code = "invalid_request"
    http_status = 400


class NotFound(OpenSweepError):
    code = "not_found"
    http_status = 404


class Conflict(OpenSweepError):
    """The request is valid but the current state forbids it (e.g. logging to a finished run)."""

    code = "conflict"
    http_status = 409


class Unauthorized(OpenSweepError):
    code = "unauthorized"
    http_status = 401


class Forbidden(OpenSweepError):
    code = "forbidden"
    http_status = 403


class PayloadTooLarge(OpenSweepError):
    code = "payload_too_large"
    http_status = 413


class StoreError(OpenSweepError):
    """The store failed (database unreachable, schema mismatch, ...)."""

    code = "store_error"
    http_status = 503


class SchemaVersionError(StoreError):
    """The database schema is newer than this version of opensweep knows."""

    code = "schema_version"
    http_status = 503


class TransportError(OpenSweepError):
    """The server could not be reached or answered with something that is not our protocol."""

    code = "transport_error"
    http_status = 502


class RunStopped(BaseException):
    """Raised from ``log()`` when the controller has stopped this run (early termination).

    A ``BaseException`` on purpose: a training loop's ``except Exception:`` must not swallow it.
    """

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"run {run_id} was stopped: {reason}")
        self.run_id = run_id
        self.reason = reason


_BY_CODE: dict[str, type[OpenSweepError]] = {
    cls.code: cls
    for cls in (
        OpenSweepError,
        ConfigError,
        InvalidRequest,
        NotFound,
        Conflict,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        StoreError,
        SchemaVersionError,
        TransportError,
    )
}


def error_from_dict(body: dict[str, Any]) -> OpenSweepError:
    """Rebuild the error a server sent as ``{code, message, details}``."""
    code = str(body.get("code", "error"))
    message = str(body.get("message", "unknown error"))
    details = body.get("details") or {}
    cls = _BY_CODE.get(code, OpenSweepError)
    if cls is ConfigError:
        violations = [
            (str(v.get("path", "")), str(v.get("message", "")))
            for v in details.get("violations", [])
        ]
        return ConfigError(message, violations=violations, details=details)
    return cls(message, details=details)
