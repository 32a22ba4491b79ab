"""Features from the candidate lists themselves: each generator's score and rank, and how the lists agree.

Per-source columns exist for every generator of the engine, retrieved or not, so a model's columns do not
depend on the arm a request played. Scores are comparable only within one source; the model learns each
source's scale from its own column.
"""

from __future__ import annotations

import numpy as np

from .registry import FeatureInput, feature, source_feature

# Reciprocal rank fusion constant: Cormack, Clarke & Buettcher, SIGIR 2009.
RRF_K = 60


@source_feature("score")
def source_score(batch: FeatureInput, source: str) -> np.ndarray:
    """The generator's own score; NaN when it did not return the entity (missing, not 0: 0 is a real score)."""
    return batch.source_scores(source, missing=np.nan)


@source_feature("rank")
def source_rank(batch: FeatureInput, source: str) -> np.ndarray:
    """0-based rank in the generator's list; NaN when it did not return the entity (LightGBM: missing)."""
    return batch.source_ranks(source, missing=np.nan)


@source_feature("retrieved")
def source_retrieved(batch: FeatureInput, source: str) -> np.ndarray:
    """1.0 when the generator returned the entity, else 0.0."""
    return (~np.isnan(batch.source_ranks(source))).astype(np.float64)


@feature("pool.n_sources", pooled=True)
def n_sources(batch: FeatureInput) -> np.ndarray:
    """How many of the engine's generators returned the entity (0 to len(generators))."""
    _, ranks = batch.source_table()
    return (~np.isnan(ranks)).sum(axis=1).astype(np.float64)


@feature("pool.rrf", pooled=True)
def reciprocal_rank_fusion(batch: FeatureInput) -> np.ndarray:
    """Sum over sources of 1 / (60 + rank + 1), rank 0-based (Cormack et al. 2009); 0 for no source.

    One source's first place gives 1/61 ~ 0.0164; each further source adds up to as much.
    """
    _, ranks = batch.source_table()
    return np.where(np.isnan(ranks), 0.0, 1.0 / (RRF_K + np.nan_to_num(ranks) + 1.0)).sum(axis=1)


@feature("pool.best_rank", pooled=True)
def best_rank(batch: FeatureInput) -> np.ndarray:
    """The best (lowest) 0-based rank over the sources; NaN when no known source returned the entity."""
    _, ranks = batch.source_table()
    best = np.full(batch.size, np.nan)
    found = ~np.isnan(ranks).all(axis=1)
    best[found] = np.nanmin(ranks[found], axis=1)
    return best


@feature("pool.size", pooled=True)
def pool_size(batch: FeatureInput) -> np.ndarray:
    """Entities in the pool (the same for every row): lets trees tell broad result sets from narrow ones."""
    return np.full(batch.size, float(batch.size))
