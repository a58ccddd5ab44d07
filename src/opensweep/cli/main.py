"""The ``opensweep`` command line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click

from opensweep.cli.common import console, handle_errors, open_client, url_option
from opensweep.errors import ConfigError


def _load_config(path: str) -> dict[str, Any]:
    from opensweep.config import load_yaml

    loaded = load_yaml(Path(path))
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: a sweep config must be a mapping", violations=[("", "expected a mapping")]
        )
    return loaded


@click.group()
@click.version_option(package_name="opensweep")
def main() -> None:
    """opensweep: self-hosted hyperparameter sweeps in the W&B Sweeps dialect."""


@main.command()
@click.argument("target")
@click.option("--project", default=None)
@click.option("--entity", default=None)
@click.option("--name", default=None, help="Sweep name (else the config's name, else generated).")
@click.option(
    "--pause", "action", flag_value="pause", help="TARGET is a sweep: hand out no new runs."
)
@click.option(
    "--resume", "action", flag_value="resume", help="TARGET is a sweep: hand out runs again."
)
@click.option(
    "--stop",
    "action",
    flag_value="stop",
    help="TARGET is a sweep: no new runs, running ones finish.",
)
@click.option(
    "--cancel", "action", flag_value="cancel", help="TARGET is a sweep: kill its running runs."
)
@click.option(
    "--rerun-crashed",
    "action",
    flag_value="rerun-crashed",
    help="TARGET is a sweep: hand out the grid points of crashed runs again.",
)
@click.option("--id-only", is_flag=True, help="Print only the new sweep's id (for scripts).")
@url_option
@handle_errors
def sweep(
    target: str,
    project: str | None,
    entity: str | None,
    name: str | None,
    action: str | None,
    id_only: bool,
    url: str | None,
) -> None:
    """Create a sweep from CONFIG.yaml, or change the state of sweep TARGET."""
    from opensweep.core.paths import parse_sweep_path

    client = open_client(url)
    try:
        if action is None:
            config = _load_config(target)
            created = client.create_sweep(config, project=project, entity=entity, name=name)
            if id_only:
                click.echo(created.id)
                return
            console.print(
                f"created sweep [bold]{created.id}[/bold] ({created.name})", highlight=False
            )
            url_part = "" if url is None else f" --url {url}"
            console.print(f"run agents with: [bold]opensweep agent {created.path}{url_part}[/bold]")
            return
        sweep_id = parse_sweep_path(target).sweep_id
        if action == "rerun-crashed":
            count = client.rerun_crashed(sweep_id)
            console.print(f"{count} crashed run(s) of {sweep_id} will be handed out again")
            return
        updated = client.set_sweep_state(sweep_id, action)  # type: ignore[arg-type]
        console.print(f"sweep {updated.id} is now [bold]{updated.state.value}[/bold]")
    finally:
        client.close()


@main.command()
@click.argument("sweep_path")
@click.option("--count", type=int, default=None, help="Run at most N trials, then exit.")
@click.option("--max-consecutive-failures", type=int, default=5, show_default=True)
@click.option(
    "--term-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds between SIGTERM and SIGKILL when a run is stopped.",
)
@click.option("--heartbeat-interval", type=float, default=None, help="Seconds between heartbeats.")
@click.option("--poll-interval", type=float, default=5.0, show_default=True)
@click.option("--quiet", is_flag=True, help="Do not echo the runs' output (it is still logged).")
@click.option(
    "--gpus",
    default=None,
    help="One agent per GPU: a count (4) or device ids (0,1,3); each sees only its device.",
)
@url_option
@handle_errors
def agent(
    sweep_path: str,
    gpus: str | None,
    count: int | None,
    max_consecutive_failures: int,
    term_timeout: float,
    heartbeat_interval: float | None,
    poll_interval: float,
    quiet: bool,
    url: str | None,
) -> None:
    """Run trials of SWEEP_PATH (id, project/id or entity/project/id) until it is done."""
    from opensweep.agent import AgentOptions, run_agent

    if gpus is not None:
        from opensweep.launchers.gpus import parse_gpus, run_per_gpu

        extra = [f"--max-consecutive-failures={max_consecutive_failures}"]
        extra += [f"--term-timeout={term_timeout}", f"--poll-interval={poll_interval}"]
        extra += [f"--count={count}"] if count is not None else []
        extra += [f"--heartbeat-interval={heartbeat_interval}"] if heartbeat_interval else []
        extra += ["--quiet"] if quiet else []
        extra += [f"--url={url}"] if url else []
        sys.exit(run_per_gpu(sweep_path, parse_gpus(gpus), extra))

    options = AgentOptions(
        count=count,
        max_consecutive_failures=max_consecutive_failures,
        term_timeout=term_timeout,
        poll_interval=poll_interval,
        echo_output=not quiet,
    )
    if heartbeat_interval is not None:
        options.heartbeat_interval = heartbeat_interval
    client = open_client(url)
    try:
        run_agent(sweep_path, options=options, client=client)
    finally:
        client.close()


@main.command(name="ls")
@click.option("--project", default=None)
@url_option
@handle_errors
def list_sweeps(project: str | None, url: str | None) -> None:
    """List sweeps with their state, run counts and best value."""
    from opensweep.cli.render import sweeps_table

    client = open_client(url)
    try:
        sweeps = client.list_sweeps(project)
        console.print(sweeps_table([(s, client.list_runs(s.id)) for s in sweeps]))
    finally:
        client.close()


@main.command()
@click.argument("sweep_path")
@click.option("--top", type=int, default=None, help="Show only the N best runs.")
@url_option
@handle_errors
def show(sweep_path: str, top: int | None, url: str | None) -> None:
    """Show a sweep's config, state and leaderboard (best first)."""
    import yaml
    from rich.syntax import Syntax

    from opensweep.cli.render import leaderboard, stop_reasons, styled_state
    from opensweep.core.paths import parse_sweep_path

    client = open_client(url)
    try:
        sw = client.get_sweep(parse_sweep_path(sweep_path).sweep_id)
        runs = client.list_runs(sw.id)
        console.print(
            f"[bold]{sw.name}[/bold] ({sw.path})  {styled_state(sw.state.value)}  seed {sw.seed}",
            highlight=False,
        )
        text = yaml.safe_dump(dict(sw.config), sort_keys=False)
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
        console.print(leaderboard(sw, runs, top))
        reasons = stop_reasons(runs)
        if reasons:
            console.print("[bold]stopped early[/bold]")
            for line in reasons:
                console.print(f"  {line}", highlight=False)
    finally:
        client.close()


