"""The sweep config as a JSON Schema (draft 2020-12), built from the same tables the
validator uses, so it cannot drift. It ships as ``opensweep/config/sweep-config.schema.json``
for editors (e.g. the YAML language server); a test keeps that file equal to
:func:`json_schema`.

The schema describes shapes; a few rules need code (min < max, probabilities summing to 1,
grid only on discrete parameters) and are checked by :func:`opensweep.config.validate` alone.
"""

from __future__ import annotations

import json
from typing import Any

from opensweep.config.early_terminate import EARLY_TERMINATE_TYPES, NO_DEFAULT, Option
from opensweep.config.parameters import DISTRIBUTION_FIELDS, NAME_PATTERN, Field
from opensweep.config.spec import METHODS
from opensweep.config.validate import (
    CONTROLLER_TYPES,
    GOALS,
    IMPUTES,
    IMPUTES_WHILE_RUNNING,
    SCHEDULER_ENGINES,
)

SCHEMA_ID = "urn:opensweep:sweep-config"


def _field_schema(f: Field) -> dict[str, Any]:
    out: dict[str, Any]
    if f.kind == "any":
        out = {}
    elif f.kind == "list":
        out = {"type": "array", "minItems": 1}
    elif f.kind == "int":
        out = {"type": "integer"}
    else:
        out = {"type": "number"}
    if f.exclusive_minimum is not None:
        out["exclusiveMinimum"] = f.exclusive_minimum
    if not f.required:
        out["default"] = f.default
    return out


def _inferred(distribution: str) -> bool:
    """Distributions W&B infers without a `distribution` key."""
    return distribution in (
        "constant",
        "categorical",
        "categorical_w_probabilities",
        "int_uniform",
        "uniform",
    )


def _param_schemas() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for name, fields in DISTRIBUTION_FIELDS.items():
        props: dict[str, Any] = {k: _field_schema(f) for k, f in fields.items()}
        props["distribution"] = {"const": name}
        required = [k for k, f in fields.items() if f.required]
        if not _inferred(name):
            required.append("distribution")
        if name == "categorical_w_probabilities":
            props["probabilities"]["items"] = {"type": "number", "minimum": 0}
        defs[f"param_{name}"] = {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    defs["param_group"] = {
        "type": "object",
        "description": "nested parameters; the run config gets a nested dict",
        "properties": {"parameters": {"$ref": "#/$defs/parameters"}},
        "required": ["parameters"],
        "additionalProperties": False,
    }
    defs["parameter"] = {"anyOf": [{"$ref": f"#/$defs/{k}"} for k in defs]}
    defs["parameters"] = {
        "type": "object",
        "propertyNames": {"pattern": NAME_PATTERN.pattern},
        "additionalProperties": {"$ref": "#/$defs/parameter"},
        "minProperties": 1,
    }
    return defs


def _option_schema(o: Option) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": {"int": "integer", "number": "number", "bool": "boolean", "choice": "string"}[
            o.kind
        ],
        "description": o.description,
    }
    if o.choices:
        out["enum"] = list(o.choices)
    if o.minimum is not None:
        out["minimum"] = o.minimum
    if o.exclusive_minimum is not None:
        out["exclusiveMinimum"] = o.exclusive_minimum
    if o.default is not NO_DEFAULT:
        out["default"] = o.default
    return out


def _early_terminate_schema() -> dict[str, Any]:
    variants = []
    for kind, table in EARLY_TERMINATE_TYPES.items():
        props: dict[str, Any] = {"type": {"const": kind}}
        props.update({k: _option_schema(o) for k, o in table.options.items()})
        variant: dict[str, Any] = {
            "type": "object",
            "description": table.description,
            "properties": props,
            "required": ["type"],
            "additionalProperties": False,
        }
        if table.requires_one_of:
            variant["anyOf"] = [{"required": list(g)} for g in table.requires_one_of]
        variants.append(variant)
    return {"oneOf": variants}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a sweep config (a fresh dict each call)."""
    string = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "opensweep sweep config",
        "description": "The W&B Sweeps config dialect, as opensweep accepts it.",
        "type": "object",
        "required": ["method", "parameters"],
        "additionalProperties": False,
        "properties": {
            "method": {"enum": list(METHODS)},
            "metric": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "goal": {"enum": list(GOALS), "default": "minimize"},
                    "target": {"type": "number"},
                    "impute": {"enum": list(IMPUTES), "default": "worst"},
                    "impute_while_running": {
                        "enum": list(IMPUTES_WHILE_RUNNING),
                        "default": "false",
                    },
                },
            },
            "parameters": {"$ref": "#/$defs/parameters"},
            "early_terminate": _early_terminate_schema(),
            "run_cap": {"type": "integer", "minimum": 1},
            "program": string,
            "command": {"type": "array", "items": string, "minItems": 1},
            "name": string,
            "description": string,
            "project": string,
            "entity": string,
            "seed": {
                "type": "integer",
                "minimum": 0,
                "description": "makes the sweep's suggestions reproducible",
            },
            "controller": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": list(CONTROLLER_TYPES)}},
                "description": "W&B cloud only; ignored",
            },
            "scheduler": {
                "type": "object",
                "properties": {"engine": {"enum": list(SCHEDULER_ENGINES)}},
                "description": "W&B Launch only; ignored",
            },
            "job": {**string, "description": "W&B Launch only; ignored"},
            "image_uri": {**string, "description": "W&B Launch only; ignored"},
            "apiVersion": string,
            "kind": {"const": "sweep"},
        },
        "$defs": _param_schemas(),
    }


def json_schema_text() -> str:
    """The schema as the JSON text of the shipped file."""
    return json.dumps(json_schema(), indent=2) + "\n"
