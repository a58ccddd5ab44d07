"""``opensweep.config``: a run's configuration, a dict with attribute access (``wandb.config``).

Inside a sweep the parameters chosen by the search method are *locked*: a later
``config.update({"lr": ...})`` or ``config.lr = ...`` with a different value is ignored with a
warning, like W&B does, so a script's defaults can never silently override the sweep.
"""

from __future__ import annotations

import argparse
import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from opensweep.errors import InvalidRequest
from opensweep.sdk.attrmap import AttributeMapping, PreInit, PreInitError

__all__ = ["Config", "PreInitConfig", "PreInitError", "config_as_dict", "deep_merge"]

logger = logging.getLogger("opensweep")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``override``; nested dicts are merged key by key, not replaced."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def config_as_dict(config: Any) -> dict[str, Any]:
    """What W&B accepts as ``init(config=...)``: a mapping, an argparse namespace, a YAML path."""
    if config is None:
        return {}
    if isinstance(config, Config):
        return config.as_dict()
    if isinstance(config, Mapping):
        return {str(k): v for k, v in config.items()}
    if isinstance(config, argparse.Namespace):
        return dict(vars(config))
    if isinstance(config, str | Path):
        path = Path(config)
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidRequest(f"init(config={str(config)!r}): cannot read it: {exc}") from exc
        if loaded is None:
            return {}
        if not isinstance(loaded, Mapping):
            raise InvalidRequest(f"init(config={str(config)!r}): the file is not a mapping")
        # W&B's config files may wrap values as {"key": {"value": v}}
        return {
            str(k): (v["value"] if isinstance(v, Mapping) and set(v) <= {"value", "desc"} else v)
            for k, v in loaded.items()
        }
    raise InvalidRequest(
        f"init(config=...) must be a dict, an argparse.Namespace or a YAML path, "
        f"not {type(config).__name__}"
    )


class Config(AttributeMapping):
    """A dict with attribute access. ``dict(config)``, ``config.keys()``, ``"lr" in config``...

    A run saves what is set here (see :meth:`opensweep.sdk.run.Run`): it listens with
    ``_listen``; deleting a key only removes it here.
    """

    kind = "config"
    _locked: frozenset[str]
    _listener: Callable[[], None] | None

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, locked: Iterable[str] = ()
    ) -> None:
        super().__init__(data)
        object.__setattr__(self, "_locked", frozenset(locked))
        object.__setattr__(self, "_listener", None)

    def _listen(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener`` after each write that changed something (one call per write)."""
        object.__setattr__(self, "_listener", listener)

    def __setitem__(self, key: str, value: Any) -> None:
        if self._set(key, value):
            self._changed()

    def _set(self, key: str, value: Any) -> bool:
        if not isinstance(key, str):
            raise InvalidRequest(f"config keys must be strings, got {key!r}")
        if key in self._locked and self._data.get(key) != value:
            logger.warning(
                "config key %r is set by the sweep (%r); ignored the update to %r",
                key,
                self._data.get(key),
                value,
            )
            return False
        self._data[key] = value
        return True

    def _changed(self) -> None:
        if self._listener is not None:
            self._listener()

    # W&B methods
    def update(  # type: ignore[override]  # W&B's signature: update(d, allow_val_change=None)
        self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any
    ) -> None:
        """Set several keys; ``allow_val_change`` is accepted (values may always change)."""
        changed = [self._set(key, value) for key, value in {**config_as_dict(d), **kwargs}.items()]
        if any(changed):
            self._changed()

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        """Set the keys of ``d`` that are not set yet (W&B's ``config.setdefaults``)."""
        missing = {k: v for k, v in config_as_dict(d).items() if k not in self._data}
        if any([self._set(key, value) for key, value in missing.items()]):
            self._changed()

    def as_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts."""
        return copy.deepcopy(self._data)


class PreInitConfig(PreInit, Config):
    """``opensweep.config`` before ``init()`` and after ``finish()`` (W&B raises then too)."""

    message = (
        "opensweep.config is not available: call opensweep.init() first (inside "
        "opensweep.agent, from the training function). The sweep-config functions are "
        "imported with `from opensweep.config import parse, validate`."
    )
