"""asha ``model: curve``: runs ranked by a learning-curve extrapolation fitted on the sweep."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.errors import ConfigError
from opensweep.schedulers import asha, curve

from .conftest import make_spec, trial

LADDER = {"min_iter": 1, "max_iter": 27, "eta": 3}  # rungs 1, 3, 9


def _stopped(spec: SweepSpec, trials: Sequence[Trial]) -> list[str]:
    return sorted(d.run_id for d in asha.decide(spec, trials))


def _curve(at1: float, at3: float, at9: float | None = None) -> list[float]:
    """A curve with these values at iterations 1, 3 (and 9): flat in between."""
    values = [at1, at3, at3]
    if at9 is not None:
        values += [at9] * 6
    return values


def _finished(name: str, at1: float, at3: float) -> Trial:
    """A finished run whose log improvement from 3 to 9 equals the one from 1 to 3."""
    return trial(name, _curve(at1, at3, at3 * at3 / at1), RunState.FINISHED)


def _sweep() -> list[Trial]:
    return [
        _finished("f1", 1.0, 0.5),
        _finished("f2", 1.0, 0.8),
        _finished("f3", 1.0, 0.9),
        _finished("f4", 0.4, 0.3),
        _finished("f5", 0.42, 0.35),
        # an early leader (2nd at rung 1) that plateaus: 4th of 7 at rung 3,
        # predicted 0.52^2 / 0.55 = 0.49 at 9
        trial("leader", _curve(0.55, 0.52)),
        # a slow starter with a steep curve: 5th of 7 at rung 3, predicted 0.6^2 / 2 = 0.18
        trial("slow", _curve(2.0, 0.6)),
    ]


def test_a_steep_slow_starter_goes_on_and_a_plateaued_leader_is_stopped() -> None:
    spec = make_spec("asha", {**LADDER, "model": "curve"})
    # level cut at rung 3: the best ceil(7/3) = 3 values are f4 0.3, f5 0.35, f1 0.5;
    # the fit's slope is 1 with no residual, so only the best prediction, slow's 0.18, is within
    # z * sigma of the best; the leader's 0.49 is not.
    assert _stopped(spec, _sweep()) == ["leader"]


def test_without_the_model_the_level_cut_stops_the_slow_starter() -> None:
    spec = make_spec("asha", {**LADDER, "progress": False})
    assert _stopped(spec, _sweep()) == ["leader", "slow"]


def test_the_fit_recovers_the_sweeps_slope_on_a_log_scale() -> None:
    metric = make_spec("asha", LADDER).metric
    assert metric is not None
    compared = [asha.compared_values(asha.minimize_space(t, metric), False) for t in _sweep()]
    assert curve.all_positive(compared)
    fit = curve.fit_rung(compared, [1, 3, 9], 1, 27, True)
    assert fit is not None
    assert fit.log_scale
    assert not curve.all_positive([[1.0, 0.5], [0.0]])
    assert not curve.all_positive([[math.inf]])
    assert (fit.previous, fit.rung, fit.target, fit.fitted_on) == (1, 3, 9, 5)
    assert fit.slope == pytest.approx(1.0)
    assert fit.sigma == pytest.approx(0.0, abs=1e-12)
    assert fit.keep == 1
    assert fit.shown(fit.threshold) == pytest.approx(0.18)
    assert fit.shown(fit.predict(2.0, 0.6)) == pytest.approx(0.18)


def test_slope_is_clipped_to_zero_and_to_linear_extrapolation() -> None:
    # those that improved most from 1 to 3 improved least from 3 to 9: slope < 0, clipped to 0
    anti = [_curve(1.0, 0.5, 0.49), _curve(1.0, 0.9, 0.5), _curve(1.0, 0.8, 0.55)]
    fit = curve.fit_rung(anti, [1, 3, 9], 1, 27, True)
    assert fit is not None and fit.slope == 0.0
    # improvements 3 to 9 ten times those from 1 to 3: clipped at (9 - 3) / (3 - 1) = 3
    steep = [_curve(1.0, 0.99, 0.9), _curve(1.0, 0.98, 0.8), _curve(1.0, 0.97, 0.7)]
    fit = curve.fit_rung(steep, [1, 3, 9], 1, 27, True)
    assert fit is not None and fit.slope == 3.0


def test_the_target_falls_back_to_the_furthest_iteration_three_runs_reached() -> None:
    histories = [[1.0, 0.5, 0.5, 0.4, 0.3], [1.0, 0.8, 0.8, 0.7], [1.0, 0.9, 0.9, 0.85], [1.0]]
    fit = curve.fit_rung(histories, [1, 3, 9], 1, 27, True)
    assert fit is not None and fit.target == 4  # 3 runs reached 4, only one reached 5
    assert curve.fit_rung(histories[1:], [1, 3, 9], 1, 27, True) is None  # 2 past rung 3
    assert curve.fit_rung(histories, [1, 3, 9], 1, 27, True, min_fit=4) is None


def test_no_fit_falls_back_on_level_and_progress() -> None:
    # only two runs got past rung 3: the curve model has nothing to fit on at rung 3
    trials = [
        trial("f1", _curve(1.0, 0.5, 0.25), RunState.FINISHED),
        trial("f2", _curve(1.0, 0.8, 0.64), RunState.FINISHED),
        trial("a", _curve(0.5, 0.46)),
        trial("b", _curve(2.0, 0.6)),
        trial("c", _curve(0.9, 0.85)),
        trial("d", _curve(0.7, 0.2)),
    ]
    level = make_spec("asha", LADDER)
    model = make_spec("asha", {**LADDER, "model": "curve"})
    assert _stopped(model, trials) == _stopped(level, trials)
    assert asha.decide(model, trials) == asha.decide(level, trials)  # same reasons too
    assert _stopped(model, trials) == ["c"]  # d and a go on by level, b by progress


def test_the_first_rung_is_a_level_cut() -> None:
    trials = [trial(f"r{v}", [float(v)]) for v in range(1, 10)]
    spec = make_spec("asha", {**LADDER, "model": "curve"})
    assert _stopped(spec, trials) == [f"r{v}" for v in range(4, 10)]


def test_reason_names_the_prediction_in_the_users_units() -> None:
    spec = make_spec("asha", {**LADDER, "model": "curve"})
    (decision,) = asha.decide(spec, _sweep())
    assert decision.run_id == "leader"
    assert "predicted 0.491636 by iteration 9 worse than threshold 0.18 " in decision.reason
    assert (
        "(model: curve, slope 1 fitted on 5 runs; the 1 within 3 residual sd of the best "
        "prediction go on too)"
    ) in decision.reason


def test_maximize_uses_a_linear_scale() -> None:
    # accuracies: minimize space is negative, so no log scale; the plateaued leader is stopped
    spec = make_spec("asha", {**LADDER, "model": "curve"}, metric="acc", goal="maximize")
    trials = [
        trial(name, [1 - v for v in t.metric_history], t.state)
        for name, t in ((t.run_id, t) for t in _sweep())
    ]
    assert "leader" in _stopped(spec, trials)
    assert "slow" not in _stopped(spec, trials)


def test_a_diverged_run_is_stopped() -> None:
    spec = make_spec("asha", {**LADDER, "model": "curve"})
    trials = [*_sweep()[:5], trial("nan", [1.0, math.nan, math.nan])]
    assert _stopped(spec, trials) == ["nan"]


def _noisy_sweep() -> list[Trial]:
    """Finished runs whose log improvement from 3 to 9 is the one from 1 to 3, +-0.1."""
    finished = [
        (1.0, 0.2, 1.1),
        (0.5, 0.25, 0.9),
        (0.8, 0.3, 1.1),
        (1.0, 0.9, 0.9),
    ]
    return [
        *(
            trial(f"f{i}", _curve(at1, at3, at3 * at3 / at1 * noise), RunState.FINISHED)
            for i, (at1, at3, noise) in enumerate(finished)
        ),
        # far behind at rung 3 (level cut: f0 0.2 and f1 0.25 go on) but steep: predicted
        # 0.057 at 9, 0.105 (log) behind f0's 0.051, the best prediction
        trial("steep", _curve(4.0, 0.4)),
        trial("flat", _curve(1.0, 0.7)),  # predicted 0.52
    ]


@pytest.mark.parametrize(
    ("z", "stopped"), [(3, ["flat"]), (1, ["flat", "steep"]), (0, ["flat", "steep"])]
)
def test_z_is_how_many_residual_sds_behind_the_best_prediction_a_run_may_be(
    z: float, stopped: list[str]
) -> None:
    spec = make_spec("asha", {**LADDER, "model": "curve", "z": z})
    settings_ = asha.settings_from_options(spec.early_terminate.options)  # type: ignore[union-attr]
    fit = asha.rung_cuts(settings_, [list(t.metric_history) for t in _noisy_sweep()])[3].fit
    assert fit is not None
    assert fit.slope == pytest.approx(0.847, abs=1e-3)
    assert fit.sigma == pytest.approx(0.0797, abs=1e-4)  # 3 sd = 0.239 > 0.105 > 1 sd
    assert _stopped(spec, _noisy_sweep()) == stopped


def test_z_needs_model_curve_and_a_number() -> None:
    with pytest.raises(ConfigError) as info:
        asha.decide(make_spec("asha", {**LADDER, "z": 2}), [])
    assert info.value.violations[0] == ("early_terminate.z", "only applies with model: curve")
    for bad in (-1, "3", True, math.inf):
        with pytest.raises(ConfigError) as info:
            asha.decide(make_spec("asha", {**LADDER, "model": "curve", "z": bad}), [])
        assert info.value.violations[0][0] == "early_terminate.z"
    assert asha.settings_from_options({"model": "curve"}).z == curve.DEFAULT_Z == 3


@pytest.mark.parametrize("bad", ["gp", 3, True])
def test_model_must_be_level_or_curve(bad: Any) -> None:
    with pytest.raises(ConfigError) as info:
        asha.decide(make_spec("asha", {**LADDER, "model": bad}), [])
    assert info.value.violations[0][0] == "early_terminate.model"
    assert "level, curve" in info.value.violations[0][1]


def test_model_defaults_to_level() -> None:
    assert asha.settings_from_options({}).model == "level"
    assert asha.settings_from_options({"model": None}).model == "level"


curves = st.lists(
    st.lists(st.floats(0.01, 5, allow_nan=False), min_size=1, max_size=12), max_size=20
)


@settings(max_examples=200, deadline=None)
@given(curves, st.integers(1, 4), st.booleans())
def test_the_model_only_keeps_runs_the_level_cut_would_stop(
    histories: list[list[float]], min_runs: int, strict: bool
) -> None:
    """model: curve stops a subset of what the level cut alone stops (it only adds survivors)."""
    trials = [
        trial(f"r{i}", h, RunState.RUNNING if i % 3 else RunState.FINISHED)
        for i, h in enumerate(histories)
    ]
    options = {"min_iter": 1, "max_iter": 12, "eta": 3, "min_runs": min_runs, "strict": strict}
    level = _stopped(make_spec("asha", {**options, "progress": False}), trials)
    model = _stopped(make_spec("asha", {**options, "model": "curve"}), trials)
    assert set(model) <= set(level)


def test_a_call_at_100_runs_of_27_iterations_is_cheap() -> None:
    rng = random.Random(0)
    trials = []
    for i in range(100):
        final, tau = rng.lognormvariate(-2, 1), rng.lognormvariate(0.7, 0.8)
        length = 27 if i < 10 else rng.choice([1, 1, 1, 2, 3, 3, 5, 9, 12, 27])
        values = [final + (2.3 - final) * math.exp(-t / tau) for t in range(1, length + 1)]
        state = RunState.RUNNING if i >= 90 else RunState.STOPPED
        trials.append(trial(f"r{i}", values, state))
    trials[-1] = trial("r99", [2.0] * 27)
    spec = make_spec("asha", {**LADDER, "model": "curve"})
    asha.decide(spec, trials)
    timings = []
    for _ in range(5):  # the best of 5 batches: robust to a busy machine
        started = time.perf_counter()
        for _ in range(5):
            asha.decide(spec, trials)
        timings.append((time.perf_counter() - started) / 5)
    per_call = min(timings)
    assert per_call < 0.02, f"{per_call * 1e3:.2f} ms per call"  # about 1.4 ms measured


def test_sweep_configs_accept_model_and_name_the_key_when_wrong() -> None:
    from opensweep.config.early_terminate import parse_early_terminate

    spec, problems = parse_early_terminate({"type": "asha", "min_iter": 1, "model": "curve"})
    assert problems == [] and spec is not None and spec.options["model"] == "curve"
    _, problems = parse_early_terminate({"type": "asha", "min_iter": 1, "model": "gp"})
    assert [(v.path, v.message) for v in problems] == [
        ("early_terminate.model", "must be one of level, curve (got 'gp')")
    ]
    _, problems = parse_early_terminate({"type": "hyperband", "min_iter": 1, "model": "curve"})
    assert problems[0].path == "early_terminate.model"  # asha only
    spec, problems = parse_early_terminate(
        {"type": "asha", "min_iter": 1, "model": "curve", "z": 2.5}
    )
    assert problems == [] and spec is not None and spec.options["z"] == 2.5
    _, problems = parse_early_terminate({"type": "asha", "min_iter": 1, "z": -1})
    assert problems[0].path == "early_terminate.z"
