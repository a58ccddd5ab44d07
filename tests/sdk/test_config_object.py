"""``opensweep.config``: W&B's dict-with-attributes, locked sweep keys, and the defaults merge."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

import opensweep
from opensweep.errors import InvalidRequest, OpenSweepError
from opensweep.sdk.config import Config, PreInitConfig, config_as_dict, deep_merge


def test_attribute_and_item_access_agree() -> None:
    config = Config({"lr": 0.1, "opt": {"name": "adam"}})
    assert config.lr == config["lr"] == 0.1
    config.batch = 32
    config["epochs"] = 3
    assert dict(config) == {"lr": 0.1, "opt": {"name": "adam"}, "batch": 32, "epochs": 3}
    assert config.opt["name"] == "adam"  # nested values are plain dicts, like W&B
    assert "batch" in config and "nope" not in config
    assert list(config.keys()) == ["lr", "opt", "batch", "epochs"]
    assert dict(config.items())["epochs"] == 3
    assert config.get("missing", 7) == 7
    with pytest.raises(AttributeError, match="nope"):
        _ = config.nope
    with pytest.raises(KeyError):
        _ = config["nope"]
    del config.batch
    del config["epochs"]
    assert len(config) == 2


def test_update_setdefaults_and_as_dict() -> None:
    config = Config({"a": 1})
    config.update({"b": 2}, allow_val_change=True)
    config.update(c=3)
    config.update(argparse.Namespace(d=4))
    config.setdefaults({"a": 99, "e": 5})
    assert config.as_dict() == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    config.update({"a": 10})  # opensweep allows changes (W&B needs allow_val_change)
    assert config.a == 10
    copied = config.as_dict()
    copied["a"] = 0
    assert config.a == 10
    assert config == {"a": 10, "b": 2, "c": 3, "d": 4, "e": 5}


def test_non_string_keys_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="strings"):
        Config()[1] = 2  # type: ignore[index]


def test_locked_sweep_keys_ignore_changes_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    config = Config({"lr": 0.1, "epochs": 3}, locked=["lr"])
    with caplog.at_level(logging.WARNING, logger="opensweep"):
        config.update({"lr": 0.5, "epochs": 4})
        config.lr = 0.7
    assert config.lr == 0.1 and config.epochs == 4
    assert "set by the sweep" in caplog.text and "'lr'" in caplog.text
    config.lr = 0.1  # the same value is not a change: no complaint
    assert caplog.text.count("set by the sweep") == 2


def test_deep_merge_merges_nested_dicts_and_sweep_wins() -> None:
    defaults = {"opt": {"name": "sgd", "momentum": 0.9}, "epochs": 10, "keep": 1}
    params = {"opt": {"name": "adam"}, "epochs": 3}
    assert deep_merge(defaults, params) == {
        "opt": {"name": "adam", "momentum": 0.9},
        "epochs": 3,
        "keep": 1,
    }
    assert defaults["opt"] == {"name": "sgd", "momentum": 0.9}  # inputs untouched


def test_config_from_yaml_file_and_wandb_value_wrapping(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("lr:\n  desc: learning rate\n  value: 0.01\nepochs: 5\nlr2: 1e-5\n")
    assert config_as_dict(path) == {"lr": 0.01, "epochs": 5, "lr2": "1e-5"}
    with pytest.raises(InvalidRequest, match="cannot read"):
        config_as_dict(tmp_path / "missing.yaml")
    with pytest.raises(InvalidRequest, match="must be a dict"):
        config_as_dict(42)


def test_before_init_config_and_summary_refuse_with_a_clear_error() -> None:
    assert isinstance(opensweep.config, PreInitConfig)
    with pytest.raises(OpenSweepError, match=r"call opensweep\.init\(\) first"):
        _ = opensweep.config.lr
    with pytest.raises(OpenSweepError, match=r"call opensweep\.init\(\) first"):
        opensweep.config["lr"] = 1
    with pytest.raises(OpenSweepError, match=r"call opensweep\.init\(\) first"):
        dict(opensweep.config)
    with pytest.raises(OpenSweepError, match=r"call opensweep\.init\(\) first"):
        opensweep.summary["x"] = 1
    # an AttributeError too, so hasattr/getattr with a default stay usable
    assert not hasattr(opensweep.config, "lr")
    assert getattr(opensweep.summary, "x", None) is None
