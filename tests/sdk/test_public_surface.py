"""The names ``import opensweep as wandb`` offers, and the two meanings of ``opensweep.config``."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import pytest

import opensweep
from opensweep.client import connect
from opensweep.errors import ConfigError
from opensweep.sdk import Config


def test_all_is_pinned() -> None:
    assert sorted(opensweep.__all__) == sorted(
        [
            "Api",
            "ConfigError",
            "Conflict",
            "Forbidden",
            "InvalidRequest",
            "NotFound",
            "OpenSweepError",
            "PayloadTooLarge",
            "RunStopped",
            "SchemaVersionError",
            "StoreError",
            "TransportError",
            "Unauthorized",
            "__version__",
            "agent",
            "config",
            "define_metric",
            "finish",
            "init",
            "log",
            "login",
            "run",
            "summary",
            "sweep",
            "watch",
        ]
    )
    for name in opensweep.__all__:
        assert hasattr(opensweep, name) or name in ("config", "summary"), name


def test_config_is_the_sdk_object_and_the_subpackage_still_imports() -> None:
    from opensweep.config import parse, validate

    assert isinstance(opensweep.config, Config)
    assert callable(parse) and callable(validate)
    assert sys.modules["opensweep.config"].parse is parse
    # importing more of the subpackages later does not rebind the public names
    importlib.import_module("opensweep.config.spec")
    importlib.import_module("opensweep.agent.runner")
    assert isinstance(opensweep.config, Config)
    assert callable(opensweep.agent) and opensweep.agent is opensweep.sdk.agent


def test_fresh_interpreter_sees_the_same_surface() -> None:
    code = (
        "import opensweep, opensweep.config.validate\n"
        "from opensweep.config import parse\n"
        "from opensweep.sdk import Config\n"
        "assert isinstance(opensweep.config, Config), type(opensweep.config)\n"
        "assert opensweep.run is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_run_stopped_is_not_an_exception() -> None:
    assert issubclass(opensweep.RunStopped, BaseException)
    assert not issubclass(opensweep.RunStopped, Exception)


def test_sweep_accepts_a_dict_or_a_callable(sqlite: str) -> None:
    config = {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}
    first = opensweep.sweep(config, project="p")
    second = opensweep.sweep(lambda: config, entity="e", project="q")
    with connect(sqlite) as client:
        assert client.get_sweep(first).project == "p"
        stored = client.get_sweep(second)
        assert (stored.entity, stored.project) == ("e", "q")
        assert dict(stored.config) == config


def test_sweep_with_an_invalid_config_raises_every_violation(sqlite: str) -> None:
    with pytest.raises(ConfigError) as info:
        opensweep.sweep({"method": "grdi", "parameters": {"lr": {"min": 0.1, "max": 0.01}}})
    paths = {p for p, _ in info.value.violations}
    assert "method" in paths and any(p.startswith("parameters.lr") for p in paths)
    with connect(sqlite) as client:
        assert client.list_sweeps() == []


def test_agent_delegates_to_run_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        sys.modules["opensweep.agent"],
        "run_agent",
        lambda sweep_id, **kw: calls.append((sweep_id, kw)),
    )

    def train() -> None:
        pass

    opensweep.agent("e/p/abc", function=train, project="p", entity="e", count=3)
    assert calls == [
        (
            "e/p/abc",
            {"function": train, "count": 3, "url": None, "project": "p", "entity": "e"},
        )
    ]


def test_wandb_no_ops_are_accepted() -> None:
    assert opensweep.login() is True
    opensweep.watch(object(), log="all")
    opensweep.define_metric("val/loss", summary="min")
