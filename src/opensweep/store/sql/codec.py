"""Rows <-> records: how Sweep, Run and history values are laid out in SQL columns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from opensweep.core import encoding, fields
from opensweep.core.fields import Convert, Field, Kind, Layout
from opensweep.core.model import Run, Sweep


def loads(text: str) -> Any:
    """:func:`encoding.loads`, skipping the tree walk when no non-finite float was encoded."""
    if "__float__" not in text:
        return json.loads(text)
    return encoding.loads(text)


def _json_column(value: Any) -> str:
    return encoding.dumps(value if value is not None else {})


# How each kind of field is written to its column and read back (others: as they are; text and
# integers come from the driver as they went in). States are their enum's value.
_WRITE: Mapping[Kind, Convert] = {Kind.JSON: _json_column, Kind.FLOAT: float, Kind.INT: int}
_READ: Mapping[Kind, Convert] = {
    Kind.JSON: loads,
    Kind.FLOAT: float,
    # SQLite's RETURNING hands back a whole REAL as an integer (5.0 -> 5): times are floats.
    Kind.OPT_FLOAT: fields.optional(float),
    Kind.INT: int,
}


def _column_writer(field: Field) -> Convert | None:
    if field.kind is Kind.STATE:
        enum = field.type
        return lambda value: enum(value).value
    return _WRITE.get(field.kind)


def _column_reader(field: Field) -> Convert | None:
    return field.type if field.kind is Kind.STATE else _READ.get(field.kind)


_SWEEP_ROW = Layout(Sweep, fields.SWEEP, _column_writer, _column_reader)
_RUN_ROW = Layout(Run, fields.RUN, _column_writer, _column_reader)

# The columns of a sweep or a full run read, in the order sweep_from_row/run_from_row take them
# (positional access is several times faster than attribute access on SQLAlchemy rows, and
# claim_next reads every run): the records' fields, in their order.
SWEEP_READ_COLUMNS = _SWEEP_ROW.names
RUN_READ_COLUMNS = _RUN_ROW.names
RUN_FIELDS = frozenset(RUN_READ_COLUMNS)
_RUN_COLUMN = _RUN_ROW.encoders  # name -> its conversion, for the fields that have one

# A record as its columns (a dict), and back from a row of its READ_COLUMNS (further columns
# are ignored).
sweep_to_row = _SWEEP_ROW.encode
sweep_from_row = _SWEEP_ROW.decode
run_from_row = _RUN_ROW.decode


def run_to_row(run: Run) -> dict[str, Any]:
    row = _RUN_ROW.encode(run)
    row["version"] = 0
    return row


def run_column(name: str, value: Any) -> Any:
    """One Run field as its column value."""
    encode = _RUN_COLUMN.get(name)
    return value if encode is None else encode(value)


def encode_metric(value: Any) -> tuple[float | None, str | None]:
    """A logged value as ``(num, value)`` columns.

    A finite float is stored only in ``num`` (a double holds it exactly; -0.0 aside, whose sign
    SQLite drops). Everything else keeps
    its exact JSON in ``value``; ``num`` also holds ints as floats so SQL can compare them.
    """
    plain = encoding.encode_value(value)  # numpy scalars -> Python, non-finite -> tagged dict
    if type(plain) is float:
        if plain == 0.0 and math.copysign(1.0, plain) < 0:
            return 0.0, "-0.0"  # SQLite stores a REAL -0.0 as 0: keep the sign in the JSON
        return plain, None
    text = json.dumps(plain, separators=(",", ":"), allow_nan=False)
    if type(plain) is int:
        as_float = float(plain) if abs(plain) < 2**1023 else None
        return (as_float if as_float is not None and math.isfinite(as_float) else None), text
    return None, text


def decode_metric(num: float | None, value: str | None) -> Any:
    if value is None:
        return num
    return loads(value)


def merged_summary(old: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """W&B summary semantics: each top-level key keeps its last value."""
    merged = dict(old)
    merged.update({str(k): v for k, v in update.items()})
    return merged
