"""``opensweep.summary``: the last logged value of every key, plus what the user writes into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from opensweep.errors import InvalidRequest, OpenSweepError


class Summary(MutableMapping[str, Any]):
    """Dict-like with attribute access. ``log()`` updates it; user writes are sent to the store.

    Deleting a key only removes it here: the store merges summary updates and keeps old keys.
    """

    _data: dict[str, Any]
    _on_write: Callable[[dict[str, Any]], None] | None

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        on_write: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_on_write", on_write)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def update(self, d: Any = None, /, **kwargs: Any) -> None:
        changes = {**dict(d or {}), **kwargs}
        for key in changes:
            if not isinstance(key, str):
                raise InvalidRequest(f"summary keys must be strings, got {key!r}")
        self._data.update(changes)
        if self._on_write is not None and changes:
            self._on_write(changes)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __repr__(self) -> str:
        return f"Summary({self._data!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class PreInitSummary(Summary):
    """What ``opensweep.summary`` is outside a run."""

    def _refuse(self) -> OpenSweepError:
        from opensweep.sdk.config import PreInitError

        return PreInitError("opensweep.summary is not available: call opensweep.init() first")

    def __getitem__(self, key: str) -> Any:
        raise self._refuse()

    def __delitem__(self, key: str) -> None:
        raise self._refuse()

    def __iter__(self) -> Iterator[str]:
        raise self._refuse()

    def __len__(self) -> int:
        raise self._refuse()

    def __contains__(self, key: object) -> bool:
        raise self._refuse()

    def update(self, d: Any = None, /, **kwargs: Any) -> None:
        raise self._refuse()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._refuse()

    def __repr__(self) -> str:
        return "<opensweep.summary before opensweep.init()>"
