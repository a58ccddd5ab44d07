"""Fuzz the OpenAPI document with schemathesis against a real uvicorn (bounded examples).

Every generated request, valid or not, must get a documented status with a body matching the
documented schema, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from opensweep.server.app import create_app

from .conftest import TOKEN, serve

pytestmark = pytest.mark.xdist_group("openapi-fuzz")


def _document() -> dict[str, Any]:
    app = create_app("sqlite:///:memory:", dashboard=False)  # the document only; never served
    doc: dict[str, Any] = app.openapi()
    app.state.client.close()
    return doc


# Free-form JSON (configs, logged values) has rules JSON Schema cannot say (no NUL, no lone
# surrogates, 64-bit integers): schema-valid data may get a 400 naming them. A sweep config that
# parses as JSON may still be an invalid config (422). Everything else must be accepted.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@pytest.fixture(scope="module")
def fuzz_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with serve(create_app(f"sqlite:///{db}", token=TOKEN, dashboard=False)) as server:
        yield server.url


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: Any, fuzz_url: str) -> None:
    case.call_and_validate(base_url=fuzz_url, headers={"Authorization": f"Bearer {TOKEN}"})
