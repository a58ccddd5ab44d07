"""Plain runs: how they start, end and rebind ``opensweep.run/config/summary``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import opensweep
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.core.model import RunState
from opensweep.errors import InvalidRequest
from opensweep.sdk import PRE_INIT_CONFIG, PRE_INIT_SUMMARY


def test_init_starts_a_tracked_run_and_rebinds_the_globals(client: Client) -> None:
    run = opensweep.init(project="proj", entity="me", name="first", config={"lr": 0.1})
    assert opensweep.run is run
    assert opensweep.config is run.config and opensweep.config.lr == 0.1
    assert opensweep.summary is run.summary
    config_held = opensweep.config
    stored = client.get_run(run.id)
    assert (stored.project, stored.entity, stored.name) == ("proj", "me", "first")
    assert dict(stored.config) == {"lr": 0.1}
    assert stored.state is RunState.RUNNING
    assert run.path == f"me/proj/{run.id}" and run.name == "first"
    opensweep.finish()
    assert opensweep.run is None
    assert opensweep.config is PRE_INIT_CONFIG and opensweep.summary is PRE_INIT_SUMMARY
    assert config_held.lr == 0.1  # a reference taken during the run keeps working (as in W&B)
    assert client.get_run(run.id).state is RunState.FINISHED


@pytest.mark.parametrize(("code", "state"), [(0, RunState.FINISHED), (3, RunState.FAILED)])
def test_finish_exit_code_decides_the_state(client: Client, code: int, state: RunState) -> None:
    run = opensweep.init()
    opensweep.log({"x": 1})
    run.finish(exit_code=code)
    run.finish()  # a second finish changes nothing
    stored = client.get_run(run.id)
    assert stored.state is state and stored.exit_code == code
    assert len(client.history(run.id)) == 1


def test_with_block_finishes_or_fails_with_the_traceback(client: Client) -> None:
    with opensweep.init() as run:
        opensweep.log({"x": 1})
    assert client.get_run(run.id).state is RunState.FINISHED

    with pytest.raises(ZeroDivisionError), opensweep.init() as failing:
        opensweep.log({"x": 2})
        _ = 1 / 0
    stored = client.get_run(failing.id)
    assert stored.state is RunState.FAILED
    assert "ZeroDivisionError" in (stored.error or "") and "Traceback" in (stored.error or "")
    assert stored.summary["x"] == 2

    with pytest.raises(KeyboardInterrupt), opensweep.init() as interrupted:
        raise KeyboardInterrupt
    assert client.get_run(interrupted.id).state is RunState.KILLED  # W&B: Ctrl-C -> killed


def test_reinit_modes(client: Client) -> None:
    first = opensweep.init()
    assert opensweep.init() is first  # default: the active run comes back
    assert opensweep.init(reinit="return_previous") is first
    second = opensweep.init(reinit=True)  # finish_previous
    assert second is not first and first.finished and opensweep.run is second
    third = opensweep.init(reinit="create_new")
    assert not second.finished and opensweep.run is third
    third.log({"a": 1})
    second.log({"b": 2})  # both stay usable
    third.finish()
    assert opensweep.run is second  # the other live run becomes current again
    second.finish()
    assert client.get_run(first.id).state is RunState.FINISHED
    assert [dict(r.values) for r in client.history(second.id)] == [{"b": 2}]
    with pytest.raises(InvalidRequest, match="reinit"):
        opensweep.init(reinit="sometimes")


def test_config_defaults_yaml_include_exclude_and_ignored_kwargs(client: Client) -> None:
    Path("config-defaults.yaml").write_text(
        "wandb_version: 1\nepochs:\n  desc: n\n  value: 10\nbatch: 32\n"
    )
    run = opensweep.init(
        config={"batch": 64, "secret": "x", "lr": 0.1},
        config_exclude_keys=["secret"],
        tags=["a"],
        group="g",
        job_type="train",
        mode="offline",
        settings=None,
    )
    assert dict(opensweep.config) == {"epochs": 10, "batch": 64, "lr": 0.1}
    assert dict(client.get_run(run.id).config) == {"epochs": 10, "batch": 64, "lr": 0.1}
    run.finish()
    run2 = opensweep.init(config={"a": 1, "b": 2}, config_include_keys=["a"])
    assert dict(run2.config) == {"a": 1}


SCRIPT = """
import sys
import opensweep
run = opensweep.init()
print(run.id, flush=True)
opensweep.log({"loss": 1.0})
opensweep.log({"loss": 0.5})
if sys.argv[1] == "raise":
    raise RuntimeError("boom")
"""


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "state"), [("ok", "finished"), ("raise", "failed")])
def test_exit_without_finish_ends_the_run(
    sqlite: str, tmp_path: Path, mode: str, state: str
) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=120
    )
    run_id = out.stdout.split()[0]
    with connect(sqlite) as client:
        run = client.get_run(run_id)
        assert run.state.value == state, out.stderr
        assert [r.values["loss"] for r in client.history(run_id)] == [1.0, 0.5]
    if mode == "raise":
        assert "RuntimeError: boom" in (run.error or "")
        assert "RuntimeError: boom" in out.stderr  # the user still sees the traceback


def test_config_written_after_init_is_saved(client: Client) -> None:
    run = opensweep.init(config={"lr": 0.1})
    opensweep.config.update({"epochs": 3})
    opensweep.config.batch = 64
    assert dict(client.get_run(run.id).config) == {"lr": 0.1, "epochs": 3, "batch": 64}
    opensweep.config.setdefaults({"lr": 9.9, "seed": 7})  # only the missing key is set
    run.finish()
    assert dict(client.get_run(run.id).config) == {"lr": 0.1, "epochs": 3, "batch": 64, "seed": 7}
    with pytest.raises(opensweep.OpenSweepError, match="finished"):
        run.config.late = 1
