"""The fields of Sweep and Run, once, for the codecs that lay them out: SQL rows, JSON on the wire.

A codec converts a record field by field, and how depends only on the field's kind (text, a time,
a count, the state, free-form JSON), read here from the annotations in :mod:`opensweep.core.model`.
Each codec says once how it converts each kind; a :class:`Layout` built from that when the codec
is imported does the work, with no reflection per call. A field added to a record thus reaches
every codec (the SQL table and the OpenAPI models still need it); a field of a kind no codec
knows fails here, at import.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar

from opensweep.core.model import Run, Sweep

R = TypeVar("R")
Convert = Callable[[Any], Any]


class Kind(Enum):
    TEXT = "str"
    OPT_TEXT = "str | None"
    FLOAT = "float"
    OPT_FLOAT = "float | None"
    INT = "int"
    OPT_INT = "int | None"
    STATE = "a StrEnum"  # SweepState, RunState: the field's type is the enum
    JSON = "Mapping[str, Any]"  # free-form JSON object: config, summary


_KIND_OF: Mapping[Any, Kind] = {
    str: Kind.TEXT,
    str | None: Kind.OPT_TEXT,
    float: Kind.FLOAT,
    float | None: Kind.OPT_FLOAT,
    int: Kind.INT,
    int | None: Kind.OPT_INT,
    Mapping[str, Any]: Kind.JSON,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    type: Any  # the annotation, resolved (the enum class for a STATE)
    required: bool  # no default: fields with one come after those without
    default: Any  # None when required or made by a factory (a codec makes a fresh `{}`)


def fields_of(cls: type[Any]) -> tuple[Field, ...]:
    """The fields of a dataclass, in order, with their kinds."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if f.kw_only:  # the layouts pass every field by position
            raise TypeError(f"{cls.__name__}.{f.name}: keyword-only fields are not supported")
        if isinstance(hint, type) and issubclass(hint, StrEnum):
            kind = Kind.STATE
        elif hint in _KIND_OF:
            kind = _KIND_OF[hint]
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no codec knows fields of type {hint}")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if f.default is dataclasses.MISSING else f.default
        out.append(Field(f.name, kind, hint, required, default))
    return tuple(out)


SWEEP = fields_of(Sweep)
RUN = fields_of(Run)


def optional(convert: Convert) -> Convert:
    """``convert`` for the ``X | None`` kinds: None stays None."""

    def converted(value: Any) -> Any:
        return None if value is None else convert(value)

    return converted


class Layout(Generic[R]):
    """One codec's layout of one record as a dict (or a row) of its fields, converted by kind.

    ``encoder(field)`` and ``decoder(field)`` give a field's conversion (None: the value as it
    is); ``order`` is the order of the dict's keys (default: the fields' order). The conversions
    are looked up once, here, so a call only loops over ready (name, conversion) pairs.
    """

    def __init__(
        self,
        record: type[R],
        fields: Sequence[Field],
        encoder: Callable[[Field], Convert | None],
        decoder: Callable[[Field], Convert | None],
        order: Iterable[str] | None = None,
    ) -> None:
        by_name = {f.name: f for f in fields}
        self.record = record
        self.names = tuple(by_name)
        self.keys = tuple(self.names if order is None else order)
        if sorted(self.keys) != sorted(self.names):
            raise ValueError(f"{record.__name__}: keys {self.keys} are not its fields")
        self.encoders = {k: e for k in self.keys if (e := encoder(by_name[k])) is not None}
        self._to_dict = tuple((k, self.encoders.get(k, _same)) for k in self.keys)
        self._from_values = tuple(decoder(f) or _same for f in fields)
        # (name, required, default, decode) for decode_dict: a missing optional field takes
        # its default (None for a factory's: the decoder makes it)
        self._from_dict = tuple(
            (f.name, f.required, f.default, decoder(f) or _same) for f in fields
        )

    def encode(self, record: R) -> dict[str, Any]:
        """The record as a dict of its fields, encoded, keys in ``order``."""
        return {k: encode(getattr(record, k)) for k, encode in self._to_dict}

    def decode(self, values: Sequence[Any]) -> R:
        """A record from its encoded values in field order (further values are ignored)."""
        return self.record(*[d(v) for d, v in zip(self._from_values, values, strict=False)])

    def decode_dict(self, data: Mapping[str, Any]) -> R:
        """A record from a dict of its encoded fields: a missing required one is a KeyError."""
        return self.record(
            *[
                decode(data[name] if required else data.get(name, default))
                for name, required, default, decode in self._from_dict
            ]
        )


def _same(value: Any) -> Any:
    return value
