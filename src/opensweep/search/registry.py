"""Search methods by name. Imported lazily so that e.g. Optuna loads only when asked for."""

from __future__ import annotations

import importlib

from opensweep.errors import ConfigError
from opensweep.search.base import SearchMethod

# method name -> "module:function"
_METHODS: dict[str, str] = {
    "grid": "opensweep.search.grid:suggest",
    "random": "opensweep.search.random:suggest",
    "bayes": "opensweep.search.bayes:suggest",
    "tpe": "opensweep.search.optuna_adapter:suggest_tpe",
    "cmaes": "opensweep.search.optuna_adapter:suggest_cmaes",
    "qmc": "opensweep.search.optuna_adapter:suggest_qmc",
}

METHOD_NAMES: tuple[str, ...] = tuple(_METHODS)


def get_method(name: str) -> SearchMethod:
    target = _METHODS.get(name)
    if target is None:
        raise ConfigError(
            f"unknown method {name!r}",
            violations=[("method", f"must be one of {', '.join(METHOD_NAMES)} (got {name!r})")],
        )
    module_name, attr = target.split(":")
    fn: SearchMethod = getattr(importlib.import_module(module_name), attr)
    return fn
