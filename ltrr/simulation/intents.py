"""Search intents with known graded ground truth, and the samplers that draw them for a simulated user.

Three kinds (Broder's navigational / informational split, as music search sees it):

- spearfish: the user wants one track. The target is drawn with probability proportional to
  `popularity * (1 + c_u * affinity_u(artist))`, popularity = playlist_count + 1 and affinity the user's
  normalized artist weight. c_u is set per user so that the taste term carries `taste_share` of the mass (a
  mixture: with chance `taste_share`, one of the user's artists by weight x its tracks' popularity, then one of
  its tracks by popularity; otherwise any track by popularity). Relevance: {target: MAX_GRADE}.
- topical: the user wants tracks for a theme named like a playlist ("chill vibes", "80s workout"). Playlists are
  grouped by normalized name (`ltrr.text.name_key`); a group's graded relevance gives each track the number of
  the group's playlists containing it, capped at MAX_GRADE. Names made only of stopwords, fillers and kind words
  ("my playlist", "music") are no topical query and are skipped, as are groups with fewer than `min_tracks`
  tracks. A playlist is drawn by followers + 1, or with chance `taste_share` by taste overlap: one of the
  user's artists or top tags by weight x its playlist mass, then a playlist by (followers + 1) x the share of
  its tracks by that artist (or with that top tag).
- ambiguous: a short common word whose meaning depends on taste (see `ltrr.simulation.ambiguous`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..text import name_key
from ..understanding.vocabulary import KIND_WORDS, STOPWORDS, TOPICAL_FILLERS
from .noise import clean_title
from .snapshot import CatalogSnapshot
from .users import FrozenMapping, Taste

MAX_GRADE = 4
INTENT_KINDS = ("spearfish", "topical", "ambiguous")
FILLER_WORDS = frozenset(STOPWORDS | TOPICAL_FILLERS | set(KIND_WORDS))


class GradedRelevance(FrozenMapping):
    """Entity id -> graded relevance (>= 1; entities absent are 0), with the ideal grade order precomputed."""

    __slots__ = ("ideal",)

    def __init__(self, grades: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> None:
        super().__init__((key, int(grade)) for key, grade in dict(grades).items() if int(grade) > 0)
        self.ideal = tuple(sorted(self._data.values(), reverse=True))


@dataclass(frozen=True, slots=True)
class Intent:
    """What the simulated user wants, with its ground truth.

    kind: "spearfish" | "topical" | "ambiguous"; target_id: the one entity sought (spearfish), else None;
    relevance: entity id -> grade in 1..MAX_GRADE (absent: 0); description: the target's "artist - title", the
    playlist name or the word, for traces.
    """

    kind: str
    target_id: str | None
    relevance: Mapping[str, int]
    description: str

    def __post_init__(self) -> None:
        if not isinstance(self.relevance, GradedRelevance):
            object.__setattr__(self, "relevance", GradedRelevance(self.relevance))

    def grade(self, entity_id: str) -> int:
        return self.relevance.get(entity_id, 0)

    def grades(self, entity_ids: Iterable[str]) -> list[int]:
        """The grade of each id, in order (e.g. of a result list, for nDCG)."""
        return [self.relevance.get(entity_id, 0) for entity_id in entity_ids]

    def max_grade(self) -> int:
        ideal = self.relevance.ideal  # type: ignore[attr-defined]
        return ideal[0] if ideal else 0

    def ideal_grades(self, limit: int | None = None) -> tuple[int, ...]:
        """All grades, best first (the ideal ranking's grades), the first `limit` of them."""
        return self.relevance.ideal[:limit]  # type: ignore[attr-defined]


class Segments:
    """Weighted items grouped by key (CSR): draw an item of one key in proportion to its weight, O(log n)."""

    def __init__(self, keys: np.ndarray, items: np.ndarray, weights: np.ndarray, n_keys: int) -> None:
        order = np.lexsort((items, keys))
        self.items = np.asarray(items)[order]
        self.offsets = np.searchsorted(np.asarray(keys)[order], np.arange(n_keys + 1))
        self.cum = np.concatenate([[0.0], np.cumsum(np.asarray(weights, dtype=np.float64)[order])])
        self.mass = self.cum[self.offsets[1:]] - self.cum[self.offsets[:-1]]

    @classmethod
    def single(cls, weights: np.ndarray) -> Segments:
        """One key (0) holding items 0..n-1."""
        return cls(np.zeros(len(weights), dtype=np.int64), np.arange(len(weights)), weights, 1)

    def draw(self, rng: np.random.Generator, key: int) -> int:
        low, high = self.offsets[key], self.offsets[key + 1]
        point = self.cum[low] + rng.random() * self.mass[key]
        position = int(np.searchsorted(self.cum, point, side="right")) - 1  # skips zero-weight items
        return int(self.items[min(max(position, low), high - 1)])


def choice(rng: np.random.Generator, weights: np.ndarray) -> int:
    """An index drawn in proportion to `weights` (>= 0, positive sum)."""
    cum = np.cumsum(weights)
    return min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(weights) - 1)


