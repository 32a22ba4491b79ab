"""User playlists: a theme (genre, mood, decade, a dated occasion or one person's taste), a name a person would
type ("chill vibes", "80s workout", "rainy day jazz", "road trip 2019"), and tracks drawn by theme and popularity.

Popular tracks land in more playlists, so `playlist_count` carries the popularity prior; new releases rarely do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from ..types import TagWeight
from .names import chance, pick, title_case
from .releases import SOURCE, Releases
from .vocabulary import GENRES_BY_NAME, MOODS

if TYPE_CHECKING:
    from ..config import SyntheticCatalogConfig

MOOD_NAMES = {
    "chill": ("chill", "chill vibes", "chillout", "relax", "lazy sunday"),
    "workout": ("workout", "gym", "gym mix", "running", "cardio"),
    "sleep": ("sleep", "sleepy time", "bedtime", "night night"),
    "party": ("party", "party mix", "pregame", "friday night"),
    "focus": ("focus", "study", "studying", "deep focus", "work music"),
    "sad": ("sad songs", "sad", "sad vibes", "feels"),
    "happy": ("happy", "good vibes", "feel good", "good mood"),
    "romantic": ("love songs", "romantic", "date night", "slow jams"),
    "road trip": ("road trip", "car songs", "driving", "long drive"),
    "rainy day": ("rainy day", "rainy days", "rain", "cozy"),
    "energetic": ("pump up", "hype", "energy", "bangers"),
    "summer": ("summer", "summer vibes", "summer jams", "beach"),
    "nostalgic": ("throwbacks", "throwback", "nostalgia", "old favorites"),
    "dance": ("dance", "dance party", "dancing", "kitchen disco"),
}
MOOD_GENRE_NAMES = {
    "chill": "chill {g}", "workout": "{g} workout", "sleep": "{g} for sleeping", "party": "{g} party",
    "focus": "{g} to study to", "sad": "sad {g}", "happy": "happy {g}", "romantic": "{g} love songs",
    "road trip": "{g} road trip", "rainy day": "rainy day {g}", "energetic": "{g} bangers",
    "summer": "summer {g}", "nostalgic": "{g} throwbacks", "dance": "{g} dance floor",
}
MOOD_DESCRIPTIONS = {
    "chill": "laid back songs for slow evenings", "workout": "high energy tracks to keep you moving",
    "sleep": "soft sounds to fall asleep to", "party": "turn it up", "focus": "music to concentrate on anything",
    "sad": "for the bad days", "happy": "good mood only", "romantic": "for someone special",
    "road trip": "windows down, volume up", "rainy day": "grey skies and warm tea",
    "energetic": "no skips, all energy", "summer": "sunshine all year long", "nostalgic": "songs that take me back",
    "dance": "can't stop moving",
}
GENRE_NAMES = ("{g}", "{g} mix", "best of {g}", "{g} classics", "{g} essentials", "my {g}", "{g} favorites",
               "all things {g}")
GENRE_ALIASES = {"drum and bass": ("dnb", "drum & bass"), "hip hop": ("hip-hop", "rap"), "r&b": ("rnb",),
                 "lo-fi": ("lofi", "lo fi"), "trip hop": ("trip-hop",), "indie rock": ("indie",),
                 "classic rock": ("rock",), "synthwave": ("synth", "retrowave")}
DECADE_NAMES = ("{d}", "{d} hits", "best of the {d}", "{d} music", "{d} mix", "{d} throwbacks")
DATED_NAMES = (("summer {y}", "summer"), ("road trip {y}", "road trip"), ("gym {y}", "workout"),
               ("party {y}", "party"), ("spring break {y}", "party"), ("wedding {y}", "romantic"))
PERSONAL_NAMES = ("my playlist", "favorites", "random", "vibes", "songs i like", "new playlist", "mix", "car",
                  "shower songs", "stuff", "music", "jams", "on repeat", "everything")
KINDS = (("mood", 0.20), ("genre", 0.18), ("genre_mood", 0.18), ("decade", 0.08), ("decade_genre", 0.12),
         ("decade_mood", 0.06), ("dated", 0.08), ("personal", 0.10))


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    description: str | None
    genres: tuple[tuple[str, float], ...] = ()
    moods: tuple[str, ...] = ()
    years: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class PlaylistDraft:
    key: str
    theme: Theme
    tags: tuple[TagWeight, ...]
    followers: int
    added_at: datetime
    tracks: tuple[int, ...]  # indices into Releases.tracks, in playlist order


@dataclass(frozen=True, slots=True)
class TrackTable:
    """Per-track arrays for sampling: effective tag weights (own over artist's), years, popularity, newness."""

    tags: tuple[str, ...]
    weights: np.ndarray  # (n_tracks, n_tags)
    years: np.ndarray
    popularity: np.ndarray
    is_new: np.ndarray

    @classmethod
    def of(cls, releases: Releases, genres: tuple[str, ...]) -> TrackTable:
        tags = (*genres, *MOODS)
        column = {tag: j for j, tag in enumerate(tags)}
        weights = np.zeros((len(releases.tracks), len(tags)))
        for i, track in enumerate(releases.tracks):
            for tag in releases.artists[track.artist].tags + track.tags:  # own tags come last and win
                weights[i, column[tag.tag]] = tag.weight
        return cls(tags, weights, np.array([t.year for t in releases.tracks]),
                   np.array([t.weight for t in releases.tracks]), np.array([t.is_new for t in releases.tracks]))

    def column(self, tag: str) -> np.ndarray:
        return self.weights[:, self.tags.index(tag)]


def draft_playlists(rng: np.random.Generator, config: SyntheticCatalogConfig, releases: Releases,
                    table: TrackTable) -> tuple[PlaylistDraft, ...]:
    reference = datetime.combine(config.reference, time())
    ranks = rng.permutation(config.n_playlists)
    genre_p = _genre_odds(config, table)
    playlists = []
    for i in range(config.n_playlists):
        theme = _theme(rng, config, table, genre_p)
        length = int(rng.integers(config.playlist_length[0], config.playlist_length[1] + 1))
        tracks = _sample_tracks(rng, theme, table, length)
        followers = int(4000 * (ranks[i] + 1.0) ** -1.1 * rng.lognormal(0.0, 0.6))
        playlists.append(PlaylistDraft(f"p{i + 1:04d}", theme, _theme_tags(theme), followers,
                                       _created(rng, config, reference), tracks))
    return tuple(playlists)


def _theme(rng: np.random.Generator, config: SyntheticCatalogConfig, table: TrackTable,
           genre_p: np.ndarray) -> Theme:
    kinds, weights = zip(*KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=np.array(weights) / sum(weights)))]
    genre = config.genres[int(rng.choice(len(genre_p), p=genre_p))]
    mood = _genre_mood(rng, genre)
    if kind == "mood":
        return Theme(_cased(rng, pick(rng, MOOD_NAMES[mood])), _describe(rng, MOOD_DESCRIPTIONS[mood]), moods=(mood,))
    if kind == "genre":
        text = pick(rng, GENRE_NAMES).format(g=_genre_word(rng, genre))
        return Theme(_cased(rng, text), _describe(rng, f"the best of {genre}, old and new"), ((genre, 1.0),))
    if kind == "genre_mood":
        text = MOOD_GENRE_NAMES[mood].format(g=_genre_word(rng, genre))
        return Theme(_cased(rng, text), _describe(rng, MOOD_DESCRIPTIONS[mood]), ((genre, 1.0),), (mood,))
    if kind == "personal":
        mix = rng.dirichlet(np.ones(2))
        second = config.genres[int(rng.choice(len(genre_p), p=genre_p))]
        genres = ((genre, float(mix[0])), (second, float(mix[1]))) if second != genre else ((genre, 1.0),)
        return Theme(_cased(rng, pick(rng, PERSONAL_NAMES)), _describe(rng, f"a bit of {genre} and {second}"),
                     genres)
    if kind == "dated":
        text, dated_mood = DATED_NAMES[int(rng.integers(len(DATED_NAMES)))]
        first, last = config.year_range
        year = int(rng.integers(min(max(2010, first), last), last + 1))
        return Theme(_cased(rng, text.format(y=year)), None, moods=(dated_mood,), years=(year - 8, year))
    decade = _decade_of(rng, table, genre if kind == "decade_genre" else None)
    label = f"{decade % 100:02d}s" if decade < 2000 else f"{decade}s"
    years = (decade, decade + 9)
    if kind == "decade_genre":
        return Theme(_cased(rng, f"{label} {_genre_word(rng, genre)}"), _describe(rng, f"{genre} from the {label}"),
                     ((genre, 1.0),), years=years)
    if kind == "decade_mood":
        return Theme(_cased(rng, f"{label} {MOOD_NAMES[mood][0]}"), None, moods=(mood,), years=years)
    text = "oldies" if decade <= 1970 and chance(rng, 0.3) else pick(rng, DECADE_NAMES).format(d=label)
    return Theme(_cased(rng, text), _describe(rng, f"hits from the {label}"), years=years)


