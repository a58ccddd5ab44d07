"""``opensweep slurm``: agents as a SLURM job array."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile

import click

from opensweep.cli.common import console, handle_errors, url_option
from opensweep.errors import InvalidRequest


@click.command()
@click.argument("sweep_path")
@click.option("--tasks", type=int, required=True, help="Array size: how many agents.")
@click.option("--count", type=int, default=None, help="Runs per agent (default: until done).")
@click.option("--partition", default=None)
@click.option("--time", "time_limit", default=None, help="Time limit per task, e.g. 04:00:00.")
@click.option("--gpus-per-task", type=int, default=None)
@click.option("--cpus-per-task", type=int, default=None)
@click.option("--mem", default=None)
@click.option("--max-parallel", type=int, default=None, help="At most N tasks at once (%N).")
@click.option("--setup", multiple=True, help="Shell line run before the agent (repeatable).")
@click.option("--submit", is_flag=True, help="Submit with sbatch (else print the script).")
@url_option
@handle_errors
def slurm(
    sweep_path: str,
    tasks: int,
    count: int | None,
    partition: str | None,
    time_limit: str | None,
    gpus_per_task: int | None,
    cpus_per_task: int | None,
    mem: str | None,
    max_parallel: int | None,
    setup: tuple[str, ...],
    submit: bool,
    url: str | None,
) -> None:
    """Run SWEEP_PATH's agents as a SLURM job array (prints the sbatch script, or --submit)."""
    from opensweep.client import resolve_url
    from opensweep.launchers.slurm import SlurmJob, render_sbatch

    target = resolve_url(url)
    script = render_sbatch(
        SlurmJob(
            sweep_path=sweep_path,
            url=target,
            tasks=tasks,
            count_per_task=count,
            partition=partition,
            time=time_limit,
            gpus_per_task=gpus_per_task,
            cpus_per_task=cpus_per_task,
            mem=mem,
            max_parallel=max_parallel,
            setup=setup,
            python=sys.executable,
        )
    )
    if target.startswith("sqlite") and tasks > 1:
        console.print(
            "[yellow]note:[/yellow] tasks on several nodes need a shared store: "
            "postgresql://... or an `opensweep server` URL (--url)"
        )
    if not submit:
        click.echo(script, nl=False)
        return
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise InvalidRequest("sbatch not found on PATH: run this on a SLURM login node")
    with tempfile.NamedTemporaryFile("w", suffix=".sbatch", delete=False) as handle:
        handle.write(script)
    result = subprocess.run([sbatch, handle.name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidRequest(f"sbatch failed: {result.stderr.strip()}")
    console.print(result.stdout.strip())
