"""Features of the entity alone: popularity signals, recency and kind.

Popularity counts are log1p-scaled (a playlist count of 10,000 is not 100 times 100's worth), NaN where the
sources say nothing: "unknown" and "zero" are different facts, and LightGBM treats NaN as missing.
"""

from __future__ import annotations

from datetime import UTC

import numpy as np

from ..retrieval.memory_predict import _POPULARITY_SCALES  # the one definition of the popularity level
from ..types import ENTITY_KINDS
from .columns import POPULARITY_SIGNALS, days_since_epoch
from .registry import FeatureInput, feature

NEW_DAYS = 30  # an entity added within this many days of `now` is new
_COLUMN = {name: j for j, name in enumerate(POPULARITY_SIGNALS)}


def _signal(batch: FeatureInput, name: str) -> np.ndarray:
    return batch.columns.popularity[:, _COLUMN[name]].copy()


def _log_signal(batch: FeatureInput, name: str) -> np.ndarray:
    return np.log1p(np.maximum(_signal(batch, name), 0.0))  # NaN stays NaN


@feature("entity.log_playlist_count")
def log_playlist_count(batch: FeatureInput) -> np.ndarray:
    """log1p(playlists containing the entity); NaN when unknown."""
    return _log_signal(batch, "playlist_count")


@feature("entity.log_follower_sum")
def log_follower_sum(batch: FeatureInput) -> np.ndarray:
    """log1p(followers summed over those playlists, or a playlist's own); NaN when unknown."""
    return _log_signal(batch, "follower_sum")


@feature("entity.log_chart_points")
def log_chart_points(batch: FeatureInput) -> np.ndarray:
    """log1p(Billboard Hot 100 points); NaN when the entity never charted (or the chart was not ingested)."""
    return _log_signal(batch, "chart_points")


@feature("entity.chart_best_rank")
def chart_best_rank(batch: FeatureInput) -> np.ndarray:
    """Best Hot 100 position reached, 1 (best) to 100; NaN when never charted."""
    return _signal(batch, "chart_best_rank")


@feature("entity.log_play_count")
def log_play_count(batch: FeatureInput) -> np.ndarray:
    """log1p(listening count over known users); NaN when unknown."""
    return _log_signal(batch, "play_count")


@feature("entity.source_popularity")
def source_popularity(batch: FeatureInput) -> np.ndarray:
    """A source's own 0-100 popularity score divided by 100, in [0, 1]; NaN when unknown."""
    return _signal(batch, "source_popularity") / 100.0


def _popularity_level(batch: FeatureInput) -> np.ndarray:
    """`memory_predict.popularity_level`, vectorized: the highest of log1p(count) / log1p(scale) and
    source_popularity / 100, in [0, 1]; NaN when the entity has no signal at all."""
    table = batch.columns.popularity
    levels = [np.log1p(np.maximum(table[:, _COLUMN[name]], 0.0)) / np.log1p(scale)
              for name, scale in _POPULARITY_SCALES.items()]
    levels.append(table[:, _COLUMN["source_popularity"]] / 100.0)
    stacked = np.column_stack(levels)
    known = ~np.isnan(stacked).all(axis=1)
    level = np.full(batch.size, np.nan)
    level[known] = np.clip(np.nanmax(stacked[known], axis=1), 0.0, 1.0)
    return level


@feature("entity.popularity")
def popularity(batch: FeatureInput) -> np.ndarray:
    """Combined popularity in [0, 1] on fixed catalog-wide scales (see `_popularity_level`); NaN when unknown."""
    return batch.derived(_popularity_level).copy()


@feature("entity.popularity_normalized", pooled=True)
def popularity_normalized(batch: FeatureInput) -> np.ndarray:
    """`entity.popularity` over the pool's highest, in [0, 1]: 1 for the pool's most popular entity, 0 for
    an entity with no popularity data and for every row of a pool where none has any."""
    level = np.nan_to_num(batch.derived(_popularity_level), nan=0.0)
    top = level.max(initial=0.0)
    return level / top if top > 0 else np.zeros(batch.size)


def _age_days(batch: FeatureInput) -> np.ndarray:
    # clipped at 0: an entity dated slightly in the future (clock skew) is as new as one added now
    return np.maximum(days_since_epoch(batch.now) - batch.columns.added_days, 0.0)  # NaN stays NaN


@feature("entity.age_days")
def age_days(batch: FeatureInput) -> np.ndarray:
    """Days since the entity was added to the catalog (>= 0); NaN when `added_at` is unknown."""
    return batch.derived(_age_days).copy()


@feature("entity.is_new")
def is_new(batch: FeatureInput) -> np.ndarray:
    """1.0 when added within 30 days of `now`, else 0.0 (also when `added_at` is unknown)."""
    return (batch.derived(_age_days) <= NEW_DAYS).astype(np.float64)  # NaN compares False


@feature("entity.release_age_years")
def release_age_years(batch: FeatureInput) -> np.ndarray:
    """Years from the release year to `now`'s year (>= 0); NaN when the year is unknown."""
    now = batch.now if batch.now.tzinfo is None else batch.now.astimezone(UTC)
    return np.maximum(now.year - entity_years(batch), 0.0)


def entity_years(batch: FeatureInput) -> np.ndarray:
    """(n,) release years, NaN when unknown."""
    return batch.columns.years


def _kinds(batch: FeatureInput) -> np.ndarray:
    return np.array(batch.columns.kinds, dtype=object).reshape(batch.size)


def entity_kinds(batch: FeatureInput) -> np.ndarray:
    """(n,) object array of entity kinds, computed once per input."""
    return batch.derived(_kinds)


def _kind_feature(kind: str) -> None:
    @feature(f"entity.kind_{kind}")
    def kind_is(batch: FeatureInput) -> np.ndarray:
        return (entity_kinds(batch) == kind).astype(np.float64)
    kind_is.__doc__ = f"1.0 for a {kind}, else 0.0."


for _kind in ENTITY_KINDS:  # one-hot kind: entity.kind_track, entity.kind_artist, ...
    _kind_feature(_kind)
