"""Lexicons read from the catalog: artist names, tags (genres and moods), playlist and title vocabulary.

    lexicon = Lexicon.from_store(store)          # or Lexicon.from_entities(entities)
    lexicon.save("models/lexicon.json"); Lexicon.load("models/lexicon.json")

Everything is keyed on folded text: artists on `text.name_key`, tags on `text.tag_name`, words on `text.tokenize`.
Matching (exact and typo-tolerant) happens on `match_key`, which also joins "hip hop" with "hip-hop".
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..text import fold, name_key, tag_name, tokenize
from ..types import Entity, Popularity
from .vocabulary import MOOD_WORDS

if TYPE_CHECKING:
    from ..store import CatalogStore

FORMAT_VERSION = 1
# Raw popularity signals in a fixed order; counts are log-scaled, `source_popularity` is already 0-100.
POPULARITY_SIGNALS = ("playlist_count", "follower_sum", "chart_points", "play_count", "source_popularity")
_SPLIT = re.compile(r"[\W_]+")
_JOINING_WORDS = frozenset({"and", "n"})


def match_key(text: str) -> str:
    """The key entries and query n-grams are matched on: folded words joined without spaces, dropping a
    leading "the" and the words "and"/"n" when other words remain.

    >>> match_key("The Beatles"), match_key("Hip-Hop"), match_key("hip hop"), match_key("Simon & Garfunkel")
    ('beatles', 'hiphop', 'hiphop', 'simongarfunkel')
    """
    words = [word for word in _SPLIT.split(fold(text)) if word]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    if len(words) > 1:
        words = [word for word in words if word not in _JOINING_WORDS] or words
    return "".join(words)


def popularity_signals(popularity: Popularity) -> list[float]:
    """The `POPULARITY_SIGNALS` of one entity on a comparable scale: log1p of counts, source_popularity / 100
    (NaN where the sources say nothing). `normalized_popularity` turns rows of these into [0, 1] scores."""
    values = [getattr(popularity, name) for name in POPULARITY_SIGNALS]
    scaled = [math.log1p(max(value, 0)) if value is not None else math.nan for value in values[:-1]]
    return scaled + [values[-1] / 100.0 if values[-1] is not None else math.nan]


def normalized_popularity(signals: np.ndarray, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores in [0, 1]: each signal divided by its `scale` (default: its maximum over the rows, so the most
    popular entity of each signal scores 1), clipped to 1, then averaged over the signals an entity has
    (0 for none). A signal no row has gets scale NaN and is ignored, then and for rows scored later with
    this scale. Returns (scores, scale); pass the scale back to score new rows on the same footing."""
    if scale is None:
        scale = np.where(np.isnan(signals), 0.0, signals).max(axis=0, initial=0.0)
        scale = np.where(scale > 0, scale, np.nan)
    with np.errstate(invalid="ignore"):
        ratios = np.clip(signals / scale, 0.0, 1.0)
    present = ~np.isnan(ratios)
    totals = np.where(present, ratios, 0.0).sum(axis=1)
    counts = present.sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0), scale


@dataclass(frozen=True, slots=True)
class ArtistEntry:
    """Every catalog artist sharing one name key; `artist_ids` most popular first, `popularity` in [0, 1]."""

    key: str
    name: str
    artist_ids: tuple[str, ...]
    popularity: float


