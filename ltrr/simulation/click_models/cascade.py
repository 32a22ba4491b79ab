"""The cascade click model (Craswell, Zoeter, Taylor & Ramsey, WSDM 2008).

The user scans the page top-down and examines every position until the first click, then stops:

    P(E_0 = 1) = 1
    P(C_k = 1 | E_k = 1) = a(r_k)                      (attractiveness, see `base`)
    P(E_{k+1} = 1 | E_k = 1, C_k = 0) = 1,    P(E_{k+1} = 1 | C_k = 1) = 0

so P(C_k = 1) = a(r_k) * prod_{j < k} (1 - a(r_j)), at most one click per page, and a page without a click
was examined to the bottom. The click satisfies with probability s(r_k) = satisfaction_scale * r_k; in the
original model the user stops after the click either way, so satisfaction only labels the outcome (the
caller turns it into its satisfaction stream) and does not change who clicks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import ClickOutcome, RelevanceClickModel, check_relevance


@dataclass(frozen=True)
class CascadeModel(RelevanceClickModel):
    """Top-down scan, stop at the first click (Craswell et al., WSDM 2008).

        >>> model = CascadeModel(min_attractiveness=0.0, max_attractiveness=1.0)
        >>> model.simulate(np.array([0.0, 1.0, 1.0]), np.random.default_rng(0))
        ClickOutcome(clicks=(1,), examined=2, satisfied=True, satisfied_position=1, abandoned=False)
    """

    kind: ClassVar[str] = "cascade"

    def examination_probabilities(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(E_k = 1) = prod_{j < k} (1 - a(r_j))."""
        a = self.attractiveness(relevance)
        return np.concatenate(([1.0], np.cumprod(1.0 - a)[:-1])) if a.size else a

    def click_probabilities(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(C_k = 1) = a(r_k) * P(E_k = 1)."""
        return self.attractiveness(relevance) * self.examination_probabilities(relevance)

    def simulate(self, relevance: np.ndarray | Sequence[float], rng: np.random.Generator) -> ClickOutcome:
        """One user on one page: examine top-down, click the first attractive result, stop there."""
        r = check_relevance(relevance)
        draws = rng.random((2, r.size))  # row 0: attraction per position; row 1: satisfaction per position
        attracted = draws[0] < self.attractiveness(r)
        if not attracted.any():
            return ClickOutcome.build((), examined=r.size, satisfied_position=None)
        k = int(np.argmax(attracted))
        satisfied = bool(draws[1, k] < self.satisfaction_scale * r[k])
        return ClickOutcome.build((k,), examined=k + 1, satisfied_position=k if satisfied else None)
