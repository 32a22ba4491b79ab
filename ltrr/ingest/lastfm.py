"""Last.fm HetRec 2011 (`lastfm_hetrec2011_2k`) -> user taste profiles, artist play counts and artist tags.

Reads the tab-separated files `artists.dat` (id, name, url, pictureURL), `tags.dat` (tagID, tagValue),
`user_artists.dat` (userID, artistID, weight = play count) and `user_taggedartists.dat` (userID, artistID,
tagID, day, month, year). A Last.fm artist maps to one catalog artist: the catalog artists of the same
exact name if any, else those of the same `name_key`, and among several the first by entity id. Several
Last.fm artists may map to the same catalog artist; their plays and taggers are pooled.

Written:
- a `UserProfile` "lastfm:user:<userID>" per user: artist affinity log1p(plays) / max over the user's
  matched artists of log1p(plays) (play counts are heavy-tailed; only catalog artists are kept), and tag
  affinity (times the user applied the tag) / (the user's most applied tag's count);
- `play_count` of matched artists: plays summed over all users;
- artist tags (source "lastfm"): n_users(artist, tag) / max over the artist's tags of n_users, keeping only
  tags applied to the artist by at least 2 distinct users, which drops one-off labels such as "raptuga".
Tag texts are canonical (`text.tag_name`), so tag ids whose texts differ only in case count as one tag.
A tagging that names an artist id absent from `artists.dat` (1,538 rows of the shared copy: that file lists
only each user's top 50 artists) is valid: it counts for the user's tag affinity, and no artist gets the tag.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..text import tag_name
from ..types import Affinity, UserProfile
from .matching import ArtistMatcher
from .report import IngestReport, settle_problems
from .rows import Problems, RowError, Seen, find_input, int_field, read_delimited, text_field

SOURCE = "lastfm"
MIN_TAGGERS = 2
FILES = {"artists": "artists.dat", "tags": "tags.dat", "plays": "user_artists.dat",
         "taggings": "user_taggedartists.dat"}
COLUMNS = {"artists": ("id", "name"), "tags": ("tagID", "tagValue"), "plays": ("userID", "artistID", "weight"),
           "taggings": ("userID", "artistID", "tagID", "day", "month", "year")}


@dataclass(frozen=True, slots=True)
class _Listening:
    """Validated rows: artist names and canonical tags by id, (user, artist, plays), (user, artist, tag)."""

    artists: dict[int, str]
    tags: dict[int, str]
    plays: list[tuple[int, int, int]]
    taggings: list[tuple[int, int, int]]


def ingest_lastfm(store: CatalogStore, path: Path, *, skip_bad: bool = False, rejects_path: Path | None = None,
                  progress: StageFactory = no_progress) -> IngestReport:
    """Write Last.fm user profiles, and play counts and "lastfm" tags of matched catalog artists."""
    files = {what: find_input(Path(path), stem) for what, stem in FILES.items()}
    problems = Problems()
    report = IngestReport("lastfm")
    data = _read(files, problems, progress)
    report.read = {what: len(getattr(data, what)) + problems.count_in(file)
                   for what, file in files.items()}
    settle_problems(problems, report, skip_bad, rejects_path)

    catalog_of = _match_artists(data.artists, ArtistMatcher(store.name_keys("artist")))
    profiles = _profiles(data, catalog_of)
    play_count: Counter[str] = Counter(dict.fromkeys(set(catalog_of.values()), 0))
    for _, artist, plays in data.plays:
        if artist in catalog_of:
            play_count[catalog_of[artist]] += plays
    artist_tags = _artist_tags(data, catalog_of)
    with store.writer() as writer:
        _write(report, "users", writer.upsert_users, profiles, progress)
        _write(report, "artist play counts", partial(writer.set_columns, "play_count"), play_count, progress)
        _write(report, "artist tags", partial(writer.replace_tags, SOURCE), artist_tags, progress)
    report.matches["lastfm artists"] = (len(catalog_of), len(data.artists))
    report.matches["plays"] = (sum(play_count.values()), sum(plays for _, _, plays in data.plays))
    report.matches["taggings of artists in artists.dat"] = (
        sum(artist in data.artists for _, artist, _ in data.taggings), len(data.taggings))
    report.matches["users with >=1 matched artist"] = (sum(bool(p.artists) for p in profiles), len(profiles))
    return report


def user_id(lastfm_user: int) -> str:
    return f"{SOURCE}:user:{lastfm_user}"


def _write(report: IngestReport, target: str, write: Callable, values, progress: StageFactory) -> None:
    stage = progress(f"write {target}", len(values))
    report.add(target, write(values, progress=stage.update))
    stage.close()


def _read(files: Mapping[str, Path], problems: Problems, progress: StageFactory) -> _Listening:
    """Validate every file; a play naming an artist id, or a tagging naming a tag id, that is not a valid
    row of its file is a bad row too."""
    artists = dict(_read_keyed(files["artists"], COLUMNS["artists"], ("id",), problems, progress,
                               lambda row, key: text_field(row, "name")))
    tags = {key: tag_name(value) for key, value in
            _read_keyed(files["tags"], COLUMNS["tags"], ("tagID",), problems, progress,
                        lambda row, key: text_field(row, "tagValue"))}

    def check_plays(row: dict[str, str], key: tuple[int, ...]) -> int:
        _known(key[1], "artistID", artists, "artist")
        return _ints(row, ("weight",))[0]

    def check_tagging(row: dict[str, str], key: tuple[int, ...]) -> None:
        # An artistID missing from artists.dat is not a bad row: HetRec lists only each user's top 50
        # artists there, while users tagged others too. Such a tagging still shows the user's taste in tags.
        _known(key[2], "tagID", tags, "tag")
        day, month, _ = _ints(row, ("day", "month", "year"))
        if not 1 <= day <= 31:
            raise RowError(f"day: must be in [1, 31], got {day}")
        if not 1 <= month <= 12:
            raise RowError(f"month: must be in [1, 12], got {month}")

    plays = [(*key, count) for key, count in
             _read_keyed(files["plays"], COLUMNS["plays"], ("userID", "artistID"), problems, progress, check_plays)]
    taggings = [key for key, _ in _read_keyed(files["taggings"], COLUMNS["taggings"], ("userID", "artistID", "tagID"),
                                              problems, progress, check_tagging)]
    return _Listening(artists, tags, plays, taggings)


def _read_keyed(file: Path, columns: Sequence[str], key_columns: Sequence[str], problems: Problems,
                progress: StageFactory,
                check: Callable[[dict[str, str], tuple[int, ...]], Any]) -> list[tuple[Any, Any]]:
    """(key, check(row, key)) of each valid row: key columns are unique integers, and `check` raised no RowError.

    The key is an int for one key column, else a tuple of ints.
    """
    out = []
    seen = Seen()
    what = "/".join(key_columns)
    stage = progress(f"read {file.name}", None)
    # QUOTE_NONE: HetRec files are plain tab-separated; '"Weird Al" Yankovic' keeps its quotes
    for line, row in read_delimited(file, columns, problems, delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            key = _ints(row, key_columns)
            seen.check(", ".join(map(str, key)), line, what)
            value = check(row, key)
        except RowError as exc:
            problems.add(file, line, str(exc), row)
            continue
        out.append((key[0] if len(key) == 1 else key, value))
        stage.update(1)
    stage.close()
    return out


def _ints(row: Mapping[str, str], names: Sequence[str]) -> tuple[int, ...]:
    """Non-negative integer columns of a row.

    The fast path is plain `int`; only a bad value goes through `int_field`, for its error message.
    """
    try:
        values = tuple(int(row[name]) for name in names)
        if min(values) >= 0:
            return values
    except ValueError:
        pass
    return tuple(int_field(row, name) for name in names)


def _known(value: int, name: str, known: Mapping[int, str], what: str) -> None:
    if value not in known:
        raise RowError(f"{name}: unknown {what} {value} (not a valid row of the {what}s file)")


def _match_artists(artists: Mapping[int, str], matcher: ArtistMatcher) -> dict[int, str]:
    """Last.fm artist id -> its catalog artist id: exact name first, then name key; the first id among several."""
    catalog_of = {}
    for lastfm_id, name in artists.items():
        artist_ids, _ = matcher.match(name)
        if artist_ids:
            catalog_of[lastfm_id] = artist_ids[0]
    return catalog_of


def _profiles(data: _Listening, catalog_of: Mapping[int, str]) -> list[UserProfile]:
    plays: defaultdict[int, Counter[str]] = defaultdict(Counter)
    applied: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for user, artist, count in data.plays:
        listened = plays[user]  # every listener gets a profile, even with no catalog artist
        if artist in catalog_of:
            listened[catalog_of[artist]] += count
    for user, _, tag in data.taggings:
        applied[user][data.tags[tag]] += 1
    profiles = []
    for user in sorted(plays.keys() | applied.keys()):
        artist_plays = plays[user]
        top_plays = math.log1p(max(artist_plays.values(), default=0))
        top_tag = max(applied[user].values(), default=0)
        profiles.append(UserProfile(
            user_id(user), SOURCE,
            artists=tuple(Affinity(artist_id, math.log1p(count) / top_plays if top_plays else 0.0, count)
                          for artist_id, count in sorted(artist_plays.items())),
            tags=tuple(Affinity(tag, count / top_tag, count) for tag, count in sorted(applied[user].items()))))
    return profiles


def _artist_tags(data: _Listening, catalog_of: Mapping[int, str]) -> dict[str, list[tuple[str, float]]]:
    """Tags of each matched catalog artist by distinct taggers, keeping those with >= MIN_TAGGERS users."""
    taggers: defaultdict[str, defaultdict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for user, artist, tag in data.taggings:
        if artist in catalog_of:
            taggers[catalog_of[artist]][data.tags[tag]].add(user)
    out: dict[str, list[tuple[str, float]]] = {artist_id: [] for artist_id in set(catalog_of.values())}
    for artist_id, by_tag in taggers.items():
        top = max(map(len, by_tag.values()))
        out[artist_id] = sorted((tag, len(users) / top) for tag, users in by_tag.items()
                                if len(users) >= MIN_TAGGERS)
    return out
