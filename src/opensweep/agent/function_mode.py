"""Function mode: call the user's training function in this process for one run."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from opensweep.core.model import Run, RunState
from opensweep.errors import RunStopped
from opensweep.sdk.session import agent_context

if TYPE_CHECKING:
    from opensweep.agent.runner import Agent

Outcome = tuple[RunState | None, int | None, str | None]  # for finish_run: state, exit code, error


def run_function(agent: Agent, run: Run) -> Outcome:
    """Run ``agent.function`` as ``run``; returns (state, exit code, error) for finish_run.

    ``opensweep.init()`` inside the function joins ``run``. Rows are flushed before the agent
    ends the run. A stop request (scheduler, canceled sweep) reaches the function as
    ``RunStopped`` from its next ``log()``.
    """
    assert agent.function is not None
    outcome: Outcome
    hb = agent.heartbeat(run.id)
    with agent_context(agent.client, run) as ctx, hb:
        hb.on_stop = ctx.stop
        try:
            agent.function()
            code = ctx.exit_code or 0
            outcome = (None, code, ctx.error)
        except RunStopped:
            outcome = (RunState.STOPPED, None, None)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            outcome = (None, code, None if code == 0 else f"SystemExit({exc.code!r})")
        except KeyboardInterrupt:
            agent._interrupted = 2
            outcome = (RunState.KILLED, None, "interrupted (KeyboardInterrupt)")
        except Exception:
            outcome = (RunState.FAILED, 1, traceback.format_exc())
        if not ctx.close():
            agent.console.print("[yellow]warning: some logged rows could not be written[/yellow]")
    if outcome[0] is None and (ctx.stop_reason is not None) and outcome[1] != 0:
        outcome = (RunState.STOPPED, outcome[1], None)
    return outcome
