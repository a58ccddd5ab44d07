"""A SLURM job array whose tasks are opensweep agents on one sweep.

Each array task runs ``opensweep agent`` against a shared store: ``postgresql://`` or an
``http(s)://`` server when tasks land on several nodes (a SQLite file on a shared filesystem
works for a handful of tasks on one node, but network filesystems do not lock it reliably).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from opensweep.errors import InvalidRequest


@dataclass(frozen=True)
class SlurmJob:
    sweep_path: str
    url: str
    tasks: int
    count_per_task: int | None = None
    partition: str | None = None
    time: str | None = None
    gpus_per_task: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    job_name: str = "opensweep"
    max_parallel: int | None = None
    # shell lines run before the agent, e.g. "module load cuda", "source .venv/bin/activate"
    setup: Sequence[str] = field(default_factory=tuple)
    python: str = "python"


def render_sbatch(job: SlurmJob) -> str:
    """The sbatch script for ``job``."""
    if job.tasks < 1:
        raise InvalidRequest(f"--tasks must be >= 1 (got {job.tasks})")
    array = f"0-{job.tasks - 1}" + (f"%{job.max_parallel}" if job.max_parallel else "")
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job.job_name}", f"#SBATCH --array={array}"]
    lines.append(f"#SBATCH --output={job.job_name}-%A_%a.out")
    for flag, value in (
        ("partition", job.partition),
        ("time", job.time),
        ("gpus-per-task", job.gpus_per_task),
        ("cpus-per-task", job.cpus_per_task),
        ("mem", job.mem),
    ):
        if value is not None:
            lines.append(f"#SBATCH --{flag}={value}")
    lines += ["", "set -euo pipefail", *job.setup]
    lines.append(f"export OPENSWEEP_URL={shlex.quote(job.url)}")
    argv = [job.python, "-m", "opensweep", "agent", job.sweep_path, "--quiet"]
    if job.count_per_task is not None:
        argv += ["--count", str(job.count_per_task)]
    lines.append(" ".join(shlex.quote(a) for a in argv))
    return "\n".join(lines) + "\n"
