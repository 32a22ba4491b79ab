"""Training data for the ranker: one row per (search, shown entity), grouped by search.

LightGBM's `group` array must follow row order; only `RankingData` builds it, from rows already sorted by
request, and `check()` enforces that promise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankingData:
    """Rows of features with graded labels, grouped by search.

    features: (n_rows, n_features) float; NaN = missing. labels: (n_rows,) ints >= 0 (0 = no click).
    group: sizes of consecutive row blocks, one per search, summing to n_rows. positions: (n_rows,) the
    0-based position each row was shown at (for position-bias correction), -1 when unknown.
    feature_names: one per column.
    """

    features: np.ndarray
    labels: np.ndarray
    group: np.ndarray
    positions: np.ndarray
    feature_names: tuple[str, ...]

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        n_rows = self.features.shape[0]
        if self.features.ndim != 2 or self.features.shape[1] != len(self.feature_names):
            raise ValueError(f"features must be (n_rows, {len(self.feature_names)}), got {self.features.shape}")
        if self.labels.shape != (n_rows,) or self.positions.shape != (n_rows,):
            raise ValueError(f"labels and positions must have {n_rows} entries, got {self.labels.shape} "
                             f"and {self.positions.shape}")
        if int(self.group.sum()) != n_rows or (self.group <= 0).any():
            raise ValueError(f"group sizes must be positive and sum to {n_rows}, got sum {int(self.group.sum())}")

    @property
    def n_groups(self) -> int:
        return len(self.group)
