"""The public read API: ``opensweep.Api()`` with ``.sweep(path)``, ``.runs(path, filters)``."""

from __future__ import annotations

from opensweep.api.api import Api
from opensweep.api.objects import Run, Sweep, runs_to_dataframe

__all__ = ["Api", "Run", "Sweep", "runs_to_dataframe"]
