"""opensweep: self-hosted hyperparameter sweeps that speak the W&B Sweeps dialect.

``import opensweep as wandb`` is the only change a W&B sweep script needs::

    sweep_id = wandb.sweep(sweep_config, project="my-project")
    def train():
        run = wandb.init()
        wandb.log({"val/loss": (wandb.config.lr - 0.01) ** 2})
        run.finish()
    wandb.agent(sweep_id, function=train, count=20)
    best = wandb.Api().sweep(f"my-project/{sweep_id}").best_run()
"""

from __future__ import annotations

# ``opensweep.config`` and ``opensweep.agent`` each name two things: a subpackage (internal code
# imports ``from opensweep.config import parse``, which reads ``sys.modules``) and W&B's run
# config / agent function. Importing the subpackages first makes the import system bind those
# attributes now, once; the assignments below then rebind them to the W&B objects for good
# (``init()`` rebinds ``config`` to the current run's config, ``finish()`` back to the
# placeholder, as W&B does). A later ``import opensweep.config.x`` does not rebind them.
import opensweep.agent as _agent_package  # noqa: F401
import opensweep.config as _config_package  # noqa: F401
from opensweep.api import Api
from opensweep.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    OpenSweepError,
    PayloadTooLarge,
    RunStopped,
    SchemaVersionError,
    StoreError,
    TransportError,
    Unauthorized,
)
from opensweep.sdk import (
    PRE_INIT_CONFIG,
    PRE_INIT_SUMMARY,
    Config,
    Run,
    Summary,
    agent,
    finish,
    init,
    log,
    sweep,
)

__version__ = "0.1.0"

config: Config = PRE_INIT_CONFIG
summary: Summary = PRE_INIT_SUMMARY
run: Run | None = None


def login(*args: object, **kwargs: object) -> bool:
    """Accepted for W&B scripts: opensweep has no account to log in to."""
    return True


def watch(*args: object, **kwargs: object) -> None:
    """Accepted for W&B scripts (gradient/parameter histograms are not collected)."""


def define_metric(name: str, *args: object, **kwargs: object) -> None:
    """Accepted for W&B scripts: every metric's full history is kept anyway."""


__all__ = [
    "Api",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "OpenSweepError",
    "PayloadTooLarge",
    "RunStopped",
    "SchemaVersionError",
    "StoreError",
    "TransportError",
    "Unauthorized",
    "__version__",
    "agent",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "login",
    "run",
    "summary",
    "sweep",
    "watch",
]
