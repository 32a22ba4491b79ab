"""The scorer an engine uses before any model is trained: transparent, and with the ranker's interface.

    score = pool.rrf + popularity_weight * entity.popularity_normalized

`pool.rrf` is reciprocal rank fusion over the generators' lists, sum of 1 / (60 + rank + 1) with 0-based
ranks (Cormack et al. 2009): about 0.0164 for one list's first place, 0.0161 for its second.
`entity.popularity_normalized` is the entity's popularity level over the pool's highest, in [0, 1]. With the
default weight 0.01 the pool's most popular entity gains 0.01: more than one list's first place is worth
over its 61st (1/61 - 1/121 ~ 0.0081), less than a second list's vote (up to 1/61 ~ 0.0164). So agreement
between generators decides first, and popularity settles entities found about equally well (the famous
"Mercy" over an obscure one when both are near the top of both lists).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import FeatureMismatchError

logger = logging.getLogger(__name__)

DEFAULT_POPULARITY_WEIGHT = 0.01
RRF_FEATURE = "pool.rrf"
POPULARITY_FEATURE = "entity.popularity_normalized"


@runtime_checkable
class Scorer(Protocol):
    """What the engine calls to rank a pool: `DefaultScorer` or `LambdaMartRanker`.

    version: 0 for the default scorer, >= 1 for trained models (logged with each impression).
    feature_names: the columns the scorer reads. contributions: (n, len(feature_names) + 1), each row the
    per-feature parts of the score with the bias last (LightGBM's pred_contrib layout), summing to `score`.
    """

    @property
    def version(self) -> int: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def score(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray: ...

    def contributions(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray: ...


def check_matrix(matrix: np.ndarray, feature_names: Sequence[str]) -> None:
    """Raise ValueError unless `matrix` is 2-D with one column per name."""
    if matrix.ndim != 2 or matrix.shape[1] != len(feature_names):
        raise ValueError(f"matrix must be (n_rows, {len(feature_names)}) to match its feature names, "
                         f"got shape {matrix.shape}")


class DefaultScorer:
    """score = pool.rrf + popularity_weight * entity.popularity_normalized (see the module docstring).

    The matrix may hold any other columns too; those two must be among them.

        >>> scorer = DefaultScorer(popularity_weight=0.01)
        >>> scorer.score(np.array([[0.02, 1.0, 7.0], [0.03, 0.0, 7.0]]),
        ...              ["pool.rrf", "entity.popularity_normalized", "pool.size"]).round(3).tolist()
        [0.03, 0.03]
    """

    def __init__(self, popularity_weight: float = DEFAULT_POPULARITY_WEIGHT) -> None:
        self.popularity_weight = popularity_weight

    @property
    def version(self) -> int:
        return 0

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (RRF_FEATURE, POPULARITY_FEATURE)

    def __repr__(self) -> str:
        return f"DefaultScorer(popularity_weight={self.popularity_weight!r})"

    def _columns(self, feature_names: Sequence[str]) -> tuple[int, int]:
        missing = [name for name in self.feature_names if name not in feature_names]
        if missing:
            raise FeatureMismatchError(
                f"the default scorer reads features {list(self.feature_names)}; missing {missing} from the "
                f"{len(feature_names)} given. Add them to [features].set")
        names = list(feature_names)
        return names.index(RRF_FEATURE), names.index(POPULARITY_FEATURE)

    def contributions(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """(n, len(feature_names) + 1): the rrf column, the weighted popularity column, zeros elsewhere and
        a zero bias last; rows sum to `score`."""
        check_matrix(matrix, feature_names)
        rrf, popularity = self._columns(feature_names)
        parts = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
        parts[:, rrf] = matrix[:, rrf]
        parts[:, popularity] = self.popularity_weight * matrix[:, popularity]
        return parts

    def score(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """(n,) scores, higher first."""
        check_matrix(matrix, feature_names)
        rrf, popularity = self._columns(feature_names)
        return matrix[:, rrf] + self.popularity_weight * matrix[:, popularity]
