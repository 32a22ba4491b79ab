"""Simulated users: who searches, with what taste.

Two kinds of user come from the catalog store:

- "profiles": the store's `UserProfile`s (Last.fm listeners on the real catalog, genre-mixture users on the demo
  catalog). Their artist and tag affinities are renormalized to sum 1. The engine may know them: a session passes
  their `user_id` in its `Context` (the engine reads its own copy of the profile, never this one).
- "playlists": a playlist read as one listener's taste, `user_id` None (the engine sees an anonymous user). Artist
  weight = the share of the playlist's tracks by that artist; tag weight = the share of the summed weights of its
  tracks' top tags (the TAGS_PER_PLAYLIST_USER heaviest kept). At most `max_playlist_users` playlists with
  at least MIN_PLAYLIST_USER_TRACKS known tracks are drawn, seeded.

`UserPool.sample` draws a user uniformly, or first a kind with `profile_share` when both kinds are present.
`Taste` is the world's array view of one user (catalog indices), built once per user.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..text import tag_name
from ..types import Affinity
from .snapshot import CatalogSnapshot

if TYPE_CHECKING:
    from ..store import CatalogStore

USER_SOURCES = ("profiles", "playlists")
MIN_PLAYLIST_USER_TRACKS = 5
TAGS_PER_PLAYLIST_USER = 10


class FrozenMapping(Mapping):
    """A read-only dict (unlike MappingProxyType it pickles, so sessions can cross process boundaries)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping | Sequence[tuple] = ()) -> None:
        self._data = dict(data)

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __hash__(self) -> int:  # equal mappings hash equal, so frozen dataclasses holding one stay hashable
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        items = list(self._data.items())
        shown = ", ".join(f"{k!r}: {v!r}" for k, v in items[:4])
        return f"{type(self).__name__}({{{shown}{', ...' if len(items) > 4 else ''}}})"


@dataclass(frozen=True, slots=True)
class SimUser:
    """One simulated user. `artists` (artist entity id) and `tags` (tag name) weights each sum to 1 (or are empty),
    heaviest first. `key` names the user in traces: the profile id, or "playlist:<playlist id>"."""

    user_id: str | None
    source: str
    artists: Mapping[str, float]
    tags: Mapping[str, float]
    key: str = ""

    def top_tags(self, n: int) -> tuple[str, ...]:
        return tuple(list(self.tags)[:n])


class UserPool:
    """The users a world draws from.

        >>> pool = UserPool([SimUser("u1", "demo", {"a1": 1.0}, {}), SimUser(None, "playlist", {}, {"pop": 1.0})])
        >>> len(pool), pool.sample(np.random.default_rng(0)).source in ("demo", "playlist")
        (2, True)
    """

    def __init__(self, users: Sequence[SimUser], profile_share: float | None = None) -> None:
        if not users:
            raise ConfigError("a UserPool needs at least one user; ingest user profiles or playlists first")
        if profile_share is not None and not 0.0 <= profile_share <= 1.0:
            raise ConfigError(f"profile_share must be in [0, 1] or None, got {profile_share!r}")
        self.users = tuple(users)
        self.profile_share = profile_share
        self._profiles = np.array([i for i, u in enumerate(self.users) if u.user_id is not None], dtype=np.int64)
        self._others = np.array([i for i, u in enumerate(self.users) if u.user_id is None], dtype=np.int64)

    @classmethod
    def from_store(cls, store: CatalogStore, *, sources: Sequence[str] = USER_SOURCES,
                   max_playlist_users: int = 5000, seed: int = 0, profile_share: float | None = None) -> UserPool:
        """Users of the kinds in `sources` ("profiles", "playlists") read from `store` (see the module docstring)."""
        snapshot = CatalogSnapshot.from_store(store, with_profiles="profiles" in sources)
        return cls.from_snapshot(snapshot, sources=sources, max_playlist_users=max_playlist_users, seed=seed,
                                 profile_share=profile_share)

    @classmethod
    def from_snapshot(cls, snapshot: CatalogSnapshot, *, sources: Sequence[str] = USER_SOURCES,
                      max_playlist_users: int = 5000, seed: int = 0, profile_share: float | None = None) -> UserPool:
        """As `from_store`; a catalog with neither kind gives one tasteless anonymous user (source "anonymous")."""
        unknown = sorted(set(sources) - set(USER_SOURCES))
        if unknown or not sources:
            raise ConfigError(f"user sources must be some of {list(USER_SOURCES)}, got {list(sources)!r}")
        if isinstance(max_playlist_users, bool) or not isinstance(max_playlist_users, int) or max_playlist_users < 0:
            raise ConfigError(f"max_playlist_users must be an int >= 0, got {max_playlist_users!r}")
        users: list[SimUser] = []
        if "profiles" in sources:
            users += [user for profile in snapshot.profiles if (user := _profile_user(profile)) is not None]
        if "playlists" in sources:
            users += _playlist_users(snapshot, max_playlist_users, seed)
        return cls(users or [SimUser(None, "anonymous", FrozenMapping(), FrozenMapping(), "anonymous")],
                   profile_share)

    def sample_index(self, rng: np.random.Generator) -> int:
        """The index of a drawn user (see the module docstring for how)."""
        if self.profile_share is not None and len(self._profiles) and len(self._others):
            group = self._profiles if rng.random() < self.profile_share else self._others
            return int(group[rng.integers(len(group))])
        return int(rng.integers(len(self.users)))

    def sample(self, rng: np.random.Generator) -> SimUser:
        return self.users[self.sample_index(rng)]

    def __getitem__(self, index: int) -> SimUser:
        return self.users[index]

    def __len__(self) -> int:
        return len(self.users)


