"""config.parse / validate: the whole dialect, every violation at once, key paths."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from opensweep.config import METHODS, load_yaml, parse, validate
from opensweep.config.early_terminate import EARLY_TERMINATE_TYPES
from opensweep.errors import ConfigError


def _cfg(**params: Any) -> dict[str, Any]:
    return {"method": "random", "parameters": params}


def _paths(config: Any) -> set[str]:
    return {v.path for v in validate(config)}


def test_every_violation_is_reported_at_once() -> None:
    config = {
        "method": "grid",
        "metric": {"name": "loss", "goal": "up"},
        "parameters": {
            "lr": {"min": 0.1, "max": 0.01},
            "x": {"distribution": "normal"},
            "nested": {"parameters": {"depth": {"min": 5, "max": 1}}},
        },
        "run_cap": 0,
        "command": ["python", "train.py", 3],
        "colour": "blue",
    }
    assert _paths(config) == {
        "metric.goal",
        "parameters.lr.min",
        "parameters.x",  # grid cannot use a continuous parameter
        "parameters.nested.parameters.depth.min",
        "run_cap",
        "command[2]",
        "colour",
    }
    with pytest.raises(ConfigError) as info:
        parse(config)
    err = info.value
    assert len(err.violations) == 7
    assert ("parameters.lr.min", "must be < max (got 0.1 >= 0.01)") in err.violations
    assert "parameters.lr.min: must be < max (got 0.1 >= 0.01)" in str(err)
    assert err.details["violations"][0].keys() == {"path", "message"}


def test_inference_min_max_int_vs_float() -> None:
    spec = parse(_cfg(a={"min": 0, "max": 3}, b={"min": 0.0, "max": 3}, c={"min": 0, "max": 3.5}))
    assert [p.distribution for p in spec.space.params] == ["int_uniform", "uniform", "uniform"]
    assert [p.kind for p in spec.space.params] == ["int", "float", "float"]


def test_bool_bounds_are_not_numbers() -> None:
    assert _paths(_cfg(a={"min": True, "max": 3})) == {"parameters.a.min"}


def test_nested_parameters_to_any_depth_keep_their_specs() -> None:
    """W&B's strict fill drops nested parameters (a bug); we keep them, checked and filled."""
    spec = parse(
        _cfg(
            opt={
                "parameters": {
                    "lr": {"distribution": "q_uniform", "min": 0, "max": 1},
                    "sched": {"parameters": {"gamma": {"values": [0.9, 0.99]}}},
                }
            },
            seed_value={"value": 3},
        )
    )
    assert spec.space.names == ["opt.lr", "opt.sched.gamma", "seed_value"]
    lr = spec.space.params[0]
    assert lr.path == ("opt", "lr")
    assert dict(lr.spec) == {"distribution": "q_uniform", "min": 0, "max": 1, "q": 1.0}


def test_nested_min_max_is_checked_unlike_wandb() -> None:
    """W&B compares min/max for top-level parameters only."""
    config = _cfg(opt={"parameters": {"lr": {"min": 1.0, "max": 0.5}}})
    assert _paths(config) == {"parameters.opt.parameters.lr.min"}


def test_params_sorted_depth_first_like_wandb() -> None:
    """W&B walks sorted keys depth first: `b` (and its children) before `b-c`, although the
    flat name "b-c" sorts before "b.x"."""
    spec = parse(
        _cfg(**{"b-c": {"value": 1}, "b": {"parameters": {"x": {"value": 2}}}, "a": {"value": 0}})
    )
    assert spec.space.names == ["a", "b.x", "b-c"]


def test_dotted_name_colliding_with_nested_path_is_refused() -> None:
    config = _cfg(**{"a.b": {"value": 1}, "a": {"parameters": {"b": {"value": 2}}}})
    violations = validate(config)
    assert len(violations) == 1
    assert "a.b" in violations[0].message


def test_nested_group_takes_only_parameters() -> None:
    assert _paths(_cfg(g={"parameters": {"x": {"value": 1}}, "values": [1]})) == {
        "parameters.g.values"
    }
    assert _paths(_cfg(g={"parameters": {}})) == {"parameters.g.parameters"}
    assert _paths(_cfg(g={"parameters": [1]})) == {"parameters.g.parameters"}


