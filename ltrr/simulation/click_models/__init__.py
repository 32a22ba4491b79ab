"""Simulated clicks on one result page: the cascade model, the position-based model (PBM) and the dynamic Bayesian
network (DBN), built by kind with `make_click_model`, plus estimators that recover their parameters from logs.

    >>> import numpy as np
    >>> model = make_click_model("dbn", gamma=0.7)
    >>> outcome = model.simulate(np.array([1.0, 0.5, 0.0]), np.random.default_rng(7))
    >>> outcome.examined >= 1 and all(0 <= k < 3 for k in outcome.clicks)
    True

Each model maps graded relevance in [0, 1] to attractiveness and satisfaction the same way (see `base`), exposes
its true parameters (`parameters()`, attributes, `click_probabilities`) so estimators can be graded against the
truth, and draws only from the `rng` it is given.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ...errors import ConfigError
from .base import ClickModel, ClickOutcome, RelevanceClickModel
from .cascade import CascadeModel
from .dbn import DBNModel
from .estimate import CascadeFit, ClickLog, PBMFit, fit_cascade, fit_pbm
from .pbm import PositionBasedModel

MODELS: dict[str, type[RelevanceClickModel]] = {"cascade": CascadeModel, "pbm": PositionBasedModel, "dbn": DBNModel}


def make_click_model(kind: str, **params: Any) -> RelevanceClickModel:
    """Build the click model named `kind` ("cascade", "pbm" or "dbn") from its parameters.

    Unknown kinds, unknown parameter names and out-of-range values raise ConfigError naming the value and the fix.

        >>> make_click_model("pbm", eta=0.5).parameters()["eta"]
        0.5
    """
    if not isinstance(kind, str) or kind not in MODELS:
        raise ConfigError(f"click_model.kind must be one of {sorted(MODELS)}, got {kind!r}")
    cls = MODELS[kind]
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r} for click_model.{kind}; "
                          f"its parameters are: {', '.join(known)}")
    return cls(**params)


__all__ = ["MODELS", "CascadeFit", "CascadeModel", "ClickLog", "ClickModel", "ClickOutcome", "DBNModel", "PBMFit",
           "PositionBasedModel", "RelevanceClickModel", "fit_cascade", "fit_pbm", "make_click_model"]
