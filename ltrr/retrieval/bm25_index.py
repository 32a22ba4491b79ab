"""The sparse index behind `BM25Generator`: term-major postings of precomputed float32 BM25 weights.

BM25 in the `rank_bm25.BM25Okapi` form (Robertson & Zaragoza, The Probabilistic Relevance Framework, 2009):
idf(t) = ln((N - n_t + 0.5) / (n_t + 0.5)), where negative values become epsilon * (mean idf over the vocabulary);
w(t, d) = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)); score(q, d) = sum of w(t, d) over the
query's tokens, repeats counted, plus the doc's static score s(d) >= 0 (a popularity prior) when it matches any term.

Layout: rows are terms, so a query reads only its own terms' posting lists (doc ids ascending). `base` holds the docs
the statistics (N, n_t, avgdl, idf) come from; `delta` holds docs appended since, weighted with those frozen
statistics (a term new to the index gets the idf of a term found in one document); `compacted` recomputes them.
Deviations from BM25Okapi: weights are stored as float32, so scores agree to about 1e-6 relative, and docs in the
delta segment are scored with those frozen statistics until `compacted`.

Serving is exact (the top k of scoring every doc, up to float32 rounding) but reads little of the long lists. Each
list longer than HEAD_MIN_DF keeps a head, its HEAD_SIZE postings of largest w + s, and bounds on the rest (a champion
list, Manning et al., Introduction to IR, 2008, sec. 7.1.3). A query first scores the short lists and the heads. Their
k-th best score is a threshold theta, and when the bound on any doc found only in tails is below theta, those
candidates hold the answer (the MaxScore test, Turtle & Flood, 1995). Otherwise one pass accumulates every posting
into a dense float32 array (scipy's compiled sparse product) and keeps the docs scoring at least theta.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

Filter = Callable[[np.ndarray], np.ndarray]  # ascending doc ids -> bool mask of the docs to keep
HEAD_MIN_DF = 4096
HEAD_SIZE = 1024
COUNT_BY_SORTING = 2_000  # up to this many postings, counting distinct docs by sorting beats marking a bitmap
SPARSE_MAX_POSTINGS = 20_000  # up to this many postings, merging lists by sorting beats a dense accumulator
_MARGIN = 1e-5  # relative slack on thresholds: dense accumulation rounds in float32


@dataclass(frozen=True)
class Postings:
    """Row r's postings are docs[indptr[r]:indptr[r + 1]] (ascending global doc ids) with their tf and weights.

    tf: field-weighted term frequency; weights: BM25 weight of (term, doc) under the index's statistics.
    """

    indptr: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    weights: np.ndarray

    @classmethod
    def from_triplets(cls, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, shape: tuple[int, int]) -> Postings:
        """Sum repeated (term, doc) pairs; weights stay 0 until `weighted`."""
        matrix = sparse.csr_matrix((np.asarray(tf, np.float64), (terms, docs)), shape=shape)
        matrix.sum_duplicates()
        return cls(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32),
                   matrix.data.astype(np.float32), np.zeros(matrix.nnz, np.float32))

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term >= self.n_rows:
            return self.docs[:0], self.weights[:0]
        start, end = self.indptr[term], self.indptr[term + 1]
        return self.docs[start:end], self.weights[start:end]

    def row_ids(self) -> np.ndarray:
        """The term row of every posting."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int32), np.diff(self.indptr))

    def weighted(self, idf: np.ndarray, norm: np.ndarray, k1: float) -> Postings:
        """BM25 weights from idf per row and the length norm k1 * (1 - b + b * |d| / avgdl) per doc."""
        tf = self.tf.astype(np.float64)
        weights = idf[self.row_ids()] * tf * (k1 + 1.0) / (tf + norm[self.docs])
        return Postings(self.indptr, self.docs, self.tf, weights.astype(np.float32))