def _genre_odds(config: SyntheticCatalogConfig, table: TrackTable) -> np.ndarray:
    """How often each genre themes a playlist: more often with popular tracks (playlists follow listening)."""
    mass = np.array([float(table.popularity @ (table.column(g) >= 0.8)) for g in config.genres])
    p = np.sqrt(mass) + 1e-9
    return p / p.sum()


def _genre_mood(rng: np.random.Generator, genre: str) -> str:
    moods, strengths = zip(*GENRES_BY_NAME[genre].moods)
    return moods[int(rng.choice(len(moods), p=np.array(strengths) / sum(strengths)))]


def _genre_word(rng: np.random.Generator, genre: str) -> str:
    aliases = GENRE_ALIASES.get(genre, ())
    return pick(rng, aliases) if aliases and chance(rng, 0.3) else genre


def _decade_of(rng: np.random.Generator, table: TrackTable, genre: str | None) -> int:
    """The decade of a track drawn at random (of the genre, if given), so the decade has tracks."""
    p = table.column(genre) ** 4 + 1e-9 if genre else np.ones(len(table.years))
    year = int(table.years[int(rng.choice(len(p), p=p / p.sum()))])
    return year - year % 10


def _cased(rng: np.random.Generator, text: str) -> str:
    """Most people type playlist names in lower case; some capitalize, a few shout."""
    roll = rng.random()
    return text if roll < 0.7 else title_case(text) if roll < 0.94 else text.upper()


