"""Sweep paths: ``id``, ``project/id`` or ``entity/project/id`` (W&B's forms)."""

from __future__ import annotations

from dataclasses import dataclass

from opensweep.errors import InvalidRequest


@dataclass(frozen=True)
class SweepPath:
    sweep_id: str
    project: str | None = None
    entity: str | None = None


def parse_sweep_path(path: str) -> SweepPath:
    parts = path.strip().split("/")
    if len(parts) > 3 or not parts[-1]:
        raise InvalidRequest(
            f"invalid sweep path {path!r}: expected sweep, project/sweep or entity/project/sweep"
        )
    sweep_id = parts[-1]
    project = parts[-2] if len(parts) >= 2 and parts[-2] else None
    entity = parts[-3] if len(parts) == 3 and parts[-3] else None
    return SweepPath(sweep_id=sweep_id, project=project, entity=entity)
