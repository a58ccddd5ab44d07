"""The ASGI app: a JSON API over the controller, with auth, a size limit and the dashboard.

Every route is thin: parse (pydantic models in :mod:`opensweep.wire`) -> one call on the
backend (anything implementing the :class:`~opensweep.client.base.Client` protocol, normally
the controller) -> encode (:mod:`opensweep.wire.codec`). The OpenAPI document at
``/openapi.json`` is the contract the HTTP client follows.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from opensweep.client.base import Client
from opensweep.core.model import RunState
from opensweep.errors import Conflict, InvalidRequest
from opensweep.server.auth import BodySizeLimit, TokenAuth, access_of, check_token
from opensweep.server.errors import install_error_handlers
from opensweep.server.fastpath import FastPath, FastRoute, FastRoutes, encode
from opensweep.wire import codec
from opensweep.wire.models import (
    API_PREFIX,
    MAX_INT64,
    CreateSweepRequest,
    ErrorOut,
    FinishAndNextOut,
    FinishAndNextRequest,
    FinishRunRequest,
    HealthOut,
    HeartbeatOut,
    HeartbeatRequest,
    LogRequest,
    LogResultOut,
    MetricRowOut,
    NextRunOut,
    NextRunRequest,
    RunOut,
    StartRunRequest,
    SweepActionRequest,
    SweepOut,
    UpdateConfigRequest,
)

log = logging.getLogger("opensweep.server")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"
_PUBLIC_PATHS = frozenset({f"{API_PREFIX}/health", "/openapi.json", "/docs", "/favicon.ico"})

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "Invalid request (the message names the field)"),
        (401, "Missing or invalid token"),
        (403, "Read-only token used for a change"),
        (404, "Unknown sweep or run"),
        (409, "Conflict with the current state"),
        (413, "Request body too large"),
        (422, "Invalid sweep config (details.violations lists every problem)"),
        (503, "The database is unavailable"),
    )
}

IdParam = Annotated[str, PathParam(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


@functools.cache
def _version() -> str:
    try:
        return metadata.version("opensweep")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def _json(content: Any, status: int = 200) -> Response:
    return Response(encode(content), status_code=status, media_type="application/json")


# --- the agent's hot calls: shared by their routes and the fast path (server/fastpath.py) ------


def _next_run(backend: Client, sweep_id: str, body: NextRunRequest) -> dict[str, Any]:
    codec.check_json(sweep_id, "sweep_id")
    run = backend.next_run(sweep_id, body.agent_id)
    return {"run": None if run is None else codec.run_to_wire(run)}


def _end_of(body: FinishRunRequest) -> dict[str, Any]:
    """The keyword arguments of finish_run (and finish_and_next) from the request."""
    return {
        "state": None if body.state is None else RunState(body.state),
        "exit_code": body.exit_code,
        "error": codec.check_json(body.error, "error"),
        "last_log": None if body.log is None else codec.batch_from_request(body.log, "log."),
    }


def _finish_run(backend: Client, run_id: str, body: FinishRunRequest) -> dict[str, Any]:
    codec.check_json(run_id, "run_id")
    return codec.run_to_wire(backend.finish_run(run_id, **_end_of(body)))


def _finish_and_next(backend: Client, run_id: str, body: FinishAndNextRequest) -> dict[str, Any]:
    codec.check_json(run_id, "run_id")
    ended, run = backend.finish_and_next(run_id, body.agent_id, **_end_of(body))
    return {
        "finished": codec.run_to_wire(ended),
        "next": None if run is None else codec.run_to_wire(run),
    }


def _log(backend: Client, run_id: str, body: LogRequest) -> dict[str, Any]:
    codec.check_json(run_id, "run_id")
    batch = codec.batch_from_request(body)
    result = backend.log(run_id, batch.seq, batch.rows, batch.summary)
    return {"applied": result.applied, "stop_reason": result.stop_reason}


def _heartbeat(backend: Client, _: str, body: HeartbeatRequest) -> dict[str, Any]:
    return {"stop": dict(backend.heartbeat(body.agent_id, body.run_ids))}


FAST_ROUTES = FastRoutes(
    top={"heartbeat": FastRoute(HeartbeatRequest, _heartbeat)},
    sweep={"next-run": FastRoute(NextRunRequest, _next_run)},
    run={
        "log": FastRoute(LogRequest, _log),
        "finish": FastRoute(FinishRunRequest, _finish_run),
        "finish-and-next": FastRoute(FinishAndNextRequest, _finish_and_next),
    },
)


def get_client(request: Request) -> Client:
    """The backend of the app serving ``request`` (for extra routers such as the dashboard)."""
    return cast(Client, request.app.state.client)


def _api_router(backend: Client) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX, responses=_ERRORS)

    @api.get("/health", response_model=HealthOut, tags=["meta"])
    def health(request: Request) -> Response:
        auth_required = bool(request.app.state.auth_required)
        read_only = auth_required and access_of(request.scope) == "read"
        return _json(
            {
                "status": "ok",
                "version": _version(),
                "auth_required": auth_required,
                "read_only": read_only,
            }
        )

    # --- sweeps -------------------------------------------------------------------------------

    @api.post("/sweeps", response_model=SweepOut, status_code=201, tags=["sweeps"])
    def create_sweep(body: CreateSweepRequest) -> Response:
        config = codec.check_object(body.config, "config") or {}
        sweep = backend.create_sweep(
            config, project=body.project, entity=body.entity, name=body.name
        )
        return _json(codec.sweep_to_wire(sweep), 201)

    @api.get("/sweeps", response_model=list[SweepOut], tags=["sweeps"])
    def list_sweeps(
        project: Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00]*$")] = None,
    ) -> Response:
        codec.check_json(project, "project")
        return _json([codec.sweep_to_wire(s) for s in backend.list_sweeps(project)])

    @api.get("/sweeps/{sweep_id}", response_model=SweepOut, tags=["sweeps"])
    def get_sweep(sweep_id: IdParam) -> Response:
        codec.check_json(sweep_id, "sweep_id")
        return _json(codec.sweep_to_wire(backend.get_sweep(sweep_id)))

    @api.post("/sweeps/{sweep_id}/state", response_model=SweepOut, tags=["sweeps"])
    def set_sweep_state(sweep_id: IdParam, body: SweepActionRequest) -> Response:
        codec.check_json(sweep_id, "sweep_id")
        return _json(codec.sweep_to_wire(backend.set_sweep_state(sweep_id, body.action)))

    @api.post("/sweeps/{sweep_id}/next-run", response_model=NextRunOut, tags=["runs"])
    def next_run(sweep_id: IdParam, body: NextRunRequest) -> Response:
        return _json(_next_run(backend, sweep_id, body))

    @api.get("/sweeps/{sweep_id}/runs", response_model=list[RunOut], tags=["runs"])
    def list_runs(
        sweep_id: IdParam,
        updated_after: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    ) -> Response:
        codec.check_json(sweep_id, "sweep_id")
        runs = backend.list_runs(sweep_id, updated_after=updated_after)
        return _json([codec.run_to_wire(r) for r in runs])

    @api.post("/sweeps/{sweep_id}/rerun-crashed", tags=["sweeps"])
    def rerun_crashed(sweep_id: IdParam) -> Response:
        """Hand out the grid points of the sweep's crashed runs again; returns their count."""
        codec.check_json(sweep_id, "sweep_id")
        rerun = getattr(backend, "rerun_crashed", None)
        if rerun is None:
            raise Conflict("this server cannot re-run crashed runs")
        return _json({"count": int(rerun(sweep_id))})

    # --- runs ---------------------------------------------------------------------------------

    @api.post("/runs", response_model=RunOut, status_code=201, tags=["runs"])
    def start_run(body: StartRunRequest) -> Response:
        run = backend.start_run(
            project=body.project,
            entity=body.entity,
            name=body.name,
            config=codec.check_object(body.config, "config"),
        )
        return _json(codec.run_to_wire(run), 201)

    @api.get("/runs", response_model=list[RunOut], tags=["runs"])
    def list_plain_runs(
        project: Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00]*$")] = None,
    ) -> Response:
        """The runs started outside any sweep (``init()`` without an agent)."""
        codec.check_json(project, "project")
        return _json([codec.run_to_wire(r) for r in backend.list_plain_runs(project)])

    @api.get("/runs/{run_id}", response_model=RunOut, tags=["runs"])
    def get_run(run_id: IdParam) -> Response:
        codec.check_json(run_id, "run_id")
        return _json(codec.run_to_wire(backend.get_run(run_id)))

    @api.post("/runs/{run_id}/config", response_model=RunOut, tags=["runs"])
    def update_config(run_id: IdParam, body: UpdateConfigRequest) -> Response:
        """Set top-level keys of a running run's config (a sweep's parameters stand)."""
        config = codec.check_object(body.config, "config") or {}
        return _json(codec.run_to_wire(backend.update_config(run_id, config)))

    @api.post("/runs/{run_id}/finish", response_model=RunOut, tags=["runs"])
    def finish_run(run_id: IdParam, body: FinishRunRequest) -> Response:
        return _json(_finish_run(backend, run_id, body))

    @api.post("/runs/{run_id}/finish-and-next", response_model=FinishAndNextOut, tags=["runs"])
    def finish_and_next(run_id: IdParam, body: FinishAndNextRequest) -> Response:
        """End a sweep run and claim the agent's next run of the same sweep, in one request."""
        return _json(_finish_and_next(backend, run_id, body))

    @api.post("/runs/{run_id}/log", response_model=LogResultOut, tags=["metrics"])
    def log_metrics(run_id: IdParam, body: LogRequest) -> Response:
        """Append one batch of rows; a batch whose ``seq`` was applied before changes nothing."""
        return _json(_log(backend, run_id, body))

    @api.get("/runs/{run_id}/history", response_model=list[MetricRowOut], tags=["metrics"])
    def history(
        run_id: IdParam,
        keys: Annotated[list[str] | None, Query(max_length=1000)] = None,
        after_step: Annotated[int | None, Query(ge=-1, le=MAX_INT64)] = None,
    ) -> Response:
        codec.check_json(run_id, "run_id")
        codec.check_json(keys, "keys")
        rows = backend.history(run_id, keys=keys, after_step=after_step)
        return _json([codec.row_to_wire(r) for r in rows])

    @api.post("/heartbeat", response_model=HeartbeatOut, tags=["runs"])
    def heartbeat(body: HeartbeatRequest) -> Response:
        """Keep the agent's runs alive; answers the stop requests for them."""
        return _json(_heartbeat(backend, "", body))

    return api