class SpearfishIntents:
    """Draws spearfish targets (track indices) by popularity and taste; see the module docstring."""

    def __init__(self, snapshot: CatalogSnapshot) -> None:
        self.snapshot = snapshot
        titled = np.array([bool(title.strip()) for title in snapshot.track_titles], dtype=bool)
        weights = snapshot.track_popularity * titled
        has_artist = (snapshot.track_artist >= 0) & titled
        self.by_popularity = Segments.single(weights)
        self.by_artist = Segments(snapshot.track_artist[has_artist], np.flatnonzero(has_artist),
                                  weights[has_artist], len(snapshot.artist_ids))
        self.available = bool(weights.sum() > 0)

    def draw(self, rng: np.random.Generator, taste: Taste, taste_share: float) -> int:
        if len(taste.artists) and rng.random() < taste_share:
            mass = taste.artist_weights * self.by_artist.mass[taste.artists]
            if mass.sum() > 0:
                return self.by_artist.draw(rng, int(taste.artists[choice(rng, mass)]))
        return self.by_popularity.draw(rng, 0)

    def intent(self, track: int) -> Intent:
        track_id, artist = self.snapshot.track_ids[track], self.snapshot.track_artist_names[track]
        title = clean_title(self.snapshot.track_titles[track])
        return Intent("spearfish", track_id, GradedRelevance({track_id: MAX_GRADE}),
                      f"{artist} - {title}" if artist else title)


def is_topical_name(key: str) -> bool:
    """Whether a normalized playlist name is a topical query: some word other than stopwords, fillers, kinds."""
    return any(word not in FILLER_WORDS for word in key.split())


@dataclass(frozen=True, eq=False)
class TopicalGroup:
    """The ground truth of one normalized playlist name, and the tag most of its relevance carries."""

    key: str
    relevance: GradedRelevance
    dominant_tag: str | None


class TopicalIntents:
    """Draws topical intents (playlist indices, then their name group); see the module docstring."""

    def __init__(self, snapshot: CatalogSnapshot, min_tracks: int) -> None:
        self.snapshot = snapshot
        keys = [name_key(name) for name in snapshot.playlist_names]
        self.group_keys = tuple(sorted({key for key in keys if key and is_topical_name(key)}))
        index = {key: i for i, key in enumerate(self.group_keys)}
        self.playlist_group = np.array([index.get(key, -1) for key in keys], dtype=np.int64)
        self._count_grades(min_tracks)
        eligible = self.playlist_group >= 0
        followers = (snapshot.playlist_followers + 1.0) * eligible
        self.by_popularity = Segments.single(followers)
        self.by_artist = self._by_key(snapshot.track_artist, len(snapshot.artist_ids), followers)
        self.by_tag = self._by_key(snapshot.track_tags[:, 0], len(snapshot.tag_names), followers)
        self.available = bool(followers.sum() > 0)
        self._groups: dict[int, TopicalGroup] = {}  # built on first use; content depends on the group alone

    def _count_grades(self, min_tracks: int) -> None:
        """Per group (sorted by group, then track): each track's count of the group's playlists, capped."""
        n_tracks = max(self.snapshot.n_tracks, 1)
        groups = self.playlist_group[self.snapshot.membership_playlists]
        listed = groups >= 0
        pairs, counts = np.unique(groups[listed] * n_tracks + self.snapshot.playlist_tracks[listed],
                                  return_counts=True)
        self.group_tracks, self.group_grades = pairs % n_tracks, np.minimum(counts, MAX_GRADE)
        self.group_offsets = np.searchsorted(pairs // n_tracks, np.arange(len(self.group_keys) + 1))
        too_small = np.append(np.diff(self.group_offsets) < min_tracks, True)  # the extra slot: group -1
        self.playlist_group[too_small[self.playlist_group]] = -1

    def _by_key(self, track_keys: np.ndarray, n_keys: int, followers: np.ndarray) -> Segments:
        """key (artist or tag) -> playlists, weighted (followers + 1) x the share of the playlist's tracks."""
        playlists = self.snapshot.membership_playlists
        keys = track_keys[self.snapshot.playlist_tracks]
        keep = (keys >= 0) & (followers[playlists] > 0)
        n_playlists = max(self.snapshot.n_playlists, 1)
        pairs, counts = np.unique(keys[keep].astype(np.int64) * n_playlists + playlists[keep], return_counts=True)
        owners, items = pairs // n_playlists, pairs % n_playlists
        return Segments(owners, items, followers[items] * counts / self.snapshot.playlist_lengths[items], n_keys)

    def draw(self, rng: np.random.Generator, taste: Taste, taste_share: float) -> int:
        """A playlist index (whose group is the intent)."""
        if rng.random() < taste_share:
            mass = np.concatenate([taste.artist_weights * self.by_artist.mass[taste.artists],
                                   taste.tag_weights * self.by_tag.mass[taste.tags]])
            if mass.sum() > 0:
                pick = choice(rng, mass)
                if pick < len(taste.artists):
                    return self.by_artist.draw(rng, int(taste.artists[pick]))
                return self.by_tag.draw(rng, int(taste.tags[pick - len(taste.artists)]))
        return self.by_popularity.draw(rng, 0)

    def group(self, playlist: int) -> TopicalGroup:
        group = int(self.playlist_group[playlist])
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = self._build_group(group)
        return found

    def _build_group(self, group: int) -> TopicalGroup:
        span = slice(self.group_offsets[group], self.group_offsets[group + 1])
        tracks, grades = self.group_tracks[span], self.group_grades[span]
        ids = self.snapshot.track_ids
        relevance = GradedRelevance({ids[t]: int(g) for t, g in zip(tracks.tolist(), grades.tolist())})
        tags = self.snapshot.track_tags[tracks, 0]
        tagged = tags >= 0
        dominant = None
        if tagged.any():
            dominant = self.snapshot.tag_names[int(np.argmax(np.bincount(tags[tagged], weights=grades[tagged])))]
        return TopicalGroup(self.group_keys[group], relevance, dominant)

    def intent(self, playlist: int) -> Intent:
        return Intent("topical", None, self.group(playlist).relevance, self.snapshot.playlist_names[playlist])
