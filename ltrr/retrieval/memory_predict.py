"""Predicted queries: what an entity will likely be searched by, with a prior click-through estimate.

A memory index that only learns from clicks cannot return an entity nobody clicked yet. So every entity
gets predicted queries from its own metadata, each scored

    predicted_ctr = PRIOR_CTR[query type] * popularity_factor(entity)

PRIOR_CTR is a hand-set guess of P(click | the query was typed and the entity shown), ordered by how
specifically the query names the entity. They are priors, not facts: observed clicks replace them
(see `memory_stats`). popularity_factor = 0.2 + 0.8 * popularity_level, so among entities sharing a
query ("Mercy": many songs) the popular one comes first, and an entity with no popularity data still
scores a fifth of its type's prior. The index keeps the best `max_per_key` entities of a key, which
bounds broad keys ("rock", an artist's name) without touching specific ones.

Query keys: `query_key(text)` = `ltrr.text.name_key` of the text, cut to MAX_KEY_CHARS. name_key folds case
and accents, joins inner punctuation and drops a leading "the", so "The Weeknd", "the weeknd" and
"weeknd" share one key, as do "AC/DC" and "acdc".
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from ..text import name_key, strip_version, tag_name
from ..types import Entity, Popularity, TagWeight

MAX_KEY_CHARS = 200

PRIOR_CTR: Mapping[str, float] = MappingProxyType({
    "artist_title": 0.6,  # "<artist> <title>": one recording (or album) of one artist
    "name": 0.5,  # an artist's or a playlist's own name
    "title": 0.3,  # a track or album title (also without "- Remastered", "(feat. X)"); covers share it
    "by_artist": 0.05,  # an artist's name, for each of the artist's tracks and albums
    "album_tracks": 0.05,  # an album's title, for each of its tracks
    "playlist_tracks": 0.05,  # a playlist's name, for its tracks (x the share of same-named playlists with it)
    "tag": 0.02,  # "<tag>" and, for tracks, "<tag> songs" (x the tag's weight)
})
# Prior mean of a (query, entity) pair that was observed but never predicted.
BASE_CTR = 0.01

# log1p(value) / log1p(scale), capped at 1: each signal's value that counts as "fully popular".
_POPULARITY_SCALES = MappingProxyType({"playlist_count": 1_000, "follower_sum": 100_000, "chart_points": 5_000,
                                       "play_count": 10_000_000})
POPULARITY_FLOOR = 0.2


def query_key(text: str) -> str:
    """The memory key of a query or a predicted query text ("" when it has no word characters)."""
    return name_key(text[: MAX_KEY_CHARS * 4])[:MAX_KEY_CHARS].strip()


def popularity_level(popularity: Popularity) -> float:
    """Popularity in [0, 1]: the highest of the entity's log-scaled signals (0 with none).

    Each count signal maps to log1p(value) / log1p(scale) (scales: playlists 1,000, followers 100,000,
    chart points 5,000, plays 10M); `source_popularity` (0-100) maps to value / 100.
    """
    level = 0.0
    for field, scale in _POPULARITY_SCALES.items():
        value = getattr(popularity, field)
        if value:
            level = max(level, math.log1p(max(value, 0)) / math.log1p(scale))
    if popularity.source_popularity:
        level = max(level, popularity.source_popularity / 100.0)
    return min(max(level, 0.0), 1.0)


def popularity_factor(popularity: Popularity) -> float:
    """POPULARITY_FLOOR + (1 - POPULARITY_FLOOR) * popularity_level: in [0.2, 1]."""
    return POPULARITY_FLOOR + (1.0 - POPULARITY_FLOOR) * popularity_level(popularity)


def top_tags(tags: Iterable[TagWeight], n: int, names: dict[str, str] | None = None) -> list[tuple[str, float]]:
    """The n heaviest distinct tag names (a tag from several sources keeps its highest weight).

    `names`: an optional cache of raw tag -> `tag_name`, filled as it goes (tag vocabularies are small).
    """
    best: dict[str, float] = {}
    for tag in tags:
        name = names.get(tag.tag) if names is not None else None
        if name is None:
            name = tag_name(tag.tag)
            if names is not None:
                names[tag.tag] = name
        if name and tag.weight > best.get(name, 0.0):
            best[name] = tag.weight
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:n]


def title_texts(title: str) -> list[str]:
    """The title and, when it differs, the title without version decorations (`ltrr.text.strip_version`)."""
    base = strip_version(title)
    return [title, base] if base and base != title.strip() else [title]


def entity_queries(entity: Entity, artist: str | None, album: str | None, tags: Sequence[tuple[str, float]],
                   factor: float, cache: dict[str, str] | None = None) -> list[tuple[str, float]]:
    """(query key, predicted CTR) pairs of one entity; keys may repeat (the index keeps the best score).

    `artist`/`album`: the entity's artist and album names where known; `tags`: its top (tag, weight) pairs;
    `factor`: its popularity factor; `cache`: optional text -> key memo for the texts entities share
    (artist and album names, tags), filled as it goes.
    """
    def shared(text: str) -> str:
        if cache is None:
            return query_key(text)
        key = cache.get(text)
        if key is None:
            key = cache[text] = query_key(text)
        return key

    pairs: list[tuple[str, float]] = []  # (key, predicted CTR)
    if entity.kind in ("artist", "playlist"):
        pairs.append((query_key(entity.name), PRIOR_CTR["name"]))
    else:  # track, album
        titles = title_texts(entity.name)  # strip_version keeps words and case, as users type them
        pairs.extend((query_key(title), PRIOR_CTR["title"]) for title in titles)
        if artist:
            pairs.extend((query_key(f"{artist} {title}"), PRIOR_CTR["artist_title"]) for title in titles)
            pairs.append((shared(artist), PRIOR_CTR["by_artist"]))
        if album and entity.kind == "track":
            pairs.append((shared(album), PRIOR_CTR["album_tracks"]))
    for tag, weight in tags:
        pairs.append((shared(tag), PRIOR_CTR["tag"] * weight))
        if entity.kind == "track":
            pairs.append((shared(f"{tag} songs"), PRIOR_CTR["tag"] * weight))
    return [(key, score * factor) for key, score in pairs if key and score > 0.0]


def playlist_queries(playlist_tracks: Mapping[str, Sequence[str]], playlist_names: Mapping[str, str],
                     factors: Mapping[str, float]) -> list[tuple[str, str, float]]:
    """(query key, track id, predicted CTR) for playlist names, from the given playlists only.

    CTR = PRIOR_CTR["playlist_tracks"] * share * factor, where share is the fraction of the playlists with
    that name key holding the track (many playlists are called "chill": a track in most of them fits the
    query best) and factor the track's popularity factor. Tracks missing from `factors` are skipped.
    """
    holders: dict[str, dict[str, int]] = {}  # key -> track id -> playlists of that key holding it
    n_playlists: dict[str, int] = {}
    for playlist_id, track_ids in playlist_tracks.items():
        key = query_key(playlist_names.get(playlist_id) or "")
        if not key:
            continue
        n_playlists[key] = n_playlists.get(key, 0) + 1
        counts = holders.setdefault(key, {})
        for track_id in set(track_ids):
            counts[track_id] = counts.get(track_id, 0) + 1
    prior = PRIOR_CTR["playlist_tracks"]
    return [(key, track_id, prior * count / n_playlists[key] * factors[track_id])
            for key, counts in holders.items() for track_id, count in counts.items() if track_id in factors]


class PredictionBuilder:
    """Collects predicted (query key, entity position, score) triples over a stream of entities.

    Entities read from the store carry artist and album names (and tracks their artist's tags). Hand-made or
    synthetic entities may carry only `artist_id`/`album_id`: those wait until the stream ends and are then
    resolved from the artist and album entities seen (or remembered in `names`/`artist_tags`); a track
    resolved this way without tags of its own inherits its artist's top tags, as the store does on read.
    """

    def __init__(self, n_tags: int, names: dict[str, str] | None = None,
                 artist_tags: dict[str, list[tuple[str, float]]] | None = None) -> None:
        self.n_tags = n_tags
        # Shared, not copied: the memory keeps both to resolve entities added after fit; the builder adds to them.
        self.names = names if names is not None else {}  # artist/album id -> name
        self.artist_tags = artist_tags if artist_tags is not None else {}  # artist id -> top tags
        self.keys: list[str] = []  # distinct keys; a triple refers to one by its row
        self.key_rows: dict[str, int] = {}
        self.rows = array("i")
        self.positions = array("q")
        self.scores = array("f")
        self.factors = array("f")  # popularity factor per entity position
        self._pending: list[tuple[int, Entity]] = []
        self._key_cache: dict[str, str] = {}
        self._tag_names: dict[str, str] = {}

    def add(self, position: int, entity: Entity) -> None:
        """Predict the queries of the entity at `position` (positions count up from 0 in stream order)."""
        if entity.kind in ("artist", "album"):
            self.names[entity.entity_id] = entity.name
        if entity.kind == "artist":
            self.artist_tags[entity.entity_id] = top_tags(entity.tags, self.n_tags, self._tag_names)
        self.factors.append(popularity_factor(entity.popularity))
        unresolved = ((entity.artist_id and not entity.artist_name) or (entity.album_id and not entity.album_name))
        if unresolved:
            self._pending.append((position, entity))
        else:
            tags = top_tags(entity.tags, self.n_tags, self._tag_names)
            self._emit(position, entity, entity.artist_name, entity.album_name, tags)

    def add_pairs(self, triples: Iterable[tuple[str, int, float]]) -> None:
        """Add ready (key, position, score) triples (playlist-name predictions)."""
        for key, position, score in triples:
            self._append(key, position, score)

    def _append(self, key: str, position: int, score: float) -> None:
        row = self.key_rows.get(key)
        if row is None:
            row = self.key_rows[key] = len(self.keys)
            self.keys.append(key)
        self.rows.append(row)
        self.positions.append(position)
        self.scores.append(score)

    def finish(self) -> None:
        """Resolve the entities that waited for artist/album names."""
        for position, entity in self._pending:
            artist = entity.artist_name or self.names.get(entity.artist_id or "")
            album = entity.album_name or self.names.get(entity.album_id or "")
            tags = top_tags(entity.tags, self.n_tags, self._tag_names)
            if not tags and entity.kind == "track" and entity.artist_id:
                tags = self.artist_tags.get(entity.artist_id, [])
            self._emit(position, entity, artist, album, tags)
        self._pending = []

    def _emit(self, position: int, entity: Entity, artist: str | None, album: str | None,
              tags: Sequence[tuple[str, float]]) -> None:
        factor = self.factors[position]
        for key, score in entity_queries(entity, artist, album, tags, factor, self._key_cache):
            self._append(key, position, score)