class _Reaper:
    """Periodically marks runs whose agent stopped beating as crashed (if the backend can)."""

    def __init__(self, backend: Client, interval: float) -> None:
        self._reap: Callable[[], object] | None = getattr(backend, "reap", None)
        self._interval = interval
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._reap is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="opensweep-reaper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        assert self._reap is not None  # start() checked
        while not self._done.wait(self._interval):
            try:
                self._reap()
            except Exception:  # a failed sweep of the table must not kill the server
                log.warning("reaping crashed runs failed", exc_info=True)

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def open_backend(url: str, *, heartbeat_timeout: float) -> Client:
    """The controller over the store at ``url`` (a database URL), in this process."""
    from opensweep.client.local import LocalClient

    return LocalClient(url, heartbeat_timeout=heartbeat_timeout)


def _include_dashboard(app: FastAPI, public_paths: set[str], public_prefixes: list[str]) -> None:
    """Add the dashboard if it is installed: ``install(app)`` if it has one, else its ``router``
    and the static files at ``/static``. Its ``PUBLIC_PATHS``/``PUBLIC_PREFIXES`` (pages that hold
    no data) are served without a token."""
    try:
        dashboard = importlib.import_module("opensweep.server.dashboard")
    except ModuleNotFoundError as exc:
        if exc.name != "opensweep.server.dashboard":
            raise
        return
    public_paths.update(getattr(dashboard, "PUBLIC_PATHS", ()))
    public_prefixes.extend(getattr(dashboard, "PUBLIC_PREFIXES", ()))
    install = getattr(dashboard, "install", None)
    if callable(install):
        install(app)
        return
    router = getattr(dashboard, "router", None)
    if isinstance(router, APIRouter):
        app.include_router(router)
    if STATIC_DIR.is_dir() and not any(getattr(r, "path", None) == "/static" for r in app.routes):
        from starlette.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
        public_prefixes.append("/static/")