@pytest.mark.parametrize(
    ("param", "path"),
    [
        ({"values": []}, "parameters.p.values"),
        ({"values": 3}, "parameters.p.values"),
        ({"distribution": "gaussian"}, "parameters.p.distribution"),
        ({"foo": 1}, "parameters.p"),
        ({"min": 1}, "parameters.p"),
        (3, "parameters.p"),
        ({"min": math.nan, "max": 1.0}, "parameters.p.min"),
        ({"distribution": "uniform", "min": 0}, "parameters.p.max"),
        ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}, "parameters.p.q"),
        ({"distribution": "log_uniform_values", "min": 0, "max": 1}, "parameters.p.min"),
        ({"distribution": "log_uniform", "min": 1, "max": 1000}, "parameters.p.max"),
        ({"distribution": "beta", "a": 0}, "parameters.p.a"),
        ({"distribution": "normal", "sigma": 0}, "parameters.p.sigma"),
        (
            {"distribution": "categorical", "values": [1], "probabilities": [1]},
            "parameters.p.probabilities",
        ),
        ({"values": [1, 2], "probabilities": [1.5, -0.5]}, "parameters.p.probabilities[1]"),
        ({"value": 1, "values": [1]}, "parameters.p.values"),
    ],
)
def test_parameter_violations_name_the_key(param: Any, path: str) -> None:
    assert path in _paths(_cfg(p=param))


def test_grid_refuses_continuous_and_weighted_parameters() -> None:
    config = {
        "method": "grid",
        "parameters": {
            "lr": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1.0},
            "w": {"values": [1, 2], "probabilities": [0.5, 0.5]},
            "ok": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
            "n": {"min": 1, "max": 3},
        },
    }
    violations = validate(config)
    assert {v.path for v in violations} == {"parameters.lr", "parameters.w"}
    assert all("grid" in v.message for v in violations)


@pytest.mark.parametrize("method", ["bayes", "tpe", "cmaes"])
def test_metric_required_by_learning_methods(method: str) -> None:
    assert _paths({"method": method, "parameters": {"a": {"min": 0.0, "max": 1.0}}}) == {"metric"}


@pytest.mark.parametrize("method", ["grid", "random", "qmc"])
def test_metric_optional_otherwise(method: str) -> None:
    assert parse({"method": method, "parameters": {"a": {"values": [1]}}}).metric is None


def test_method_names_match_the_search_registry() -> None:
    from opensweep.search.registry import METHOD_NAMES

    assert set(METHODS) == set(METHOD_NAMES)


def test_full_config_parses_to_spec() -> None:
    config = {
        "name": "s",
        "description": "d",
        "project": "p",
        "entity": "e",
        "program": "train.py",
        "command": ["${env}", "${interpreter}", "${program}", "${args}"],
        "method": "bayes",
        "metric": {"name": "val/loss", "target": 0.1},
        "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2},
        "run_cap": 20,
        "seed": 7,
        "parameters": {"lr": {"min": 0.0, "max": 1.0}},
    }
    spec = parse(config)
    assert spec.method == "bayes"
    assert spec.metric is not None
    assert (spec.metric.name, spec.metric.goal, spec.metric.target) == ("val/loss", "minimize", 0.1)
    assert (spec.metric.impute, spec.metric.impute_while_running) == ("worst", "false")
    assert spec.early_terminate is not None
    assert spec.early_terminate.type == "hyperband"
    assert dict(spec.early_terminate.options) == {"max_iter": 27, "s": 2, "eta": 3, "strict": True}
    assert spec.run_cap == 20 and spec.seed == 7
    assert spec.command == ("${env}", "${interpreter}", "${program}", "${args}")
    assert (spec.program, spec.name, spec.description) == ("train.py", "s", "d")
    assert (spec.project, spec.entity) == ("p", "e")
    assert spec.notes == ()
    assert spec.raw == config
    config["parameters"]["lr"]["max"] = 5.0
    assert spec.raw["parameters"]["lr"]["max"] == 1.0  # a copy, not the caller's dict


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("seed", -1),
        ("seed", True),
        ("seed", 1.5),
        ("run_cap", True),
        ("program", 3),
        ("name", ["x"]),
        ("command", "python train.py"),
        ("command", []),
        ("kind", "job"),
    ],
)
def test_top_level_types(key: str, value: Any) -> None:
    assert _paths({**_cfg(a={"value": 1}), key: value}) == {key}


def test_cloud_only_keys_are_accepted_with_notes() -> None:
    spec = parse(
        {
            **_cfg(a={"value": 1}),
            "controller": {"type": "cloud"},
            "job": "entity/project/job:v0",
            "image_uri": "docker.io/me/train:1",
            "apiVersion": "v1",
            "kind": "sweep",
            "scheduler": {"engine": "wandb"},
        }
    )
    assert len(spec.notes) == 6
    for key in ("controller", "job", "image_uri", "apiVersion", "kind", "scheduler"):
        assert any(n.startswith(f"{key}:") for n in spec.notes), key


def test_scheduler_engine_optuna_points_to_our_methods() -> None:
    violations = validate({**_cfg(a={"value": 1}), "scheduler": {"engine": "optuna"}})
    assert [v.path for v in violations] == ["scheduler.engine"]
    assert "tpe" in violations[0].message


