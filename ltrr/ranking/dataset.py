"""Training data for the ranker: one row per (search, shown entity), grouped by search.

LightGBM's `group` array must follow row order; only `RankingData` builds it, from rows already sorted by
request, and `check()` enforces that promise. `ranking_data_from_log` (alias `RankingData.from_log`) reads
the rows from a `FeedbackLog`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from ..feedback.records import Click, Impression, NoTrainingDataError

if TYPE_CHECKING:
    from ..feedback.log import FeedbackLog

logger = logging.getLogger(__name__)


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

    @classmethod
    def from_log(cls, log: FeedbackLog, feature_names: Sequence[str] | None = None, *,
                 since: datetime | None = None, min_clicks: int = 1) -> RankingData:
        """Same as `ranking_data_from_log`."""
        return ranking_data_from_log(log, feature_names, since=since, min_clicks=min_clicks)


def ranking_data_from_log(log: FeedbackLog, feature_names: Sequence[str] | None = None, *,
                          since: datetime | None = None, min_clicks: int = 1) -> RankingData:
    """One row per shown item of each logged search with >= `min_clicks` clicks, created at or after `since`.

    Labels: 0 not clicked, 1 clicked, 2 clicked and streamed (dwell_s >= `log.stream_seconds`). Rows are in
    request order (created_at, request_id), then position; `group` holds one size per search in that order.
    Features are the logged ones, so `feature_names` (default: the most recent impression's) must equal the
    impression's list; searches logged with another list are skipped and counted in a warning.
    Raises NoTrainingDataError when no search qualifies.
    """
    if min_clicks < 1:
        raise ValueError(f"min_clicks must be >= 1 (a search without clicks has no labels), got {min_clicks}")
    names = tuple(feature_names) if feature_names is not None else log.latest_feature_names()
    blocks: list[tuple[Impression, tuple[Click, ...]]] = []
    skipped = 0
    for impression, clicks in log.iter_feedback(since=since, min_clicks=min_clicks):
        if impression.feature_names != names:
            skipped += 1
        elif impression.items:
            blocks.append((impression, clicks))
    if skipped:
        logger.warning("skipped %d searches logged with feature names other than %s; retrain on them with "
                       "feature_names=their list", skipped, list(names or ()))
    if not blocks:
        raise NoTrainingDataError(_empty_message(skipped, names, min_clicks))
    return _assemble(blocks, names or (), log.stream_seconds)


def _assemble(blocks: Sequence[tuple[Impression, tuple[Click, ...]]], names: tuple[str, ...],
              stream_seconds: float) -> RankingData:
    """Stack the searches' rows in the given order; group sizes follow the same order."""
    features, labels, positions, group = [], [], [], []
    for impression, clicks in blocks:
        grades = {click.entity_id: 2 if click.is_stream(stream_seconds) else 1 for click in clicks}
        for item in sorted(impression.items, key=lambda shown: shown.position):
            features.append(item.features)
            labels.append(grades.get(item.entity_id, 0))
            positions.append(item.position)
        group.append(len(impression.items))
    matrix = np.asarray(features, dtype=np.float64).reshape(len(labels), len(names))
    return RankingData(matrix, np.asarray(labels, dtype=np.int32), np.asarray(group, dtype=np.int32),
                       np.asarray(positions, dtype=np.int32), names)


def _empty_message(skipped: int, names: tuple[str, ...] | None, min_clicks: int) -> str:
    if skipped:
        return (f"no impressions with clicks logged with feature names {list(names or ())}: {skipped} searches "
                "used other names; pass feature_names=the list they were logged with, or record new searches")
    return (f"no impressions with clicks in the log (min_clicks={min_clicks}); record clicks with "
            "engine.record_click(...) first")
