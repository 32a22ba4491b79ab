"""CatalogStore: the catalog in any SQLAlchemy database (SQLite by default).

    >>> store = CatalogStore.open("sqlite://")
    >>> with store.writer() as writer:
    ...     _ = writer.upsert_entities([Entity("demo:artist:a1", "artist", "Vela Moss", "demo", "a1")])
    >>> store.counts().artists
    1
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import aliased

from ..errors import UnknownEntityError
from ..types import Affinity, CatalogCounts, Entity, Popularity, TagWeight, UserProfile
from .db import open_engine
from .schema import EntityRow, entities, entity_tags, meta, playlist_tracks, tags, user_artists, user_tags, users
from .writer import POPULARITY_COLUMNS, CatalogWriter, chunks


class CatalogStore:
    """Batch reads and transactional writes of catalog entities, tags, playlists and user profiles."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, db: str | Path) -> CatalogStore:
        """Open (and create if needed) the store at a file path or SQLAlchemy URL."""
        return cls(open_engine(db))

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writer(self) -> Iterator[CatalogWriter]:
        """One transaction: every write inside commits together, or none does (on error or crash)."""
        with self.engine.begin() as conn:
            writer = CatalogWriter(conn, datetime.now(UTC).replace(tzinfo=None))
            yield writer
            if writer.n_changed:
                _bump_revision(conn)

    def revision(self) -> int:
        """A counter raised by every write transaction that changed the catalog (0 for a store never written):
        indexes record the revision they were built from, so an unchanged catalog needs no rebuild."""
        with self.engine.connect() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == REVISION_KEY)).scalar()
        return int(found or 0)

    def counts(self) -> CatalogCounts:
        with self.engine.connect() as conn:
            by_kind = dict(conn.execute(select(entities.c.kind, func.count()).group_by(entities.c.kind)).all())

            def count(table) -> int:
                return conn.execute(select(func.count()).select_from(table)).scalar_one()

            return CatalogCounts(
                tracks=by_kind.get("track", 0), artists=by_kind.get("artist", 0), albums=by_kind.get("album", 0),
                playlists=by_kind.get("playlist", 0), tags=count(tags), entity_tags=count(entity_tags),
                playlist_tracks=count(playlist_tracks), users=count(users))

    def get_entities(self, entity_ids: Sequence[str]) -> list[Entity]:
        """Entities in the order of `entity_ids`; raises UnknownEntityError naming ids not in the catalog."""
        found: dict[str, Entity] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(entity_ids))):
                found.update((e.entity_id, e) for e in _load(conn, entities.c.id.in_(chunk)))
        missing = [entity_id for entity_id in entity_ids if entity_id not in found]
        if missing:
            raise UnknownEntityError(f"{len(missing)} entity ids are not in the catalog: {missing[:5]}; "
                                     "check the id or ingest the entity first")
        return [found[entity_id] for entity_id in entity_ids]

    def iter_batches(self, kind: str | None = None, batch_size: int = 2000) -> Iterator[list[Entity]]:
        """Stream entities (optionally of one kind) in id order, a batch at a time, in bounded memory."""
        last = ""
        while True:
            with self.engine.connect() as conn:
                ids_query = select(entities.c.id).where(entities.c.id > last).order_by(entities.c.id).limit(batch_size)
                if kind is not None:
                    ids_query = ids_query.where(entities.c.kind == kind)
                ids = list(conn.execute(ids_query).scalars())
                if not ids:
                    return
                batch = sorted(_load(conn, entities.c.id.in_(ids)), key=lambda e: e.entity_id)
            last = ids[-1]
            yield batch

    def iter_entities(self, kind: str | None = None, batch_size: int = 2000) -> Iterator[Entity]:
        for batch in self.iter_batches(kind, batch_size):
            yield from batch

    def name_keys(self, kind: str) -> list[tuple[str, str, str]]:
        """(entity_id, name, name_key) of every entity of `kind`, for matching other sources against it."""
        with self.engine.connect() as conn:
            query = select(entities.c.id, entities.c.name, entities.c.name_key).where(entities.c.kind == kind)
            return [tuple(row) for row in conn.execute(query)]

    def track_artist_keys(self) -> list[tuple[str, str, str]]:
        """(track_id, track title key, artist name key) of every track with an artist."""
        artist = aliased(EntityRow)
        query = (select(EntityRow.id, EntityRow.name_key, artist.name_key)
                 .join(artist, artist.id == EntityRow.artist_id).where(EntityRow.kind == "track"))
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def track_counts_by_artist(self) -> dict[str, int]:
        """Number of catalog tracks per artist id (artists without tracks are absent)."""
        query = (select(entities.c.artist_id, func.count()).where(entities.c.kind == "track",
                                                                 entities.c.artist_id.is_not(None))
                 .group_by(entities.c.artist_id))
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def playlist_memberships(self) -> dict[str, list[str]]:
        """Every playlist's ordered track ids (repeats kept), for index builds."""
        query = select(playlist_tracks.c.playlist_id, playlist_tracks.c.track_id).order_by(
            playlist_tracks.c.playlist_id, playlist_tracks.c.position)
        lists: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for playlist_id, track_id in conn.execute(query):
                lists.setdefault(playlist_id, []).append(track_id)
        return lists

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        with self.engine.connect() as conn:
            query = (select(playlist_tracks.c.track_id).where(playlist_tracks.c.playlist_id == playlist_id)
                     .order_by(playlist_tracks.c.position))
            return list(conn.execute(query).scalars())

    def get_user(self, user_id: str) -> UserProfile:
        profiles = self.get_users([user_id])
        if not profiles:
            raise UnknownEntityError(f"user {user_id!r} is not in the store; ingest user profiles first")
        return profiles[0]

    def get_users(self, user_ids: Sequence[str]) -> list[UserProfile]:
        with self.engine.connect() as conn:
            return _load_users(conn, users.c.id.in_(list(user_ids)))

    def iter_users(self, batch_size: int = 500) -> Iterator[UserProfile]:
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(users.c.id).order_by(users.c.id)).scalars())
        for chunk in chunks(ids, batch_size):
            yield from self.get_users(chunk)


