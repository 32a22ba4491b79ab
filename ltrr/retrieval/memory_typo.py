"""TypoIndex: the known query keys within a small edit distance of a query key.

Filter, then verify. Keys are indexed by their padded trigrams (" night drive " -> " ni", "nig", ...). One edit
(insert, delete, substitute) destroys at most 3 trigram windows of a string, so a key within distance d of
the query shares at least c - 3d of any c distinct query trigrams (q-gram lemma: Ukkonen, TCS 1992). The
filter counts, over the query's rarest trigrams, how many each key shares, keeps keys reaching c - 3d of
matching length, and a banded Levenshtein computation verifies the survivors. An adjacent transposition,
two edits for Levenshtein, counts as one: every swapped variant of the query is looked up directly.

Allowed distance by key length (code points): 0 below 4, 1 below 10, else 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from .string_table import StringTable

# Posting entries a lookup may count (np.bincount: ~1 ms per million); rarer trigrams are taken first, and
# at least 3d + 1 of them. The more trigrams counted, the tighter the filter.
LOOKUP_BUDGET = 1_000_000
MAX_VERIFIED = 2_000
SORT_SHARE = 0.125  # merged postings shorter than this share of the key count are counted by sorting
MEMO_SIZE = 1 << 15  # query keys whose matches among the built keys are remembered


def max_distance(length: int) -> int:
    return 0 if length < 4 else 1 if length < 10 else 2


def trigram_codes(key: str) -> set[int]:
    """Distinct trigram codes of " key " (3 code points of 21 bits each in one int)."""
    padded = f" {key} "
    return {(ord(padded[i]) << 42) | (ord(padded[i + 1]) << 21) | ord(padded[i + 2])
            for i in range(len(padded) - 2)}


def _trigrams(keys: list[str], first_row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trigram codes, int32 key rows) of `keys`, each pair once, sorted by (row, code); and the key lengths.

    Rows count from `first_row`; lengths are in code points.
    """
    padded = [f" {key} " for key in keys]
    lengths = np.fromiter((len(text) for text in padded), dtype=np.int64, count=len(padded))
    points = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    codes = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
    rows = np.repeat(np.arange(len(padded), dtype=np.int32), lengths)[: len(codes)]
    starts = np.cumsum(lengths) - lengths
    inside = np.arange(len(codes)) - starts[rows] <= lengths[rows] - 3  # window within one padded key
    codes, rows = codes[inside], rows[inside]
    order = np.lexsort((codes, rows))
    codes, rows = codes[order], rows[order]
    distinct = np.ones(len(codes), dtype=bool)
    distinct[1:] = (codes[1:] != codes[:-1]) | (rows[1:] != rows[:-1])
    return codes[distinct], rows[distinct] + np.int32(first_row), (lengths - 2).astype(np.int32)


def bounded_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of a and b if it is <= limit, else limit + 1 (banded dynamic programming)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    over = limit + 1
    previous = [j if j <= limit else over for j in range(len(b) + 1)]
    for i, char in enumerate(a, 1):
        current = [over] * (len(b) + 1)
        current[0] = i if i <= limit else over
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != b[j - 1]), over)
        if min(current) > limit:
            return over
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class _BuiltMatches:
    """What a lookup found among the built keys: (key, distance) pairs (distance may exceed the limit), the
    trigram codes the filter counted, and how many of them a key must share (reused for keys added later)."""

    found: tuple[tuple[str, int], ...]
    chosen: tuple[int, ...]
    need: int


