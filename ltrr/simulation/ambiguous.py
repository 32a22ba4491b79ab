"""Ambiguous intents: a short common word ("love", "summer", "night") whose meaning depends on who types it.

The words are derived from the catalog, so any catalog has its own: content words (alphabetic, at least
MIN_WORD_LENGTH letters, no stopword, filler or kind word) found in the titles of at least `min_title_tracks`
tracks AND in the names of at least `min_playlists` playlists, scored by sqrt(#titles x #playlists); the
`n_words` best are kept and drawn in proportion to their score (how often people would type them).

A word matches a track whose title contains it or that sits in a playlist whose name contains it. The
matches form a pool of at most POOL_SIZE tracks, title matches first, then by how many of the word's playlists
hold the track, then by popularity. Grades depend on the user's taste:

    4  the track's artist is one of the user's artists
    3  else one of the track's top tags is among the user's TASTE_TAGS heaviest tags
    2  else the title contains the word
    1  else (only a playlist name contains it)

and the `max_relevant` best-graded (pool order breaking ties) are the intent's relevance.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..text import name_key, title_key
from .intents import FILLER_WORDS, GradedRelevance, Intent, Segments
from .snapshot import CatalogSnapshot
from .users import Taste

MIN_WORD_LENGTH = 3
POOL_SIZE = 2000
TASTE_TAGS = 3


def content_words(key: str) -> frozenset[str]:
    """The distinct candidate words of a normalized name."""
    return frozenset(word for word in key.split()
                     if len(word) >= MIN_WORD_LENGTH and word.isalpha() and word not in FILLER_WORDS)


def ambiguous_words(snapshot: CatalogSnapshot, n_words: int, *, min_title_tracks: int = 2,
                    min_playlists: int = 1) -> tuple[tuple[str, float], ...]:
    """(word, score) of the `n_words` best-scored words, best first (ties by word)."""
    titles = Counter(word for title in snapshot.track_titles for word in content_words(title_key(title)))
    playlists = Counter(word for name in snapshot.playlist_names for word in content_words(name_key(name)))
    scored = [(word, float(np.sqrt(count * playlists[word]))) for word, count in titles.items()
              if count >= min_title_tracks and playlists.get(word, 0) >= min_playlists]
    return tuple(sorted(scored, key=lambda item: (-item[1], item[0]))[:n_words])


class AmbiguousIntents:
    """Draws ambiguous words and grades their matches by taste; see the module docstring."""

    def __init__(self, snapshot: CatalogSnapshot, words: tuple[tuple[str, float], ...], max_relevant: int) -> None:
        self.snapshot = snapshot
        self.max_relevant = max_relevant
        pools = _pools(snapshot, [word for word, _ in words])
        kept = [i for i, (word, _) in enumerate(words) if len(pools[word][0])]
        self.words = tuple(words[i][0] for i in kept)
        self.pools = tuple(pools[word] for word in self.words)
        scores = np.array([words[i][1] for i in kept], dtype=np.float64)
        self.by_score = Segments.single(scores)
        self.available = bool(len(self.words))

    def draw(self, rng: np.random.Generator) -> int:
        """A word index."""
        return self.by_score.draw(rng, 0)

    def intent(self, word: int, taste: Taste) -> Intent:
        tracks, in_title = self.pools[word]
        grades = self.grades(tracks, in_title, taste)
        keep = np.argsort(-grades, kind="stable")[:self.max_relevant]
        ids = self.snapshot.track_ids
        relevance = GradedRelevance({ids[t]: g for t, g in zip(tracks[keep].tolist(), grades[keep].tolist())})
        return Intent("ambiguous", None, relevance, self.words[word])

    def grades(self, tracks: np.ndarray, in_title: np.ndarray, taste: Taste) -> np.ndarray:
        # masks one longer than the index range: -1 (no artist / tag) reads the last slot, always False
        artists = np.zeros(len(self.snapshot.artist_ids) + 1, dtype=bool)
        artists[taste.artists] = True
        tags = np.zeros(len(self.snapshot.tag_names) + 1, dtype=bool)
        tags[taste.top_tags(TASTE_TAGS)] = True
        by_artist = artists[self.snapshot.track_artist[tracks]]
        by_tag = tags[self.snapshot.track_tags[tracks]].any(axis=1)
        return np.where(by_artist, 4, np.where(by_tag, 3, np.where(in_title, 2, 1)))


def _pools(snapshot: CatalogSnapshot, words: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """word -> (track indices, whether the title holds the word), in pool order, at most POOL_SIZE."""
    wanted = frozenset(words)
    by_title: dict[str, list[int]] = {word: [] for word in words}
    for track, title in enumerate(snapshot.track_titles):
        for word in content_words(title_key(title)) & wanted:
            by_title[word].append(track)
    by_playlist: dict[str, list[np.ndarray]] = {word: [] for word in words}
    for playlist, name in enumerate(snapshot.playlist_names):
        for word in content_words(name_key(name)) & wanted:
            by_playlist[word].append(snapshot.tracks_of(playlist))
    return {word: _pool(snapshot, np.array(by_title[word], dtype=np.int64), by_playlist[word]) for word in words}


def _pool(snapshot: CatalogSnapshot, titled: np.ndarray,
          listed: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(np.concatenate(listed) if listed else np.zeros(0, dtype=np.int64),
                         minlength=snapshot.n_tracks)
    in_title = np.zeros(snapshot.n_tracks, dtype=bool)
    in_title[titled] = True
    tracks = np.flatnonzero(in_title | (counts > 0))
    order = np.lexsort((tracks, -snapshot.track_popularity[tracks], -counts[tracks], ~in_title[tracks]))
    tracks = tracks[order][:POOL_SIZE]
    return tracks, in_title[tracks]