def okapi_idf(df: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """rank_bm25's BM25Okapi idf per term: negative values (terms in over half the docs) become epsilon * mean."""
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    return np.where(idf < 0, epsilon * float(idf.mean()) if len(idf) else 0.0, idf)


class Term(NamedTuple):
    """One query term's postings (base then delta, weights not yet times `count`); for a long list also its head
    (plus the delta postings) and count * the bounds on its other postings."""

    docs: np.ndarray
    weights: np.ndarray
    count: float
    head: tuple[np.ndarray, np.ndarray] | None = None
    tail_total: float = 0.0
    tail_weight: float = 0.0


@dataclass(frozen=True)
class Heads:
    """Per long base row (slot): its head postings, and the max of w + s and of w over its other postings."""

    slot: dict[int, int]
    postings: Postings
    tail_total: np.ndarray
    tail_weight: np.ndarray

    @classmethod
    def build(cls, base: Postings, static: np.ndarray) -> Heads:
        # the tail bounds hold for non-negative weights and static scores only (tiny corpora can have negative idf)
        rows = np.flatnonzero(np.diff(base.indptr) > max(HEAD_MIN_DF, HEAD_SIZE))
        if not len(rows) or base.weights.min() <= 0 or static.min() < 0:
            rows = rows[:0]
        picks, tail_total, tail_weight = [], np.zeros(len(rows)), np.zeros(len(rows))
        for slot, row in enumerate(rows):
            start, end = base.indptr[row], base.indptr[row + 1]
            total = base.weights[start:end].astype(np.float64) + static[base.docs[start:end]]
            order = np.argpartition(-total, HEAD_SIZE)
            picks.append(start + np.sort(order[:HEAD_SIZE]))
            tail_total[slot] = total[order[HEAD_SIZE:]].max()
            tail_weight[slot] = base.weights[start + order[HEAD_SIZE:]].max()
        pick = np.concatenate(picks) if picks else np.zeros(0, np.int64)
        postings = Postings(np.arange(len(rows) + 1, dtype=np.int64) * HEAD_SIZE, base.docs[pick], base.tf[pick],
                            base.weights[pick])
        return cls({int(row): slot for slot, row in enumerate(rows)}, postings, tail_total, tail_weight)


@dataclass
class BM25Index:
    """BM25 postings of a base and a delta segment, with a static score and a live flag per doc.

    Frozen statistics: `n_stat_docs` (N), `avgdl` and `idf` (per base row; later rows get `unseen_idf`).
    `doc_len` is |d|, the sum of field-weighted tf, per doc.
    """

    k1: float
    b: float
    epsilon: float
    n_stat_docs: int
    avgdl: float
    idf: np.ndarray
    unseen_idf: float
    doc_len: np.ndarray
    static: np.ndarray
    live: np.ndarray
    base: Postings
    delta: Postings
    heads: Heads = field(init=False)

    def __post_init__(self) -> None:
        self.all_live = bool(self.live.all())
        self.positive = bool(np.all(self.base.weights > 0) and np.all(self.delta.weights > 0))
        self.set_static(self.static)

    @classmethod
    def build(cls, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, n_terms: int, static: np.ndarray,
              k1: float, b: float, epsilon: float) -> BM25Index:
        """Index len(static) docs from (term row, doc, tf) triplets; repeated pairs add up."""
        n_docs = len(static)
        postings = Postings.from_triplets(terms, docs, tf, (n_terms, n_docs))
        doc_len = np.bincount(postings.docs, weights=postings.tf, minlength=n_docs)
        avgdl = float(doc_len.sum() / n_docs) if doc_len.sum() > 0 else 1.0
        df = np.diff(postings.indptr).astype(np.float64)
        idf = okapi_idf(df, n_docs, epsilon)
        unseen = np.log(max(n_docs, 2) - 0.5) - np.log(1.5)  # a term in 1 of N docs (>= 0, also for N < 2)
        norm = k1 * (1.0 - b + b * doc_len / avgdl)
        empty = Postings(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32),
                         np.zeros(0, np.float32))
        return cls(k1, b, epsilon, n_docs, avgdl, idf, float(unseen), doc_len.astype(np.float32),
                   np.asarray(static, np.float32), np.ones(n_docs, bool), postings.weighted(idf, norm, k1), empty)

    @property
    def n_docs(self) -> int:
        return len(self.doc_len)

    def set_static(self, static: np.ndarray) -> None:
        """Replace every doc's static score (and the heads, which depend on it)."""
        self.static = np.asarray(static, np.float32)
        self.static_max = float(self.static.max(initial=0.0))
        self.heads = Heads.build(self.base, self.static)

    def append(self, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, n_terms: int, static: np.ndarray) -> None:
        """Add len(static) docs, ids n_docs, n_docs + 1, ... (`docs` holds those global ids), frozen statistics."""
        first, n_new = self.n_docs, len(static)
        triplets = [np.concatenate([old, new]) for old, new in
                    zip((self.delta.row_ids(), self.delta.docs, self.delta.tf), (terms, docs, tf))]
        delta = Postings.from_triplets(*triplets, (n_terms, first + n_new))
        self.doc_len = np.concatenate([self.doc_len, np.bincount(docs - first, weights=tf, minlength=n_new)
                                       .astype(np.float32)])
        self.static = np.concatenate([self.static, np.asarray(static, np.float32)])
        self.static_max = float(self.static.max(initial=0.0))
        self.live = np.concatenate([self.live, np.ones(n_new, bool)])
        idf = np.concatenate([self.idf, np.full(max(0, n_terms - len(self.idf)), self.unseen_idf)])
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len.astype(np.float64) / self.avgdl)
        self.delta = delta.weighted(idf, norm, self.k1)
        self.positive = self.positive and bool(np.all(self.delta.weights > 0))

    def retire(self, docs: Sequence[int]) -> None:
        """Drop docs from results (superseded by a newer version); `compacted` removes them."""
        self.live[np.asarray(docs, np.int64)] = False
        self.all_live = bool(self.live.all())

    def compacted(self) -> tuple[BM25Index, np.ndarray, np.ndarray]:
        """A one-segment index of the live docs with fresh statistics, the old ids of the kept docs (new id =
        position) and the old rows of the kept terms."""
        n_rows = max(self.base.n_rows, self.delta.n_rows)
        terms = np.concatenate([self.base.row_ids(), self.delta.row_ids()])
        docs = np.concatenate([self.base.docs, self.delta.docs])
        tf = np.concatenate([self.base.tf, self.delta.tf])
        keep_docs = np.flatnonzero(self.live)
        new_doc = np.full(self.n_docs, -1, np.int64)
        new_doc[keep_docs] = np.arange(len(keep_docs))
        kept = new_doc[docs] >= 0
        keep_terms = np.flatnonzero(np.bincount(terms[kept], minlength=n_rows))
        new_term = np.full(n_rows, -1, np.int64)
        new_term[keep_terms] = np.arange(len(keep_terms))
        index = BM25Index.build(new_term[terms[kept]], new_doc[docs[kept]], tf[kept], len(keep_terms),
                                self.static[keep_docs], self.k1, self.b, self.epsilon)
        return index, keep_docs, keep_terms

    def terms(self, query: Sequence[tuple[int, float]]) -> list[Term]:
        """The postings of each query term (row, count) that has any; a count is a weight (> 0), not only an
        integer."""
        found = []
        for row, count in query:
            base_docs, base_weights = self.base.row(row)
            delta_docs, delta_weights = self.delta.row(row)
            docs, weights = base_docs, base_weights
            if len(delta_docs):
                docs, weights = np.concatenate([docs, delta_docs]), np.concatenate([weights, delta_weights])
            if not len(docs):
                continue
            slot = self.heads.slot.get(row)
            if slot is None:
                found.append(Term(docs, weights, count))
                continue
            head_docs, head_weights = self.heads.postings.row(slot)
            head = (np.concatenate([head_docs, delta_docs]), np.concatenate([head_weights, delta_weights]))
            # tail_total bounds count * w + s over the tail: count * (w + s) when count >= 1; a fractional
            # count (a typo's weighted alternative) scales w but not s, so (1 - count) * max s is added
            tail_total = count * self.heads.tail_total[slot] + max(0.0, 1.0 - count) * self.static_max
            found.append(Term(docs, weights, count, head, tail_total, count * self.heads.tail_weight[slot]))
        return found

    def keep_mask(self, docs: np.ndarray, keep: Filter | None) -> np.ndarray | None:
        """Which of `docs` are live and pass `keep`; None when all are."""
        mask = None if self.all_live else self.live[docs]
        if keep is not None:
            mask = keep(docs) if mask is None else mask & keep(docs)
        return mask