class TypoIndex:
    """Padded-trigram index over a StringTable of keys, plus a dict for keys added later."""

    def __init__(self, keys: StringTable, codes: np.ndarray, indptr: np.ndarray, postings: np.ndarray,
                 lengths: np.ndarray) -> None:
        self.keys = keys
        self.codes = codes  # int64 distinct trigram codes, sorted
        self.indptr = indptr  # int64, len(codes) + 1
        self.postings = postings  # int32 key rows per trigram, ascending
        self.lengths = lengths  # int32 key length in code points, per key row
        self.extra: dict[int, set[str]] = {}  # trigram -> keys added after the build
        self.extra_keys: set[str] = set()
        # key -> what `similar` finds among the built keys (they never change): shared with every copy.
        self._built_matches: dict[str, _BuiltMatches] = {}

    @classmethod
    def build(cls, keys: StringTable, chunk_size: int = 50_000) -> TypoIndex:
        """Index every key's distinct padded trigrams.

        Keys are read in chunks, and each (trigram, key) pair becomes one int64 (trigram rank << 32 | key row)
        sorted in place: the working memory stays near 16 bytes a pair.
        """
        parts: list[tuple[np.ndarray, np.ndarray] | None] = []
        lengths: list[np.ndarray] = []
        chunk: list[str] = []
        for key in chain(keys, [None]):
            if key is not None:
                chunk.append(key)
            if chunk and (key is None or len(chunk) == chunk_size):
                codes, rows, chunk_lengths = _trigrams(chunk, chunk_size * len(parts))
                parts.append((codes, rows))
                lengths.append(chunk_lengths)
                chunk = []
        distinct = np.unique(np.concatenate([np.unique(part[0]) for part in parts] or [np.zeros(0, np.int64)]))
        pairs = []
        for i, part in enumerate(parts):
            codes, rows = part
            parts[i] = None  # free each chunk once encoded
            pairs.append((np.searchsorted(distinct, codes).astype(np.int64) << 32) | rows.astype(np.int64))
        combined = np.concatenate(pairs or [np.zeros(0, np.int64)])
        del pairs
        combined.sort()
        bounds = np.searchsorted(combined, np.arange(len(distinct) + 1, dtype=np.int64) << 32)
        # A sentinel code -1 with no postings first: lookups then never index an empty array.
        codes = np.concatenate([[-1], distinct]).astype(np.int64)
        indptr = np.concatenate([[0], bounds]).astype(np.int64)
        postings = (combined & 0xFFFFFFFF).astype(np.int32)
        key_lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int32)
        return cls(keys, codes, indptr, postings, key_lengths)

    def save(self, directory: Path) -> None:
        """Write the trigram arrays (the keys are saved by their owner; keys added later are not saved)."""
        for name in ("codes", "indptr", "postings", "lengths"):
            np.save(directory / f"typo_{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, keys: StringTable) -> TypoIndex:
        arrays = [np.load(directory / f"typo_{name}.npy", allow_pickle=False)
                  for name in ("codes", "indptr", "postings", "lengths")]
        if len(arrays[3]) != len(keys):
            raise ValueError(f"{directory}: the typo index covers {len(arrays[3])} keys, the key table "
                             f"{len(keys)}; the saved files are damaged, save the model again")
        return cls(keys, *arrays)

    @property
    def nbytes(self) -> int:
        """Bytes of the trigram arrays (the key strings belong to the PredictedIndex)."""
        return int(self.codes.nbytes + self.indptr.nbytes + self.postings.nbytes + self.lengths.nbytes)

    def copy(self) -> TypoIndex:
        """An index sharing the built trigram arrays (read-only) with its own copy of the keys added later."""
        twin = TypoIndex(self.keys, self.codes, self.indptr, self.postings, self.lengths)
        twin._built_matches = self._built_matches
        twin.extra = {code: set(keys) for code, keys in self.extra.items()}
        twin.extra_keys = set(self.extra_keys)
        return twin

    def add(self, keys: Iterable[str]) -> None:
        """Make keys that are not in the StringTable findable (observed or added-entity queries)."""
        for key in keys:
            self.extra_keys.add(key)
            for code in trigram_codes(key):
                self.extra.setdefault(code, set()).add(key)

    def similar(self, key: str) -> list[tuple[str, int]]:
        """(known key, edit distance) for keys within max_distance(len(key)), closest first; `key` excluded."""
        limit = max_distance(len(key))
        if limit == 0 or len(trigram_codes(key)) < 3 * limit + 1:
            return []
        built = self._built_matches.get(key)
        if built is None:
            built = self._match_built(key, limit)
        found = dict(built.found)
        extra = self._extra_candidates(built.chosen, built.need, key, limit) if self.extra else []
        found.update((other, bounded_distance(key, other, limit)) for other in extra if other not in found)
        found.update((other, 1) for other in self._transposed(key, built=False))
        return sorted(((other, d) for other, d in found.items() if 0 < d <= limit), key=lambda item: (item[1], item[0]))

    def _match_built(self, key: str, limit: int) -> _BuiltMatches:
        """What `similar` finds among the built keys, remembered (a bounded memo: the oldest entry goes first)."""
        query = sorted(trigram_codes(key))
        candidates, chosen, need = self._candidates(query, key, limit)
        found = {other: bounded_distance(key, other, limit) for other in dict.fromkeys(candidates)}
        found.update((other, 1) for other in self._transposed(key, built=True))
        matches = _BuiltMatches(tuple(found.items()), tuple(chosen), need)
        if len(self._built_matches) >= MEMO_SIZE:
            self._built_matches.pop(next(iter(self._built_matches)), None)
        self._built_matches[key] = matches
        return matches

    def _transposed(self, key: str, *, built: bool) -> list[str]:
        """Known keys (built ones, or those added later) that are `key` with two adjacent characters swapped
        (one edit, not Levenshtein's two)."""
        variants = {key[:i] + key[i + 1] + key[i] + key[i + 2:] for i in range(len(key) - 1) if key[i] != key[i + 1]}
        if built:
            return [v for v in variants if self.keys.find(v) >= 0]
        return [v for v in variants if v in self.extra_keys]

    def _candidates(self, query: list[int], key: str, limit: int) -> tuple[list[str], list[int], int]:
        """(built keys passing the trigram filter, the trigram codes it counted, how many each must share)."""
        codes = np.asarray(query, dtype=np.int64)
        slots = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        known = self.codes[slots] == codes
        sizes = np.where(known, self.indptr[slots + 1] - self.indptr[slots], 0)
        order = np.argsort(sizes, kind="stable")
        within = int(np.searchsorted(np.cumsum(sizes[order]), LOOKUP_BUDGET, side="right"))
        chosen = order[: max(3 * limit + 1, within)]
        need = len(chosen) - 3 * limit
        lists = [self.postings[self.indptr[slots[i]]:self.indptr[slots[i] + 1]] for i in chosen if known[i]]
        found: list[str] = []
        if lists:
            merged = np.concatenate(lists)
            if len(merged) < SORT_SHARE * len(self.lengths):  # sorting a short merge beats counting every key
                rows, counts = np.unique(merged, return_counts=True)
                rows = rows[counts >= need]
            else:
                rows = np.flatnonzero(np.bincount(merged, minlength=len(self.lengths)) >= need)
            rows = rows[np.abs(self.lengths[rows] - len(key)) <= limit][:MAX_VERIFIED]
            found = [self.keys[row] for row in rows.tolist()]
        return found, [query[i] for i in chosen.tolist()], need

    def _extra_candidates(self, chosen: list[int], need: int, key: str, limit: int) -> list[str]:
        counts: dict[str, int] = {}
        for code in chosen:
            for other in self.extra.get(code, ()):
                counts[other] = counts.get(other, 0) + 1
        return [other for other, count in counts.items() if count >= need and abs(len(other) - len(key)) <= limit]