def _load(conn: Connection, condition, with_tags: bool = True) -> list[Entity]:
    """Entities matching `condition`, with artist/album names and (own + inherited) tags."""
    artist = entities.alias("artist")
    album = entities.alias("album")
    query = (select(entities, artist.c.name.label("artist_name"), album.c.name.label("album_name"))
             .outerjoin(artist, artist.c.id == entities.c.artist_id)
             .outerjoin(album, album.c.id == entities.c.album_id).where(condition))
    rows = conn.execute(query).all()
    tag_map = _tags_for(conn, {r.id for r in rows} | {r.artist_id for r in rows if r.artist_id}) if with_tags else {}
    return [_entity(row, _entity_tags(row, tag_map)) for row in rows]


def _tags_for(conn: Connection, entity_ids: set[str]) -> dict[str, list[TagWeight]]:
    result: dict[str, list[TagWeight]] = {}
    for chunk in chunks(sorted(entity_ids)):
        query = (select(entity_tags.c.entity_id, tags.c.name, entity_tags.c.weight, entity_tags.c.source)
                 .join(tags, tags.c.id == entity_tags.c.tag_id).where(entity_tags.c.entity_id.in_(chunk)))
        for entity_id, name, weight, source in conn.execute(query):
            result.setdefault(entity_id, []).append(TagWeight(name, weight, source))
    return result


def _entity_tags(row, tag_map: dict[str, list[TagWeight]]) -> tuple[TagWeight, ...]:
    """Own tags, then the artist's tags the entity does not carry itself (source prefixed "artist:")."""
    own = tag_map.get(row.id, [])
    inherited = []
    if row.kind != "artist" and row.artist_id:
        names = {t.tag for t in own}
        inherited = [TagWeight(t.tag, t.weight, "artist:" + t.source)
                     for t in tag_map.get(row.artist_id, []) if t.tag not in names]
    return tuple(sorted(own, key=lambda t: (-t.weight, t.tag, t.source))
                 + sorted(inherited, key=lambda t: (-t.weight, t.tag, t.source)))


def _entity(row, entity_tag_list: tuple[TagWeight, ...]) -> Entity:
    return Entity(
        entity_id=row.id, kind=row.kind, name=row.name, source=row.source, source_id=row.source_id,
        artist_id=row.artist_id, album_id=row.album_id, description=row.description, year=row.year,
        duration_ms=row.duration_ms, added_at=row.added_at,
        popularity=Popularity(**{column: getattr(row, column) for column in POPULARITY_COLUMNS}),
        tags=entity_tag_list, artist_name=row.artist_name, album_name=row.album_name)


def _load_users(conn: Connection, condition) -> list[UserProfile]:
    found = conn.execute(select(users.c.id, users.c.source).where(condition).order_by(users.c.id)).all()
    ids = [row.id for row in found]
    artist_rows: dict[str, list[Affinity]] = {}
    tag_rows: dict[str, list[Affinity]] = {}
    for chunk in chunks(ids):
        for user_id, artist_id, weight, count in conn.execute(
                select(user_artists.c.user_id, user_artists.c.artist_id, user_artists.c.weight,
                       user_artists.c.count).where(user_artists.c.user_id.in_(chunk))):
            artist_rows.setdefault(user_id, []).append(Affinity(artist_id, weight, count))
        for user_id, name, weight, count in conn.execute(
                select(user_tags.c.user_id, tags.c.name, user_tags.c.weight, user_tags.c.count)
                .join(tags, tags.c.id == user_tags.c.tag_id).where(user_tags.c.user_id.in_(chunk))):
            tag_rows.setdefault(user_id, []).append(Affinity(name, weight, count))

    def ordered(items: list[Affinity]) -> tuple[Affinity, ...]:
        return tuple(sorted(items, key=lambda a: (-a.weight, a.key)))

    return [UserProfile(row.id, row.source, ordered(artist_rows.get(row.id, [])), ordered(tag_rows.get(row.id, [])))
            for row in found]


REVISION_KEY = "catalog_revision"


def _bump_revision(conn: Connection) -> None:
    """Raise the revision inside the writing transaction, so it commits (or rolls back) with the data."""
    found = conn.execute(select(meta.c.value).where(meta.c.key == REVISION_KEY).with_for_update()).scalar()
    if found is None:
        conn.execute(meta.insert().values(key=REVISION_KEY, value="1"))
    else:
        conn.execute(meta.update().where(meta.c.key == REVISION_KEY).values(value=str(int(found) + 1)))
