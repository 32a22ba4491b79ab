"""CatalogSnapshot: the catalog as flat arrays, read from the store once, so the simulated world never queries
the store while it draws sessions.

Per track: id, title, artist (index and name), popularity prior `playlist_count + 1` and its TOP_TAGS heaviest
tags (own or inherited from the artist), as indices into `tag_names`. Per playlist: id, name, followers and its
distinct tracks in first-appearance order, in CSR form (`playlist_tracks[playlist_offsets[j]:playlist_offsets[j+1]]`).
Plus the store's user profiles. Everything is ordered by entity id, so two snapshots of one store are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..progress import StageFactory, no_progress
from ..text import tag_name
from ..types import Entity, UserProfile

if TYPE_CHECKING:
    from ..store import CatalogStore

TOP_TAGS = 3


@dataclass(frozen=True, eq=False)
class CatalogSnapshot:
    """Arrays of the catalog that simulation samples from (see the module docstring for the layout).

    track_artist and track_tags hold -1 where there is no artist / tag.
    """

    track_ids: tuple[str, ...]
    track_titles: tuple[str, ...]
    track_artist_names: tuple[str, ...]
    track_artist: np.ndarray
    track_popularity: np.ndarray
    track_tags: np.ndarray
    track_tag_weights: np.ndarray
    artist_ids: tuple[str, ...]
    tag_names: tuple[str, ...]
    playlist_ids: tuple[str, ...]
    playlist_names: tuple[str, ...]
    playlist_followers: np.ndarray
    playlist_offsets: np.ndarray
    playlist_tracks: np.ndarray
    profiles: tuple[UserProfile, ...] = ()

    @classmethod
    def from_store(cls, store: CatalogStore, *, with_profiles: bool = True,
                   progress: StageFactory = no_progress) -> CatalogSnapshot:
        """Read tracks, playlists, playlist contents and (with `with_profiles`) user profiles from `store`."""
        counts = store.counts()
        tracks = _collect(store, "track", counts.tracks, progress)
        playlists = _collect(store, "playlist", counts.playlists, progress)
        memberships = store.playlist_memberships()
        profiles = tuple(store.iter_users()) if with_profiles else ()
        return cls.from_entities(tracks, playlists, memberships, profiles)

    @classmethod
    def from_entities(cls, tracks: list[Entity], playlists: list[Entity], memberships: dict[str, list[str]],
                      profiles: tuple[UserProfile, ...] = ()) -> CatalogSnapshot:
        """Build from entities already in memory (sorted here by id); memberships of unknown tracks are dropped."""
        tracks = sorted(tracks, key=lambda e: e.entity_id)
        playlists = sorted(playlists, key=lambda e: e.entity_id)
        artist_ids = tuple(sorted({t.artist_id for t in tracks if t.artist_id}))
        artist_index = {artist_id: i for i, artist_id in enumerate(artist_ids)}
        top = [sorted(t.tags, key=lambda tag: -tag.weight)[:TOP_TAGS] for t in tracks]  # stable: own tags win ties
        tag_names = tuple(sorted({tag_name(tag.tag) for tags in top for tag in tags}))
        tag_index = {name: i for i, name in enumerate(tag_names)}
        track_tags = np.full((len(tracks), TOP_TAGS), -1, dtype=np.int32)
        track_tag_weights = np.zeros((len(tracks), TOP_TAGS))
        for i, tags in enumerate(top):
            for j, tag in enumerate(tags):
                track_tags[i, j], track_tag_weights[i, j] = tag_index[tag_name(tag.tag)], tag.weight
        track_index = {t.entity_id: i for i, t in enumerate(tracks)}
        offsets, members = _csr([memberships.get(p.entity_id, ()) for p in playlists], track_index)
        return cls(
            track_ids=tuple(t.entity_id for t in tracks), track_titles=tuple(t.name for t in tracks),
            track_artist_names=tuple(" ".join((t.artist_name or "").split()) for t in tracks),
            track_artist=np.array([artist_index.get(t.artist_id, -1) for t in tracks], dtype=np.int32),
            track_popularity=np.array([(t.popularity.playlist_count or 0) + 1.0 for t in tracks]),
            track_tags=track_tags, track_tag_weights=track_tag_weights, artist_ids=artist_ids, tag_names=tag_names,
            playlist_ids=tuple(p.entity_id for p in playlists), playlist_names=tuple(p.name for p in playlists),
            playlist_followers=np.array([p.popularity.follower_sum or 0 for p in playlists], dtype=np.float64),
            playlist_offsets=offsets, playlist_tracks=members, profiles=tuple(profiles))

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    @property
    def n_playlists(self) -> int:
        return len(self.playlist_ids)

    @cached_property
    def artist_index(self) -> dict[str, int]:
        return {artist_id: i for i, artist_id in enumerate(self.artist_ids)}

    @cached_property
    def tag_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.tag_names)}

    @cached_property
    def playlist_lengths(self) -> np.ndarray:
        return np.diff(self.playlist_offsets)

    @cached_property
    def membership_playlists(self) -> np.ndarray:
        """The playlist index of each entry of `playlist_tracks` (the CSR rows spelled out)."""
        return np.repeat(np.arange(self.n_playlists, dtype=np.int64), self.playlist_lengths)

    def tracks_of(self, playlist: int) -> np.ndarray:
        return self.playlist_tracks[self.playlist_offsets[playlist]:self.playlist_offsets[playlist + 1]]


def _collect(store: CatalogStore, kind: str, total: int, progress: StageFactory) -> list[Entity]:
    stage = progress(f"world: reading {kind}s", total)
    found: list[Entity] = []
    for batch in store.iter_batches(kind=kind):
        found.extend(batch)
        stage.update(len(batch))
    stage.close()
    return found


def _csr(lists: list, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of each list's distinct known ids (as indices), first appearance kept."""
    rows = [list(dict.fromkeys(index[item] for item in items if item in index)) for items in lists]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(row) for row in rows])
    values = np.fromiter((i for row in rows for i in row), dtype=np.int64, count=int(offsets[-1]))
    return offsets, values
