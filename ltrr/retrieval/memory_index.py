"""Compact catalog-scale structures of the memory generator: entity positions and predicted query lists.

`EntityTable` maps entity ids to dense int positions (and kinds); `PredictedIndex` maps a query key to its
predicted entities, best first, as one CSR matrix (key row -> entity positions and float32 scores) plus a
small dict overlay for entities added after fit, folded into the CSR once it grows (`compacted`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import ENTITY_KINDS, EntityKind
from .string_table import StringTable

_KIND_CODES = {kind: code for code, kind in enumerate(ENTITY_KINDS)}
# Fold the overlay into the CSR once it holds more than this many pairs, or this share of the CSR's if more.
COMPACT_MIN_PAIRS = 100_000
COMPACT_SHARE = 0.25


class EntityTable:
    """Entity ids <-> positions 0..n-1, with each entity's kind.

    Ids known at fit are packed sorted (position = rank of the id); ids added later take the next positions.
    """

    def __init__(self, base: StringTable, kinds: np.ndarray, added: Sequence[str] = ()) -> None:
        self.base = base
        self.kinds = kinds  # uint8 codes into ENTITY_KINDS, one per position
        self.added = list(added)
        self._added_positions = {entity_id: len(base) + i for i, entity_id in enumerate(self.added)}
        self._lookup: dict[str, int] | None = None  # built by the first `position`

    @classmethod
    def build(cls, ids: Sequence[str], kinds: Sequence[str]) -> tuple[EntityTable, np.ndarray]:
        """The table of `ids`, and the new position of each input position (`remap[i]` for `ids[i]`)."""
        order = sorted(range(len(ids)), key=ids.__getitem__)
        sorted_ids = [ids[i] for i in order]
        for previous, current in zip(sorted_ids, sorted_ids[1:]):
            if previous == current:
                raise ValueError(f"entity id {current!r} occurs twice in the entities given to fit; "
                                 "give each entity once")
        remap = np.empty(len(ids), dtype=np.int64)
        remap[np.asarray(order, dtype=np.int64)] = np.arange(len(ids))
        codes = np.asarray([_KIND_CODES[kinds[i]] for i in order], dtype=np.uint8)
        return cls(StringTable.of_sorted(sorted_ids), codes), remap

    def __len__(self) -> int:
        return len(self.kinds)

    def position(self, entity_id: str) -> int:
        """The entity's position, or -1 when the table does not hold it.

        The first lookup builds an id -> position dict of the packed ids: a search looks up its whole pool
        (hundreds of ids), and a dict answers each in one hash where the packed table's binary search decodes
        ~18 strings. About 35 MB at 250k ids; tables that are only built and saved never pay it."""
        if self._lookup is None:
            self._lookup = {entity_id: i for i, entity_id in enumerate(self.base)}
        found = self._lookup.get(entity_id)
        return found if found is not None else self._added_positions.get(entity_id, -1)

    def entity_id(self, position: int) -> str:
        return self.base[position] if position < len(self.base) else self.added[position - len(self.base)]

    def entity_ids(self, positions: Sequence[int]) -> list[str]:
        """`entity_id` of each position, the packed ones decoded in one batch."""
        n_base = len(self.base)
        if all(position < n_base for position in positions):
            return self.base.take(positions)
        return [self.entity_id(position) for position in positions]

    def kind(self, position: int) -> EntityKind:
        return ENTITY_KINDS[self.kinds[position]]

    def append(self, ids: Sequence[str], kinds: Sequence[str]) -> list[int]:
        """Positions of `ids`, appending the unknown ones; a known id keeps its position and takes the new kind."""
        positions = []
        new_codes = []
        for entity_id, kind in zip(ids, kinds):
            position = self.position(entity_id)
            if position < 0:
                position = len(self) + len(new_codes)
                self.added.append(entity_id)
                self._added_positions[entity_id] = position
                new_codes.append(_KIND_CODES[kind])
            else:
                self.kinds[position] = _KIND_CODES[kind]
            positions.append(position)
        self.kinds = np.concatenate([self.kinds, np.asarray(new_codes, dtype=np.uint8)])
        return positions


class PredictedIndex:
    """Query key -> predicted (entity position, score), best first, at most `max_per_key` entities a key.

    A (key, entity) pair predicted more than once keeps its highest score; ties order by position.
    """

    def __init__(self, keys: StringTable, indptr: np.ndarray, entities: np.ndarray, scores: np.ndarray,
                 max_per_key: int) -> None:
        self.keys = keys
        self.indptr = indptr  # int64, len(keys) + 1
        self.entities = entities  # int32 positions, each key's row sorted by score descending
        self.scores = scores  # float32
        self.max_per_key = max_per_key
        self.overlay: dict[str, dict[int, float]] = {}  # pairs added since the CSR was built
        self.overlay_pairs = 0

    @classmethod
    def build(cls, keys: Sequence[str], rows: np.ndarray, positions: np.ndarray, scores: np.ndarray,
              max_per_key: int) -> PredictedIndex:
        """Group triples (keys[rows[i]], positions[i], scores[i]) by key, best first, max_per_key a key.

        `keys` are distinct; `rows` index into them.
        """
        order = sorted(range(len(keys)), key=keys.__getitem__)
        table = StringTable.of_sorted([keys[i] for i in order])
        sorted_row = np.empty(len(keys), dtype=np.int64)
        sorted_row[np.asarray(order, dtype=np.int64)] = np.arange(len(keys))
        rows = sorted_row[np.asarray(rows, dtype=np.int64)]
        positions = np.asarray(positions, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float32)
        order = np.lexsort((-scores, positions, rows))  # per (row, entity): best score first
        rows, positions, scores = rows[order], positions[order], scores[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (positions[1:] != positions[:-1])
        rows, positions, scores = rows[first], positions[first], scores[first]
        order = np.lexsort((positions, -scores, rows))
        rows, positions, scores = rows[order], positions[order], scores[order]
        starts = np.searchsorted(rows, rows, side="left")
        keep = (np.arange(len(rows)) - starts) < max_per_key
        rows, positions, scores = rows[keep], positions[keep], scores[keep]
        indptr = np.zeros(len(table) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(table)), out=indptr[1:])
        return cls(table, indptr, positions.astype(np.int32), scores, max_per_key)

    @property
    def n_pairs(self) -> int:
        return int(len(self.entities)) + self.overlay_pairs

    @property
    def nbytes(self) -> int:
        """Bytes of the CSR arrays and packed keys (the overlay dict is not counted)."""
        return int(self.keys.nbytes + self.indptr.nbytes + self.entities.nbytes + self.scores.nbytes)

    def lookup(self, key: str) -> dict[int, float]:
        """Predicted entity position -> score for `key` ({} when nothing is predicted)."""
        row = self.keys.find(key)
        found: dict[int, float] = {}
        if row >= 0:
            start, end = self.indptr[row], self.indptr[row + 1]
            found = dict(zip(self.entities[start:end].tolist(), self.scores[start:end].tolist()))
        for position, score in self.overlay.get(key, {}).items():
            if score > found.get(position, 0.0):
                found[position] = score
        return found

    def add(self, keys: Sequence[str], positions: Sequence[int], scores: Sequence[float]) -> list[str]:
        """Add predicted pairs to the overlay; returns the keys that neither the CSR nor the overlay had."""
        new_keys = []
        for key, position, score in zip(keys, positions, scores):
            pairs = self.overlay.get(key)
            if pairs is None:
                pairs = self.overlay[key] = {}
                if self.keys.find(key) < 0:
                    new_keys.append(key)
            if position not in pairs:
                self.overlay_pairs += 1
            pairs[position] = max(score, pairs.get(position, 0.0))
        return new_keys

    def needs_compaction(self) -> bool:
        return self.overlay_pairs > max(COMPACT_MIN_PAIRS, COMPACT_SHARE * len(self.entities))

    def compacted(self) -> PredictedIndex:
        """A new index with the overlay folded into the CSR (and cut to max_per_key like the rest)."""
        keys = list(self.keys)
        new_rows = {key: len(keys) + i for i, key in enumerate(k for k in self.overlay if self.keys.find(k) < 0)}
        keys.extend(new_rows)
        rows = [np.repeat(np.arange(len(self.keys), dtype=np.int64), np.diff(self.indptr))]
        positions = [self.entities.astype(np.int64)]
        scores = [self.scores]
        for key, pairs in self.overlay.items():
            row = new_rows[key] if key in new_rows else self.keys.find(key)
            rows.append(np.full(len(pairs), row, dtype=np.int64))
            positions.append(np.fromiter(pairs.keys(), dtype=np.int64, count=len(pairs)))
            scores.append(np.fromiter(pairs.values(), dtype=np.float32, count=len(pairs)))
        return PredictedIndex.build(keys, np.concatenate(rows), np.concatenate(positions), np.concatenate(scores),
                                    self.max_per_key)
