"""Ranking metrics with trec_eval's conventions: gain 2^rel - 1, log2 discount, ranks from 1.

Each takes a ranked list of ids and the graded relevance of the relevant ids (missing = 0). The ideal
ranking for nDCG is built from all relevant ids, retrieved or not, as trec_eval's `ndcg_cut` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")


def recall_at(ranked: Sequence[str], relevant: Mapping[str, float] | set[str], k: int) -> float:
    """Share of the relevant ids (relevance > 0) found in the first k; 0.0 when nothing is relevant.

    >>> recall_at(["a", "x", "b"], {"a", "b", "c", "d"}, k=2)
    0.25
    """
    _check_k(k)
    wanted = _positive(relevant)
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def ndcg_at(ranked: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """nDCG@k with gain 2^rel - 1 and discount 1 / log2(rank + 1); 0.0 when nothing is relevant.

    >>> round(ndcg_at(["a", "x", "b"], {"a": 1, "b": 1}, k=3), 4)  # (1 + 1/2) / (1 + 1/log2(3))
    0.9197
    """
    _check_k(k)
    gains = [2.0 ** relevance.get(entity_id, 0.0) - 1.0 for entity_id in ranked[:k]]
    dcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))
    ideal = sorted((2.0 ** rel - 1.0 for rel in relevance.values() if rel > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr(ranked: Sequence[str], relevant: Mapping[str, float] | set[str], k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id (within the first k when given); 0.0 if none.

    >>> mrr(["x", "y", "a"], {"a"})
    0.3333333333333333
    """
    wanted = _positive(relevant)
    limit = len(ranked) if k is None else (_check_k(k) or k)
    for rank, entity_id in enumerate(ranked[:limit], start=1):
        if entity_id in wanted:
            return 1.0 / rank
    return 0.0


def bootstrap_means(values: np.ndarray, n_resamples: int = 1000, seed: int | Sequence[int] = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means of `values` (queries x systems) and their 95% percentile-bootstrap intervals.

    Paired: each resample draws one set of queries (rows, with replacement) for every column, so intervals of
    systems evaluated on the same queries vary together. `seed` seeds `np.random.default_rng` (an int or ints).
    Returns (means, lows, highs); NaN for no rows.

    >>> means, lows, highs = bootstrap_means(np.array([[1.0, 0.0], [1.0, 1.0]]), n_resamples=200, seed=0)
    >>> means.tolist(), lows.tolist()[0], highs.tolist()[0]
    ([1.0, 0.5], 1.0, 1.0)
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array (queries x systems), got shape {values.shape}")
    if values.shape[0] == 0:
        empty = np.full(values.shape[1], np.nan)
        return empty, empty.copy(), empty.copy()
    rows = np.random.default_rng(seed).integers(0, values.shape[0], size=(n_resamples, values.shape[0]))
    resampled = values[rows].mean(axis=1)  # n_resamples x systems
    lows, highs = np.percentile(resampled, [2.5, 97.5], axis=0)
    return values.mean(axis=0), lows, highs


def _positive(relevant: Mapping[str, float] | set[str]) -> set[str]:
    if isinstance(relevant, Mapping):
        return {entity_id for entity_id, rel in relevant.items() if rel > 0}
    return set(relevant)
