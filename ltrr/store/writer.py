"""Change-detecting batch writes inside one transaction: insert new rows, update changed ones, skip the rest.

Every method reports `WriteCounts`, so an ingest can say what it changed and a second identical
ingest reports only `unchanged`. A `CatalogWriter` lives inside `CatalogStore.writer()`: all of its
writes commit together or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, delete, select, update

from ..errors import UnknownEntityError
from ..text import name_key, tag_name, title_key
from ..types import Entity, UserProfile
from .schema import entities, entity_tags, playlist_tracks, tags, user_artists, user_tags, users

CHUNK = 1000
WEIGHT_DECIMALS = 6
POPULARITY_COLUMNS = ("playlist_count", "follower_sum", "chart_points", "chart_best_rank", "play_count",
                      "source_popularity")
ENTITY_COLUMNS = ("name", "artist_id", "album_id", "description", "year", "duration_ms", "added_at",
                  *POPULARITY_COLUMNS)
# added_at is set on insert; an update writes it only when asked for by name and given.
UPSERT_FIELDS = tuple(column for column in ENTITY_COLUMNS if column != "added_at")
Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """How many records a write inserted, updated, or found already identical."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def entity_key(entity: Entity) -> str:
    """The stored matching key: version-free title for tracks and albums, name key otherwise."""
    return title_key(entity.name) if entity.kind in ("track", "album") else name_key(entity.name)


def entity_columns(entity: Entity) -> dict[str, Any]:
    """Flatten an Entity into its `entities` row."""
    row = {"id": entity.entity_id, "kind": entity.kind, "source": entity.source, "source_id": entity.source_id,
           "name": entity.name, "name_key": entity_key(entity), "artist_id": entity.artist_id,
           "album_id": entity.album_id, "description": entity.description, "year": entity.year,
           "duration_ms": entity.duration_ms, "added_at": entity.added_at}
    row.update({column: getattr(entity.popularity, column) for column in POPULARITY_COLUMNS})
    return row


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        if old is None or new is None:
            return old is new
        return math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=1e-12)
    return old == new


def _weight(value: float) -> float:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"tag and affinity weights must be in [0, 1], got {value!r}")
    return round(float(value), WEIGHT_DECIMALS)


