"""A columnar copy of the catalog's entities, written with each index build, so a search never reads the store
for the entities of its pool (reading 300 entities with their tags from SQLite takes tens of milliseconds).

Files in `<build>/entities/`: `entities.json` (ids, names, artist and album names and ids, sources, source ids,
playlist descriptions, tag and source vocabularies) and npy arrays (kinds, years, durations, added-at days,
six popularity columns, and tags as CSR: per-entity row pointers, tag codes, weights, source codes).
Entities written to the store after the build are not in the table; the engine reads those from the store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .features.columns import POPULARITY_SIGNALS, PoolColumns, days_since_epoch
from .retrieval.memory_stats import from_day
from .types import Entity, Popularity, TagWeight

KINDS = ("track", "artist", "album", "playlist")
_TEXT_COLUMNS = ("entity_ids", "names", "artist_names", "album_names", "artist_ids", "album_ids", "sources",
                 "source_ids")


class EntityTable:
    """Entities by id from arrays; `get(entity_ids)` rebuilds `Entity` objects (None for ids not in the table)."""

    def __init__(self, text: dict, arrays: dict[str, np.ndarray]) -> None:
        self.text = text
        self.arrays = arrays
        self.row_of = {entity_id: row for row, entity_id in enumerate(text["entity_ids"])}
        self._tag_ids: np.ndarray | None = None  # see _tag_objects
        self._tags_by_id: list[TagWeight] = []

    def __len__(self) -> int:
        return len(self.row_of)

    @classmethod
    def build(cls, entities: Sequence[Entity]) -> EntityTable:
        text: dict = {name: [] for name in _TEXT_COLUMNS}
        text["descriptions"], tag_codes, source_codes = {}, {}, {}
        indptr, tags, weights, tag_sources = [0], [], [], []
        for entity in entities:
            for name, value in zip(_TEXT_COLUMNS, (entity.entity_id, entity.name, entity.artist_name,
                                                   entity.album_name, entity.artist_id, entity.album_id,
                                                   entity.source, entity.source_id), strict=True):
                text[name].append(value)
            if entity.description:
                text["descriptions"][entity.entity_id] = entity.description
            for tag in entity.tags:
                tags.append(tag_codes.setdefault(tag.tag, len(tag_codes)))
                tag_sources.append(source_codes.setdefault(tag.source, len(source_codes)))
                weights.append(tag.weight)
            indptr.append(len(tags))
        text["tags"], text["tag_sources"] = list(tag_codes), list(source_codes)
        arrays = {"kinds": np.array([KINDS.index(e.kind) for e in entities], dtype=np.int8),
                  "years": np.array([_or(e.year, -1) for e in entities], dtype=np.int32),
                  "durations": np.array([_or(e.duration_ms, -1) for e in entities], dtype=np.int64),
                  "added_days": np.array([days_since_epoch(e.added_at) for e in entities], dtype=np.float64),
                  "popularity": np.array([[_or(getattr(e.popularity, f), np.nan) for f in POPULARITY_SIGNALS]
                                          for e in entities], dtype=np.float64).reshape(len(entities), 6),
                  "tag_indptr": np.array(indptr, dtype=np.int64), "tag_codes": np.array(tags, dtype=np.int32),
                  "tag_weights": np.array(weights, dtype=np.float64),
                  "tag_sources": np.array(tag_sources, dtype=np.int32)}
        return cls(text, arrays)

    def get(self, entity_ids: Sequence[str]) -> list[Entity | None]:
        """The entities, in order (None for ids not in the table); columns are gathered once for the batch."""
        rows = np.array([self.row_of.get(entity_id, -1) for entity_id in entity_ids], dtype=np.int64)
        known = rows[rows >= 0]
        tags = iter(self._tags(known))
        popularity = iter(self.arrays["popularity"][known].tolist())
        columns = zip(*(self.arrays[name][known].tolist() for name in ("kinds", "years", "durations", "added_days")),
                      strict=True)
        return [self._entity(int(row), next(tags), next(popularity), *next(columns)) if row >= 0 else None
                for row in rows.tolist()]

    def columns(self, entity_ids: Sequence[str]) -> PoolColumns | None:
        """The entities' feature columns gathered straight from the arrays (no `Entity` objects), each when a
        feature first reads it; None when an id is not in the table."""
        row_of = self.row_of
        rows = [row_of.get(entity_id, -1) for entity_id in entity_ids]
        if rows and min(rows) < 0:
            return None
        index = np.array(rows, dtype=np.int64)
        text, arrays = self.text, self.arrays

        def load(name: str) -> object:
            if name == "kinds":
                return [KINDS[kind] for kind in arrays["kinds"][index].tolist()]
            if name in ("years", "added_days", "popularity"):
                values = arrays[name][index]
                if name == "years":
                    values = values.astype(np.float64)
                    values[values <= 0] = np.nan  # -1: unknown; 0: a placeholder year, as `Entity.year or NaN`
                return values
            if name == "tags":
                flat, lengths = self._tag_rows(index)
                tag_names = text["tags"]
                return lengths.astype(np.int64), [tag_names[code] for code in arrays["tag_codes"][flat].tolist()], \
                    arrays["tag_weights"][flat]
            column = text[name]  # names, artist_ids, artist_names, album_names
            return [column[row] for row in rows]

        return PoolColumns.deferred(list(entity_ids), load)

    def _tags(self, rows: np.ndarray) -> list[tuple[TagWeight, ...]]:
        """Each row's tags, from one gather over the CSR arrays (per-row numpy slicing costs far more)."""
        flat, lengths = self._tag_rows(rows)
        ids, objects = self._tag_objects()
        tags = [objects[tag_id] for tag_id in ids[flat].tolist()]
        ends = np.cumsum(lengths).tolist()
        return [tuple(tags[end - length:end]) for end, length in zip(ends, lengths.tolist(), strict=True)]

    def _tag_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the tag arrays of every tag of `rows`, row after row; each row's tag count): one
        gather over the CSR arrays (per-row numpy slicing costs far more)."""
        indptr = self.arrays["tag_indptr"]
        starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return offsets + np.arange(int(lengths.sum())), lengths

    def _tag_objects(self) -> tuple[np.ndarray, list[TagWeight]]:
        """Each tag row's id among the distinct (tag, weight, source) triples, and one shared TagWeight per id,
        all made on first use: the real catalog's 1.15M tag rows hold 86k distinct triples (an artist's genres
        repeat on its tracks), so a pool's entities share their tag objects instead of building thousands.
        One lexsort over (tag and source code, weight bits): 0.3 s there, where np.unique(axis=0) took 2.9."""
        if self._tag_ids is None:
            codes, weights = self.arrays["tag_codes"], self.arrays["tag_weights"]
            sources = self.arrays["tag_sources"]
            keys = codes.astype(np.int64) * max(len(self.text["tag_sources"]), 1) + sources
            bits = np.ascontiguousarray(weights, dtype=np.float64).view(np.int64)
            order = np.lexsort((bits, keys))
            starts = np.ones(len(order), dtype=bool)
            starts[1:] = (np.diff(keys[order]) != 0) | (np.diff(bits[order]) != 0)
            self._tag_ids = np.empty(len(order), dtype=np.int64)
            self._tag_ids[order] = np.cumsum(starts) - 1
            first = order[starts]
            names, source_names = self.text["tags"], self.text["tag_sources"]
            self._tags_by_id = [TagWeight(names[code], weight, source_names[source]) for code, weight, source in
                                zip(codes[first].tolist(), weights[first].tolist(), sources[first].tolist(),
                                    strict=True)]
        return self._tag_ids, self._tags_by_id

    def _entity(self, row: int, tags: tuple[TagWeight, ...], popularity: list[float], kind: int, year: int,
                duration: int, day: float) -> Entity:
        text = self.text
        entity_id = text["entity_ids"][row]
        return Entity(entity_id, KINDS[kind], text["names"][row], text["sources"][row], text["source_ids"][row],
                      artist_id=text["artist_ids"][row], album_id=text["album_ids"][row],
                      description=text["descriptions"].get(entity_id), year=None if year < 0 else year,
                      duration_ms=None if duration < 0 else duration,
                      added_at=None if math.isnan(day) else from_day(day),
                      popularity=_popularity(*popularity),
                      tags=tags, artist_name=text["artist_names"][row], album_name=text["album_names"][row])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "entities.json").write_text(json.dumps(self.text, ensure_ascii=False), encoding="utf-8")
        for name, array in self.arrays.items():
            np.save(directory / f"{name}.npy", array, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> EntityTable:
        text = json.loads((directory / "entities.json").read_text(encoding="utf-8"))
        names = ("kinds", "years", "durations", "added_days", "popularity", "tag_indptr", "tag_codes",
                 "tag_weights", "tag_sources")
        return cls(text, {name: np.load(directory / f"{name}.npy", allow_pickle=False) for name in names})


def _popularity(playlists: float, followers: float, points: float, best_rank: float, plays: float,
                source: float) -> Popularity:
    """The Popularity of one row of the popularity array (NaN: None; the counts as ints). `x != x` is NaN's test:
    this runs for every entity of every pool."""
    return Popularity(None if playlists != playlists else int(playlists),
                      None if followers != followers else int(followers), None if points != points else int(points),
                      None if best_rank != best_rank else int(best_rank), None if plays != plays else int(plays),
                      None if source != source else source)


def _or(value, default):
    return default if value is None else value

