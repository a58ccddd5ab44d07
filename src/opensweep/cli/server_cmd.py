"""``opensweep server``: the JSON API (and dashboard) over a database, on uvicorn."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import click

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_DEFAULT_WORKERS = 4
_DB_SCHEMES = ("sqlite", "postgresql", "postgres")


def default_db_url(env_url: str | None) -> str:
    """``OPENSWEEP_URL`` when it names a database, else ``./opensweep.db``."""
    if env_url:
        scheme = urlsplit(env_url).scheme.lower().split("+", 1)[0]
        if scheme in _DB_SCHEMES:
            return env_url
    return f"sqlite:///{Path('opensweep.db').resolve()}"


def default_workers(db_url: str) -> int:
    """Server processes when ``--workers`` is not given.

    One process serves every agent's requests under one GIL, so on PostgreSQL the server runs
    one process per CPU core it may use (at most ``MAX_DEFAULT_WORKERS``): with 4 agents on 2
    cores, two processes made 1.5x the trials/s of one (about 100 -> 150). SQLite gets one: its
    writers take turns anyway, and an in-memory database is per process.
    """
    scheme = urlsplit(db_url).scheme.lower().split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))  # what this process may use (taskset, SLURM)
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: we cannot know where it resolves, so not loopback
        return False


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _read_token_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot read token file {path}: {exc.strerror}") from None
    tokens = [line.strip() for line in text.splitlines() if line.strip()]
    if not tokens:
        raise click.UsageError(f"token file {path} is empty")
    return tokens


def _write_new_token(path: str | None) -> None:
    from opensweep.server.auth import new_token

    token = new_token()
    if path is not None:
        target = Path(path)
        if target.exists():
            raise click.UsageError(f"{path} exists; not overwriting a token file")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        click.echo(f"wrote a new token to {path} (mode 600)", err=True)
    click.echo(token)


@click.command(name="server")
@click.option(
    "--db",
    "db_url",
    default=None,
    help="Database URL (default: OPENSWEEP_URL when it is a database URL, else ./opensweep.db).",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File holding the API token (else OPENSWEEP_TOKEN).",
)
@click.option(
    "--read-only-token-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File with read-only tokens, one a line (GET requests only: dashboards).",
)
@click.option(
    "--new-token",
    is_flag=True,
    help="Print a new random token and exit (with --token-file: also write it there).",
)
@click.option(
    "--heartbeat-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds without a heartbeat after which a run is marked crashed.",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Server processes. Each runs the controller; the database keeps them consistent. "
    f"Default: one per CPU core (at most {MAX_DEFAULT_WORKERS}) on PostgreSQL, 1 on SQLite.",
)
@click.option("--access-log", is_flag=True, help="Log every request (off: log() is chatty).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def server(
    db_url: str | None,
    host: str,
    port: int,
    token_file: str | None,
    read_only_token_file: str | None,
    new_token: bool,
    heartbeat_timeout: float,
    workers: int | None,
    access_log: bool,
    log_level: str,
) -> None:
    """Serve the opensweep API (and dashboard) for agents on many machines."""
    if new_token:
        _write_new_token(token_file)
        return
    token = _read_token_file(token_file)[0] if token_file else os.environ.get("OPENSWEEP_TOKEN")
    if not token and not is_loopback(host):
        click.echo(
            f"error: refusing to serve on {host} without a token: anyone who can reach it could "
            "change your sweeps.\nCreate one with `opensweep server --new-token --token-file F` "
            "and pass --token-file F (clients set OPENSWEEP_TOKEN), or bind 127.0.0.1.",
            err=True,
        )
        sys.exit(2)

    import uvicorn

    url = db_url or default_db_url(os.environ.get("OPENSWEEP_URL"))
    if workers is None:
        workers = default_workers(url)
    settings = {
        "db": url,
        "token_file": token_file,
        "read_only_token_file": read_only_token_file,
        "heartbeat_timeout": heartbeat_timeout,
    }
    app = _app_or_exit(settings)  # fails fast (bad database, newer schema) before binding
    shown_host = f"[{host}]" if ":" in host else host
    auth = "token required" if token else "no token (loopback only)"
    click.echo(
        f"opensweep server on http://{shown_host}:{port}  db: {redact(url)}  auth: {auth}"
        + (f"  workers: {workers}" if workers > 1 else ""),
        err=True,
    )
    from opensweep.server.protocol import uvicorn_options

    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": access_log,
        "timeout_graceful_shutdown": 5,
        **uvicorn_options(),
    }
    if workers == 1:
        uvicorn.run(app, **common)
        return
    app.state.client.close()  # each worker process opens its own
    os.environ[_WORKER_SETTINGS_ENV] = json.dumps({**settings, "parent_pid": os.getpid()})
    _serve_workers(
        uvicorn.Config(f"{__name__}:worker_app", factory=True, workers=workers, **common)
    )


def _serve_workers(config: Any) -> None:
    """``uvicorn.run`` for several workers, with Nagle's algorithm off on every connection.

    uvicorn binds the shared socket with protocol 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts and each answer waits for a delayed ACK (about 40 ms). Accepted
    sockets inherit the option from the listening one.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()


_WORKER_SETTINGS_ENV = "OPENSWEEP_SERVER_SETTINGS"


def _app_or_exit(settings: dict[str, Any]) -> FastAPI:
    from opensweep.errors import OpenSweepError
    from opensweep.server.app import create_app

    token_file = settings.get("token_file")
    token = _read_token_file(token_file)[0] if token_file else os.environ.get("OPENSWEEP_TOKEN")
    read_file = settings.get("read_only_token_file")
    read_only = _read_token_file(read_file) if read_file else []
    try:
        return create_app(
            settings["db"],
            token=token or None,
            read_only_tokens=read_only,
            heartbeat_timeout=float(settings["heartbeat_timeout"]),
        )
    except OpenSweepError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2 if exc.code in ("invalid_request", "invalid_config") else 1)


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process (uvicorn imports this factory in each of them).

    Settings come from the parent through the environment; tokens are read again from their
    files (or ``OPENSWEEP_TOKEN``), never passed around.
    """
    from opensweep.orphans import die_with_parent

    settings = json.loads(os.environ[_WORKER_SETTINGS_ENV])
    # A worker must not outlive a server killed with kill -9: it would keep the port.
    die_with_parent(signal.SIGTERM, parent_pid=settings.pop("parent_pid", None))
    return _app_or_exit(settings)
