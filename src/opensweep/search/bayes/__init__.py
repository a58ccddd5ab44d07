"""``method: bayes``: Gaussian-process Bayesian optimisation (see :mod:`.engine`)."""

from __future__ import annotations

from opensweep.search.bayes.engine import suggest

__all__ = ["suggest"]
