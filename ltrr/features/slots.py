"""Features from query understanding: does the entity satisfy the query's slots, and what kind of query is it.

Each slot feature is the slot's confidence (in [0, 1]) times how well the entity matches it, the best over
the query's slots of that name. It is NaN when the query has no slot of that name: "no constraint" is not
"constraint failed", and LightGBM keeps the two apart only if the first is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..types import Slot, SlotName
from ..understanding.lexicon import match_key
from .entity import entity_kinds, entity_years
from .lexical import artists
from .registry import FeatureInput, feature

_MEMO_SIZE = 1 << 14


@lru_cache(maxsize=_MEMO_SIZE)
def tag_key(tag: str) -> str:
    """The key tags are matched on ("Hip-Hop", "hip hop" -> "hiphop"), as the lexicon and structured index do."""
    return match_key(tag)


@dataclass(frozen=True)
class TagMatrix:
    """Entity x tag weights of one pool: weights[i, columns[key]] is entity i's highest weight for the tag
    key (own and inherited artist tags alike), 0 without it."""

    weights: np.ndarray
    columns: dict[str, int]

    def column(self, key: str) -> np.ndarray:
        """(n,) weights of one tag key; zeros for a tag no entity of the pool has."""
        j = self.columns.get(key)
        return self.weights[:, j] if j is not None else np.zeros(self.weights.shape[0])


def _tag_matrix(batch: FeatureInput) -> TagMatrix:
    columns_of = batch.columns
    names = columns_of.tag_names
    columns: dict[str, int] = {}
    column_of: dict[str, int] = {}  # raw tag -> column: tag_key once per distinct raw tag of the pool
    for raw in dict.fromkeys(names):
        column_of[raw] = columns.setdefault(tag_key(raw), len(columns))
    weights = np.zeros((batch.size, len(columns)))
    rows = np.repeat(np.arange(batch.size), columns_of.tag_counts)
    found = np.fromiter((column_of[raw] for raw in names), np.int64, len(names))
    # np.maximum.at: two raw tags with one key ("hip-hop", "hip hop") keep the higher weight
    np.maximum.at(weights, (rows, found), columns_of.tag_weights)
    return TagMatrix(weights, columns)


def tag_matrix(batch: FeatureInput) -> TagMatrix:
    """The pool's entity x tag weights, computed once per input."""
    return batch.derived(_tag_matrix)


def _best_over_slots(batch: FeatureInput, name: SlotName,
                     match: Callable[[FeatureInput, Slot], np.ndarray]) -> np.ndarray:
    """max over the query's `name` slots of confidence * match(batch, slot); NaN when there is none."""
    slots = batch.query.slots_named(name)
    if not slots:
        return np.full(batch.size, np.nan)
    best = np.zeros(batch.size)
    for slot in slots:
        best = np.maximum(best, slot.confidence * match(batch, slot))
    return best


def _artist_keys(batch: FeatureInput) -> np.ndarray:
    return np.array(["" if terms is None else terms[0] for terms in artists(batch)], dtype=object)


def _artist_match(batch: FeatureInput, slot: Slot) -> np.ndarray:
    keys = batch.derived(_artist_keys)
    return ((keys == slot.value) & (keys != "")).astype(np.float64)  # "": the entity has no artist


def _tag_match(batch: FeatureInput, slot: Slot) -> np.ndarray:
    return tag_matrix(batch).column(tag_key(slot.value))


def _years_match(batch: FeatureInput, slot: Slot) -> np.ndarray:
    low, high = slot.year_range()
    years = entity_years(batch)
    return ((years >= low) & (years <= high)).astype(np.float64)  # NaN compares False


def _kind_match(batch: FeatureInput, slot: Slot) -> np.ndarray:
    return (entity_kinds(batch) == slot.value).astype(np.float64)


@feature("slots.artist_match")
def artist_match(batch: FeatureInput) -> np.ndarray:
    """Confidence of an artist slot whose name key equals the entity's artist's (own name for an artist)."""
    return _best_over_slots(batch, "artist", _artist_match)


@feature("slots.genre_match")
def genre_match(batch: FeatureInput) -> np.ndarray:
    """Confidence x the entity's weight for the genre slot's tag (0 without that tag)."""
    return _best_over_slots(batch, "genre", _tag_match)


@feature("slots.mood_match")
def mood_match(batch: FeatureInput) -> np.ndarray:
    """Confidence x the entity's weight for the mood slot's tag (0 without that tag)."""
    return _best_over_slots(batch, "mood", _tag_match)


@feature("slots.years_match")
def years_match(batch: FeatureInput) -> np.ndarray:
    """Confidence when the entity's year lies in the years slot's range, else 0 (also for an unknown year)."""
    return _best_over_slots(batch, "years", _years_match)


@feature("slots.kind_match")
def kind_match(batch: FeatureInput) -> np.ndarray:
    """Confidence when the entity is of the kind the query asked for ("playlists", "songs by"), else 0."""
    return _best_over_slots(batch, "kind", _kind_match)


@feature("query.n_tokens")
def n_tokens(batch: FeatureInput) -> np.ndarray:
    """Tokens in the query (the same on every row): short queries are ambiguous, long ones specific."""
    return np.full(batch.size, float(len(batch.query.tokens)))


@feature("query.n_slots")
def n_slots(batch: FeatureInput) -> np.ndarray:
    """Slots read from the query (the same on every row)."""
    return np.full(batch.size, float(len(batch.query.slots)))


@feature("query.is_spearfishing")
def is_spearfishing(batch: FeatureInput) -> np.ndarray:
    """1.0 when the parser guessed the query seeks one known item ("mercy kanye"), else 0.0."""
    return np.full(batch.size, float(batch.query.query_class == "spearfishing"))


@feature("query.is_topical")
def is_topical(batch: FeatureInput) -> np.ndarray:
    """1.0 when the parser guessed a topical query ("90s trip hop"), else 0.0 (both 0: ambiguous)."""
    return np.full(batch.size, float(batch.query.query_class == "topical"))
