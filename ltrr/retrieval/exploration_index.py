"""What the exploration generator knows of each entity: kind, year, added day, popularity, and postings.

`TermPostings` maps a term to ascending entity positions (a CSR over packed terms, plus a dict for entities
added later). `ExplorationIndex` keeps three of them: search tokens (title, artist name, top tags) for
queries without slots; tag names and artist name keys for slot filters. Entities without an artist name
(hand-made or synthetic ones that carry only `artist_id`) take the name, and when they have no tags of
their own the tags, of the artist entity with that id, once the artist has been seen.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..progress import Stage
from ..text import name_key, tag_name, tokenize
from ..types import Entity
from .memory_index import EntityTable
from .memory_predict import popularity_level
from .memory_stats import to_day
from .string_table import StringTable

TOKEN_TAGS = 5  # top tags whose words count as an entity's search tokens
FAMILIES = ("tokens", "tags", "artists")
PROGRESS_STEP = 10_000


class TermPostings:
    """term -> ascending entity positions."""

    def __init__(self, terms: StringTable, indptr: np.ndarray, postings: np.ndarray) -> None:
        self.terms = terms
        self.indptr = indptr  # int64, len(terms) + 1
        self.postings = postings  # int32 positions, ascending within a term
        self.extra: dict[str, list[int]] = {}  # entities added after the build

    @classmethod
    def build(cls, terms: Sequence[str], rows: Sequence[int], positions: Sequence[int]) -> TermPostings:
        """Postings of pairs (terms[rows[i]], positions[i]); `terms` distinct, repeats of a pair kept once."""
        order = sorted(range(len(terms)), key=terms.__getitem__)
        sorted_row = np.empty(len(terms), dtype=np.int64)
        sorted_row[np.asarray(order, dtype=np.int64)] = np.arange(len(terms))
        rows_array = sorted_row[np.asarray(rows, dtype=np.int64)]
        positions_array = np.asarray(positions, dtype=np.int64)
        pairs = np.unique(rows_array * (1 << 32) + positions_array)  # sorted by (row, position), distinct
        rows_array, positions_array = pairs >> 32, pairs & 0xFFFFFFFF
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows_array, minlength=len(terms)), out=indptr[1:])
        return cls(StringTable.of_sorted([terms[i] for i in order]), indptr, positions_array.astype(np.int32))

    def get(self, term: str) -> np.ndarray:
        """Positions holding `term`, ascending (int64; empty when none)."""
        row = self.terms.find(term)
        found = self.postings[self.indptr[row]:self.indptr[row + 1]] if row >= 0 else self.postings[:0]
        extra = self.extra.get(term)
        if extra:
            return np.union1d(found, np.asarray(extra, dtype=np.int64))
        return found.astype(np.int64)

    def add(self, term: str, position: int) -> None:
        self.extra.setdefault(term, []).append(position)

    @property
    def nbytes(self) -> int:
        return int(self.terms.nbytes + self.indptr.nbytes + self.postings.nbytes)

    def save(self, directory: Path, name: str) -> None:
        self.terms.save(directory, f"{name}.terms")
        np.save(directory / f"{name}.indptr.npy", self.indptr, allow_pickle=False)
        np.save(directory / f"{name}.postings.npy", self.postings, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, name: str) -> TermPostings:
        return cls(StringTable.load(directory, f"{name}.terms"),
                   np.load(directory / f"{name}.indptr.npy", allow_pickle=False),
                   np.load(directory / f"{name}.postings.npy", allow_pickle=False))


class _Terms:
    """(term, position) pairs of one postings family while building."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.term_rows: dict[str, int] = {}
        self.rows = array("i")
        self.positions = array("i")

    def add(self, term: str, position: int) -> None:
        row = self.term_rows.get(term)
        if row is None:
            row = self.term_rows[term] = len(self.terms)
            self.terms.append(term)
        self.rows.append(row)
        self.positions.append(position)