def create_app(
    backend: str | Client,
    *,
    token: str | None = None,
    read_only_tokens: Iterable[str] = (),
    heartbeat_timeout: float = 60.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dashboard: bool = True,
    reap_interval: float | None = None,
) -> FastAPI:
    """The opensweep server app over ``backend``: a database URL or a Client (e.g. a Controller).

    ``token`` allows everything; each of ``read_only_tokens`` allows GET requests only. Without
    any token the API is open (the CLI refuses to bind a non-loopback address then).
    When built from a URL, the app owns the controller: it reaps runs whose agent stopped beating
    for ``heartbeat_timeout`` seconds and closes the store on shutdown.
    """
    if not heartbeat_timeout > 0:
        raise InvalidRequest(f"heartbeat_timeout must be > 0 seconds (got {heartbeat_timeout})")
    write_token = None if token is None else check_token(token)
    read_tokens = [check_token(t, "read-only token") for t in read_only_tokens]
    owned = isinstance(backend, str)
    client: Client = (
        open_backend(backend, heartbeat_timeout=heartbeat_timeout)
        if isinstance(backend, str)
        else backend
    )
    reaper = _Reaper(client, reap_interval or max(0.2, min(heartbeat_timeout / 4, 10.0)))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        reaper.start()
        try:
            yield
        finally:
            reaper.stop()
            if owned:
                client.close()

    app = FastAPI(
        title="opensweep",
        version=_version(),
        description="Self-hosted hyperparameter sweeps: the API agents, the SDK and the "
        "dashboard use. Send `Authorization: Bearer <token>` when the server has a token. "
        'Non-finite floats travel as `{"__float__": "nan" | "inf" | "-inf"}`.',
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.client = client
    app.state.auth_required = bool(write_token or read_tokens)
    install_error_handlers(app)
    # The API's routes go onto the app itself: an included router matches every request twice.
    app.router.routes.extend(_api_router(client).routes)

    public_paths: set[str] = set(_PUBLIC_PATHS)
    public_prefixes: list[str] = []
    if dashboard:
        _include_dashboard(app, public_paths, public_prefixes)
    prefixes = tuple(public_prefixes)

    def is_public(path: str) -> bool:
        return path in public_paths or path.startswith(prefixes)

    app.add_middleware(FastPath, backend=client, routes=FAST_ROUTES)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(
        TokenAuth, token=write_token, read_only_tokens=read_tokens, is_public=is_public
    )
    return app
