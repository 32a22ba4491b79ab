"""Typo-tolerant key lookup: symmetric-delete candidates verified by Damerau-Levenshtein distance.

Symmetric delete spelling correction (SymSpell): Garbe 2012. Candidates share a string reachable by at most
d deletions from both the query term and the key, looked up among the deletions of the keys' first
`prefix_length` characters (SymSpell's prefix trick keeps the index small); each candidate is then verified
with the optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions).

    index = FuzzyIndex(["taylorswift", "beyonce", "metallica"])
    index.lookup("beyonse")      # [(1, 1)]: key 1 at distance 1
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PREFIX_LENGTH = 7


def max_edits(length: int) -> int:
    """Edits tolerated in a key of `length` characters: 0 up to 3 (exact only), 1 for 4-6, 2 from 7."""
    if length <= 3:
        return 0
    return 1 if length <= 6 else 2


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance between `a` and `b`, or `limit + 1` as soon as it must exceed `limit`.

    Only the diagonal band |i - j| <= limit of the dynamic programme is computed (Ukkonen 1985).

    >>> osa_distance("beyonse", "beyonce", 2), osa_distance("metalica", "metallica", 2), osa_distance("ab", "ba", 1)
    (1, 1, 1)
    """
    if a == b:
        return 0
    start = 0  # a shared prefix and suffix cost nothing: strip them (most typos are one edit in a long key)
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    a, b = a[start:end_a], b[start:end_b]
    big = limit + 1
    if abs(len(a) - len(b)) > limit:
        return big
    if not a or not b:
        return max(len(a), len(b))
    before: list[int] = []
    previous = [j if j <= limit else big for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        current = [big] * (len(b) + 1)
        current[0] = i if i <= limit else big
        low, high = max(1, i - limit), min(len(b), i + limit)
        char = a[i - 1]
        for j in range(low, high + 1):
            value = previous[j - 1] + (char != b[j - 1])
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == b[j - 1] and before[j - 2] + 1 < value:
                value = before[j - 2] + 1
            current[j] = value
        if min(current[low:high + 1]) > limit and current[0] > limit:
            return big
        before, previous = previous, current
    return min(previous[-1], big)


def _deletes(term: str, depth: int) -> set[str]:
    """`term` and every string made from it by deleting up to `depth` characters."""
    found = {term}
    level = {term}
    for _ in range(depth):
        level = {word[:i] + word[i + 1:] for word in level for i in range(len(word))}
        found |= level
    return found


def _bucket(ch: str) -> int:
    """Character class of the bag filter: a-z, 0-9, or one shared bucket for everything else."""
    if "a" <= ch <= "z":
        return ord(ch) - ord("a")
    if "0" <= ch <= "9":
        return 26 + ord(ch) - ord("0")
    return _N_BUCKETS - 1


_N_BUCKETS = 37


def _bags(texts: Sequence[str]) -> np.ndarray:
    """Character counts per text, (len(texts), 37) int16: the bag-distance filter's input."""
    bags = np.zeros((len(texts), _N_BUCKETS), dtype=np.int16)
    rows = [row for row, text in enumerate(texts) for _ in text]
    columns = [_bucket(ch) for text in texts for ch in text]
    np.add.at(bags, (np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)), 1)
    return bags


class FuzzyIndex:
    """Keys (distinct strings) searchable within `max_edits` of a term's length (and of the key's).

    The deletion strings are held as Python string hashes in one sorted int64 array (with the owning key's
    index alongside), so an index over ~50k keys costs tens of MB, not the hundreds a dict of strings would;
    the hashes are rebuilt in each process (Python salts them per process), never saved. Candidates are
    filtered by length and by bag distance (half the L1 distance of character counts is a lower bound of
    the edit distance; Bartolini et al. 2002) before the exact distance is computed.
    """

    def __init__(self, keys: Sequence[str], prefix_length: int = PREFIX_LENGTH) -> None:
        self.keys = list(keys)
        self.prefix_length = prefix_length
        hashes: list[int] = []
        owners: list[int] = []
        for index, key in enumerate(self.keys):
            found = _deletes(key[:prefix_length], max_edits(len(key)))
            hashes.extend(hash(text) for text in found)
            owners.extend([index] * len(found))
        hash_array = np.array(hashes, dtype=np.int64)
        order = np.argsort(hash_array, kind="stable")
        # CSR layout: distinct hashes, sorted; the keys owning hash i are owners[offsets[i]:offsets[i + 1]]
        self._hashes, starts = np.unique(hash_array[order], return_index=True)
        self._offsets = np.append(starts, len(order)).astype(np.int64)
        self._owners = np.array(owners, dtype=np.int32)[order]
        self._lengths = np.array([len(key) for key in self.keys], dtype=np.int32)
        self._limits = np.array([max_edits(len(key)) for key in self.keys], dtype=np.int32)
        self._bags = _bags(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, term: str) -> list[tuple[int, int]]:
        """(key index, distance) of keys within the allowed edits of `term`, nearest first, then by index."""
        return self.lookup_many([term])[0]

    def lookup_many(self, terms: Sequence[str]) -> list[list[tuple[int, int]]]:
        """`lookup` for several terms with one vectorized search over the deletion hashes."""
        results: list[list[tuple[int, int]]] = [[] for _ in terms]
        pairs = self._candidates(terms)
        if pairs is None:
            return results
        term_rows, owners, limits = pairs
        for position, owner, limit in zip(term_rows.tolist(), owners.tolist(), limits.tolist()):
            distance = osa_distance(terms[position], self.keys[owner], limit)
            if distance <= limit:
                results[position].append((owner, distance))
        return [sorted(found, key=lambda pair: (pair[1], pair[0])) for found in results]

    def _candidates(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(term position, key index, allowed edits) of the distinct pairs passing the cheap filters."""
        probes: list[int] = []
        term_of: list[int] = []
        for position, term in enumerate(terms):
            found = _deletes(term[:self.prefix_length], max_edits(len(term)))
            probes.extend(hash(text) for text in found)
            term_of.extend([position] * len(found))
        if not probes or len(self._hashes) == 0:
            return None
        probe_array = np.array(probes, dtype=np.int64)
        order = np.argsort(probe_array)  # sorted needles let the binary searches start where the last ended
        position = np.minimum(np.searchsorted(self._hashes, probe_array[order]), len(self._hashes) - 1)
        found = self._hashes[position] == probe_array[order]
        position, probe_terms = position[found], np.array(term_of, dtype=np.int64)[order][found]
        left = self._offsets[position]
        counts = self._offsets[position + 1] - left
        if not len(counts):
            return None
        # every (term, owner) pair of the matched hashes, flattened without a Python loop
        starts = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        pair_keys = np.unique(np.repeat(probe_terms, counts) * len(self.keys) + self._owners[starts])
        term_rows, owners = pair_keys // len(self.keys), pair_keys % len(self.keys)
        term_lengths = np.array([len(term) for term in terms], dtype=np.int32)[term_rows]
        limits = np.minimum(np.array([max_edits(len(term)) for term in terms], dtype=np.int32)[term_rows],
                            self._limits[owners])
        keep = np.abs(self._lengths[owners] - term_lengths) <= limits
        bag_gap = np.abs(self._bags[owners] - _bags(terms)[term_rows]).sum(axis=1)
        keep &= bag_gap <= 2 * limits
        return term_rows[keep], owners[keep], limits[keep]
