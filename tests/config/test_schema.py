"""The JSON Schema is data, built from the validator's own tables."""

from __future__ import annotations

import json

from opensweep.config import json_schema
from opensweep.config.validate import TOP_LEVEL_KEYS
from opensweep.core.space import DISTRIBUTIONS


def test_schema_is_json_and_fresh() -> None:
    schema = json_schema()
    assert json.loads(json.dumps(schema)) == schema
    schema["properties"].clear()
    assert json_schema()["properties"]  # callers cannot corrupt it


def test_schema_covers_every_key_method_and_distribution() -> None:
    schema = json_schema()
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    assert schema["properties"]["method"]["enum"] == [
        "grid",
        "random",
        "bayes",
        "tpe",
        "cmaes",
        "qmc",
    ]
    defs = schema["$defs"]
    for name in DISTRIBUTIONS:
        assert defs[f"param_{name}"]["properties"]["distribution"] == {"const": name}
    refs = {r["$ref"] for r in defs["parameter"]["anyOf"]}
    assert "#/$defs/param_group" in refs and len(refs) == len(DISTRIBUTIONS) + 1
    assert defs["param_q_uniform"]["properties"]["q"]["default"] == 1.0


def test_schema_early_terminate_defaults() -> None:
    variants = json_schema()["properties"]["early_terminate"]["oneOf"]
    hyperband = next(v for v in variants if v["properties"]["type"] == {"const": "hyperband"})
    assert hyperband["properties"]["eta"]["default"] == 3
    assert hyperband["properties"]["strict"]["default"] is True
    assert hyperband["anyOf"] == [{"required": ["min_iter"]}, {"required": ["max_iter", "s"]}]


def test_shipped_schema_file_is_current() -> None:
    """Regenerate with: python -c "from opensweep.config.schema import json_schema_text as t;
    open('src/opensweep/config/sweep-config.schema.json', 'w').write(t())" """
    from importlib import resources

    from opensweep.config.schema import json_schema_text

    shipped = resources.files("opensweep.config").joinpath("sweep-config.schema.json")
    assert shipped.read_text(encoding="utf-8") == json_schema_text()


def test_configs_we_accept_satisfy_the_schema() -> None:
    jsonschema = __import__("pytest").importorskip("jsonschema")
    from pathlib import Path

    from opensweep.config import validate

    data = json.loads(
        (
            Path(__file__).parents[1] / "data" / "wandb-reference" / "config_validation.json"
        ).read_text()
    )
    validator = jsonschema.Draft202012Validator(json_schema())
    for case in data["cases"]:
        if not validate(case["config"]):
            validator.validate(case["config"])
    assert not validator.is_valid({"method": "random", "parameters": {"a": {"value": 1}}, "x": 1})