class TermCache:
    """Memo of the text functions over strings many entities share (tag names, artist names)."""

    def __init__(self) -> None:
        self._tag_names: dict[str, str] = {}
        self._tokens: dict[str, tuple[str, ...]] = {}
        self._keys: dict[str, str] = {}

    def tag_name(self, raw: str) -> str:
        found = self._tag_names.get(raw)
        if found is None:
            found = self._tag_names[raw] = tag_name(raw)
        return found

    def tokens(self, text: str) -> tuple[str, ...]:
        found = self._tokens.get(text)
        if found is None:
            found = self._tokens[text] = tuple(tokenize(text))
        return found

    def name_key(self, text: str) -> str:
        found = self._keys.get(text)
        if found is None:
            found = self._keys[text] = name_key(text)
        return found


def entity_terms(entity: Entity, artist: str | None, tags: Sequence[str],
                 cache: TermCache) -> tuple[set[str], set[str], str]:
    """(search tokens, tag names, artist name key) of one entity; `tags` are its tag names, heaviest first."""
    tokens = set(tokenize(entity.name))
    if artist:
        tokens.update(cache.tokens(artist))
    for tag in tags[:TOKEN_TAGS]:
        tokens.update(cache.tokens(tag))
    if entity.kind == "artist":
        return tokens, set(tags), name_key(entity.name)
    return tokens, set(tags), cache.name_key(artist) if artist else ""


def tag_names(entity: Entity, cache: TermCache) -> list[str]:
    """The entity's distinct tag names, heaviest first."""
    ordered = sorted(entity.tags, key=lambda tag: -tag.weight)
    return list(dict.fromkeys(name for name in (cache.tag_name(tag.tag) for tag in ordered) if name))


def entity_row(entity: Entity) -> tuple[float, float, int]:
    """(added day or NaN, popularity level, year or -1) of one entity."""
    day = to_day(entity.added_at) if entity.added_at is not None else math.nan
    return day, popularity_level(entity.popularity), entity.year if entity.year is not None else -1


