"""The dict-with-attribute-access behind ``opensweep.config`` and ``opensweep.summary``, and
the placeholders both are before ``opensweep.init()``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, ClassVar

from opensweep.errors import OpenSweepError


class PreInitError(OpenSweepError, AttributeError):
    """``opensweep.config``/``summary`` used outside a run. Also an AttributeError, so that
    ``hasattr``/``getattr(x, name, default)`` keep working on the placeholders."""


class AttributeMapping(MutableMapping[str, Any]):
    """A mutable mapping of str keys whose keys are also attributes (``config.lr``).

    Subclasses decide what a write does (``__setitem__``); names starting with ``_`` are
    never keys (copy and pickle probe them).
    """

    kind: ClassVar[str] = "mapping"  # "config", "summary": for messages
    _data: dict[str, Any]

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{self.kind} has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._data[name]
        except KeyError:
            raise AttributeError(f"{self.kind} has no key {name!r}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AttributeMapping):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict


class PreInit(AttributeMapping):
    """Mixed in before a concrete mapping: every use raises :class:`PreInitError` with
    ``message`` (W&B raises before ``init()`` too)."""

    message: ClassVar[str] = "call opensweep.init() first"

    def _refuse(self) -> OpenSweepError:
        return PreInitError(self.message)

    def __getitem__(self, key: str) -> Any:
        raise self._refuse()

    def __setitem__(self, key: str, value: Any) -> None:
        raise self._refuse()

    def __delitem__(self, key: str) -> None:
        raise self._refuse()

    def __iter__(self) -> Iterator[str]:
        raise self._refuse()

    def __len__(self) -> int:
        raise self._refuse()

    def __contains__(self, key: object) -> bool:
        raise self._refuse()

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise self._refuse()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._refuse()

    def __repr__(self) -> str:
        return f"<opensweep.{self.kind} before opensweep.init()>"
