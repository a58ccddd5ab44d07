"""Alembic environment: runs on the connection opensweep passes in ``config.attributes``.

With plain ``alembic -x url=... upgrade head`` (no connection passed) it opens the URL itself.
"""

from __future__ import annotations

from alembic import context

from opensweep.store.sql.engine import create_engine, normalize_url
from opensweep.store.sql.schema import VERSION_TABLE
from opensweep.store.sql.tables import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite needs table copies for most ALTERs
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the store URL: alembic -x url=sqlite:///opensweep.db upgrade head")
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
