"""Request and response bodies of the JSON API (pydantic models: the OpenAPI document).

Requests are validated strictly (no ``"3"`` for 3, no unknown keys) so that bad input is a
clear 400 naming the field and never reaches the controller. Responses are built by
:mod:`opensweep.wire.codec`; the response models here document their shape.

Free-form JSON (a sweep config, logged values, a summary) is typed ``dict[str, Any]`` here and
checked by :func:`opensweep.wire.codec.check_json` (no NUL, no lone surrogates, bounded depth,
64-bit integers). Non-finite floats travel as ``{"__float__": "nan" | "inf" | "-inf"}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

API_PREFIX = "/api/v1"
MAX_INT64 = 2**63 - 1
MAX_INT32 = 2**31 - 1
MAX_SAFE_INT = 2**53 - 1  # steps and sequence numbers: exact in every JSON reader (JavaScript too)


def _integral_float_to_int(value: object) -> object:
    """JSON (and JSON Schema) treat 3.0 as an integer; so do we. 3.5 and "3" stay errors."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


_IntegralFloat = BeforeValidator(
    _integral_float_to_int
)  # after the bounds: keeps them in the schema

# Names and ids: any unicode text without control characters.
_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NAME_PATTERN)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NAME_PATTERN)]
# Free text (an error message, a traceback): newlines and tabs allowed, NUL is not.
Text = Annotated[str, StringConstraints(max_length=1_000_000, pattern=r"^[^\x00]*$")]
Counter = Annotated[int, Field(ge=0, le=MAX_SAFE_INT), _IntegralFloat]
ExitCode = Annotated[int, Field(ge=-MAX_INT32 - 1, le=MAX_INT32), _IntegralFloat]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

RunStateName = Literal["running", "finished", "failed", "crashed", "stopped", "killed"]
SweepStateName = Literal["running", "paused", "finished", "canceled"]
SweepActionName = Literal["pause", "resume", "stop", "cancel"]
TerminalRunStateName = Literal["finished", "failed", "crashed", "stopped", "killed"]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- requests ---------------------------------------------------------------------------------


class CreateSweepRequest(_Request):
    config: dict[str, Any] = Field(description="The sweep config (W&B dialect) as a JSON object.")
    project: Name | None = None
    entity: Name | None = None
    name: Name | None = None


class SweepActionRequest(_Request):
    action: SweepActionName


class NextRunRequest(_Request):
    agent_id: Ident


class StartRunRequest(_Request):
    project: Name | None = None
    entity: Name | None = None
    name: Name | None = None
    config: dict[str, Any] | None = None


class UpdateConfigRequest(_Request):
    config: dict[str, Any] = Field(description="Top-level keys to set in the run's config.")


class MetricRowIn(_Request):
    step: Counter
    values: dict[str, Any]
    time: FiniteFloat | None = None


class LogRequest(_Request):
    seq: Counter = Field(description="Run-local batch number; a batch is applied once.")
    rows: list[MetricRowIn] = Field(max_length=100_000)
    summary: dict[str, Any] | None = None


class FinishRunRequest(_Request):
    state: TerminalRunStateName | None = None
    exit_code: ExitCode | None = None
    error: Text | None = None
    log: LogRequest | None = Field(
        default=None,
        description="The run's last log batch, written with its end in one transaction "
        "(once by its number, as by the log endpoint).",
    )


class FinishAndNextRequest(FinishRunRequest):
    agent_id: Ident = Field(description="The agent that takes the next run of the sweep.")


class HeartbeatRequest(_Request):
    agent_id: Ident
    run_ids: list[Ident] = Field(max_length=10_000)


# --- responses --------------------------------------------------------------------------------


class SweepOut(_Response):
    id: str
    name: str
    config: dict[str, Any]
    state: SweepStateName
    seed: int
    created_at: float
    updated_at: float
    project: str | None = None
    entity: str | None = None


class RunOut(_Response):
    id: str
    name: str
    config: dict[str, Any]
    state: RunStateName
    created_at: float
    sweep_id: str | None = None
    updated_at: float | None = None
    project: str | None = None
    entity: str | None = None
    agent_id: str | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    stop_reason: str | None = None
    error: str | None = None
    notes: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    last_seq: int = -1
    seed: int = 0


class NextRunOut(_Response):
    run: RunOut | None = Field(description="The claimed run; null when the sweep hands out none.")


class FinishAndNextOut(_Response):
    finished: RunOut = Field(description="The run as it ended.")
    next: RunOut | None = Field(
        description="The agent's next run of the sweep; null when it hands out none."
    )


class MetricRowOut(_Response):
    step: int
    values: dict[str, Any]
    time: float | None = None


class LogResultOut(_Response):
    applied: bool = Field(description="False when this seq was applied before (a retry).")
    stop_reason: str | None = None


class HeartbeatOut(_Response):
    stop: dict[str, str] = Field(description="run id -> reason, for runs that must stop.")


class HealthOut(_Response):
    status: Literal["ok"]
    version: str
    auth_required: bool = Field(description="True when the API needs a bearer token.")
    read_only: bool = Field(description="True when the caller's token only allows reading.")


class ErrorOut(_Response):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
