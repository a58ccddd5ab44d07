"""PostgreSQL connections that died while idle in the pool are replaced, not handed out."""

from __future__ import annotations

import time

import psycopg
import pytest

from opensweep import errors
from opensweep.store import open_store
from opensweep.store.sql import engine as engine_module
from opensweep.store.sql.store import SQLStore
from opensweep.testing.store_contract import make_sweep


def _kill_pooled_connections(store: SQLStore, server_url: str) -> None:
    """Terminate the backends of the store's pooled connections, as a database restart would."""
    with store._engine.connect() as first, store._engine.connect() as second:
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in (first, second)]
        first.rollback()
        second.rollback()
    with psycopg.connect(server_url, autocommit=True) as admin:
        for pid in pids:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.mark.parametrize("idle_ping_seconds", [0.05, 1e9])
def test_an_idle_dead_connection_is_pinged_and_replaced(
    postgres_url: str, idle_ping_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", idle_ping_seconds)
    server_url = postgres_url.split("?", 1)[0]
    store = open_store(postgres_url)
    assert isinstance(store, SQLStore)
    try:
        store.create_sweep(make_sweep())
        _kill_pooled_connections(store, server_url)
        time.sleep(0.1)
        if idle_ping_seconds < 0.1:  # idle long enough: pinged, found dead, replaced
            assert store.get_sweep("sw1").id == "sw1"
        else:  # never pinged (the control): the dead connection fails the call ...
            with pytest.raises(errors.StoreError):
                store.get_sweep("sw1")
            assert store.get_sweep("sw1").id == "sw1"  # ... and the pool starts afresh
    finally:
        store.close()
