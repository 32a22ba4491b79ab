"""Spotify artist genres (`data_w_genres.csv`) -> weighted genre tags and a popularity score on catalog artists.

The file has one row per artist name, with Spotify micro-genres (`[]` or "a, b, c") and a 0-100 popularity.
It enriches artists already in the catalog and never creates any: a row matches the catalog artists whose
exact name equals it (whitespace stripped), or failing that those whose `name_key` does ("Beyonce" finds
"Beyoncé"). Where two rows claim one artist, an exact match beats a key match, then the earlier line wins.

Genre weight. Spotify lists genres without weights, but they are not equally telling: "dance pop" on a pop
star is central, while a regional micro-genre tacked onto an otherwise mainstream profile is peripheral.
A genre is central when it is coherent with the rest of the artist's profile, measured by how often the
artist's other genres come with it across the whole file:

    w(a, g) = 0.5 + 0.5 * mean over the artist's other genres g' of P(g | g'),
    P(g | g') = #artists having both g and g' / #artists having g'.

An artist with a single genre gets 1.0; weights lie in [0.5, 1] and are rounded to 4 decimals. Tracks
inherit their artist's tags when read, so no track tags are written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..text import tag_name
from .matching import ArtistMatcher, input_file
from .report import IngestReport, settle_problems
from .rows import Problems, RowError, Seen, float_field, read_delimited, text_field

COLUMNS = ("genres", "artists", "popularity")
FILE = "data_w_genres.csv"
SOURCE = "spotify_genres"
DECIMALS = 4


@dataclass(frozen=True, slots=True)
class _ArtistRow:
    line: int
    name: str
    genres: tuple[str, ...]
    popularity: float


def ingest_genres(store: CatalogStore, path: Path, *, skip_bad: bool = False, rejects_path: Path | None = None,
                  progress: StageFactory = no_progress) -> IngestReport:
    """Add Spotify genres (source "spotify_genres") and `source_popularity` to matched catalog artists."""
    file = input_file(Path(path), FILE)
    problems = Problems()
    report = IngestReport("genres")
    rows = _read_rows(file, problems, progress)
    report.read = {"artists": len(rows) + len(problems)}
    settle_problems(problems, report, skip_bad, rejects_path)

    weights = genre_weights([row.genres for row in rows])
    owner = _assign(rows, ArtistMatcher(store.name_keys("artist")))
    tags = {artist_id: weights[index] for artist_id, index in owner.items()}
    popularity = {artist_id: rows[index].popularity for artist_id, index in owner.items()}
    with store.writer() as writer:
        stage = progress("write artist genres", len(tags))
        report.add("artist genres", writer.replace_tags(SOURCE, tags, progress=stage.update))
        stage.close()
        stage = progress("write artist popularity", len(popularity))
        report.add("artist popularity", writer.set_columns("source_popularity", popularity, progress=stage.update))
        stage.close()
    tracks_by_artist = store.track_counts_by_artist()
    report.matches["artists"] = (len(set(owner.values())), len(rows))
    report.matches["tracks with genres"] = (sum(tracks_by_artist.get(artist_id, 0) for artist_id, pairs in tags.items()
                                                if pairs), store.counts().tracks)
    return report


def genre_weights(profiles: Sequence[Sequence[str]]) -> list[list[tuple[str, float]]]:
    """(genre, weight) pairs for each profile, by the co-occurrence formula of the module docstring.

    >>> genre_weights([["pop", "rock"], ["pop"], ["pop", "rock"], ["rock", "jazz"]])[3]
    [('rock', 1.0), ('jazz', 0.6667)]
    """
    having: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for genres in profiles:
        having.update(genres)
        both.update((g, other) for g in genres for other in genres if g != other)
    out = []
    for genres in profiles:
        if len(genres) == 1:
            out.append([(genres[0], 1.0)])
            continue
        out.append([(g, round(0.5 + 0.5 * sum(both[g, other] / having[other] for other in genres if other != g)
                              / (len(genres) - 1), DECIMALS)) for g in genres])
    return out


def parse_genres(value: str) -> tuple[str, ...]:
    """Canonical genre names of a `genres` cell, in order, without repeats.

    Accepts `[]`, "a, b" and the Kaggle original's "['a', 'b']".

    >>> parse_genres("[]"), parse_genres("Dance Pop, pop,dance pop"), parse_genres("['show tunes']")
    ((), ('dance pop', 'pop'), ('show tunes',))
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    names = (tag_name(part.strip().strip("'\"")) for part in text.split(","))
    return tuple(dict.fromkeys(name for name in names if name))


def _read_rows(file: Path, problems: Problems, progress: StageFactory) -> list[_ArtistRow]:
    rows: list[_ArtistRow] = []
    seen = Seen()
    stage = progress("read genres", None)
    for line, row in read_delimited(file, COLUMNS, problems):
        try:
            exact = text_field(row, "artists", strip=False)
            seen.check(exact, line, "artist name")  # exact: "Anonymous" and "Anonymous " are two source rows
            name = exact.strip()
            genres = parse_genres(text_field(row, "genres"))
            popularity = float_field(row, "popularity", low=0.0, high=100.0)
        except RowError as exc:
            problems.add(file, line, str(exc), row)
            continue
        rows.append(_ArtistRow(line, name, genres, popularity))
        stage.update(1)
    stage.close()
    return rows


def _assign(rows: Sequence[_ArtistRow], matcher: ArtistMatcher) -> dict[str, int]:
    """Catalog artist id -> index of the row that describes it: exact name first, then the earlier line."""
    best: dict[str, tuple[bool, int]] = {}
    for index, row in enumerate(rows):
        artist_ids, exact = matcher.match(row.name)
        for artist_id in artist_ids:
            rank = (not exact, index)
            if artist_id not in best or rank < best[artist_id]:
                best[artist_id] = rank
    return {artist_id: index for artist_id, (_, index) in best.items()}
