"""The SQLite writer lock: writers of one file take turns, across threads and processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from opensweep import errors
from opensweep.store.sql.engine import WriterLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fcntl on Windows")

HOLD_IN_CHILD = """
import sys, time
from opensweep.store.sql.engine import WriterLock
lock = WriterLock(sys.argv[1], timeout=5)
with lock.hold():
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_threads_never_hold_it_together(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "x.db"), timeout=5)
    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def writer() -> None:
        nonlocal inside, overlaps
        for _ in range(200):
            with lock.hold():
                with guard:
                    inside += 1
                    overlaps += inside > 1
                time.sleep(0)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lock.close()
    assert overlaps == 0
    assert (tmp_path / "x.db-writer.lock").exists()


def test_another_process_holding_it_makes_us_wait_then_time_out(tmp_path: Path) -> None:
    database = str(tmp_path / "x.db")
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_CHILD, database, "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = WriterLock(database, timeout=0.3)
        started = time.monotonic()
        with (
            pytest.raises(errors.StoreError, match=r"waiting for another writer of .*x\.db"),
            lock.hold(),
        ):
            pass
        assert time.monotonic() - started >= 0.3
        lock.timeout = 10
        with lock.hold():  # the child lets go after 1.5 s: we get it, without an error
            waited = time.monotonic() - started
        assert waited < 5
        lock.close()
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_share_the_parents_hold(tmp_path: Path) -> None:
    from opensweep.store.sql import engine as engine_module

    database = str(tmp_path / "x.db")
    lock = WriterLock(database, timeout=0.2)
    sa_engine = engine_module.create_engine(f"sqlite:///{database}")
    try:
        engine_module._WRITER_LOCKS[sa_engine] = lock
        with lock.hold():
            pid = os.fork()
            if pid == 0:  # child: the at-fork hook gave it its own file; it must wait
                try:
                    with lock.hold():
                        os._exit(1)  # got it while the parent holds it: wrong
                except errors.StoreError:
                    os._exit(0)
                os._exit(2)
            _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        engine_module.dispose(sa_engine)
