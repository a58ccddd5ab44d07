"""How uvicorn runs the app: the HTTP parser and event loop, shared by ``opensweep server`` and
the test servers (so the tests exercise what production runs).

httptools parses a request in C (about 140 µs less CPU per request than h11 here) and uvloop
runs the event loop in C (about 45 µs less); both come with opensweep and are used when they
import. A request that the parser refuses (e.g. a URL over 64 KiB, which httptools cannot
split) gets uvicorn's 400 with our ``{code, message, details}`` body instead of plain text.
"""

from __future__ import annotations

from typing import Any

from opensweep.server.errors import error_body

try:  # the C parser when installed (a dependency of opensweep), else uvicorn's pure-Python one
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools missing
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _Base,
    )


class HttpProtocol(_Base):
    """uvicorn's HTTP/1.1 protocol whose answer to an unparsable request is our JSON error."""

    def send_400_response(self, msg: str) -> None:
        body = error_body("invalid_request", msg)
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run``: parser and event loop."""
    return {"http": HttpProtocol, "loop": "auto"}  # "auto" takes uvloop when it imports