class CatalogWriter:
    """Writes to the catalog inside one open transaction (see `CatalogStore.writer`)."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.n_changed = 0  # records inserted or updated so far: a change bumps the catalog revision

    def upsert_entities(self, batch: Sequence[Entity], fields: Sequence[str] = UPSERT_FIELDS,
                        progress: Progress | None = None) -> WriteCounts:
        """Insert new entities; update only `fields` of existing ones, and only where they differ.

        Fields a source does not own are left alone, so ingesting another source never erases them.
        `added_at` is set once, on insert (now, unless the entity carries one).
        """
        unknown = set(fields) - set(ENTITY_COLUMNS)
        if unknown:
            raise ValueError(f"unknown entity fields {sorted(unknown)}; writable fields are {ENTITY_COLUMNS}")
        compared = [*dict.fromkeys(["name", *fields])]
        total = WriteCounts()
        for chunk in chunks(batch):
            total += self._upsert_entity_chunk(chunk, compared)
            if progress:
                progress(len(chunk))
        self.n_changed += total.changed
        return total

    def _upsert_entity_chunk(self, chunk: Sequence[Entity], compared: list[str]) -> WriteCounts:
        columns = [entities.c[name] for name in ("id", "kind", *compared)]
        ids = [entity.entity_id for entity in chunk]
        existing = {row.id: row for row in self.conn.execute(select(*columns).where(entities.c.id.in_(ids)))}
        inserts, updates, unchanged = [], [], 0
        for entity in chunk:
            row = entity_columns(entity)
            old = existing.get(entity.entity_id)
            if old is not None and row["added_at"] is None and "added_at" in compared:
                row["added_at"] = old.added_at
            if old is None:
                row["added_at"] = row["added_at"] or self.now
                inserts.append(row)
            elif old.kind != entity.kind:
                raise ValueError(f"entity {entity.entity_id!r} is a {old.kind} in the store, not a {entity.kind}")
            elif all(_same(getattr(old, name), row[name]) for name in compared):
                unchanged += 1
            else:
                updates.append({"b_id": entity.entity_id, "name_key": row["name_key"],
                                **{name: row[name] for name in compared}})
        if inserts:
            self.conn.execute(entities.insert(), inserts)
        if updates:
            values = {name: bindparam(name) for name in ("name_key", *compared)}
            self.conn.execute(update(entities).where(entities.c.id == bindparam("b_id")).values(values), updates)
        return WriteCounts(len(inserts), len(updates), unchanged)

    def set_columns(self, column: str, values: Mapping[str, Any], progress: Progress | None = None) -> WriteCounts:
        """Set one column of existing entities (year, chart_points, ...). Unknown ids raise UnknownEntityError."""
        if column not in ENTITY_COLUMNS or column == "name":
            raise ValueError(f"set_columns cannot write {column!r}; use one of {ENTITY_COLUMNS[1:]}")
        total = WriteCounts()
        for chunk in chunks(sorted(values)):
            found = dict(self.conn.execute(select(entities.c.id, entities.c[column])
                                           .where(entities.c.id.in_(chunk))).all())
            missing = [entity_id for entity_id in chunk if entity_id not in found]
            if missing:
                raise UnknownEntityError(f"{len(missing)} entity ids are not in the catalog, e.g. {missing[:3]}")
            changed = [{"b_id": entity_id, column: values[entity_id]} for entity_id in chunk
                       if not _same(found[entity_id], values[entity_id])]
            if changed:
                self.conn.execute(update(entities).where(entities.c.id == bindparam("b_id"))
                                  .values({column: bindparam(column)}), changed)
            total += WriteCounts(0, len(changed), len(chunk) - len(changed))
            if progress:
                progress(len(chunk))
        self.n_changed += total.changed
        return total

    def tag_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Ids of canonical tag names, creating the tags that do not exist yet."""
        wanted = sorted(set(names))
        found: dict[str, int] = {}
        for chunk in chunks(wanted):
            found.update(self.conn.execute(select(tags.c.name, tags.c.id).where(tags.c.name.in_(chunk))).all())
        missing = [name for name in wanted if name not in found]
        if missing:
            self.conn.execute(tags.insert(), [{"name": name} for name in missing])
            for chunk in chunks(missing):
                found.update(self.conn.execute(select(tags.c.name, tags.c.id)
                                               .where(tags.c.name.in_(chunk))).all())
        return found

    def replace_tags(self, source: str, assignments: Mapping[str, Sequence[tuple[str, float]]],
                     progress: Progress | None = None) -> WriteCounts:
        """Make each listed entity's tags from `source` exactly the given (tag, weight) pairs.

        Tag names are canonicalized (`text.tag_name`); a tag named twice keeps its highest weight.
        Counts are per entity: an entity whose tag set from this source changed counts as updated.
        """
        wanted = {entity_id: _merge_tags(pairs) for entity_id, pairs in assignments.items()}
        ids_by_name = self.tag_ids(name for pairs in wanted.values() for name in pairs)
        total = WriteCounts()
        for chunk in chunks(sorted(wanted)):
            old: dict[str, dict[int, float]] = {}
            rows = self.conn.execute(select(entity_tags.c.entity_id, entity_tags.c.tag_id, entity_tags.c.weight)
                                     .where(entity_tags.c.entity_id.in_(chunk), entity_tags.c.source == source))
            for entity_id, tag_id, weight in rows:
                old.setdefault(entity_id, {})[tag_id] = weight
            new = {entity_id: {ids_by_name[name]: w for name, w in wanted[entity_id].items()} for entity_id in chunk}
            total += self._replace_children(
                entity_tags, entity_tags.c.entity_id, chunk, old, new,
                lambda entity_id, tag_id, w: {"entity_id": entity_id, "tag_id": tag_id, "source": source, "weight": w},
                extra_filter=entity_tags.c.source == source)
            if progress:
                progress(len(chunk))
        self.n_changed += total.changed
        return total

    def replace_playlist_tracks(self, lists: Mapping[str, Sequence[str]],
                                progress: Progress | None = None) -> WriteCounts:
        """Make each listed playlist's track list exactly the given ordered ids (repeats allowed)."""
        total = WriteCounts()
        for chunk in chunks(sorted(lists)):
            old: dict[str, dict[int, str]] = {}
            rows = self.conn.execute(select(playlist_tracks.c.playlist_id, playlist_tracks.c.position,
                                            playlist_tracks.c.track_id)
                                     .where(playlist_tracks.c.playlist_id.in_(chunk)))
            for playlist_id, position, track_id in rows:
                old.setdefault(playlist_id, {})[position] = track_id
            new = {playlist_id: dict(enumerate(lists[playlist_id])) for playlist_id in chunk}
            total += self._replace_children(
                playlist_tracks, playlist_tracks.c.playlist_id, chunk, old, new,
                lambda playlist_id, position, track_id: {"playlist_id": playlist_id, "position": position,
                                                         "track_id": track_id})
            if progress:
                progress(len(chunk))
        self.n_changed += total.changed
        return total

    def upsert_users(self, profiles: Sequence[UserProfile], progress: Progress | None = None) -> WriteCounts:
        """Insert or replace user profiles (their artist and tag affinities)."""
        tag_ids = self.tag_ids(tag_name(a.key) for profile in profiles for a in profile.tags)
        total = WriteCounts()
        for chunk in chunks(profiles):
            ids = [profile.user_id for profile in chunk]
            known = set(self.conn.execute(select(users.c.id).where(users.c.id.in_(ids))).scalars())
            fresh = [{"id": p.user_id, "source": p.source} for p in chunk if p.user_id not in known]
            if fresh:
                self.conn.execute(users.insert(), fresh)
            artists_new = {p.user_id: {a.key: (_weight(a.weight), a.count) for a in p.artists} for p in chunk}
            tags_new = {p.user_id: {tag_ids[tag_name(a.key)]: (_weight(a.weight), a.count) for a in p.tags}
                        for p in chunk}
            changed_artists = self._replace_affinities(user_artists, user_artists.c.artist_id, ids, artists_new)
            changed_tags = self._replace_affinities(user_tags, user_tags.c.tag_id, ids, tags_new)
            changed = {p.user_id for p in chunk if p.user_id in known} & (changed_artists | changed_tags)
            total += WriteCounts(len(fresh), len(changed), len(chunk) - len(fresh) - len(changed))
            if progress:
                progress(len(chunk))
        self.n_changed += total.changed
        return total

    def _replace_affinities(self, table, key_column, ids: Sequence[str],
                            new: Mapping[str, Mapping[Any, tuple[float, int]]]) -> set[str]:
        old: dict[str, dict[Any, tuple[float, int]]] = {}
        rows = self.conn.execute(select(table.c.user_id, key_column, table.c.weight, table.c.count)
                                 .where(table.c.user_id.in_(ids)))
        for user_id, key, weight, count in rows:
            old.setdefault(user_id, {})[key] = (weight, count)
        counts = self._replace_children(
            table, table.c.user_id, ids, old, new,
            lambda user_id, key, value: {"user_id": user_id, key_column.name: key, "weight": value[0],
                                         "count": value[1]})
        return {user_id for user_id in ids if old.get(user_id, {}) != dict(new[user_id])} if counts.changed else set()

    def _replace_children(self, table, parent_column, parents: Sequence[str], old: Mapping[str, Mapping],
                          new: Mapping[str, Mapping], make_row, extra_filter=None) -> WriteCounts:
        """Replace each parent's child rows when its {key: value} map differs from what is stored."""
        changed = [parent for parent in parents if dict(old.get(parent, {})) != dict(new[parent])]
        stale = [parent for parent in changed if parent in old]
        if stale:
            condition = parent_column.in_(stale)
            if extra_filter is not None:
                condition = condition & extra_filter
            self.conn.execute(delete(table).where(condition))
        rows = [make_row(parent, key, value) for parent in changed for key, value in new[parent].items()]
        if rows:
            self.conn.execute(table.insert(), rows)
        inserted = sum(1 for parent in changed if parent not in old)
        return WriteCounts(inserted, len(changed) - inserted, len(parents) - len(changed))


def _merge_tags(pairs: Sequence[tuple[str, float]]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for name, weight in pairs:
        key = tag_name(name)
        if key:
            merged[key] = max(merged.get(key, 0.0), _weight(weight))
    return merged
