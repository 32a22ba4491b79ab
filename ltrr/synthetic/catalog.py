"""generate_catalog: the seeded demo catalog as frozen data, ready for `write_catalog`.

    >>> from ltrr.config import SyntheticCatalogConfig
    >>> catalog = generate_catalog(SyntheticCatalogConfig(n_artists=5, n_playlists=2, n_users=2))
    >>> catalog.tracks[0].entity_id, catalog.tracks[0].artist_id
    ('demo:track:t000001', 'demo:artist:a0001')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ..ids import entity_id
from ..types import Entity, Popularity, UserProfile
from .playlists import PlaylistDraft, TrackTable, draft_playlists
from .releases import SOURCE, Releases, draft_releases
from .users import draft_users

if TYPE_CHECKING:
    from ..config import SyntheticCatalogConfig


@dataclass(frozen=True)
class SyntheticCatalog:
    """Entities (source "demo", own tags on `Entity.tags`), playlist contents and user profiles.

    Artist `year` is the debut year; album `duration_ms` is the sum of its tracks. Popularity counts
    (`playlist_count`, `follower_sum`) are computed from the generated playlists, so they agree with them.
    """

    artists: tuple[Entity, ...]
    albums: tuple[Entity, ...]
    tracks: tuple[Entity, ...]
    playlists: tuple[Entity, ...]
    playlist_tracks: Mapping[str, tuple[str, ...]]  # playlist id -> ordered track ids
    users: tuple[UserProfile, ...]

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Every entity, in the order foreign keys need: artists, albums, tracks, playlists."""
        return self.artists + self.albums + self.tracks + self.playlists


def generate_catalog(config: SyntheticCatalogConfig) -> SyntheticCatalog:
    """Build the whole catalog from `config.seed`: the same config always gives an equal catalog."""
    rng = np.random.default_rng(config.seed)
    releases = draft_releases(rng, config)
    table = TrackTable.of(releases, config.genres)
    playlists = draft_playlists(rng, config, releases, table)
    users = draft_users(rng, config, releases)
    return _assemble(releases, playlists, users)


def _id(kind: str, key: str) -> str:
    return entity_id(SOURCE, kind, key)  # type: ignore[arg-type]


def _assemble(releases: Releases, playlists: tuple[PlaylistDraft, ...],
              users: tuple[UserProfile, ...]) -> SyntheticCatalog:
    n_tracks = len(releases.tracks)
    track_artist = np.array([t.artist for t in releases.tracks], dtype=int)
    track_album = np.array([t.album for t in releases.tracks], dtype=int)
    # membership[i, j]: track i is in playlist j; artists and albums count a playlist once
    membership = np.zeros((n_tracks, len(playlists)), dtype=bool)
    for j, playlist in enumerate(playlists):
        membership[list(playlist.tracks), j] = True
    followers = np.array([p.followers for p in playlists], dtype=np.int64)
    plays = np.array([t.plays for t in releases.tracks], dtype=np.int64)
    track_pop = _popularity(membership, followers, plays)
    artist_pop = _popularity(_group(membership, track_artist, len(releases.artists)), followers,
                             np.bincount(track_artist, weights=plays, minlength=len(releases.artists)))
    album_pop = _popularity(_group(membership, track_album, len(releases.albums)), followers,
                            np.bincount(track_album, weights=plays, minlength=len(releases.albums)))
    album_ms = np.bincount(track_album, weights=[t.duration_ms for t in releases.tracks],
                           minlength=len(releases.albums))
    artist_added = {}
    for album in releases.albums:
        artist_added[album.artist] = min(artist_added.get(album.artist, album.added_at), album.added_at)

    artists = tuple(Entity(_id("artist", a.key), "artist", a.name, SOURCE, a.key, year=a.debut,
                           added_at=artist_added[i], popularity=artist_pop[i], tags=a.tags)
                    for i, a in enumerate(releases.artists))
    albums = tuple(Entity(_id("album", b.key), "album", b.title, SOURCE, b.key,
                          artist_id=artists[b.artist].entity_id, year=b.year, duration_ms=int(album_ms[i]),
                          added_at=b.added_at, popularity=album_pop[i])
                   for i, b in enumerate(releases.albums))
    tracks = tuple(Entity(_id("track", t.key), "track", t.title, SOURCE, t.key,
                          artist_id=artists[t.artist].entity_id, album_id=albums[t.album].entity_id, year=t.year,
                          duration_ms=t.duration_ms, added_at=t.added_at, popularity=track_pop[i], tags=t.tags)
                   for i, t in enumerate(releases.tracks))
    playlist_entities = tuple(Entity(_id("playlist", p.key), "playlist", p.theme.name, SOURCE, p.key,
                                     description=p.theme.description, added_at=p.added_at,
                                     popularity=Popularity(follower_sum=p.followers), tags=p.tags)
                              for p in playlists)
    contents = MappingProxyType({entity.entity_id: tuple(tracks[i].entity_id for i in p.tracks)
                                 for entity, p in zip(playlist_entities, playlists)})
    return SyntheticCatalog(artists, albums, tracks, playlist_entities, contents, users)


def _group(membership: np.ndarray, owner: np.ndarray, n_owners: int) -> np.ndarray:
    """Owner-level membership: an artist (album) is in a playlist when any of its tracks is."""
    grouped = np.zeros((n_owners, membership.shape[1]), dtype=bool)
    np.logical_or.at(grouped, owner, membership)
    return grouped


def _popularity(membership: np.ndarray, followers: np.ndarray, plays: np.ndarray) -> list[Popularity]:
    """Playlist counts and follower sums from membership; a 0-100 score on log plays, like a streaming service's."""
    counts = membership.sum(axis=1)
    follower_sums = membership.astype(np.int64) @ followers
    scores = 100.0 * np.log1p(plays) / max(float(np.log1p(plays.max())), 1.0)
    rows = zip(counts, follower_sums, plays, scores)
    return [Popularity(playlist_count=int(c), follower_sum=int(f), play_count=int(p),
                       source_popularity=round(float(s), 1)) for c, f, p, s in rows]
