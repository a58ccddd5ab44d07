"""``opensweep.Api``: read sweeps and runs back (W&B's ``wandb.Api``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensweep.api.objects import Run, Sweep, rank_runs
from opensweep.api.query import OrderKey, matches
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.core import model
from opensweep.core.paths import parse_sweep_path
from opensweep.errors import InvalidRequest, NotFound


def _split_project_path(path: str | None) -> tuple[str | None, str | None]:
    """``entity/project`` or ``project`` -> (entity, project)."""
    if path is None or not path.strip():
        return None, None
    parts = path.strip().split("/")
    if len(parts) > 2 or not all(parts):
        raise InvalidRequest(f"invalid runs path {path!r}: expected project or entity/project")
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, parts[0]


class Api:
    """Reads what sweeps and runs stored at ``url`` (else ``OPENSWEEP_URL``, else
    ``./opensweep.db``). W&B's other constructor arguments are accepted and ignored."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Client | None = None,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
    ) -> None:
        if client is None:
            client = connect(url)
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        overrides = dict(overrides or {})
        self.default_project: str | None = overrides.get("project")
        self.default_entity: str | None = overrides.get("entity")

    @property
    def url(self) -> str:
        return self.client.url

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # sweeps
    def sweep(self, path: str) -> Sweep:
        """``"entity/project/id"``, ``"project/id"`` or ``"id"``. Sweep ids are unique, so the
        entity and project only have to be well formed (W&B scripts pass their own)."""
        sweep_id = parse_sweep_path(path).sweep_id
        try:
            record = self.client.get_sweep(sweep_id)
        except NotFound:
            raise NotFound(
                f"no sweep {sweep_id!r} in {self.url} (looked up from {path!r}); "
                "`opensweep ls` lists the sweeps there",
                details={"sweep_id": sweep_id},
            ) from None
        return Sweep(self.client, record)

    def sweeps(self, path: str | None = None) -> list[Sweep]:
        """Every sweep, or those of a ``project`` / ``entity/project``."""
        entity, project = _split_project_path(path)
        return [Sweep(self.client, s) for s in self._sweeps(entity, project)]

    def _sweeps(self, entity: str | None, project: str | None) -> list[model.Sweep]:
        sweeps = self.client.list_sweeps(project or self.default_project)
        entity = entity or self.default_entity
        return [s for s in sweeps if entity is None or s.entity in (None, entity)]

    # runs
    def run(self, path: str) -> Run:
        """``"entity/project/run_id"``, ``"project/run_id"`` or ``"run_id"``."""
        run_id = parse_sweep_path(path).sweep_id
        try:
            return Run(self.client, self.client.get_run(run_id))
        except NotFound:
            raise NotFound(
                f"no run {run_id!r} in {self.url} (looked up from {path!r})",
                details={"run_id": run_id},
            ) from None

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str | None = None,
        per_page: int = 50,
    ) -> list[Run]:
        """The runs of ``project``/``entity/project`` (every project when None) that match
        ``filters``, e.g. ``{"state": "finished", "config.lr": 0.1, "sweep": sweep_id}``: the
        runs of its sweeps and those started with ``init()`` outside any sweep (not when
        filtering by ``sweep``), in creation order. ``order`` is W&B's ``"+key"``/``"-key"``.
        """
        filters = dict(filters or {})
        entity, project = _split_project_path(path)
        sweep_filter = filters.get("sweep")
        if isinstance(sweep_filter, str):
            try:
                sweeps = [self.client.get_sweep(sweep_filter)]
            except NotFound:
                sweeps = []
        else:
            sweeps = self._sweeps(entity, project)
        records = [r for s in sweeps for r in self.client.list_runs(s.id)]
        if "sweep" not in filters:
            entity = entity or self.default_entity
            plain = self.client.list_plain_runs(project or self.default_project)
            records.extend(r for r in plain if entity is None or r.entity in (None, entity))
        records.sort(key=lambda r: r.created_at)
        selected = [Run(self.client, r) for r in records if matches(r, filters)]
        if order is None:
            return selected
        key = OrderKey.parse(order)
        ranked = rank_runs(
            [(key.value(r.record), i, r) for i, r in enumerate(selected)], key.ascending
        )
        missing = [r for r in selected if r not in ranked]
        return ranked + missing
