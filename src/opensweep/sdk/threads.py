"""Daemon threads that are kept and reused for the SDK's and the agent's background loops.

Every run has a log writer and (under an agent) a heartbeat, each a loop in a thread of its own.
An agent runs one run after another, and starting a thread is not free: ``Thread.start()`` waits
until the new thread is scheduled, which on a busy machine (agents, server and database sharing
the cores) cost about 1 ms a run in the system benchmark's profile. Here a loop that has ended
leaves its thread idle for the next one.

Unlike ``concurrent.futures.ThreadPoolExecutor``, the threads are daemons: a writer still
retrying an unreachable server must not keep the interpreter from exiting (the SDK's exit hook
gives it a bounded time to finish first).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger("opensweep")

IDLE_SECONDS = 60.0  # an idle thread ends after this long without work


class Task:
    """One loop handed to a thread: ``join`` waits for it, ``alive`` tells whether it runs."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.target = target
        self._done = threading.Event()

    @property
    def alive(self) -> bool:
        return not self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loop to return; False on timeout."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            self.target()
        except BaseException:  # a loop must not take its (shared) thread down with it
            logger.exception("opensweep: a background task failed")
        finally:
            self._done.set()


class ReusedThreads:
    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Task] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0

    def start(self, target: Callable[[], None]) -> Task:
        """Run ``target`` on an idle thread, or on a new one when none is idle."""
        task = Task(target)
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread is taken now, before it even wakes
                new = False
            else:
                self._count += 1
                new = True
        self._jobs.put(task)
        if new:
            name = f"{self._name}-{self._count}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        return task

    def _serve(self) -> None:
        while True:
            try:
                task = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle and self._jobs.empty():
                        self._idle -= 1
                        return
                continue  # a job is on its way to this thread
            task._run()
            with self._lock:
                self._idle += 1


background = ReusedThreads("opensweep-background")
"""The process's threads for writers and heartbeats."""
