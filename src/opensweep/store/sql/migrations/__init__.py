"""Alembic migration scripts for the opensweep schema (run by ``opensweep db upgrade``)."""
