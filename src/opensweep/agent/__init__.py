"""The agent: runs a sweep's trials (function or command mode) until the sweep is done."""

from opensweep.agent.runner import Agent, AgentOptions, AgentResult, run_agent, run_log_path

__all__ = ["Agent", "AgentOptions", "AgentResult", "run_agent", "run_log_path"]
