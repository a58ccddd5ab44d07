"""Timing helpers shared by both sides of the logging benchmark (standard library only, so the
W&B side can import it from its own virtualenv)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

Row = dict[str, Any]


def make_row(i: int) -> Row:
    """What a training loop typically logs per step: five numbers."""
    return {
        "epoch": i // 100,
        "loss": 1.0 / (i + 1),
        "acc": 1.0 - 1.0 / (i + 2),
        "lr": 0.001,
        "grad_norm": (i % 17) * 0.1,
    }


def timer_overhead_ns(n: int = 100_000) -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples)


def time_calls(log: Callable[[Row], Any], n: int, warmup: int = 1_000) -> dict[str, float]:
    """Call ``log(row)`` ``n`` times back to back; per-call latency percentiles in microseconds.

    Rows are built before each timed call: building the dict is the user's cost, not log()'s.
    """
    clock = time.perf_counter_ns
    for i in range(warmup):
        log(make_row(i))
    samples = [0] * n
    started = time.perf_counter()
    for i in range(n):
        row = make_row(warmup + i)
        t0 = clock()
        log(row)
        samples[i] = clock() - t0
    loop_s = time.perf_counter() - started
    samples.sort()
    return {
        "calls": n,
        "p50_us": samples[n // 2] / 1000,
        "p90_us": samples[int(n * 0.90)] / 1000,
        "p99_us": samples[int(n * 0.99)] / 1000,
        "max_us": samples[-1] / 1000,
        "mean_us": sum(samples) / n / 1000,
        "loop_s": loop_s,
    }
