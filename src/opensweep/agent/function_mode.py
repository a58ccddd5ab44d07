"""Function mode: call the user's training function in this process for one run."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from opensweep.agent.outcome import Outcome
from opensweep.core.model import Run, RunState
from opensweep.errors import RunStopped
from opensweep.sdk.session import agent_context

if TYPE_CHECKING:
    from opensweep.agent.runner import Agent


def run_function(agent: Agent, run: Run) -> Outcome:
    """Run ``agent.function`` as ``run``; returns how it ended, for the agent to record.

    ``opensweep.init()`` inside the function joins ``run``. The rows it logged and did not
    write yet come back with the outcome, to be written with the run's end (or, when the
    writer cannot lend them, are flushed here first). A stop request (scheduler, canceled
    sweep) reaches the function as ``RunStopped`` from its next ``log()``.
    """
    assert agent.function is not None
    hb = agent.heartbeat(run.id)
    with agent_context(agent.client, run) as ctx, hb:
        hb.on_stop = ctx.stop
        try:
            agent.function()
            code = ctx.exit_code or 0
            state, exit_code, error = None, code, ctx.error
        except RunStopped:
            state, exit_code, error = RunState.STOPPED, None, None
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            state, exit_code, error = None, code, None if code == 0 else f"SystemExit({exc.code!r})"
        except KeyboardInterrupt:
            agent._interrupted = 2
            state, exit_code, error = RunState.KILLED, None, "interrupted (KeyboardInterrupt)"
        except Exception:
            state, exit_code, error = RunState.FAILED, 1, traceback.format_exc()
        last_rows = ctx.hand_over()
        if not ctx.flushed:
            agent.console.print("[yellow]warning: some logged rows could not be written[/yellow]")
    if state is None and ctx.stop_reason is not None and exit_code != 0:
        state, error = RunState.STOPPED, None
    return Outcome(state, exit_code, error, last_rows, ctx.ended)
