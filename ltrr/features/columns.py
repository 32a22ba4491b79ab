"""PoolColumns: what the ranking features read about a pool's entities, one column per attribute.

Features read columns, not `Entity` objects: the engine gathers a pool's columns straight from the index
build's entity table (`EntityTable.columns`, a few numpy gathers) and makes `Entity` objects only for the
results it shows. Building an object per candidate (popularity, tags, dates) cost more than all the features
together. `PoolColumns.from_entities` gives the same columns from objects (tests, entities written to the
store after the build).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property

import numpy as np

from ..retrieval.memory_stats import to_day
from ..types import Entity

POPULARITY_SIGNALS = ("playlist_count", "follower_sum", "chart_points", "chart_best_rank", "play_count",
                      "source_popularity")


class PoolColumns:
    """Entity attributes aligned with a pool's items (row i describes `entity_ids[i]`). Read-only.

    kinds: entity kinds ("track", ...); names: titles (a track or album) or names; artist_ids / artist_names /
    album_names: None where unknown or not applicable; years: release years, NaN when unknown (a year of 0 is
    a placeholder: NaN); added_days: days from 1970-01-01 (naive UTC) to `added_at`, NaN when unknown;
    popularity: (n, 6) signals in POPULARITY_SIGNALS order, NaN when unknown; tags: each row's tags flattened in
    row order, `tag_counts[i]` of them for row i, as (tag_names, tag_weights).

    Built with every column (the constructor, `from_entities`), or deferred (`deferred`, `take`): a column is
    then gathered when a feature first reads it, so a build of a few features gathers only what they read.
    """

    COLUMNS = ("kinds", "names", "artist_ids", "artist_names", "album_names", "years", "added_days", "popularity")
    TAGS = ("tag_counts", "tag_names", "tag_weights")  # gathered together

    entity_ids: Sequence[str]
    kinds: Sequence[str]
    names: Sequence[str]
    artist_ids: Sequence[str | None]
    artist_names: Sequence[str | None]
    album_names: Sequence[str | None]
    years: np.ndarray
    added_days: np.ndarray
    popularity: np.ndarray
    tag_counts: np.ndarray
    tag_names: Sequence[str]
    tag_weights: np.ndarray

    def __init__(self, entity_ids: Sequence[str], kinds: Sequence[str], names: Sequence[str],
                 artist_ids: Sequence[str | None], artist_names: Sequence[str | None],
                 album_names: Sequence[str | None], years: np.ndarray, added_days: np.ndarray,
                 popularity: np.ndarray, tag_counts: np.ndarray, tag_names: Sequence[str],
                 tag_weights: np.ndarray) -> None:
        self.entity_ids = entity_ids
        self._load: Callable[[str], object] | None = None
        for name, value in zip(self.COLUMNS, (kinds, names, artist_ids, artist_names, album_names, years, added_days,
                                              popularity), strict=True):
            self._check(name, value)
            setattr(self, name, value)
        self._set_tags((tag_counts, tag_names, tag_weights))

    @classmethod
    def deferred(cls, entity_ids: Sequence[str], load: Callable[[str], object]) -> PoolColumns:
        """Columns gathered on first read: `load(name)` returns column `name` of COLUMNS, and `load("tags")`
        the (tag_counts, tag_names, tag_weights) triple; each is checked like the constructor's arguments."""
        columns = cls.__new__(cls)
        columns.entity_ids = entity_ids
        columns._load = load
        return columns

    def __getattr__(self, name: str) -> object:
        # only called for an attribute not set yet: a deferred column, gathered now and kept
        load = self.__dict__.get("_load")
        if load is not None and name in self.COLUMNS:
            value = load(name)
            self._check(name, value)
            setattr(self, name, value)
            return value
        if load is not None and name in self.TAGS:
            self._set_tags(load("tags"))
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check(self, name: str, value) -> None:
        n = len(self.entity_ids)
        if name == "popularity":
            if np.shape(value) != (n, len(POPULARITY_SIGNALS)):
                raise ValueError(f"PoolColumns.popularity must have shape ({n}, {len(POPULARITY_SIGNALS)}), "
                                 f"got {np.shape(value)}")
        elif len(value) != n:
            raise ValueError(f"PoolColumns.{name} has {len(value)} rows for {n} entity ids; every column must "
                             "have one row per entity")

    def _set_tags(self, tags: tuple[np.ndarray, Sequence[str], np.ndarray]) -> None:
        counts, names, weights = tags
        self._check("tag_counts", counts)
        n_tags = int(np.sum(counts))
        if len(names) != n_tags or len(weights) != n_tags:
            raise ValueError(f"PoolColumns tags: tag_counts add up to {n_tags} but there are {len(names)} names "
                             f"and {len(weights)} weights")
        self.tag_counts, self.tag_names, self.tag_weights = counts, names, weights

    def __len__(self) -> int:
        return len(self.entity_ids)

    @cached_property
    def own_artist_ids(self) -> list[str | None]:
        """The entity's artist id: its own id for an artist."""
        return [entity_id if kind == "artist" else artist_id
                for entity_id, kind, artist_id in zip(self.entity_ids, self.kinds, self.artist_ids)]

    @cached_property
    def own_artist_names(self) -> list[str | None]:
        """The name of the entity's artist: its own name for an artist, None for a playlist or when unknown."""
        return [name if kind == "artist" else artist
                for name, kind, artist in zip(self.names, self.kinds, self.artist_names)]

    def take(self, rows: np.ndarray) -> PoolColumns:
        """The columns of rows `rows` (indices, in the order given), each taken when first read."""
        rows = np.asarray(rows, dtype=np.int64)
        pick = rows.tolist()

        def load(name: str) -> object:
            if name == "tags":
                counts = self.tag_counts
                ends = np.cumsum(counts)
                starts = ends - counts
                tag_rows = [t for i in pick for t in range(starts[i], ends[i])]
                return counts[rows], [self.tag_names[i] for i in tag_rows], \
                    self.tag_weights[np.array(tag_rows, dtype=np.int64)]
            values = getattr(self, name)
            return values[rows] if isinstance(values, np.ndarray) else [values[i] for i in pick]

        return PoolColumns.deferred([self.entity_ids[i] for i in pick], load)

    @classmethod
    def from_entities(cls, entities: Sequence[Entity]) -> PoolColumns:
        """The columns of `entities`, in their order."""
        popularity = np.array([[np.nan if value is None else value
                                for value in (getattr(entity.popularity, signal) for signal in POPULARITY_SIGNALS)]
                               for entity in entities], dtype=np.float64).reshape(len(entities),
                                                                                  len(POPULARITY_SIGNALS))
        tags = [tag for entity in entities for tag in entity.tags]
        return cls([e.entity_id for e in entities], [e.kind for e in entities], [e.name for e in entities],
                   [e.artist_id for e in entities], [e.artist_name for e in entities],
                   [e.album_name for e in entities],
                   np.array([e.year or np.nan for e in entities], dtype=np.float64).reshape(len(entities)),
                   np.array([days_since_epoch(e.added_at) for e in entities], dtype=np.float64).reshape(len(entities)),
                   popularity, np.array([len(e.tags) for e in entities], dtype=np.int64).reshape(len(entities)),
                   [tag.tag for tag in tags], np.array([tag.weight for tag in tags], dtype=np.float64))


def days_since_epoch(moment: datetime | None) -> float:
    """`memory_stats.to_day` (days from 1970-01-01, naive UTC; an aware moment converted), NaN for None."""
    return np.nan if moment is None else to_day(moment)
