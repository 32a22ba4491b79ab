"""Billboard Hot 100 song summary (`hot100_songs.csv`) -> year and chart popularity on catalog tracks.

A chart row (song, artist credit) matches the catalog tracks whose version-free title key equals the
song's (`text.title_key`) and whose artist's `name_key` equals the key of any artist in the credit.
The credit's candidate artists are each artist of `text.credit_artists` ("A Featuring B & C" -> A, B, C),
plus the whole credit and its parts split at featuring/with/x/vs only, so that names which contain "&"
or "," ("Simon & Garfunkel", "Earth, Wind & Fire Featuring The Emotions") still match. A double A-side
("A/B") also matches tracks titled A or B.

One row may match several tracks (remasters, several URIs) and several rows may match one track (the same
song under different credits), so values are aggregated per track: `year` is the earliest first-chart
year, `chart_points` the sum of the rows' points, `chart_best_rank` the best (lowest) rank. Tracks are
never created.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..text import credit_artists, name_key, title_key
from .matching import input_file
from .report import IngestReport, settle_problems
from .rows import Problems, RowError, Seen, int_field, read_delimited, text_field

COLUMNS = ("song", "artist", "first_chart_date", "last_chart_date", "best_rank", "weeks_charted", "chart_points")
FILE = "hot100_songs.csv"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Splits a credit between acts but not inside one: "&", ",", "and" often belong to a band's name.
_ACT_SPLIT = re.compile(r"\s+(?:featuring|feat\.?|ft\.?|with|x|vs\.?|duet with)\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _ChartSong:
    song: str
    credit: str
    year: int
    best_rank: int
    chart_points: int


@dataclass(frozen=True, slots=True)
class _ChartStats:
    """Aggregated chart values of one catalog track."""

    year: int
    chart_points: int
    best_rank: int

    def merge(self, song: _ChartSong) -> _ChartStats:
        return _ChartStats(min(self.year, song.year), self.chart_points + song.chart_points,
                           min(self.best_rank, song.best_rank))


def ingest_billboard(store: CatalogStore, path: Path, *, skip_bad: bool = False, rejects_path: Path | None = None,
                     progress: StageFactory = no_progress) -> IngestReport:
    """Set `year`, `chart_points` and `chart_best_rank` of catalog tracks found on the Hot 100."""
    file = input_file(Path(path), FILE)
    problems = Problems()
    report = IngestReport("billboard")
    songs = _read_songs(file, problems, progress)
    report.read = {"songs": len(songs) + len(problems)}
    settle_problems(problems, report, skip_bad, rejects_path)

    stats, matched_songs = _match(songs, store.track_artist_keys(), progress)
    columns = {"year": {track_id: s.year for track_id, s in stats.items()},
               "chart_points": {track_id: s.chart_points for track_id, s in stats.items()},
               "chart_best_rank": {track_id: s.best_rank for track_id, s in stats.items()}}
    with store.writer() as writer:
        for column, values in columns.items():
            stage = progress(f"write track {column}", len(values))
            report.add(f"track {column}", writer.set_columns(column, values, progress=stage.update))
            stage.close()
    report.matches["billboard songs"] = (matched_songs, len(songs))
    report.matches["catalog tracks"] = (len(stats), store.counts().tracks)
    return report


def credit_keys(credit: str) -> set[str]:
    """Artist name keys a chart credit may stand for (see the module docstring).

    >>> sorted(credit_keys("Macklemore & Ryan Lewis Featuring Wanz"))
    ['macklemore', 'macklemore and ryan lewis', 'macklemore and ryan lewis featuring wanz', 'ryan lewis', 'wanz']
    """
    names = [credit, *_ACT_SPLIT.split(credit), *credit_artists(credit)]
    return {key for key in map(name_key, names) if key}


def song_keys(song: str) -> set[str]:
    """Title keys of a chart title; a double A-side "A/B" also stands for A and for B.

    >>> sorted(song_keys("We Will Rock You/We Are The Champions"))
    ['we are the champions', 'we will rock you', 'we will rock youwe are the champions']
    """
    parts = song.split("/")
    titles = [song, *parts] if len(parts) > 1 else [song]
    return {key for key in map(title_key, titles) if key}


def _read_songs(file: Path, problems: Problems, progress: StageFactory) -> list[_ChartSong]:
    songs: list[_ChartSong] = []
    seen = Seen()
    stage = progress("read chart songs", None)
    for line, row in read_delimited(file, COLUMNS, problems):
        try:
            song, credit = text_field(row, "song"), text_field(row, "artist")
            seen.check(f"{song} | {credit}", line, "song | artist")
            first, last = _date_field(row, "first_chart_date"), _date_field(row, "last_chart_date")
            if last < first:
                raise RowError(f"last_chart_date: {last} is before first_chart_date {first}")
            best_rank = int_field(row, "best_rank", minimum=1)
            if best_rank > 100:
                raise RowError(f"best_rank: must be in [1, 100], got {best_rank}")
            int_field(row, "weeks_charted", minimum=1)
            points = int_field(row, "chart_points")
        except RowError as exc:
            problems.add(file, line, str(exc), row)
            continue
        songs.append(_ChartSong(song, credit, first.year, best_rank, points))
        stage.update(1)
    stage.close()
    return songs


def _date_field(row: dict[str, str], name: str) -> date:
    value = (row.get(name) or "").strip()
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise RowError(f"{name}: expected a date YYYY-MM-DD, got {value!r}")


def _match(songs: Sequence[_ChartSong], track_keys: Iterable[tuple[str, str, str]],
           progress: StageFactory) -> tuple[dict[str, _ChartStats], int]:
    """Aggregated chart values per matched track id, and how many songs matched any track."""
    index: dict[tuple[str, str], list[str]] = {}
    for track_id, title, artist in track_keys:
        index.setdefault((title, artist), []).append(track_id)
    stats: dict[str, _ChartStats] = {}
    matched = 0
    stage = progress("match chart songs", len(songs))
    for song in songs:
        artists = credit_keys(song.credit)
        track_ids = {track_id for title in song_keys(song.song) for artist in artists
                     for track_id in index.get((title, artist), ())}
        matched += bool(track_ids)
        for track_id in track_ids:
            old = stats.get(track_id)
            stats[track_id] = old.merge(song) if old else _ChartStats(song.year, song.chart_points, song.best_rank)
        stage.update(1)
    stage.close()
    return stats, matched