def search(index: BM25Index, query: Sequence[tuple[int, float]], k: int,
           keep: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k best live docs passing `keep` for query terms (row, count): doc ids and float64 scores.

    Order: score descending, doc id ascending on ties. Docs that match no query term are never returned.
    """
    terms = index.terms(query)
    if not terms or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    theta = None
    if any(term.head is not None for term in terms):
        found, theta = _from_heads(index, terms, k, keep)
        if found is not None:
            return found
    if sum(len(term.docs) for term in terms) <= SPARSE_MAX_POSTINGS:
        docs, scores = _merged(terms)
    else:
        hit, total = _accumulated(index, terms)
        if theta is not None:
            hit &= total + index.static >= theta - _MARGIN * abs(theta)
        docs = np.flatnonzero(hit)
        scores = total[docs].astype(np.float64)
    mask = index.keep_mask(docs, keep)
    if mask is not None:
        docs, scores = docs[mask], scores[mask]
    return _top(docs, scores + index.static[docs], k)


def count_matches(index: BM25Index, query: Sequence[tuple[int, float]], keep: Filter | None = None) -> int:
    """Number of live docs passing `keep` that contain at least one query term."""
    terms = index.terms(query)
    if len(terms) == 1 and keep is None and index.all_live:
        return len(terms[0].docs)
    if sum(len(term.docs) for term in terms) <= COUNT_BY_SORTING:
        docs = np.unique(np.concatenate([term.docs for term in terms])) if terms else np.zeros(0, np.int64)
    else:  # marking a bitmap is linear in the postings; sorting them is not
        hit = np.zeros(index.n_docs, dtype=bool)
        for term in terms:
            hit[term.docs] = True
        if keep is None and index.all_live:
            return int(np.count_nonzero(hit))
        docs = np.flatnonzero(hit)
    mask = index.keep_mask(docs, keep)
    return len(docs) if mask is None else int(np.count_nonzero(mask))


def _merged(terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
    """Every doc of the lists (ascending) with its summed weights, by sorting."""
    if len(terms) == 1:
        return terms[0].docs, terms[0].weights.astype(np.float64) * terms[0].count
    docs, inverse = np.unique(np.concatenate([term.docs for term in terms]), return_inverse=True)
    weights = np.concatenate([term.weights.astype(np.float64) * term.count for term in terms])
    return docs, np.bincount(inverse, weights=weights, minlength=len(docs))


def _accumulated(index: BM25Index, terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
    """Which docs match any term, and their summed weights (float32), in one dense pass over all postings."""
    indptr = np.cumsum([0] + [len(term.docs) for term in terms])
    matrix = sparse.csc_matrix((np.concatenate([term.weights for term in terms]),
                                np.concatenate([term.docs for term in terms]), indptr),
                               shape=(index.n_docs, len(terms)))
    total = matrix @ np.array([term.count for term in terms], np.float32)
    if index.positive:
        return total > 0, total
    hit = np.zeros(index.n_docs, bool)
    for term in terms:
        hit[term.docs] = True
    return hit, total


def _from_heads(index: BM25Index, terms: list[Term], k: int, keep: Filter | None):
    """Score the short lists and the heads; return (top k, theta) when that is provably the answer, else
    (None, theta), theta being a lower bound on the k-th best score (None with fewer than k candidates)."""
    parts = [term.head if term.head is not None else (term.docs, term.weights) for term in terms]
    found, inverse = np.unique(np.concatenate([docs for docs, _ in parts]), return_inverse=True)
    weights = np.concatenate([w.astype(np.float64) * term.count for term, (_, w) in zip(terms, parts)])
    lower = np.bincount(inverse, weights, len(found)) + index.static[found]
    # upper bound: add the tail bound of every long list whose head (or delta part) does not hold the doc
    covered = np.concatenate([np.full(len(docs), term.tail_weight) for term, (docs, _) in zip(terms, parts)])
    long = [term for term in terms if term.head is not None]
    upper = lower + sum(term.tail_weight for term in long) - np.bincount(inverse, covered, len(found))
    mask = index.keep_mask(found, keep)
    if mask is not None:
        found, lower, upper = found[mask], lower[mask], upper[mask]
    if len(found) < k:
        return None, None
    theta = float(np.partition(lower, len(lower) - k)[len(lower) - k])
    # a doc in no head and no short list scores at most the tails' bounds (s counted once, via s <= static_max
    # or via one list's max of w + s)
    gap = min(index.static_max, max(term.tail_total - term.tail_weight for term in long))
    if sum(term.tail_weight for term in long) + gap >= theta - _MARGIN * abs(theta):
        return None, theta
    near = found[upper >= theta - _MARGIN * abs(theta)]
    return _top(near, _lookup(near, terms) + index.static[near], k), theta


def _lookup(docs: np.ndarray, terms: list[Term]) -> np.ndarray:
    """Summed weights of ascending `docs` in every term's full list (0 where absent), by binary search."""
    scores = np.zeros(len(docs))
    for term in terms:
        at = np.minimum(np.searchsorted(term.docs, docs), len(term.docs) - 1)
        scores += np.where(term.docs[at] == docs, term.weights[at].astype(np.float64) * term.count, 0.0)
    return scores


def _top(docs: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best by score, ties to the lower doc id (`docs` ascending on input), sorted."""
    if len(docs) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        above = np.flatnonzero(scores > kth)
        pick = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
        docs, scores = docs[pick], scores[pick]
    order = np.lexsort((docs, -scores))
    return docs[order].astype(np.int64), scores[order]
