"""The JSON API's shapes: request/response models and the encoding of sweeps, runs and rows.

Pure: depends on ``core`` (and pydantic) only; used by the server and the HTTP client alike.
"""

from __future__ import annotations

from opensweep.wire.codec import (
    check_json,
    check_object,
    log_request_to_wire,
    row_from_request,
    row_from_wire,
    row_to_wire,
    rows_from_request,
    run_from_wire,
    run_to_wire,
    sweep_from_wire,
    sweep_to_wire,
)
from opensweep.wire.models import API_PREFIX

__all__ = [
    "API_PREFIX",
    "check_json",
    "check_object",
    "log_request_to_wire",
    "row_from_request",
    "row_from_wire",
    "row_to_wire",
    "rows_from_request",
    "run_from_wire",
    "run_to_wire",
    "sweep_from_wire",
    "sweep_to_wire",
]