@dataclass(frozen=True)
class Lexicon:
    """What query understanding knows about the catalog.

    artists: name key -> ArtistEntry. tags: tag name -> number of entities carrying it as their own tag
    (inherited artist tags are not counted again); tags in `MOOD_WORDS` are moods, the others genres.
    playlist_words: word -> number of playlist names containing it. title_words: word -> number of track
    titles containing it (frequent ones make "love" or "summer" generic; any one marks a word as a title word).
    """

    artists: Mapping[str, ArtistEntry]
    tags: Mapping[str, int]
    playlist_words: Mapping[str, int]
    title_words: Mapping[str, int]
    n_playlists: int = 0
    n_titles: int = 0

    def is_mood(self, tag: str) -> bool:
        return tag_name(tag) in MOOD_WORDS

    @property
    def genres(self) -> dict[str, int]:
        return {tag: count for tag, count in self.tags.items() if tag not in MOOD_WORDS}

    @property
    def moods(self) -> dict[str, int]:
        return {tag: count for tag, count in self.tags.items() if tag in MOOD_WORDS}

    @classmethod
    def from_entities(cls, entities: Iterable[Entity], *, min_tag_count: int = 2,
                      min_word_count: int = 2) -> Lexicon:
        """Build from any entities: artists give names, playlists their words, tracks their title words,
        every entity its own tags. Tags on fewer than `min_tag_count` entities are left out unless they are
        mood words; playlist words in fewer than `min_word_count` names are left out; title words are all kept."""
        builder = _Builder()
        for entity in entities:
            builder.add(entity, titles=True)
        return builder.build(min_tag_count, min_word_count)

    @classmethod
    def from_store(cls, store: CatalogStore, *, kinds: Sequence[str] = ("artist", "album", "playlist"),
                   min_tag_count: int = 2, min_word_count: int = 2) -> Lexicon:
        """Build from a catalog store, streaming the entities of `kinds`. Tracks are left out by default:
        they inherit their artist's tags (counting the artists is enough) and streaming 200k tracks with tags
        costs ~50 s; their title words come from `store.name_keys("track")`, one cheap query."""
        builder = _Builder()
        for kind in kinds:
            for entity in store.iter_entities(kind):
                builder.add(entity, titles=False)
        for _, _, key in store.name_keys("track"):
            builder.add_title(key)
        return builder.build(min_tag_count, min_word_count)

    def save(self, path: str | Path) -> None:
        """Write the lexicon as one JSON file."""
        state = {"format_version": FORMAT_VERSION, "n_playlists": self.n_playlists, "n_titles": self.n_titles,
                 "artists": [[e.key, e.name, list(e.artist_ids), e.popularity] for e in self.artists.values()],
                 "tags": dict(self.tags), "playlist_words": dict(self.playlist_words),
                 "title_words": dict(self.title_words)}
        Path(path).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        """Read a lexicon written by `save`; raises ValueError for another format version."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        if state.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"lexicon file {path} has format_version {state.get('format_version')!r}, "
                             f"expected {FORMAT_VERSION}; rebuild it with Lexicon.from_store")
        artists = {key: ArtistEntry(key, name, tuple(ids), float(popularity))
                   for key, name, ids, popularity in state["artists"]}
        return cls(artists, state["tags"], state["playlist_words"], state["title_words"],
                   int(state["n_playlists"]), int(state["n_titles"]))


class _Builder:
    """Accumulates counts while entities stream past; `build` makes the frozen Lexicon."""

    def __init__(self) -> None:
        self.artist_keys: dict[str, tuple[str, str]] = {}  # artist id -> (name key, name)
        self.artist_signals: dict[str, list[float]] = {}
        self.tags: Counter[str] = Counter()
        self.playlist_words: Counter[str] = Counter()
        self.title_words: Counter[str] = Counter()
        self.n_playlists = 0
        self.n_titles = 0

    def add(self, entity: Entity, titles: bool) -> None:
        if entity.kind == "artist" and name_key(entity.name):
            self.artist_keys[entity.entity_id] = (name_key(entity.name), entity.name)
            self.artist_signals[entity.entity_id] = popularity_signals(entity.popularity)
        elif entity.kind == "playlist":
            self.n_playlists += 1
            self.playlist_words.update(set(tokenize(entity.name)))
        elif entity.kind == "track" and titles:
            self.add_title(name_key(entity.name))
        own = {tag_name(t.tag) for t in entity.tags if not t.source.startswith("artist:")}
        self.tags.update(tag for tag in own if tag)

    def add_title(self, key: str) -> None:
        self.n_titles += 1
        self.title_words.update(set(key.split()))

    def build(self, min_tag_count: int, min_word_count: int) -> Lexicon:
        ids = list(self.artist_keys)
        scores = np.zeros(0)
        if ids:  # an empty catalog has no artists (and no signal columns to shape)
            signals = np.array([self.artist_signals[i] for i in ids], dtype=float).reshape(len(ids), -1)
            scores, _ = normalized_popularity(signals)
        grouped: dict[str, list[tuple[float, str, str]]] = {}
        for artist_id, score in zip(ids, scores.tolist()):
            key, name = self.artist_keys[artist_id]
            grouped.setdefault(key, []).append((-round(score, 6), artist_id, name))
        artists = {}
        for key, rows in sorted(grouped.items()):
            rows.sort()
            artists[key] = ArtistEntry(key, rows[0][2], tuple(r[1] for r in rows), -rows[0][0])
        tags = {t: c for t, c in sorted(self.tags.items()) if c >= min_tag_count or t in MOOD_WORDS}
        playlist_words = {w: c for w, c in sorted(self.playlist_words.items()) if c >= min_word_count}
        title_words = dict(sorted(self.title_words.items()))
        return Lexicon(artists, tags, playlist_words, title_words, self.n_playlists, self.n_titles)
