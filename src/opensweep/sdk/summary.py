"""``opensweep.summary``: the last logged value of every key, plus what the user writes into it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opensweep.errors import InvalidRequest
from opensweep.sdk.attrmap import AttributeMapping, PreInit


class Summary(AttributeMapping):
    """Dict-like with attribute access. ``log()`` updates it; user writes are sent to the store.

    Deleting a key only removes it here: the store merges summary updates and keeps old keys.
    """

    kind = "summary"
    _on_write: Callable[[dict[str, Any]], None] | None

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        on_write: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(data)
        object.__setattr__(self, "_on_write", on_write)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, d: Any = None, /, **kwargs: Any) -> None:
        changes = {**dict(d or {}), **kwargs}
        for key in changes:
            if not isinstance(key, str):
                raise InvalidRequest(f"summary keys must be strings, got {key!r}")
        self._data.update(changes)
        if self._on_write is not None and changes:
            self._on_write(changes)


class PreInitSummary(PreInit, Summary):
    """What ``opensweep.summary`` is outside a run."""

    message = "opensweep.summary is not available: call opensweep.init() first"