def _describe(rng: np.random.Generator, text: str) -> str | None:
    return text if chance(rng, 0.35) else None


def _theme_tags(theme: Theme) -> tuple[TagWeight, ...]:
    genres = [TagWeight(genre, round(weight, 2), SOURCE) for genre, weight in theme.genres]
    return (*genres, *(TagWeight(mood, 0.9, SOURCE) for mood in theme.moods))


def _sample_tracks(rng: np.random.Generator, theme: Theme, table: TrackTable, length: int) -> tuple[int, ...]:
    """Tracks drawn without replacement, by theme relevance squared times popularity^0.6."""
    genre = sum((weight * table.column(name) for name, weight in theme.genres), np.zeros(len(table.years)))
    mood = np.mean([table.column(name) for name in theme.moods], axis=0) if theme.moods else None
    if theme.genres and mood is not None:
        relevance = genre * (0.15 + 0.85 * mood)
    else:
        relevance = genre if theme.genres else mood if mood is not None else np.ones(len(table.years))
    if theme.years:
        relevance = relevance * np.where((table.years >= theme.years[0]) & (table.years <= theme.years[1]), 1, 0.01)
    p = (relevance + 1e-4) ** 2 * table.popularity ** 0.6 * np.where(table.is_new, 0.1, 1.0)
    size = min(length, len(p))
    return tuple(int(i) for i in rng.choice(len(p), size=size, replace=False, p=p / p.sum()))


def _created(rng: np.random.Generator, config: SyntheticCatalogConfig, reference: datetime) -> datetime:
    if chance(rng, config.new_share):
        return reference - timedelta(seconds=int(rng.integers(3600, config.new_window_days * 86400)))
    span = int(timedelta(days=4 * 365 - config.new_window_days - 1).total_seconds())
    return reference - timedelta(days=4 * 365) + timedelta(seconds=int(rng.integers(0, span)))
