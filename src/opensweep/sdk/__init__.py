"""The W&B-compatible tracking surface: ``init``, ``config``, ``log``, ``summary``, ``finish``.

The agent hook for function mode is :func:`agent_context` (see its docstring).
"""

from __future__ import annotations

from opensweep.client import DEFAULT_URL, resolve_url
from opensweep.sdk.config import Config, PreInitConfig, deep_merge
from opensweep.sdk.run import Run, RunMode
from opensweep.sdk.session import (
    ENV_PARAMS_FILE,
    ENV_RUN_ID,
    ENV_SWEEP_ID,
    ENV_URL,
    PRE_INIT_CONFIG,
    PRE_INIT_SUMMARY,
    AgentContext,
    agent_context,
    connect,
    current_run,
    finish,
    init,
    log,
)
from opensweep.sdk.summary import PreInitSummary, Summary
from opensweep.sdk.sweeps import agent, sweep
from opensweep.sdk.writer import LogWriter, WriterSettings

__all__ = [
    "DEFAULT_URL",
    "ENV_PARAMS_FILE",
    "ENV_RUN_ID",
    "ENV_SWEEP_ID",
    "ENV_URL",
    "PRE_INIT_CONFIG",
    "PRE_INIT_SUMMARY",
    "AgentContext",
    "Config",
    "LogWriter",
    "PreInitConfig",
    "PreInitSummary",
    "Run",
    "RunMode",
    "Summary",
    "WriterSettings",
    "agent",
    "agent_context",
    "connect",
    "current_run",
    "deep_merge",
    "finish",
    "init",
    "log",
    "resolve_url",
    "sweep",
]
