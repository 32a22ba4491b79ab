"""SQLAlchemy tables of the catalog store (SQLAlchemy 2 typed ORM).

One `entities` table holds every kind (track, artist, album, playlist): generators iterate all kinds
alike and candidates carry one id space. Kind-specific columns are nullable. Tags are weighted per
(entity, tag, source); a track's inherited artist tags are derived on read, not stored.
See catalog/FIELDS.md for every field.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    """Key-value facts about the store itself (schema version)."""

    __tablename__ = "ltrr_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class EntityRow(Base):
    __tablename__ = "entities"
    __table_args__ = (
        UniqueConstraint("source", "kind", "source_id", name="uq_entities_source_kind_source_id"),
        CheckConstraint("kind IN ('track', 'artist', 'album', 'playlist')", name="ck_entities_kind"),
        Index("ix_entities_kind_name_key", "kind", "name_key"),
        Index("ix_entities_kind_id", "kind", "id"),  # streaming one kind in id order
        Index("ix_entities_artist_id", "artist_id"),
        Index("ix_entities_album_id", "album_id"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(String(1024))
    artist_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    album_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    description: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    playlist_count: Mapped[int | None] = mapped_column(Integer)
    follower_sum: Mapped[int | None] = mapped_column(BigInteger)
    chart_points: Mapped[int | None] = mapped_column(Integer)
    chart_best_rank: Mapped[int | None] = mapped_column(Integer)
    play_count: Mapped[int | None] = mapped_column(BigInteger)
    source_popularity: Mapped[float | None] = mapped_column(Float)


class TagRow(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class EntityTagRow(Base):
    __tablename__ = "entity_tags"
    __table_args__ = (
        CheckConstraint("weight >= 0 AND weight <= 1", name="ck_entity_tags_weight"),
        Index("ix_entity_tags_tag_id", "tag_id"),
    )
    entity_id: Mapped[str] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)


class PlaylistTrackRow(Base):
    __tablename__ = "playlist_tracks"
    __table_args__ = (Index("ix_playlist_tracks_track_id", "track_id"),)
    playlist_id: Mapped[str] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[str] = mapped_column(ForeignKey("entities.id"))


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))


class UserArtistRow(Base):
    __tablename__ = "user_artists"
    __table_args__ = (CheckConstraint("weight >= 0 AND weight <= 1", name="ck_user_artists_weight"),)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    artist_id: Mapped[str] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger)


class UserTagRow(Base):
    __tablename__ = "user_tags"
    __table_args__ = (CheckConstraint("weight >= 0 AND weight <= 1", name="ck_user_tags_weight"),)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger)


entities = EntityRow.__table__
tags = TagRow.__table__
entity_tags = EntityTagRow.__table__
playlist_tracks = PlaylistTrackRow.__table__
users = UserRow.__table__
user_artists = UserArtistRow.__table__
user_tags = UserTagRow.__table__
meta = MetaRow.__table__
