"""The position-based click model, PBM (Richardson, Dominowska & Ragno, WWW 2007; Craswell et al., WSDM 2008).

Examination depends on the position only, attraction on the result only, and positions are independent:

    P(E_k = 1) = theta_k              = examination[k] when given, else 1 / (k + 1) ** eta
    P(C_k = 1 | E_k = 1) = a(r_k)     (attractiveness, see `base`)
    P(C_k = 1) = theta_k * a(r_k),    C_k independent across k (any number of clicks, in any pattern)

eta >= 0 is the position-bias exponent (0: every position is examined; 1: the 1/(k+1) decay of `warmup`).
The user has no stopping rule, so satisfaction is a label only: each click satisfies independently with
probability s(r_k) = satisfaction_scale * r_k, `satisfied_position` is the first (top-most) satisfying click,
and clicks below it still happen as the model says. `examined` is the last examined position + 1 (examination
is latent in the logs; it is reported for grading estimators, see `estimate.fit_pbm`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import ConfigError
from .base import ClickOutcome, RelevanceClickModel, check_probability, check_relevance


@dataclass(frozen=True)
class PositionBasedModel(RelevanceClickModel):
    """Independent clicks with probability theta_k * a(r_k).

        >>> PositionBasedModel(eta=1.0).examination_probabilities(4).tolist()
        [1.0, 0.5, 0.3333333333333333, 0.25]
        >>> PositionBasedModel(examination=(1.0, 0.6)).examination_probabilities(2).tolist()
        [1.0, 0.6]
    """

    kind: ClassVar[str] = "pbm"

    eta: float = 1.0
    examination: tuple[float, ...] | None = None  # when given, overrides eta (one probability per position)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.eta, bool) or not isinstance(self.eta, (int, float, np.floating, np.integer)) \
                or not math.isfinite(self.eta) or self.eta < 0:
            raise ConfigError(f"click_model.pbm.eta must be a finite number >= 0, got {self.eta!r}; "
                              "use 0 for no position bias or about 1 for the usual 1/(k+1) decay")
        if self.examination is not None:
            if isinstance(self.examination, (str, bytes)) or not isinstance(self.examination, Sequence) \
                    or not self.examination:
                raise ConfigError(f"click_model.pbm.examination must be a non-empty list of probabilities "
                                  f"(one per position), got {self.examination!r}; or leave it unset to use eta")
            for value in self.examination:
                check_probability(self, "examination", value)
            object.__setattr__(self, "examination", tuple(float(value) for value in self.examination))

    def examination_probabilities(self, n_positions: int) -> np.ndarray:
        """theta_k for k = 0 .. n_positions - 1."""
        if self.examination is None:
            return 1.0 / (np.arange(n_positions) + 1.0) ** self.eta
        if n_positions > len(self.examination):
            raise ValueError(f"the page shows {n_positions} positions but click_model.pbm.examination gives only "
                             f"{len(self.examination)}; give one probability per position or use eta")
        return np.asarray(self.examination[:n_positions])

    def click_probabilities(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(C_k = 1) = theta_k * a(r_k)."""
        a = self.attractiveness(relevance)
        return self.examination_probabilities(a.size) * a

    def simulate(self, relevance: np.ndarray | Sequence[float], rng: np.random.Generator) -> ClickOutcome:
        """One user on one page: examine each position independently, click the examined attractive ones."""
        r = check_relevance(relevance)
        theta = self.examination_probabilities(r.size)
        draws = rng.random((3, r.size))  # rows: examination, attraction, satisfaction per position
        examined = draws[0] < theta
        clicked = examined & (draws[1] < self.attractiveness(r))
        satisfying = clicked & (draws[2] < self.satisfaction_scale * r)
        last_examined = int(np.flatnonzero(examined)[-1]) + 1 if examined.any() else 0
        first_satisfied = int(np.argmax(satisfying)) if satisfying.any() else None
        return ClickOutcome.build(np.flatnonzero(clicked).tolist(), last_examined, first_satisfied)
