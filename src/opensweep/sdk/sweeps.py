"""``opensweep.sweep`` and ``opensweep.agent`` (W&B's ``wandb.sweep`` / ``wandb.agent``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from opensweep.errors import InvalidRequest
from opensweep.sdk.session import connect


def sweep(
    sweep: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    entity: str | None = None,
    project: str | None = None,
    prior_runs: list[str] | None = None,
    *,
    url: str | None = None,
) -> str:
    """Create a sweep from a W&B-style config (a dict, or a callable returning one); return its id.

    A ConfigError lists every problem in the config at once; nothing is stored then.
    ``prior_runs`` is accepted for W&B scripts and ignored.
    """
    config = sweep() if callable(sweep) else sweep
    if not isinstance(config, Mapping):
        raise InvalidRequest(f"sweep() takes a config dict, not {type(config).__name__}")
    client = connect(url)
    try:
        created = client.create_sweep(config, project=project, entity=entity)
    finally:
        client.close()
    print(f"opensweep: created sweep {created.path}", file=sys.stderr)
    return created.id


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
    *,
    url: str | None = None,
) -> None:
    """Run trials of a sweep: ``function`` in this process, or the config's program/command."""
    from opensweep.agent import run_agent  # the agent imports the SDK: import it on use

    run_agent(sweep_id, function=function, count=count, url=url, project=project, entity=entity)
