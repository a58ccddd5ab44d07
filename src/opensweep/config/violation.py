"""A config violation: the key path it concerns and what is wrong, plus small type checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard


@dataclass(frozen=True)
class Violation:
    path: str  # e.g. "parameters.lr.min"; "" for the config as a whole
    message: str  # e.g. "must be < max (got 0.1 >= 0.01)"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def show(value: Any) -> str:
    """A short rendering of a user's value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def is_integral(value: Any) -> bool:
    """An int, or a float with an integer value (JSON Schema's "integer")."""
    return is_int(value) or (isinstance(value, float) and value.is_integer())