class ExplorationIndex:
    """Per-entity attributes (arrays by position) and the token, tag and artist postings."""

    def __init__(self, table: EntityTable, added_day: np.ndarray, popularity: np.ndarray, year: np.ndarray,
                 tokens: TermPostings, tags: TermPostings, artists: TermPostings,
                 artist_info: dict[str, tuple[str, list[str]]]) -> None:
        self.table = table
        self.added_day = added_day  # float64 days since 1970 (NaN: unknown)
        self.popularity = popularity  # float32 popularity level in [0, 1]
        self.year = year  # int32 (-1: unknown)
        self.tokens, self.tags, self.artists = tokens, tags, artists
        self.artist_info = artist_info  # artist id -> (name, tag names): resolves entities added later
        self.cache = TermCache()

    @classmethod
    def build(cls, entities: Iterable[Entity], stage: Stage | None = None) -> ExplorationIndex:
        """Index a stream of entities; those needing their artist's name wait for the stream's end.

        `stage` (optional) is told of every PROGRESS_STEP entities read, and closed at the end.
        """
        ids, kinds, rows, families, artist_info = _scan(entities, stage)
        table, remap = EntityTable.build(ids, kinds)
        attributes = np.empty((len(ids), 3), dtype=np.float64)
        attributes[remap] = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        postings = [TermPostings.build(f.terms, f.rows, remap[np.frombuffer(f.positions, dtype=np.int32)])
                    for f in families]
        return cls(table, attributes[:, 0].copy(), attributes[:, 1].astype(np.float32),
                   attributes[:, 2].astype(np.int32), *postings, artist_info)

    def add(self, entities: Sequence[Entity]) -> None:
        """Index new entities (a known id is indexed again: its old terms stay, attributes are replaced)."""
        for entity in entities:
            if entity.kind == "artist":
                self.artist_info[entity.entity_id] = (entity.name, tag_names(entity, self.cache))
        positions = self.table.append([e.entity_id for e in entities], [e.kind for e in entities])
        grow = len(self.table) - len(self.added_day)
        self.added_day = np.concatenate([self.added_day, np.full(grow, math.nan)])
        self.popularity = np.concatenate([self.popularity, np.zeros(grow, dtype=np.float32)])
        self.year = np.concatenate([self.year, np.full(grow, -1, dtype=np.int32)])
        for entity, position in zip(entities, positions):
            self.added_day[position], self.popularity[position], self.year[position] = entity_row(entity)
            _index_terms((self.tokens, self.tags, self.artists), entity, position, self.artist_info, self.cache)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.table.base.save(directory, "entity_ids")
        arrays = {"entity_kinds": self.table.kinds, "added_day": self.added_day, "popularity": self.popularity,
                  "year": self.year}
        for name, values in arrays.items():
            np.save(directory / f"{name}.npy", values, allow_pickle=False)
        for name in FAMILIES:
            getattr(self, name).save(directory, name)
        extra = {"added_ids": self.table.added, "artist_info": self.artist_info,
                 "extra": {name: getattr(self, name).extra for name in FAMILIES}}
        (directory / "exploration_index.json").write_text(json.dumps(extra, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ExplorationIndex:
        extra = json.loads((directory / "exploration_index.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(directory / f"{name}.npy", allow_pickle=False)
                  for name in ("entity_kinds", "added_day", "popularity", "year")}
        table = EntityTable(StringTable.load(directory, "entity_ids"), arrays["entity_kinds"], extra["added_ids"])
        families = [TermPostings.load(directory, name) for name in FAMILIES]
        for name, family in zip(FAMILIES, families):
            family.extra = extra["extra"][name]
        info = {key: (value[0], list(value[1])) for key, value in extra["artist_info"].items()}
        return cls(table, arrays["added_day"], arrays["popularity"], arrays["year"], *families, info)

    @property
    def nbytes(self) -> int:
        arrays = (self.added_day, self.popularity, self.year, self.table.kinds)
        return int(sum(a.nbytes for a in arrays) + self.table.base.nbytes
                   + self.tokens.nbytes + self.tags.nbytes + self.artists.nbytes)


def _scan(entities: Iterable[Entity], stage: Stage | None) -> tuple[list[str], list[str], list, tuple, dict]:
    """One pass over the stream: ids, kinds, attribute rows, term families (stream positions), artist info."""
    ids: list[str] = []
    kinds: list[str] = []
    rows: list[tuple[float, float, int]] = []
    families = (_Terms(), _Terms(), _Terms())
    artist_info: dict[str, tuple[str, list[str]]] = {}
    pending: list[tuple[Entity, int]] = []
    cache = TermCache()
    for entity in entities:
        if entity.kind == "artist":
            artist_info[entity.entity_id] = (entity.name, tag_names(entity, cache))
        if entity.artist_id and not entity.artist_name:  # waits for its artist's name
            pending.append((entity, len(ids)))
        else:
            _index_terms(families, entity, len(ids), artist_info, cache)
        ids.append(entity.entity_id)
        kinds.append(entity.kind)
        rows.append(entity_row(entity))
        if stage is not None and len(ids) % PROGRESS_STEP == 0:
            stage.update(PROGRESS_STEP)
    if stage is not None:
        stage.update(len(ids) % PROGRESS_STEP)
        stage.close()
    for entity, position in pending:
        _index_terms(families, entity, position, artist_info, cache)
    return ids, kinds, rows, families, artist_info


def _index_terms(families, entity: Entity, position: int, artist_info: dict[str, tuple[str, list[str]]],
                 cache: TermCache) -> None:
    """Add the entity's tokens, tags and artist key to the three families (_Terms or TermPostings)."""
    tags = tag_names(entity, cache)
    artist = entity.artist_name
    if not artist and entity.artist_id in artist_info:
        artist, artist_tags = artist_info[entity.artist_id]
        tags = tags or list(artist_tags)
    tokens, tag_set, artist_key = entity_terms(entity, artist, tags, cache)
    for token in tokens:
        families[0].add(token, position)
    for tag in tag_set:
        families[1].add(tag, position)
    if artist_key:
        families[2].add(artist_key, position)
