"""Artists, their albums and tracks, drafted before popularity from playlists is known.

Artist popularity follows Zipf over a random rank (so `a0001` is not the biggest star); each track varies
around its artist. Release years follow the genre's era mixture; a few albums are new releases added in the
last `new_window_days` before `reference_date`, with low popularity (the cold-start case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from ..text import name_key, title_key
from ..types import TagWeight
from . import names
from .names import chance, pick
from .vocabulary import GENRES_BY_NAME, Genre

if TYPE_CHECKING:
    from ..config import SyntheticCatalogConfig

SOURCE = "demo"
NEW_FACTOR = 0.03  # popularity multiplier of a new release: few plays, rarely in playlists yet
CATALOG_AGE_DAYS = 5 * 365  # old releases were added to the catalog within five years before the reference
SHARED_TITLES = 16  # titles several artists use ("Home", "Night Drive"): popularity must break the tie
SHARED_TITLE_SHARE = 0.01
TITLE_MOODS = (("rain", "rainy day"), ("summer", "summer"), ("sleep", "sleep"), ("lullaby", "sleep"),
               ("dance", "dance"), ("drive", "road trip"), ("highway", "road trip"), ("road", "road trip"),
               ("party", "party"), ("tears", "sad"), ("sunshine", "happy"), ("love", "romantic"))


@dataclass(frozen=True, slots=True)
class ArtistDraft:
    key: str
    name: str
    genre: Genre
    tags: tuple[TagWeight, ...]
    weight: float  # relative popularity, Zipf over a random rank
    debut: int
    is_new: bool


@dataclass(frozen=True, slots=True)
class AlbumDraft:
    key: str
    artist: int  # index into the artists
    title: str
    year: int
    added_at: datetime
    is_new: bool


@dataclass(frozen=True, slots=True)
class TrackDraft:
    key: str
    artist: int
    album: int
    title: str
    year: int
    duration_ms: int
    added_at: datetime
    tags: tuple[TagWeight, ...]
    weight: float
    plays: int
    is_new: bool


@dataclass(frozen=True, slots=True)
class Releases:
    artists: tuple[ArtistDraft, ...]
    albums: tuple[AlbumDraft, ...]
    tracks: tuple[TrackDraft, ...]


def draft_releases(rng: np.random.Generator, config: SyntheticCatalogConfig) -> Releases:
    """Artists, then per artist its albums (by year) and their tracks; ids are sequential keys."""
    reference = datetime.combine(config.reference, time())
    artists = _draft_artists(rng, config)
    plan = [_album_years(rng, config, artist) for artist in artists]
    sizes = [[int(rng.integers(config.tracks_per_album[0], config.tracks_per_album[1] + 1)) for _ in years]
             for years in plan]
    new_albums = _new_albums(rng, config, artists, plan, sizes)
    shared = tuple(names.title_case(names.noun(rng, pick(rng, _genres(config)), 0.2)) for _ in range(SHARED_TITLES))
    albums: list[AlbumDraft] = []
    tracks: list[TrackDraft] = []
    for a, artist in enumerate(artists):
        used: set[str] = set()
        for b, (year, size) in enumerate(zip(plan[a], sizes[a])):
            is_new = artist.is_new or (a, b) in new_albums
            added_at = _added_at(rng, year, reference, config.new_window_days, is_new)
            year = min(added_at.year, config.year_range[1]) if is_new else year
            titles = [_fresh_title(rng, artist.genre, used, shared) for _ in range(size)]
            album_title = names.album_title(rng, artist.genre, artist.name, titles, first=b == 0)
            albums.append(AlbumDraft(f"al{len(albums) + 1:05d}", a, album_title, year, added_at, is_new))
            album_factor = float(rng.lognormal(0.0, 0.5))
            for title in titles:
                tracks.append(_track(rng, config, artist, a, len(albums) - 1, names.decorated(rng, title),
                                     year, added_at, is_new, album_factor, len(tracks) + 1))
    return Releases(tuple(artists), tuple(albums), tuple(tracks))


def _genres(config: SyntheticCatalogConfig) -> tuple[Genre, ...]:
    return tuple(GENRES_BY_NAME[name] for name in config.genres)


def _draft_artists(rng: np.random.Generator, config: SyntheticCatalogConfig) -> list[ArtistDraft]:
    genres = _genres(config)
    shares = np.array([genre.share for genre in genres])
    ranks = rng.permutation(config.n_artists)
    n_new = round(config.new_share * config.n_artists / 2)  # the other half of new releases: known artists
    new = set(rng.choice(config.n_artists, size=n_new, replace=False).tolist()) if n_new else set()
    seen: set[str] = set()
    artists = []
    for i in range(config.n_artists):
        genre = genres[int(rng.choice(len(genres), p=shares / shares.sum()))]
        name = _unique_artist_name(rng, genre, seen)
        weight = float((ranks[i] + 1.0) ** -config.popularity_exponent) * (NEW_FACTOR if i in new else 1.0)
        debut = config.year_range[1] if i in new else _era_year(rng, genre, config.year_range)
        artists.append(ArtistDraft(f"a{i + 1:04d}", name, genre, _artist_tags(rng, genre, config), weight, debut,
                                   i in new))
    return artists


def _unique_artist_name(rng: np.random.Generator, genre: Genre, seen: set[str]) -> str:
    """A name whose matching key is not taken yet; after a few tries, disambiguate with a made-up word."""
    for _ in range(20):
        name = names.artist_name(rng, genre)
        if name_key(name) not in seen:
            break
    else:
        name = f"{name} {names.invented_word(rng)}"
    seen.add(name_key(name))
    return name


def _era_year(rng: np.random.Generator, genre: Genre, year_range: tuple[int, int]) -> int:
    weights = np.array([weight for _, _, weight in genre.eras])
    center, spread, _ = genre.eras[int(rng.choice(len(genre.eras), p=weights / weights.sum()))]
    return int(np.clip(round(rng.normal(center, spread)), year_range[0], year_range[1]))


def _artist_tags(rng: np.random.Generator, genre: Genre, config: SyntheticCatalogConfig) -> tuple[TagWeight, ...]:
    """Primary genre near 1, maybe a neighbour genre or two, and 2-4 moods weighted by the genre's profile."""
    tags = {genre.name: float(rng.uniform(0.8, 1.0))}
    neighbours = [name for name in genre.neighbours if name in config.genres]
    for _ in range(int(rng.choice(3, p=[0.35, 0.45, 0.2]))):
        if neighbours:
            tags.setdefault(pick(rng, neighbours), float(rng.uniform(0.2, 0.6)))
    moods, strengths = zip(*genre.moods)
    p = np.array(strengths) / sum(strengths)
    n_moods = min(len(moods), int(rng.integers(2, 5)))
    for index in rng.choice(len(moods), size=n_moods, replace=False, p=p):
        tags[moods[index]] = strengths[index] * float(rng.uniform(0.5, 1.0))
    return tuple(TagWeight(tag, round(weight, 2), SOURCE) for tag, weight in tags.items())