@main.command()
@click.argument("sweep_path")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV (one row per run) to stdout.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@url_option
@handle_errors
def runs(sweep_path: str, as_csv: bool, output: str | None, url: str | None) -> None:
    """Export a sweep's runs: config and summary columns, one row per run."""
    from opensweep.cli.render import flatten, leaderboard
    from opensweep.core.paths import parse_sweep_path

    client = open_client(url)
    try:
        sw = client.get_sweep(parse_sweep_path(sweep_path).sweep_id)
        all_runs = client.list_runs(sw.id)
        if not as_csv and output is None:
            console.print(leaderboard(sw, all_runs))
            return
        config_keys = sorted({k for r in all_runs for k in flatten(r.config)})
        summary_keys = sorted({k for r in all_runs for k in flatten(r.summary)})
        header = ["id", "name", "state", "stop_reason"]
        header += [f"config.{k}" for k in config_keys] + [f"summary.{k}" for k in summary_keys]
        stream = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
        try:
            writer = csv.writer(stream)
            writer.writerow(header)
            for r in all_runs:
                cfg, summ = flatten(r.config), flatten(r.summary)
                writer.writerow(
                    [r.id, r.name, r.state.value, r.stop_reason or ""]
                    + [cfg.get(k, "") for k in config_keys]
                    + [summ.get(k, "") for k in summary_keys]
                )
        finally:
            if output:
                stream.close()
    finally:
        client.close()


@main.command()
@click.argument("config_path", type=click.Path(exists=True, dir_okay=False))
@handle_errors
def validate(config_path: str) -> None:
    """Check a sweep config; print every violation (exit 2) or a summary of the space."""
    from opensweep.config import parse

    spec = parse(_load_config(config_path))
    console.print(f"[green]valid[/green]: method {spec.method}, {len(spec.space)} parameter(s)")
    for p in spec.space.params:
        console.print(f"  {p.name}: {p.distribution}", highlight=False)
    for note in spec.notes:
        console.print(f"  [dim]note: {note}[/dim]")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@url_option
@handle_errors
def upgrade(url: str | None) -> None:
    """Upgrade the database schema to this version of opensweep."""
    from opensweep.client import resolve_url
    from opensweep.store import upgrade as upgrade_store

    target = resolve_url(url)
    upgrade_store(target)
    console.print(f"schema of {target} is up to date")


# Commands that live in their own modules.
def _register() -> None:
    from opensweep.cli.launch_cmd import slurm
    from opensweep.cli.server_cmd import server
    from opensweep.cli.ui_cmd import importance, ui

    for command in (server, slurm, ui, importance):
        main.add_command(command)


_register()
