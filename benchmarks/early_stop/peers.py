"""Peers as schedulers the simulator can drive: W&B's engine and Optuna's pruners.

Both are stateful adapters with the scheduler signature ``(spec, history) -> decisions``; they see
exactly what opensweep's schedulers see, after every logged value.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.schedulers.base import StopDecision

HERE = Path(__file__).parent
WANDB_PYTHON = HERE / "out" / "wandb-venv" / "bin" / "python"

optuna.logging.set_verbosity(optuna.logging.WARNING)


class WandbHyperband:
    """W&B's ``sweeps.hyperband_stopping.hyperband_stop_runs`` in its own venv (numpy<2).

    W&B's controller calls it every few minutes; we call it after every logged value that can
    change its answer (a run reaching a band: only values at band indices enter thresholds, and a
    run's own value can only change its verdict when it reaches a band), which gives W&B's rule
    its best case and is exactly equivalent to calling it after every value.
    """

    def __init__(self, config: Mapping[str, Any], bands: Sequence[int]) -> None:
        if not WANDB_PYTHON.exists():
            raise SystemExit(
                f"{WANDB_PYTHON} is missing: create it with the README's command "
                "(W&B's sweeps needs numpy<2, so it lives in its own venv)"
            )
        self.config = dict(config)
        self.bands = set(bands)
        self.lengths: dict[str, int] = {}
        self.process = subprocess.Popen(
            [str(WANDB_PYTHON), str(HERE / "wandb_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},  # pydantic v2 config warnings
        )

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=30)

    def __call__(self, spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
        relevant = False
        for t in history:
            n = sum(1 for v in t.metric_history if math.isfinite(v))
            if n != self.lengths.get(t.run_id) and n in self.bands:
                relevant = True
            self.lengths[t.run_id] = n
        if not relevant:
            return []
        runs = [
            {
                "name": t.run_id,
                "state": "running" if t.state is RunState.RUNNING else "finished",
                "values": list(t.metric_history),
            }
            for t in history
        ]
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"config": self.config, "runs": runs}) + "\n")
        self.process.stdin.flush()
        stop = set(json.loads(self.process.stdout.readline())["stop"])
        return [
            StopDecision(t.run_id, "wandb hyperband")
            for t in history
            if t.run_id in stop and not t.stop_requested
        ]


class OptunaPruner:
    """An Optuna pruner fed through ask/report/should_prune/tell, one Optuna trial per run."""

    def __init__(self, pruner: optuna.pruners.BasePruner, direction: str) -> None:
        self.study = optuna.create_study(direction=direction, pruner=pruner)
        self.trials: dict[str, optuna.Trial] = {}
        self.reported: dict[str, int] = {}
        self.told: set[str] = set()

    def __call__(self, spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
        decisions: list[StopDecision] = []
        for t in history:
            if t.run_id in self.told:
                continue
            trial = self.trials.get(t.run_id)
            if trial is None:
                trial = self.trials[t.run_id] = self.study.ask()
            done = self.reported.get(t.run_id, 0)
            for step in range(done, t.iterations):
                value = t.metric_history[step]
                if math.isfinite(value):
                    trial.report(value, step + 1)  # step = epochs trained
            self.reported[t.run_id] = t.iterations
            if t.state is RunState.FINISHED:
                last = t.finite_history[-1] if t.finite_history else math.inf
                self.study.tell(trial, last)
                self.told.add(t.run_id)
            elif t.state is RunState.STOPPED:
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                self.told.add(t.run_id)
            elif (
                t.iterations > done
                and t.is_running
                and not t.stop_requested
                and trial.should_prune()
            ):
                decisions.append(StopDecision(t.run_id, "optuna pruned"))
        return decisions
