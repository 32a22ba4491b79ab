"""Features comparing the query's text with each entity's title and artist name.

Titles are compared on `text.title_key` (version decorations dropped: "Yesterday - Remastered 2009" is
"yesterday"), artist names and the query on `text.name_key`; token overlaps use `text.tokenize` on both
sides. An entity's "artist" is its own name for an artist entity, its artist's name for a track or album,
and nothing for a playlist (NaN: LightGBM treats the comparison as missing, not as a mismatch).

Entity strings are keyed once per distinct string (a bounded memo), since the same popular entities come
back request after request and their keys never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..text import name_key, title_key, tokenize
from ..types import Query
from .edit import edit_similarity
from .registry import FeatureInput, feature

_MEMO_SIZE = 1 << 16


@lru_cache(maxsize=_MEMO_SIZE)
def _title_terms(title: str) -> tuple[str, frozenset[str]]:
    """(title_key, token set) of a title."""
    return title_key(title), frozenset(tokenize(title))


@lru_cache(maxsize=_MEMO_SIZE)
def name_terms(name: str) -> tuple[str, frozenset[str]]:
    """(name_key, token set) of an artist or album name."""
    return name_key(name), frozenset(tokenize(name))


def _titles(batch: FeatureInput) -> list[tuple[str, frozenset[str]]]:
    return [_title_terms(name) for name in batch.columns.names]


def _artists(batch: FeatureInput) -> list[tuple[str, frozenset[str]] | None]:
    return [name_terms(name) if name else None for name in batch.columns.own_artist_names]


def titles(batch: FeatureInput) -> list[tuple[str, frozenset[str]]]:
    """(title key, title tokens) of each entity, computed once per input."""
    return batch.derived(_titles)


def artists(batch: FeatureInput) -> list[tuple[str, frozenset[str]] | None]:
    """(name key, tokens) of each entity's artist name (None without one), computed once per input."""
    return batch.derived(_artists)


def _query_key(query: Query) -> str:
    return name_key(query.normalized)


def _share(query_tokens: frozenset[str], found: Sequence[frozenset[str] | None]) -> np.ndarray:
    """|query tokens in each set| / |query tokens|; NaN for a missing set or a query without tokens."""
    if not query_tokens:
        return np.full(len(found), np.nan)
    return np.fromiter((np.nan if tokens is None else len(query_tokens & tokens) / len(query_tokens)
                        for tokens in found), np.float64, len(found))


@feature("lexical.title_exact")
def title_exact(batch: FeatureInput) -> np.ndarray:
    """1.0 when the title key equals the query's key or its residual's (the query less its slots), else 0.0."""
    keys = {key for key in (_query_key(batch.query), name_key(batch.query.residual)) if key}
    return np.fromiter((key in keys for key, _ in titles(batch)), np.float64, batch.size)


def _title_overlap(batch: FeatureInput) -> tuple[np.ndarray, np.ndarray]:
    """(query tokens found in each title, tokens of each title), float64 counts."""
    query_tokens = frozenset(batch.query.tokens)
    found = [(len(query_tokens & tokens), len(tokens)) for _, tokens in titles(batch)]
    return np.array(found, dtype=np.float64).reshape(batch.size, 2).T


@feature("lexical.title_coverage")
def title_coverage(batch: FeatureInput) -> np.ndarray:
    """Share of the query's tokens found in the title, in [0, 1]; NaN for a query without tokens."""
    n_query = len(frozenset(batch.query.tokens))
    hits, _ = batch.derived(_title_overlap)
    return hits / n_query if n_query else np.full(batch.size, np.nan)


@feature("lexical.title_jaccard")
def title_jaccard(batch: FeatureInput) -> np.ndarray:
    """|query tokens & title tokens| / |query tokens | title tokens|, in [0, 1]; NaN for a query without tokens.

    Unlike coverage it drops for long titles that merely contain the query ("Love" in "Love Me Do").
    """
    n_query = len(frozenset(batch.query.tokens))
    hits, sizes = batch.derived(_title_overlap)
    return hits / (n_query + sizes - hits) if n_query else np.full(batch.size, np.nan)


@feature("lexical.artist_coverage")
def artist_coverage(batch: FeatureInput) -> np.ndarray:
    """Share of the query's tokens found in the artist's name; NaN without an artist or query tokens."""
    return _share(frozenset(batch.query.tokens), [None if terms is None else terms[1]
                                                  for terms in artists(batch)])


@feature("lexical.query_coverage")
def query_coverage(batch: FeatureInput) -> np.ndarray:
    """Share of the query's tokens found in the title, artist or album name together ("mercy kanye" -> 1.0
    for Kanye West's "Mercy"); NaN for a query without tokens."""
    found = []
    for album, (_, title_tokens), artist in zip(batch.columns.album_names, titles(batch), artists(batch)):
        tokens = title_tokens | (artist[1] if artist else frozenset())
        if album:
            tokens |= name_terms(album)[1]
        found.append(tokens)
    return _share(frozenset(batch.query.tokens), found)


def _similarities(batch: FeatureInput) -> tuple[np.ndarray, np.ndarray]:
    """(title, artist) edit similarities to the query key: one vectorized pass over both lists of keys."""
    title_keys = [key for key, _ in titles(batch)]
    artist_keys = ["" if terms is None else terms[0] for terms in artists(batch)]
    both = edit_similarity(_query_key(batch.query), title_keys + artist_keys)
    return both[:batch.size], both[batch.size:]


@feature("lexical.title_similarity")
def title_similarity(batch: FeatureInput) -> np.ndarray:
    """1 - Levenshtein(query key, title key) / longer length, in [0, 1]; NaN for an empty key either side."""
    return batch.derived(_similarities)[0].copy()


@feature("lexical.residual_title_similarity")
def residual_title_similarity(batch: FeatureInput) -> np.ndarray:
    """As `title_similarity`, with the residual (the query less its slot words: "mercy" of "kanye mercy");
    NaN when the slots explain the whole query."""
    residual = name_key(batch.query.residual)
    if residual == _query_key(batch.query):
        return title_similarity(batch)
    return edit_similarity(residual, [key for key, _ in titles(batch)])


@feature("lexical.artist_similarity")
def artist_similarity(batch: FeatureInput) -> np.ndarray:
    """1 - Levenshtein(query key, artist name key) / longer length, in [0, 1]; NaN without an artist name."""
    return batch.derived(_similarities)[1].copy()