def _normalized(affinities: Sequence[Affinity], key=lambda k: k) -> FrozenMapping:
    """Positive weights summed per key, scaled to sum 1, heaviest first (ties by key)."""
    totals: dict[str, float] = {}
    for affinity in affinities:
        if affinity.weight > 0:
            totals[key(affinity.key)] = totals.get(key(affinity.key), 0.0) + float(affinity.weight)
    total = sum(totals.values())
    return FrozenMapping((k, w / total) for k, w in sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def _profile_user(profile) -> SimUser | None:
    artists, tags = _normalized(profile.artists), _normalized(profile.tags, tag_name)
    if not artists and not tags:
        return None
    return SimUser(profile.user_id, profile.source, artists, tags, profile.user_id)


def _playlist_users(snapshot: CatalogSnapshot, max_users: int, seed: int) -> list[SimUser]:
    eligible = np.flatnonzero(snapshot.playlist_lengths >= MIN_PLAYLIST_USER_TRACKS)
    if len(eligible) > max_users:
        eligible = np.sort(np.random.default_rng(seed).choice(eligible, size=max_users, replace=False))
    users = []
    for playlist in eligible:
        tracks = snapshot.tracks_of(int(playlist))
        artist_counts = np.bincount(snapshot.track_artist[tracks][snapshot.track_artist[tracks] >= 0],
                                    minlength=len(snapshot.artist_ids))
        artists = [Affinity(snapshot.artist_ids[a], float(artist_counts[a])) for a in np.flatnonzero(artist_counts)]
        tags, weights = snapshot.track_tags[tracks].ravel(), snapshot.track_tag_weights[tracks].ravel()
        tag_sums = np.bincount(tags[tags >= 0], weights=weights[tags >= 0], minlength=len(snapshot.tag_names))
        top = [t for t in np.argsort(-tag_sums, kind="stable")[:TAGS_PER_PLAYLIST_USER] if tag_sums[t] > 0]
        playlist_id = snapshot.playlist_ids[int(playlist)]
        users.append(SimUser(None, "playlist", _normalized(artists),
                             _normalized([Affinity(snapshot.tag_names[t], float(tag_sums[t])) for t in top]),
                             f"playlist:{playlist_id}"))
    return users


@dataclass(frozen=True, eq=False)
class Taste:
    """A user's taste as catalog indices: artists and tags known to the catalog, weights renormalized to sum 1."""

    artists: np.ndarray
    artist_weights: np.ndarray
    tags: np.ndarray
    tag_weights: np.ndarray

    @classmethod
    def of(cls, user: SimUser, snapshot: CatalogSnapshot) -> Taste:
        artists, artist_weights = _indexed(user.artists, snapshot.artist_index)
        tags, tag_weights = _indexed(user.tags, snapshot.tag_index)
        return cls(artists, artist_weights, tags, tag_weights)

    def top_tags(self, n: int) -> np.ndarray:
        return self.tags[:n]


def _indexed(weights: Mapping[str, float], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(index[key], weight) for key, weight in weights.items() if key in index and weight > 0]
    ids = np.array([i for i, _ in pairs], dtype=np.int64)
    values = np.array([w for _, w in pairs], dtype=np.float64)
    return ids, values / values.sum() if len(values) else values
