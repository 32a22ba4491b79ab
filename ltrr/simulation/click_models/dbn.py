"""The dynamic Bayesian network click model, DBN (Chapelle & Zhang, WWW 2009).

The user scans top-down; a click may satisfy, which ends the session, and otherwise the user goes on to the
next position with the perseverance probability gamma, whether or not they clicked:

    P(E_0 = 1) = 1
    P(C_k = 1 | E_k = 1) = a(r_k)                                  (attractiveness, see `base`)
    P(S_k = 1 | C_k = 1) = s(r_k) = satisfaction_scale * r_k        (P(S_k = 1 | C_k = 0) = 0)
    P(E_{k+1} = 1 | E_k = 1, S_k = 1) = 0
    P(E_{k+1} = 1 | E_k = 1, S_k = 0) = gamma

hence P(E_{k+1} = 1) = P(E_k = 1) * gamma * (1 - a(r_k) s(r_k)) and P(C_k = 1) = P(E_k = 1) * a(r_k).
gamma = 1 with s = 1 is the cascade model; gamma = 0 examines position 0 only. There are never clicks below
a satisfying click, so `satisfied_position` is then the last click.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import ClickOutcome, RelevanceClickModel, check_probability, check_relevance


@dataclass(frozen=True)
class DBNModel(RelevanceClickModel):
    """Top-down scan; stop when satisfied, else continue with probability gamma (Chapelle & Zhang, WWW 2009).

        >>> DBNModel(gamma=0.0).simulate(np.array([0.0, 1.0]), np.random.default_rng(0)).examined
        1
    """

    kind: ClassVar[str] = "dbn"

    gamma: float = 0.9

    def __post_init__(self) -> None:
        super().__post_init__()
        check_probability(self, "gamma", self.gamma)

    def examination_probabilities(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(E_k = 1) = prod_{j < k} gamma * (1 - a(r_j) s(r_j))."""
        stay = self.gamma * (1.0 - self.attractiveness(relevance) * self.satisfaction(relevance))
        return np.concatenate(([1.0], np.cumprod(stay)[:-1])) if stay.size else stay

    def click_probabilities(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(C_k = 1) = a(r_k) * P(E_k = 1)."""
        return self.attractiveness(relevance) * self.examination_probabilities(relevance)

    def simulate(self, relevance: np.ndarray | Sequence[float], rng: np.random.Generator) -> ClickOutcome:
        """One user on one page, walked position by position (the stopping rule is sequential)."""
        r = check_relevance(relevance)
        attractiveness, satisfaction = self.attractiveness(r), self.satisfaction_scale * r
        draws = rng.random((r.size, 3))  # per position: attraction, satisfaction, perseverance
        clicks: list[int] = []
        for k in range(r.size):
            if draws[k, 0] < attractiveness[k]:
                clicks.append(k)
                if draws[k, 1] < satisfaction[k]:
                    return ClickOutcome.build(clicks, examined=k + 1, satisfied_position=k)
            if draws[k, 2] >= self.gamma:
                return ClickOutcome.build(clicks, examined=k + 1, satisfied_position=None)
        return ClickOutcome.build(clicks, examined=r.size, satisfied_position=None)
