"""Levenshtein distance from one query to many texts at once, bit-parallel and vectorized over the texts.

Myers' bit-vector algorithm (Myers, JACM 1999) in Hyyrö's formulation for global edit distance (Hyyrö 2001):
one string's column of the dynamic programme is held as bit vectors of vertical deltas (+1/-1), so each
character of the other string costs a dozen word operations. Here each *text* is a bit-vector pattern (one
numpy uint64 per text) and the query's characters are the steps, so every text of the batch advances
together and the loop runs len(query) times. Distinct texts are computed once (artist names repeat in a
pool). Under a millisecond for a 16-character query against 300 distinct titles, where a Python dynamic
programme per title would cost tens of milliseconds.

Strings are cut to 64 characters (one word); distances involving longer strings are those of the cut
strings. Substitutions, insertions and deletions cost 1 (no transpositions).

    >>> levenshtein_many("kitten", ["sitting", "kitten", ""]).tolist()
    [3, 0, 6]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_CHARS = 64
_ONE = np.uint64(1)


def _match_table(query: str, texts: Sequence[str], lengths: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Myers' Peq per text: row c holds, for each text, the bit mask of its positions equal to query char c."""
    chars = sorted(set(query))
    char_codes = np.array([ord(ch) for ch in chars], dtype=np.uint32)
    codes = np.frombuffer("".join(texts).encode("utf-32-le", errors="replace"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(texts)), lengths)
    position = (np.arange(len(codes)) - (np.cumsum(lengths) - lengths)[owner]).astype(np.uint64)
    slot = np.minimum(np.searchsorted(char_codes, codes), len(chars) - 1)
    hit = char_codes[slot] == codes
    table = np.zeros(len(chars) * len(texts), dtype=np.uint64)
    # positions within one text are distinct bits, so adding them is OR-ing them
    np.add.at(table, slot[hit] * len(texts) + owner[hit], _ONE << position[hit])
    return table.reshape(len(chars), len(texts)), {ch: row for row, ch in enumerate(chars)}


def _distinct_distances(query: str, texts: list[str]) -> np.ndarray:
    """Distances from a non-empty `query` to each text, all already cut; texts distinct."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    table, row_of = _match_table(query, texts, lengths)
    vp = np.full(len(texts), np.uint64(2**64 - 1))  # all vertical deltas +1: D[i][0] = i
    vn = np.zeros(len(texts), dtype=np.uint64)
    # Bits at or above a text's length hold garbage, harmlessly: every operation below is bitwise or carries
    # upward (+, <<), so nothing flows down into the text's bits; they are masked off once, at the end.
    for ch in query:
        eq = table[row_of[ch]]
        xv = eq | vn
        xh = (((eq & vp) + vp) ^ vp) | eq
        hp = vn | ~(xh | vp)
        hn = vp & xh
        hp = (hp << _ONE) | _ONE  # global distance: the row above the pattern grows by 1 per character
        hn <<= _ONE
        vp = hn | ~(xv | hp)
        vn = hp & xv
    # The last column's vertical deltas sum to D[len(text)][len(query)] - D[0][len(query)].
    mask = np.where(lengths >= 64, np.uint64(2**64 - 1), (_ONE << lengths.astype(np.uint64)) - _ONE)
    ups = np.bitwise_count(vp & mask).astype(np.int64)
    downs = np.bitwise_count(vn & mask).astype(np.int64)
    return len(query) + ups - downs


def _distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(distinct texts cut to MAX_CHARS, in first-appearance order; index of each text among them)."""
    position: dict[str, int] = {}
    inverse = [position.setdefault(text[:MAX_CHARS], len(position)) for text in texts]
    return list(position), np.array(inverse, dtype=np.int64).reshape(len(texts))


def levenshtein_many(query: str, texts: Sequence[str]) -> np.ndarray:
    """(len(texts),) int64 edit distances between `query` and each text (see the module docstring)."""
    query = query[:MAX_CHARS]
    distinct, inverse = _distinct(texts)
    lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
    distances = _distinct_distances(query, distinct) if query and distinct else lengths
    return distances[inverse]


def edit_similarity(query: str, texts: Sequence[str]) -> np.ndarray:
    """1 - distance / max(len(query), len(text)) in [0, 1] (1: equal), over the cut strings; NaN for an empty
    text or an empty query, where the ratio says nothing."""
    query = query[:MAX_CHARS]
    distinct, inverse = _distinct(texts)
    if not query:
        return np.full(len(texts), np.nan)
    lengths = np.fromiter(map(len, distinct), dtype=np.float64, count=len(distinct))
    similarity = 1.0 - _distinct_distances(query, distinct) / np.maximum(np.maximum(lengths, len(query)), 1.0)
    return np.where(lengths == 0, np.nan, similarity)[inverse]
