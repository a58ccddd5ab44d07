"""Clients: :func:`connect` picks the in-process or the HTTP client from a URL.

``sqlite:///path``, a bare file path and ``postgresql://...`` run the controller in this process
(:class:`~opensweep.client.local.LocalClient`); ``http(s)://host:port`` talks to
``opensweep server``. Without a URL, ``OPENSWEEP_URL`` decides, else ``./opensweep.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

from opensweep.client.base import Client, LogResult, SweepAction
from opensweep.errors import InvalidRequest

DEFAULT_URL = "sqlite:///opensweep.db"
_HTTP_SCHEMES = ("http", "https")
_STORE_SCHEMES = ("sqlite", "postgresql", "postgres")


def resolve_url(url: str | None = None) -> str:
    """The URL a client would use: ``url``, else ``OPENSWEEP_URL``, else ``./opensweep.db``.

    SQLite paths become absolute (a bare path turns into ``sqlite:///<absolute path>``), so the
    URL means the same file to a child process started in another directory.
    """
    text = (url or os.environ.get("OPENSWEEP_URL") or DEFAULT_URL).strip()
    if not text:
        text = DEFAULT_URL
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    base = scheme.lower().split("+", 1)[0]
    if base == "sqlite":
        path, sep, query = rest.partition("?")
        # sqlite:///relative -> rest "/relative"; sqlite:////absolute -> rest "//absolute"
        if path.startswith("/") and not path.startswith("//") and path[1:] not in ("", ":memory:"):
            absolute = Path(path[1:]).expanduser().resolve()
            return f"{scheme}:///{absolute}{sep}{query}"
        return text
    if base in _HTTP_SCHEMES or base in _STORE_SCHEMES:
        return text
    raise InvalidRequest(
        f"unsupported URL scheme {scheme!r}: use sqlite:///path, postgresql://... "
        "or http(s)://host:port",
        details={"scheme": scheme},
    )


def connect(url: str | None = None, *, token: str | None = None) -> Client:
    """A client for ``url`` (see :func:`resolve_url`). ``token`` is for ``http(s)://`` servers
    (default ``OPENSWEEP_TOKEN``)."""
    target = resolve_url(url)
    scheme = target.split("://", 1)[0].lower().split("+", 1)[0]
    if scheme in _HTTP_SCHEMES:
        from opensweep.client.http import HttpClient  # httpx loads only when needed

        return HttpClient(target, token=token or os.environ.get("OPENSWEEP_TOKEN"))
    from opensweep.client.local import LocalClient

    return LocalClient(target)


__all__ = ["DEFAULT_URL", "Client", "LogResult", "SweepAction", "connect", "resolve_url"]
