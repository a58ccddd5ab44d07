"""Reused daemon threads: a loop that ended leaves its thread to the next one."""

from __future__ import annotations

import threading

import pytest

from opensweep.sdk import threads
from opensweep.sdk.threads import ReusedThreads


def test_a_thread_is_reused_once_its_task_ended() -> None:
    pool = ReusedThreads("test-reuse")
    seen: list[threading.Thread] = []
    for _ in range(5):
        task = pool.start(lambda: seen.append(threading.current_thread()))
        assert task.join(timeout=5)
        assert not task.alive
    assert len(set(seen)) == 1
    assert seen[0] is not threading.current_thread() and seen[0].daemon


def test_tasks_that_run_at_once_get_threads_of_their_own() -> None:
    pool = ReusedThreads("test-parallel")
    release = threading.Event()
    names: set[str] = set()
    lock = threading.Lock()

    def blocked() -> None:
        with lock:
            names.add(threading.current_thread().name)
        release.wait(5)

    tasks = [pool.start(blocked) for _ in range(3)]
    assert all(t.alive for t in tasks)
    release.set()
    assert all(t.join(timeout=5) for t in tasks)
    assert len(names) == 3


def test_a_failing_task_is_logged_and_the_thread_serves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = ReusedThreads("test-fail")

    def fail() -> None:
        raise RuntimeError("boom")

    assert pool.start(fail).join(timeout=5)
    assert "a background task failed" in caplog.text
    done = threading.Event()
    assert pool.start(done.set).join(timeout=5) and done.is_set()


def test_idle_threads_end_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "IDLE_SECONDS", 0.05)
    pool = ReusedThreads("test-idle")
    ran: list[threading.Thread] = []
    assert pool.start(lambda: ran.append(threading.current_thread())).join(timeout=5)
    ran[0].join(timeout=5)
    assert not ran[0].is_alive()
    assert pool.start(lambda: ran.append(threading.current_thread())).join(timeout=5)
    assert len(ran) == 2 and ran[1] is not ran[0]  # a new thread took the new task
