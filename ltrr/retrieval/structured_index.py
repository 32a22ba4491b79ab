"""The structured generator's arrays: per-entity kind, year, artist, popularity and an entity x tag matrix."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from ..text import name_key
from ..types import ENTITY_KINDS as KINDS
from ..types import Entity
from ..understanding.eras import decade_of
from ..understanding.lexicon import match_key, normalized_popularity, popularity_signals

INHERITED_TAG_FACTOR = 0.8  # a track's tag inherited from its artist says less about the track than its own
_ARRAYS = ("kinds", "years", "artist_codes", "alive", "signals", "scale", "popularity")


@dataclass(frozen=True)
class StructuredIndex:
    """The fitted arrays, one row per entity in fit order (then `add` order).

    kinds: index into KINDS; years: 0 when unknown; artist_codes: index into `artist_ids` (an artist's own
    code for an artist, -1 for none); alive: False for rows replaced by a later `add`; tags: entity x tag
    weight matrix (CSC: a column is a tag's posting list), columns keyed by `match_key(tag)`; signals:
    `popularity_signals` rows; scale: per kind and signal, the normalizer fixed at fit; popularity: in [0, 1].
    """

    entity_ids: list[str]
    kinds: np.ndarray
    years: np.ndarray
    artist_codes: np.ndarray
    alive: np.ndarray
    tags: sparse.csc_matrix
    tag_columns: dict[str, int]
    artist_ids: list[str]
    artist_keys: dict[str, list[int]]
    signals: np.ndarray
    scale: np.ndarray
    popularity: np.ndarray

    def __len__(self) -> int:
        return len(self.entity_ids)

    @classmethod
    def build(cls, entities: Iterable[Entity]) -> StructuredIndex:
        empty = cls([], np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, bool),
                    sparse.csc_matrix((0, 0), dtype=np.float32), {}, [], {}, np.zeros((0, 5)),
                    np.full((len(KINDS), 5), np.nan), np.zeros(0))
        return empty.extended(entities)

    def extended(self, entities: Iterable[Entity]) -> StructuredIndex:
        """A new index with `entities` appended; rows of ids seen before are marked dead, not kept twice."""
        rows = _Rows(self)
        for entity in entities:
            rows.add(entity)
        n_old, n_new = len(self), len(rows.entity_ids)
        new_tags = sparse.csc_matrix((rows.weights, (rows.tag_rows, rows.tag_cols)),
                                     shape=(n_new, len(rows.tag_columns)), dtype=np.float32)
        old_tags = self.tags.copy()
        old_tags.resize((n_old, len(rows.tag_columns)))
        kinds = np.concatenate([self.kinds, np.array(rows.kinds, np.int8)])
        signals = np.concatenate([self.signals, np.array(rows.signals, np.float64).reshape(n_new, 5)])
        scale = self.scale.copy()
        popularity = np.concatenate([self.popularity, np.zeros(n_new)])
        for code in range(len(KINDS)):
            on = np.flatnonzero(kinds == code)
            if len(on) and not (self.kinds == code).any():  # first entities of this kind: fix its normalizer
                popularity[on], scale[code] = normalized_popularity(signals[on])
            elif len(on):
                new = on[on >= n_old]
                popularity[new] = normalized_popularity(signals[new], scale[code])[0]
        alive = np.concatenate([self.alive, np.ones(n_new, bool)])
        alive[rows.replaced] = False
        return StructuredIndex(
            self.entity_ids + rows.entity_ids, kinds, np.concatenate([self.years, np.array(rows.years, np.int32)]),
            np.concatenate([self.artist_codes, np.array(rows.artist_codes, np.int32)]), alive,
            sparse.vstack([old_tags, new_tags], format="csc"), rows.tag_columns, rows.artist_ids,
            rows.artist_keys, signals, scale, popularity)

    def tag_column(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weights) of one tag."""
        start, end = self.tags.indptr[column], self.tags.indptr[column + 1]
        return self.tags.indices[start:end], self.tags.data[start:end]

    def tag_mask(self, column: int) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        mask[self.tag_column(column)[0]] = True
        return mask

    @cached_property
    def decade_columns(self) -> list[tuple[int, int]]:
        """(first year, column) of every tag naming a decade ("80s", "1980s", "eighties")."""
        return [(decade[0], column) for key, column in self.tag_columns.items()
                if (decade := decade_of(key)) is not None]

    def years_mask(self, low: int, high: int) -> np.ndarray:
        """A year in [low, high]; for an entity without a year, a decade tag overlapping [low, high]."""
        mask = (self.years >= low) & (self.years <= high)
        tagged = np.zeros(len(self), dtype=bool)
        for first, column in self.decade_columns:
            if first <= high and first + 9 >= low:
                tagged[self.tag_column(column)[0]] = True
        return mask | (tagged & (self.years == 0))

    @cached_property
    def artist_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows sorted by artist code, offsets): the rows of code c are rows[offsets[c]:offsets[c + 1]]."""
        order = np.argsort(self.artist_codes, kind="stable")
        offsets = np.searchsorted(self.artist_codes[order], np.arange(len(self.artist_ids) + 1), side="left")
        return order, offsets

    def artist_mask(self, codes: Sequence[int]) -> np.ndarray:
        """The rows of these artists: themselves, their tracks and albums."""
        mask = np.zeros(len(self), dtype=bool)
        rows, offsets = self.artist_rows
        for code in codes:
            mask[rows[offsets[code]:offsets[code + 1]]] = True
        return mask

    def save(self, path: Path) -> None:
        state = {"entity_ids": self.entity_ids, "tag_columns": self.tag_columns, "artist_ids": self.artist_ids,
                 "artist_keys": self.artist_keys}
        (path / "structured_index.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        for name in _ARRAYS:
            np.save(path / f"{name}.npy", getattr(self, name), allow_pickle=False)
        for name in ("data", "indices", "indptr"):
            np.save(path / f"tags_{name}.npy", getattr(self.tags, name), allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> StructuredIndex:
        state = json.loads((path / "structured_index.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(path / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
        parts = [np.load(path / f"tags_{name}.npy", allow_pickle=False) for name in ("data", "indices", "indptr")]
        tags = sparse.csc_matrix(tuple(parts), shape=(len(state["entity_ids"]), len(state["tag_columns"])))
        return cls(state["entity_ids"], tags=tags, tag_columns=state["tag_columns"], artist_ids=state["artist_ids"],
                   artist_keys=state["artist_keys"], **arrays)


class _Rows:
    """New rows accumulated while entities stream past, continuing an index's codes and columns."""

    def __init__(self, index: StructuredIndex) -> None:
        self.offset = len(index)
        self.row_of = {entity_id: row for row, entity_id in enumerate(index.entity_ids) if index.alive[row]}
        self.tag_columns = dict(index.tag_columns)
        self.artist_ids = list(index.artist_ids)
        self.artist_code_of = {artist_id: code for code, artist_id in enumerate(index.artist_ids)}
        self.artist_keys = {key: list(codes) for key, codes in index.artist_keys.items()}
        self.entity_ids: list[str] = []
        self.kinds: list[int] = []
        self.years: list[int] = []
        self.artist_codes: list[int] = []
        self.signals: list[list[float]] = []
        self.tag_rows: list[int] = []
        self.tag_cols: list[int] = []
        self.weights: list[float] = []
        self.replaced: list[int] = []

    def add(self, entity: Entity) -> None:
        row = self.offset + len(self.entity_ids)
        if (old := self.row_of.get(entity.entity_id)) is not None:
            self.replaced.append(old)
        self.row_of[entity.entity_id] = row
        self.entity_ids.append(entity.entity_id)
        self.kinds.append(KINDS.index(entity.kind))
        self.years.append(entity.year or 0)
        owner = entity.entity_id if entity.kind == "artist" else entity.artist_id
        self.artist_codes.append(self._artist_code(owner) if owner else -1)
        if owner and (name := entity.name if entity.kind == "artist" else entity.artist_name):
            codes = self.artist_keys.setdefault(name_key(name), [])
            if self.artist_code_of[owner] not in codes:
                codes.append(self.artist_code_of[owner])
        self.signals.append(popularity_signals(entity.popularity))
        best: dict[int, float] = {}
        for tag in entity.tags:
            weight = tag.weight * (INHERITED_TAG_FACTOR if tag.source.startswith("artist:") else 1.0)
            if key := match_key(tag.tag):
                column = self.tag_columns.setdefault(key, len(self.tag_columns))
                best[column] = max(best.get(column, 0.0), weight)
        for column, weight in best.items():
            self.tag_rows.append(row - self.offset)
            self.tag_cols.append(column)
            self.weights.append(weight)

    def _artist_code(self, artist_id: str) -> int:
        if artist_id not in self.artist_code_of:
            self.artist_code_of[artist_id] = len(self.artist_ids)
            self.artist_ids.append(artist_id)
        return self.artist_code_of[artist_id]
