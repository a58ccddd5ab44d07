"""The W&B sweep-config dialect: load, validate (every violation at once), parse to a spec."""

from __future__ import annotations

from opensweep.config.early_terminate import EARLY_TERMINATE_TYPES
from opensweep.config.loader import load_yaml
from opensweep.config.schema import json_schema
from opensweep.config.spec import METHODS, EarlyTerminateSpec, MetricSpec, SweepSpec
from opensweep.config.validate import parse, validate
from opensweep.config.violation import Violation

__all__ = [
    "EARLY_TERMINATE_TYPES",
    "METHODS",
    "EarlyTerminateSpec",
    "MetricSpec",
    "SweepSpec",
    "Violation",
    "json_schema",
    "load_yaml",
    "parse",
    "validate",
]
