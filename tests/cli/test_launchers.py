"""One agent per GPU, and SLURM job arrays."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from opensweep.cli.main import main
from opensweep.client import connect
from opensweep.errors import InvalidRequest
from opensweep.launchers.gpus import parse_gpus
from opensweep.launchers.slurm import SlurmJob, render_sbatch
from opensweep.testing.processes import Procs

PROGRAMS = Path(__file__).parents[1] / "e2e" / "programs"


@pytest.mark.parametrize(
    ("spec", "devices"), [("2", ["0", "1"]), ("0,3", ["0", "3"]), (" 1 , 2 ", ["1", "2"])]
)
def test_parse_gpus(spec: str, devices: list[str]) -> None:
    assert parse_gpus(spec) == devices


@pytest.mark.parametrize("spec", ["0", "1,1", ",", " "])
def test_parse_gpus_rejects_nonsense(spec: str) -> None:
    with pytest.raises(InvalidRequest, match="--gpus"):
        parse_gpus(spec)


def test_sbatch_script_runs_one_agent_per_array_task() -> None:
    script = render_sbatch(
        SlurmJob(
            sweep_path="proj/abc123",
            url="postgresql://db/sweeps",
            tasks=8,
            count_per_task=5,
            partition="gpu",
            time="04:00:00",
            gpus_per_task=1,
            max_parallel=4,
            setup=("module load cuda",),
        )
    )
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "#SBATCH --array=0-7%4" in lines
    assert "#SBATCH --partition=gpu" in lines and "#SBATCH --gpus-per-task=1" in lines
    assert "#SBATCH --time=04:00:00" in lines
    assert lines.index("module load cuda") < lines.index(
        "export OPENSWEEP_URL=postgresql://db/sweeps"
    )
    assert lines[-1] == "python -m opensweep agent proj/abc123 --quiet --count 5"


def test_slurm_command_prints_the_script_and_refuses_zero_tasks() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["slurm", "abc", "--tasks", "2", "--url", "postgresql://h/db"])
    assert ok.exit_code == 0, ok.output
    assert "#SBATCH --array=0-1" in ok.output and "opensweep agent abc" in ok.output
    bad = runner.invoke(main, ["slurm", "abc", "--tasks", "0", "--url", "postgresql://h/db"])
    assert bad.exit_code == 1 and "--tasks must be >= 1" in bad.output


@pytest.mark.slow
def test_one_agent_per_gpu_each_sees_its_own_device(tmp_path: Path, sqlite_url: str) -> None:
    config = {
        "program": str(PROGRAMS / "device_logger.py"),
        "method": "grid",
        "metric": {"name": "loss"},
        "parameters": {"x": {"values": [1, 2, 3, 4, 5, 6]}},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(config))
    procs = Procs(sqlite_url, tmp_path)
    try:
        sweep_id = procs.cli("sweep", str(tmp_path / "s.yaml"), "--id-only").stdout.strip()
        launcher = procs.start(
            [sys.executable, "-m", "opensweep", "agent", sweep_id, "--gpus", "3,5", "--quiet"]
        )
        procs.wait_all([launcher])
    finally:
        procs.cleanup()
    runs = connect(sqlite_url).list_runs(sweep_id)
    assert sorted(r.config["x"] for r in runs) == [1, 2, 3, 4, 5, 6]
    by_agent: dict[str, set[float]] = {}
    for r in runs:
        by_agent.setdefault(r.agent_id or "", set()).add(r.summary["device"])
    # two agents, each always on its own single device
    assert sorted(sorted(d) for d in by_agent.values()) == [[3], [5]]