def _album_years(rng: np.random.Generator, config: SyntheticCatalogConfig, artist: ArtistDraft) -> list[int]:
    """Release years of the artist's albums: one to four years apart from the debut on.

    A career that would run past the last year starts earlier instead, so years do not pile up at the end.
    """
    if artist.is_new:
        return [artist.debut]
    n_albums = int(rng.integers(config.albums_per_artist[0], config.albums_per_artist[1] + 1))
    offsets = np.cumsum(np.concatenate([[0], rng.integers(1, 5, size=n_albums - 1)]))
    start = max(config.year_range[0], min(artist.debut, config.year_range[1] - int(offsets[-1])))
    return [min(start + int(offset), config.year_range[1]) for offset in offsets]


def _new_albums(rng: np.random.Generator, config: SyntheticCatalogConfig, artists: list[ArtistDraft],
                plan: list[list[int]], sizes: list[list[int]]) -> set[tuple[int, int]]:
    """Latest albums of active artists that become new releases, until new tracks reach `new_share`."""
    total = sum(map(sum, sizes))
    new_tracks = sum(sum(sizes[a]) for a, artist in enumerate(artists) if artist.is_new)
    recent = config.year_range[1] - 15
    order = sorted(rng.permutation(len(artists)).tolist(), key=lambda a: plan[a][-1] < recent)
    chosen = set()
    for a in order:
        if new_tracks >= config.new_share * total:
            break
        if not artists[a].is_new:
            chosen.add((a, len(plan[a]) - 1))
            new_tracks += sizes[a][-1]
    return chosen


def _added_at(rng: np.random.Generator, year: int, reference: datetime, window_days: int, is_new: bool) -> datetime:
    """When the catalog got the release: within the window for new ones, else after release and before it."""
    if is_new:
        return reference - timedelta(seconds=int(rng.integers(3600, window_days * 86400)))
    high = reference - timedelta(days=window_days + 1)
    low = min(max(datetime(year, 1, 1), reference - timedelta(days=CATALOG_AGE_DAYS)), high)
    return low + timedelta(seconds=int(rng.integers(0, int((high - low).total_seconds()) + 1)))


def _fresh_title(rng: np.random.Generator, genre: Genre, used: set[str], shared: tuple[str, ...]) -> str:
    """A title this artist has not used yet; a few come from the titles every artist may share."""
    for _ in range(20):
        title = pick(rng, shared) if chance(rng, SHARED_TITLE_SHARE) else names.track_title(rng, genre)
        if title_key(title) not in used:
            break
    used.add(title_key(title))
    return title


def _track(rng: np.random.Generator, config: SyntheticCatalogConfig, artist: ArtistDraft, artist_index: int,
           album_index: int, title: str, year: int, added_at: datetime, is_new: bool, album_factor: float,
           number: int) -> TrackDraft:
    seconds = float(np.clip(artist.genre.duration_s * rng.lognormal(0.0, 0.25), 60, 1500))
    weight = artist.weight * album_factor * float(rng.lognormal(0.0, 0.9)) * (NEW_FACTOR if is_new else 1.0)
    plays = int(2_000_000 * weight) + int(rng.integers(0, 40))
    tags = _track_tags(rng, config, artist.genre, title)
    return TrackDraft(f"t{number:06d}", artist_index, album_index, title, year, int(seconds * 1000), added_at,
                      tags, weight, plays, is_new)


def _track_tags(rng: np.random.Generator, config: SyntheticCatalogConfig, genre: Genre,
                title: str) -> tuple[TagWeight, ...]:
    """A track's own tags (on top of its artist's): moods from its genre, and hints its title gives."""
    tags: dict[str, float] = {}
    if chance(rng, config.track_tag_share):
        moods, strengths = zip(*genre.moods)
        p = np.array(strengths) / sum(strengths)
        for index in rng.choice(len(moods), size=min(len(moods), int(rng.integers(1, 3))), replace=False, p=p):
            tags[moods[index]] = float(rng.uniform(0.5, 1.0))
        neighbours = [name for name in genre.neighbours if name in config.genres]
        if neighbours and chance(rng, 0.15):
            tags[pick(rng, neighbours)] = float(rng.uniform(0.3, 0.7))
    words = set(title.lower().split())
    for word, mood in TITLE_MOODS:
        if word in words:
            tags[mood] = max(tags.get(mood, 0.0), 0.8)
    return tuple(TagWeight(tag, round(weight, 2), SOURCE) for tag, weight in tags.items())
