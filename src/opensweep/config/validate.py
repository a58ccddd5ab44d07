"""Validation of a whole sweep config: every violation at once, then the internal spec.

``validate(raw)`` returns the list of :class:`Violation` (empty = valid); ``parse(raw)``
returns a :class:`SweepSpec` or raises :class:`~opensweep.errors.ConfigError` listing them all.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opensweep.config.early_terminate import parse_early_terminate
from opensweep.config.loader import load_yaml
from opensweep.config.parameters import parse_parameters
from opensweep.config.spec import METHODS, METRIC_METHODS, MetricSpec, SweepSpec
from opensweep.config.violation import Violation, is_finite_number, is_int, join, show
from opensweep.core.space import GRID_DISTRIBUTIONS, Space, config_path, grid_refusal
from opensweep.errors import ConfigError

GOALS = ("minimize", "maximize")
IMPUTES = ("worst", "best", "latest")
IMPUTES_WHILE_RUNNING = ("false", "worst", "best", "latest")
METRIC_KEYS = ("name", "goal", "target", "impute", "impute_while_running")
CONTROLLER_TYPES = ("local", "cloud")
SCHEDULER_ENGINES = ("optuna", "ax", "wandb")

# W&B keys that only mean something on W&B's cloud (Launch): accepted, reported in notes.
CLOUD_ONLY_NOTES: dict[str, str] = {
    "controller": "controller: ignored; opensweep always runs its own controller (inside the "
    "agent process on a local database, or in `opensweep server`)",
    "scheduler": "scheduler: ignored; W&B Launch schedulers are not run; agents run "
    "`program`/`command` or the function given to opensweep.agent()",
    "job": "job: ignored; W&B Launch jobs are not run; agents run `program`/`command`",
    "image_uri": "image_uri: ignored; opensweep does not start containers; agents run "
    "`program`/`command`",
    "apiVersion": "apiVersion: accepted as metadata and ignored",
    "kind": "kind: accepted as metadata and ignored",
}
STRING_KEYS = (
    "program",
    "name",
    "description",
    "project",
    "entity",
    "job",
    "image_uri",
    "apiVersion",
)
TOP_LEVEL_KEYS: tuple[str, ...] = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "program",
    "command",
    "name",
    "description",
    "project",
    "entity",
    "seed",
    "controller",
    "scheduler",
    "job",
    "image_uri",
    "apiVersion",
    "kind",
)


@dataclass
class _Result:
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    spec: SweepSpec | None = None

    def add(self, path: str, message: str) -> None:
        self.violations.append(Violation(path, message))


def validate(raw: Any) -> list[Violation]:
    """Every violation in a sweep config (a mapping, or YAML text); empty when valid."""
    try:
        config = _as_mapping(raw)
    except ConfigError as exc:
        return [Violation(p, m) for p, m in exc.violations] or [Violation("", exc.message)]
    return _check(config).violations


def parse(raw: Mapping[str, Any] | str) -> SweepSpec:
    """The validated, default-filled :class:`SweepSpec`; ConfigError lists every violation."""
    config = _as_mapping(raw)
    result = _check(config)
    if result.violations or result.spec is None:
        n = len(result.violations)
        raise ConfigError(
            f"invalid sweep config ({n} problem{'s' if n != 1 else ''})",
            violations=[(v.path, v.message) for v in result.violations],
        )
    return result.spec


def _as_mapping(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        raw = load_yaml(raw)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "invalid sweep config",
            violations=[("", f"a sweep config must be a mapping (got {show(raw)})")],
        )
    return raw


def _check(given: Mapping[str, Any]) -> _Result:
    # our own copy: the spec must not change when the caller later edits its dict
    config: dict[str, Any] = copy.deepcopy(dict(given))
    r = _Result()
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            r.add(str(key), _unknown_key_message(key))

    method = _check_method(config, r)
    metric = _check_metric(config, r)
    params = parse_parameters(config["parameters"]) if "parameters" in config else None
    if params is None:
        r.add("parameters", "is required")
    else:
        r.violations.extend(params.violations)
        r.notes.extend(params.notes)
    early = None
    if "early_terminate" in config:
        early, problems = parse_early_terminate(config["early_terminate"])
        r.violations.extend(problems)
        if "metric" not in config:
            r.add("metric", "is required by early_terminate (the metric decides which runs stop)")
    if method in METRIC_METHODS and "metric" not in config:
        r.add("metric", f"is required by method {method} (it learns from the metric)")
    if method == "grid" and params is not None:
        for p in params.params:
            if p.distribution not in GRID_DISTRIBUTIONS:
                r.add(config_path(p.path), grid_refusal(p.distribution))

    run_cap = config.get("run_cap")
    if "run_cap" in config and not (is_int(run_cap) and run_cap >= 1):
        r.add("run_cap", f"must be an integer >= 1 (got {show(run_cap)})")
    seed = config.get("seed")
    if "seed" in config and not (is_int(seed) and seed >= 0):
        r.add("seed", f"must be an integer >= 0 (got {show(seed)})")
    for key in STRING_KEYS:
        if key in config and not isinstance(config[key], str):
            r.add(key, f"must be a string (got {show(config[key])})")
    command = _check_command(config, r)
    _check_cloud_keys(config, r)

    if r.violations or method is None or params is None:
        return r
    r.spec = SweepSpec(
        method=method,
        space=Space(tuple(params.params)),
        metric=metric,
        early_terminate=early,
        run_cap=run_cap,
        program=config.get("program"),
        command=command,
        name=config.get("name"),
        description=config.get("description"),
        project=config.get("project"),
        entity=config.get("entity"),
        seed=seed,
        notes=tuple(r.notes),
        raw=config,
    )
    return r


def _unknown_key_message(key: Any) -> str:
    if key == "metrics":
        return "multi-objective `metrics` is not supported; use `metric` (one objective)"
    return f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)})"


def _check_method(config: Mapping[str, Any], r: _Result) -> str | None:
    if "method" not in config:
        r.add("method", f"is required (one of {', '.join(METHODS)})")
        return None
    method = config["method"]
    if not isinstance(method, str) or method not in METHODS:
        hint = ""
        if method == "custom":
            hint = "; `custom` needs a W&B Launch scheduler, which opensweep does not run"
        r.add("method", f"must be one of {', '.join(METHODS)} (got {show(method)}){hint}")
        return None
    return method


def _check_metric(config: Mapping[str, Any], r: _Result) -> MetricSpec | None:
    if "metric" not in config:
        return None
    raw = config["metric"]
    if not isinstance(raw, Mapping):
        r.add("metric", f"must be a mapping with a `name` (got {show(raw)})")
        return None
    before = len(r.violations)
    for key in raw:
        if key not in METRIC_KEYS:
            r.add(join("metric", key), f"unknown key (allowed: {', '.join(METRIC_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        r.add(
            "metric.name",
            "is required (the logged key to optimize)"
            if name is None
            else f"must be a non-empty string (got {show(name)})",
        )
    choices = (
        ("goal", GOALS),
        ("impute", IMPUTES),
        ("impute_while_running", IMPUTES_WHILE_RUNNING),
    )
    for key, allowed in choices:
        if key in raw and raw[key] not in allowed:
            r.add(
                join("metric", key), f"must be one of {', '.join(allowed)} (got {show(raw[key])})"
            )
    target = raw.get("target")
    if "target" in raw and not is_finite_number(target):
        r.add("metric.target", f"must be a finite number (got {show(target)})")
    if len(r.violations) > before:
        return None
    return MetricSpec(
        name=name,  # type: ignore[arg-type]  # checked above
        goal=raw.get("goal", "minimize"),
        target=float(target) if target is not None else None,
        impute=raw.get("impute", "worst"),
        impute_while_running=raw.get("impute_while_running", "false"),
    )


def _check_command(config: Mapping[str, Any], r: _Result) -> tuple[str, ...] | None:
    if "command" not in config:
        return None
    command = config["command"]
    if not isinstance(command, list | tuple) or not command:
        r.add("command", f"must be a non-empty list of strings (got {show(command)})")
        return None
    ok = True
    for i, item in enumerate(command):
        if not isinstance(item, str):
            ok = False
            r.add(f"command[{i}]", f"must be a string (got {show(item)}); quote it in YAML")
    return tuple(command) if ok else None


def _check_cloud_keys(config: Mapping[str, Any], r: _Result) -> None:
    for key, note in CLOUD_ONLY_NOTES.items():
        if key in config:
            r.notes.append(note)
    controller = config.get("controller")
    if "controller" in config:
        ctype = controller.get("type") if isinstance(controller, Mapping) else None
        if not isinstance(controller, Mapping) or ctype not in CONTROLLER_TYPES:
            r.add(
                "controller.type" if isinstance(controller, Mapping) else "controller",
                f"must be one of {', '.join(CONTROLLER_TYPES)} (got {show(ctype)})",
            )
    if "kind" in config and config["kind"] != "sweep":
        r.add("kind", f"must be 'sweep' (got {show(config['kind'])})")
    if "scheduler" not in config:
        return
    scheduler = config["scheduler"]
    if not isinstance(scheduler, Mapping):
        r.add("scheduler", f"must be a mapping (got {show(scheduler)})")
        return
    engine = scheduler.get("engine")
    if "engine" in scheduler and engine not in SCHEDULER_ENGINES:
        r.add(
            "scheduler.engine",
            f"must be one of {', '.join(SCHEDULER_ENGINES)} (got {show(engine)})",
        )
    elif engine in ("optuna", "ax"):
        r.add(
            "scheduler.engine",
            f"{engine} runs only with W&B's `method: custom` on Launch; in opensweep use "
            "`method: tpe`, `cmaes` or `qmc` (Optuna samplers) instead",
        )
    if isinstance(controller, Mapping) and controller.get("type") == "local":
        r.add("controller", "`controller: {type: local}` cannot be used together with `scheduler`")
    if "early_terminate" in config:
        r.add("early_terminate", "cannot be used together with `scheduler` (W&B rule)")