def test_early_terminate_table_rows() -> None:
    base = {**_cfg(a={"value": 1}), "metric": {"name": "loss"}}
    spec = parse({**base, "early_terminate": {"type": "asha", "min_iter": 1}})
    assert spec.early_terminate is not None
    assert dict(spec.early_terminate.options) == {"min_iter": 1, "eta": 3}
    assert _paths({**base, "early_terminate": {"type": "asha", "min_iter": 1, "grace": 2}}) == {
        "early_terminate.grace"
    }
    assert _paths({**base, "early_terminate": {"type": "median", "min_iter": 1}}) == {
        "early_terminate.type"
    }
    assert _paths({**base, "early_terminate": {"min_iter": 1}}) == {"early_terminate.type"}
    assert _paths({**base, "early_terminate": {"type": "hyperband", "min_iter": 0}}) == {
        "early_terminate.min_iter"
    }
    assert _paths(
        {**base, "early_terminate": {"type": "hyperband", "min_iter": 2, "strict": 1}}
    ) == {"early_terminate.strict"}
    # JSON Schema "integer" accepts 27.0 (as W&B's validator does); we keep an int
    spec = parse({**base, "early_terminate": {"type": "hyperband", "max_iter": 27.0, "s": 2}})
    assert spec.early_terminate is not None
    assert spec.early_terminate.options["max_iter"] == 27
    assert type(spec.early_terminate.options["max_iter"]) is int
    assert _paths(
        {**_cfg(a={"value": 1}), "early_terminate": {"type": "hyperband", "min_iter": 1}}
    ) == {"metric"}
    assert set(EARLY_TERMINATE_TYPES) >= {"hyperband", "asha"}


def test_metrics_key_is_refused_with_a_pointer_to_metric() -> None:
    violations = validate({**_cfg(a={"value": 1}), "metrics": [{"name": "x"}]})
    assert [v.path for v in violations] == ["metrics"]
    assert "`metric`" in violations[0].message


def test_config_must_be_a_mapping() -> None:
    assert [str(v) for v in validate([1, 2])] == ["a sweep config must be a mapping (got [1, 2])"]
    with pytest.raises(ConfigError):
        parse("- just\n- a list\n")


# --- YAML -------------------------------------------------------------------------------------


def test_yaml_reads_exponent_floats_as_numbers_unlike_pyyaml() -> None:
    text = (
        "lr: 1e-5\nneg: -2E+3\nplain: 1.5\nint: 10\nhex: 0x1F\ndot: .5e-2\nname: 1e-5x\ninf: .inf\n"
    )
    assert yaml.safe_load(text)["lr"] == "1e-5"  # W&B's PyYAML reading: a string
    data = load_yaml(text)
    assert data["lr"] == 1e-5 and isinstance(data["lr"], float)
    assert data["neg"] == -2000.0 and isinstance(data["neg"], float)
    assert data["plain"] == 1.5 and data["int"] == 10 and isinstance(data["int"], int)
    assert data["hex"] == 31
    assert data["dot"] == 0.005
    assert data["name"] == "1e-5x"
    assert data["inf"] == math.inf
    assert yaml.safe_load("x: 1e-5")["x"] == "1e-5"  # we did not change PyYAML's SafeLoader


def test_yaml_config_end_to_end() -> None:
    spec = parse(
        """
method: random
parameters:
  lr:
    distribution: log_uniform_values
    min: 1e-5
    max: 1e-1
  batch_size:
    values: [16, 32]
"""
    )
    lr = spec.space.param("lr")
    assert lr.spec["min"] == 1e-5 and lr.bounds == (1e-5, 0.1)


def test_yaml_duplicate_keys_and_syntax_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="duplicate key 'method'"):
        load_yaml("method: grid\nmethod: random\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line 2, column 6: mapping values"):
        load_yaml("method: grid\n  bad: indent\n")
    violations = validate("method: grid\n  bad: indent\n")
    assert len(violations) == 1 and "invalid YAML" in violations[0].message


def test_load_yaml_reads_files(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("method: grid\nparameters:\n  a:\n    values: [1e-3, 1e-2]\n")
    assert load_yaml(path)["parameters"]["a"]["values"] == [0.001, 0.01]
    assert parse(str(path)).space.param("a").values == (0.001, 0.01)
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "missing.yaml")


def test_spec_does_not_follow_later_edits_of_the_callers_dict() -> None:
    config = _cfg(a={"values": [1, 2]})
    spec = parse(config)
    config["parameters"]["a"]["values"].append(3)
    assert spec.space.params[0].values == (1, 2)
