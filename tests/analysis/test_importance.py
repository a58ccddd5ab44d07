"""Importance and correlation on synthetic problems whose true importance is known."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from opensweep.analysis.importance import (
    ImportanceReport,
    ParamImportance,
    ParamInfo,
    compute_importance,
    infer_params,
)
from opensweep.errors import InvalidRequest

OPT_EFFECT = {"adam": 0.0, "sgd": 3.0, "rmsprop": 0.5}


def additive_problem(
    n: int, seed: int, noise: float = 0.1
) -> tuple[list[dict[str, Any]], list[float]]:
    """y = 4a + 2b + log10(lr) + opt effect + 0*dummy: true variance shares are
    opt 0.37 > a 0.28 = lr 0.28 > b 0.07 > dummy 0."""
    rng = np.random.default_rng(seed)
    configs, ys = [], []
    for _ in range(n):
        a, b, dummy = rng.uniform(0, 1, size=3)
        lr = 10 ** rng.uniform(-5, -1)
        opt = str(rng.choice(list(OPT_EFFECT)))
        y = 4 * a + 2 * b + math.log10(lr) + OPT_EFFECT[opt] + rng.normal(0, noise)
        configs.append({"a": a, "b": b, "lr": lr, "optimizer": opt, "dummy": dummy})
        ys.append(float(y))
    return configs, ys


PARAMS = [
    ParamInfo("a", ("a",), "numeric"),
    ParamInfo("b", ("b",), "numeric"),
    ParamInfo("lr", ("lr",), "numeric", log=True),
    ParamInfo("optimizer", ("optimizer",), "categorical", categories=tuple(OPT_EFFECT)),
    ParamInfo("dummy", ("dummy",), "numeric"),
]


def by_name(report: ImportanceReport) -> dict[str, ParamImportance]:
    return {p.name: p for p in report.params}


def test_ranks_parameters_by_their_true_effect() -> None:
    configs, ys = additive_problem(400, seed=1)
    report = compute_importance(configs, ys, rng=np.random.default_rng(0), params=PARAMS)
    imp = {p.name: p.importance for p in report.params}
    assert report.n_runs == 400
    assert [p.name for p in report.params][-2:] == ["b", "dummy"]
    assert imp["optimizer"] > imp["b"] and imp["a"] > imp["b"] and imp["lr"] > imp["b"]
    assert imp["dummy"] is not None and imp["dummy"] < 0.02
    assert sum(v or 0.0 for v in imp.values()) == pytest.approx(1.0)
    # The forest explains almost all the variance of this low-noise problem.
    assert report.model_r2 is not None and report.model_r2 > 0.9
    for name, true_share in {"optimizer": 0.37, "a": 0.28, "lr": 0.28}.items():
        assert imp[name] == pytest.approx(true_share, abs=0.1)


def test_categorical_gets_one_importance_and_a_correlation_per_category() -> None:
    configs, ys = additive_problem(300, seed=2)
    report = compute_importance(configs, ys, rng=np.random.default_rng(0), params=PARAMS)
    opt = by_name(report)["optimizer"]
    assert opt.type == "categorical"
    assert opt.correlation is None and opt.correlation_note and "categor" in opt.correlation_note
    cats = {c.value: c for c in opt.categories}
    assert list(cats) == ["adam", "sgd", "rmsprop"]  # the declared order
    assert sum(c.count for c in cats.values()) == 300
    # sgd adds +3 to the metric: its indicator correlates positively, the others negatively.
    assert cats["sgd"].correlation is not None and cats["sgd"].correlation > 0.5
    assert cats["adam"].correlation is not None and cats["adam"].correlation < 0
    assert cats["sgd"].mean_metric is not None and cats["adam"].mean_metric is not None
    assert cats["sgd"].mean_metric - cats["adam"].mean_metric == pytest.approx(3.0, abs=0.4)


def test_log_parameter_is_correlated_on_the_log_scale() -> None:
    rng = np.random.default_rng(3)
    lrs = 10 ** rng.uniform(-6, 0, size=200)
    ys = list(np.log10(lrs))
    configs = [{"lr": float(v)} for v in lrs]
    log_param = [ParamInfo("lr", ("lr",), "numeric", log=True)]
    lin_param = [ParamInfo("lr", ("lr",), "numeric", log=False)]
    on_log = compute_importance(configs, ys, rng=np.random.default_rng(0), params=log_param)
    on_lin = compute_importance(configs, ys, rng=np.random.default_rng(0), params=lin_param)
    assert on_log.params[0].log is True
    assert on_log.params[0].correlation == pytest.approx(1.0)
    assert on_lin.params[0].correlation is not None and on_lin.params[0].correlation < 0.8


def test_inferred_parameters_flatten_nesting_and_detect_log_and_categories() -> None:
    rng = np.random.default_rng(4)
    configs = [
        {
            "opt": {"lr": float(10 ** rng.uniform(-5, -1)), "name": str(rng.choice(["a", "b"]))},
            "width": float(rng.uniform(0, 1)),
            "flag": bool(rng.integers(2)),
            "epochs": 10,  # constant: not a parameter to analyse
        }
        for _ in range(100)
    ]
    infos = {p.name: p for p in infer_params(configs)}
    assert set(infos) == {"opt.lr", "opt.name", "width", "flag"}
    assert infos["opt.lr"].kind == "numeric" and infos["opt.lr"].log
    assert infos["width"].kind == "numeric" and not infos["width"].log
    assert infos["opt.name"].kind == "categorical"
    assert infos["flag"].kind == "categorical"  # booleans are categories, not numbers


def test_non_finite_and_missing_metrics_are_left_out() -> None:
    configs, ys = additive_problem(60, seed=5)
    values: list[Any] = list(ys)
    values[0], values[1], values[2], values[3] = math.nan, math.inf, None, "NaN"
    report = compute_importance(configs, values, rng=np.random.default_rng(0), params=PARAMS)
    assert report.n_runs == 56
    assert all(p.importance is not None for p in report.params)


def test_missing_values_of_a_conditional_parameter_are_tolerated() -> None:
    rng = np.random.default_rng(6)
    configs, ys = [], []
    for _ in range(200):
        use_momentum = bool(rng.integers(2))
        config: dict[str, Any] = {"x": float(rng.uniform())}
        if use_momentum:
            config["momentum"] = float(rng.uniform())
            config["kind"] = str(rng.choice(["p", "q"]))
        configs.append(config)
        ys.append(5 * config["x"] + rng.normal(0, 0.05))
    report = compute_importance(configs, ys, rng=np.random.default_rng(0))
    names = [p.name for p in report.params]
    assert names[0] == "x"
    assert set(names) == {"x", "momentum", "kind"}
    assert by_name(report)["x"].importance == pytest.approx(1.0, abs=0.05)
    assert sum(c.count for c in by_name(report)["kind"].categories) < 200


def test_few_runs_give_correlation_but_no_importance() -> None:
    configs, ys = additive_problem(5, seed=7)
    report = compute_importance(configs, ys, rng=np.random.default_rng(0), params=PARAMS)
    assert report.n_runs == 5
    assert report.note is not None and "at least" in report.note
    assert all(p.importance is None for p in report.params)
    assert by_name(report)["a"].correlation is not None


def test_constant_metric_and_constant_parameters() -> None:
    configs = [{"x": float(i), "c": 1.0} for i in range(20)]
    report = compute_importance(
        configs,
        [1.0] * 20,
        rng=np.random.default_rng(0),
        params=[ParamInfo("x", ("x",), "numeric"), ParamInfo("c", ("c",), "numeric")],
    )
    assert report.note is not None and "same value" in report.note
    c = by_name(report)["c"]
    assert c.type == "constant" and c.correlation is None and c.correlation_note


def test_seeded_generator_makes_it_reproducible() -> None:
    configs, ys = additive_problem(120, seed=8)
    first = compute_importance(configs, ys, rng=np.random.default_rng(42), params=PARAMS)
    again = compute_importance(configs, ys, rng=np.random.default_rng(42), params=PARAMS)
    assert first.to_dict() == again.to_dict()


def test_large_sweeps_are_subsampled() -> None:
    configs, ys = additive_problem(600, seed=9)
    report = compute_importance(
        configs, ys, rng=np.random.default_rng(0), params=PARAMS, max_runs=200, n_trees=30
    )
    assert report.n_runs == 200
    assert any("subsample" in n for n in report.notes)
    assert report.params[0].name in {"optimizer", "a", "lr"}


def test_to_dict_is_json_safe() -> None:
    import json

    configs, ys = additive_problem(40, seed=10)
    configs[0] = {**configs[0], "optimizer": ["odd", 1]}  # an undeclared, list-valued category
    report = compute_importance(configs, ys, rng=np.random.default_rng(0), params=PARAMS)
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert '"odd"' in text


def test_bad_arguments_raise_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="2 configs but 1"):
        compute_importance([{}, {}], [1.0], rng=np.random.default_rng(0))
    with pytest.raises(InvalidRequest, match="folds"):
        compute_importance([{}], [1.0], rng=np.random.default_rng(0), folds=1)


def test_parameters_come_from_the_sweep_space() -> None:
    from opensweep.analysis.importance import params_from_space
    from opensweep.config import parse

    spec = parse(
        {
            "method": "random",
            "parameters": {
                "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
                "optimizer": {"values": ["adam", "sgd"]},
                "nested": {"parameters": {"depth": {"min": 1, "max": 4}}},
                "epochs": {"value": 3},
            },
        }
    )
    infos = {p.name: p for p in params_from_space(spec.space)}
    assert set(infos) == {"lr", "optimizer", "nested.depth"}  # constants are not analysed
    assert infos["lr"].log and infos["lr"].kind == "numeric"
    assert infos["optimizer"].categories == ("adam", "sgd")
    assert infos["nested.depth"].path == ("nested", "depth") and not infos["nested.depth"].log
    rng = np.random.default_rng(12)
    configs = [spec.space.sample(rng) for _ in range(120)]
    ys = [c["nested"]["depth"] * 2.0 + rng.normal(0, 0.05) for c in configs]
    report = compute_importance(configs, ys, rng=np.random.default_rng(0), space=spec.space)
    assert report.params[0].name == "nested.depth"
    assert by_name(report)["nested.depth"].correlation == pytest.approx(1.0, abs=0.01)
