"""Early-termination schedulers by ``early_terminate.type``. Imported lazily."""

from __future__ import annotations

import importlib

from opensweep.errors import ConfigError
from opensweep.schedulers.base import Scheduler

# type name -> "module:function"
_SCHEDULERS: dict[str, str] = {
    "hyperband": "opensweep.schedulers.hyperband:decide",
    "asha": "opensweep.schedulers.asha:decide",
}

SCHEDULER_NAMES: tuple[str, ...] = tuple(_SCHEDULERS)


def get_scheduler(name: str) -> Scheduler:
    target = _SCHEDULERS.get(name)
    if target is None:
        raise ConfigError(
            f"unknown early_terminate type {name!r}",
            violations=[
                (
                    "early_terminate.type",
                    f"must be one of {', '.join(SCHEDULER_NAMES)} (got {name!r})",
                )
            ],
        )
    module_name, attr = target.split(":")
    fn: Scheduler = getattr(importlib.import_module(module_name), attr)
    return fn
