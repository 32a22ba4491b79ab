"""Enrichment ingesters (genres, billboard, lastfm) on tiny invented files over a tiny invented MPD catalog.

Every expected value below is worked by hand from the fixtures in the comments next to it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from builders import write_csv, write_mpd

from ltrr.errors import IngestError
from ltrr.ingest.billboard import credit_keys, ingest_billboard
from ltrr.ingest.genres import genre_weights, ingest_genres, parse_genres
from ltrr.ingest.lastfm import ingest_lastfm, user_id
from ltrr.ingest.mpd import artist_id, ingest_mpd, track_id
from ltrr.store import CatalogStore, WriteCounts
from ltrr.types import Affinity

# 7 tracks by 5 MPD artists; "Vela Moss " (trailing space) is a distinct MPD artist with the same stripped name.
URIS = [f"spotify:track:ENRICHxxxxxxxxxxxxxxx{i}" for i in range(1, 8)]
TRACKS = [
    [URIS[0], "Night Drive", "Vela Moss", "1", "3"],
    [URIS[1], "Glass Harbour - Remastered 2011", "Vela Moss", "0", "0"],
    [URIS[2], "Night Drive", "Vela Moss ", "0", "0"],
    [URIS[3], "Paper Suns", "Okra Lane", "1", "3"],
    [URIS[4], "Paper Suns - 2015 Remaster", "Okra Lane", "0", "0"],
    [URIS[5], "Halo Lanterns", "Zoë Quill", "0", "0"],
    [URIS[6], "Slow Tide", "Juno Reyes", "0", "0"],
]
PLAYLISTS = [{"pid": 1, "name": "mix", "num_followers": 3, "tracks": [URIS[0], URIS[3]]}]
T1, T2, T3, T4, T5, T6, T7 = (track_id(uri) for uri in URIS)
VELA, VELA_SPACE, OKRA, ZOE, JUNO = (artist_id(name) for name in
                                     ("Vela Moss", "Vela Moss ", "Okra Lane", "Zoë Quill", "Juno Reyes"))


@pytest.fixture
def catalog(store: CatalogStore, tmp_path: Path) -> CatalogStore:
    ingest_mpd(store, write_mpd(tmp_path / "mpd", tracks=TRACKS, playlists=PLAYLISTS))
    return store


def tags_of(store: CatalogStore, entity_id: str, source: str) -> dict[str, float]:
    entity, = store.get_entities([entity_id])
    return {t.tag: t.weight for t in entity.tags if t.source == source}


def rejects(path: Path) -> list[tuple[str, int]]:
    return [(Path(r["file"]).name, r["line"]) for r in map(json.loads, path.read_text().splitlines())]


# --- genres -------------------------------------------------------------------------------------------------

GENRE_HEADER = ["genres", "artists", "popularity", "count"]
GENRE_ROWS = [                                        # file lines 2-6
    ["synthwave, ambient", "Vela Moss", "40.5", "3"],
    ["Synthwave, ambient, dream pop", "Zoe Quill", "61", "2"],   # "Zoe" matches "Zoë" by name key
    ["trip hop", "Okra Lane", "55", "1"],
    ["synthwave, chillwave", "Unsigned Band", "12", "1"],        # no such catalog artist
    ["[]", "Juno Reyes", "8", "4"],
]
# Over the file: n(synthwave)=3, n(ambient)=2, n(dream pop)=1; both(synthwave, ambient)=2, both(x, dream pop)=1.
# Vela: synthwave 0.5+0.5*P(sw|amb)=0.5+0.5*2/2=1; ambient 0.5+0.5*P(amb|sw)=0.5+0.5*2/3=0.8333
# Zoe: synthwave 0.5+0.5*mean(2/2, 1/1)=1; ambient 0.5+0.5*mean(2/3, 1/1)=0.9167;
#      dream pop 0.5+0.5*mean(1/3, 1/2)=0.7083
VELA_GENRES = {"synthwave": 1.0, "ambient": 0.8333}
ZOE_GENRES = {"synthwave": 1.0, "ambient": 0.9167, "dream pop": 0.7083}


def write_genres(folder: Path, rows: list[list[str]] = GENRE_ROWS, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / ("data_w_genres.csv" + (".gz" if gz else "")), GENRE_HEADER, rows)


def test_genre_weights_by_hand():
    profiles = [parse_genres(row[0]) for row in GENRE_ROWS]
    weights = [dict(pairs) for pairs in genre_weights(profiles)]
    # Unsigned Band: synthwave 0.5+0.5*P(sw|chill)=0.5+0.5*1/1=1; chillwave 0.5+0.5*P(chill|sw)=0.5+0.5*1/3=0.6667
    assert weights == [VELA_GENRES, ZOE_GENRES, {"trip hop": 1.0}, {"synthwave": 1.0, "chillwave": 0.6667}, {}]


def test_genre_weights_single_and_pair_by_hand():
    # pop in 3 profiles, rock in 3, jazz in 1; both(pop, rock)=2, both(rock, jazz)=1
    profiles = [("pop", "rock"), ("pop",), ("pop", "rock"), ("rock", "jazz")]
    weights = genre_weights(profiles)
    assert weights[1] == [("pop", 1.0)]                            # a single genre is central by definition
    assert dict(weights[0]) == {"pop": 0.8333, "rock": 0.8333}     # 0.5 + 0.5 * 2/3 each way
    assert dict(weights[3]) == {"rock": 1.0, "jazz": 0.6667}       # P(rock|jazz)=1/1, P(jazz|rock)=1/3


@pytest.mark.parametrize("cell, genres", [("[]", ()), ("a, b,a", ("a", "b")), ("rock,, ", ("rock",)),
                                         ("['Show Tunes', 'b']", ("show tunes", "b"))])
def test_parse_genres(cell, genres):
    assert parse_genres(cell) == genres


@pytest.mark.parametrize("gz, as_folder", [(False, False), (True, True)])
def test_genres_match_by_exact_name_and_by_name_key(catalog, tmp_path, gz, as_folder):
    file = write_genres(tmp_path / "genres", gz=gz)
    report = ingest_genres(catalog, file.parent if as_folder else file)
    assert tags_of(catalog, VELA, "spotify_genres") == VELA_GENRES
    assert tags_of(catalog, VELA_SPACE, "spotify_genres") == VELA_GENRES   # same stripped name: both get it
    assert tags_of(catalog, ZOE, "spotify_genres") == ZOE_GENRES           # "Zoe Quill" -> "Zoë Quill"
    assert tags_of(catalog, OKRA, "spotify_genres") == {"trip hop": 1.0}
    assert tags_of(catalog, JUNO, "spotify_genres") == {}
    popularity = {a.entity_id: a.popularity.source_popularity for a in catalog.get_entities([VELA, ZOE, JUNO])}
    assert popularity == {VELA: 40.5, ZOE: 61.0, JUNO: 8.0}
    # rows Vela, Zoe, Okra, Juno match; tracks of Vela (T1, T2), Vela-space (T3), Okra (T4, T5), Zoe (T6) get genres
    assert report.matches == {"artists": (4, 5), "tracks with genres": (6, 7)}
    assert report.written["artist genres"] == WriteCounts(inserted=4, unchanged=1)   # Juno has none to write
    assert report.written["artist popularity"] == WriteCounts(updated=5)


def test_tracks_inherit_genres_and_no_entity_is_created(catalog, tmp_path):
    before = catalog.counts()
    ingest_genres(catalog, write_genres(tmp_path / "genres"))
    after = catalog.counts()
    assert (after.tracks, after.artists) == (before.tracks, before.artists) == (7, 5)
    assert after.entity_tags == 2 + 2 + 3 + 1           # own tags are on artists only
    assert tags_of(catalog, T6, "artist:spotify_genres") == ZOE_GENRES


def test_exact_name_row_beats_name_key_row(catalog, tmp_path):
    rows = [["folk", "Zoe Quill", "10", "1"], ["dream pop", "Zoë Quill", "70", "1"]]   # key match comes first
    ingest_genres(catalog, write_genres(tmp_path / "genres", rows))
    zoe, = catalog.get_entities([ZOE])
    assert tags_of(catalog, ZOE, "spotify_genres") == {"dream pop": 1.0}
    assert zoe.popularity.source_popularity == 70.0


def test_genres_second_run_changes_nothing(catalog, tmp_path):
    file = write_genres(tmp_path / "genres")
    ingest_genres(catalog, file)
    again = ingest_genres(catalog, file)
    assert again.changed == 0
    assert again.written == {"artist genres": WriteCounts(unchanged=5), "artist popularity": WriteCounts(unchanged=5)}


def test_changed_genres_replace_the_old_ones(catalog, tmp_path):
    ingest_genres(catalog, write_genres(tmp_path / "a"))
    rows = [row[:] for row in GENRE_ROWS]
    rows[2][0] = "[]"                                         # Okra Lane loses "trip hop"
    report = ingest_genres(catalog, write_genres(tmp_path / "b", rows))
    assert tags_of(catalog, OKRA, "spotify_genres") == {}
    assert report.written["artist genres"] == WriteCounts(updated=1, unchanged=4)


BAD_GENRE_ROWS = [
    (["rock", "", "10", "1"], "artists: required"),
    (["rock", "New Act", "101", "1"], r"popularity: must be in \[0.0, 100.0\], got '101'"),
    (["rock", "New Act", "hot", "1"], "popularity: expected a number, got 'hot'"),
    (["", "New Act", "10", "1"], "genres: required"),
    (["rock", "Okra Lane", "10", "1"], r"duplicate artist name 'Okra Lane' \(first seen on line 4\)"),
    (["rock", "New Act", "10"], "expected 4 fields, got 3"),
]


@pytest.mark.parametrize("row, message", BAD_GENRE_ROWS)
def test_bad_genre_row_is_reported_with_its_line_and_nothing_is_written(catalog, tmp_path, row, message):
    file = write_genres(tmp_path / "genres", GENRE_ROWS + [row])
    with pytest.raises(IngestError, match=rf"data_w_genres\.csv:7: {message}"):
        ingest_genres(catalog, file)
    assert catalog.counts().entity_tags == 0
    assert catalog.get_entities([OKRA])[0].popularity.source_popularity is None


def test_bad_encoding_is_a_bad_genre_row(catalog, tmp_path):
    file = write_genres(tmp_path / "genres")
    with file.open("ab") as out:
        out.write(b"rock,Caf\xe9 Noir,10,1\n")
    with pytest.raises(IngestError, match=r"data_w_genres\.csv:7: bad encoding"):
        ingest_genres(catalog, file)


def test_genres_skip_bad_commits_good_rows_and_writes_rejects(catalog, tmp_path):
    file = write_genres(tmp_path / "genres", GENRE_ROWS + [["rock", "New Act", "hot", "1"]])
    rejects_path = tmp_path / "rejects.jsonl"
    report = ingest_genres(catalog, file, skip_bad=True, rejects_path=rejects_path)
    assert report.rejected == 1 and report.read == {"artists": 6}
    assert tags_of(catalog, OKRA, "spotify_genres") == {"trip hop": 1.0}
    assert rejects(rejects_path) == [("data_w_genres.csv", 7)]


def test_missing_genres_input_names_the_fix(catalog, tmp_path):
    with pytest.raises(IngestError, match="no data_w_genres.csv or data_w_genres.csv.gz here"):
        ingest_genres(catalog, tmp_path)
    with pytest.raises(IngestError, match="no such file or folder"):
        ingest_genres(catalog, tmp_path / "nope.csv")


# --- billboard ----------------------------------------------------------------------------------------------

CHART_HEADER = ["song", "artist", "first_chart_date", "last_chart_date", "best_rank", "weeks_charted", "chart_points"]
CHART_ROWS = [                                                                # file lines 2-8
    ["Paper Suns", "Okra Lane Featuring Zoe Quill", "1999-05-01", "1999-08-14", "12", "10", "500"],
    ["Paper Suns", "Okra Lane", "2001-02-03", "2001-03-03", "5", "3", "250"],
    ["Night Drive", "Vela Moss", "1987-06-06", "1987-07-04", "40", "5", "60"],
    ["Glass Harbour", "Vela Moss", "1989-01-07", "1989-01-14", "88", "2", "25"],
    ["Slow Tide", "Someone Else", "1990-01-06", "1990-01-06", "99", "1", "2"],   # title only: no match
    ["Never Heard", "Nobody", "2000-01-01", "2000-01-01", "70", "1", "31"],
    ["Halo Lanterns", "Zoe Quill & Juno Reyes", "2003-03-01", "2003-03-08", "60", "2", "80"],
]


def write_chart(folder: Path, rows: list[list[str]] = CHART_ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "hot100_songs.csv", CHART_HEADER, rows)
    return folder


def chart_values(store: CatalogStore, track: str) -> tuple:
    entity, = store.get_entities([track])
    return entity.year, entity.popularity.chart_points, entity.popularity.chart_best_rank


def test_billboard_matches_split_credits_and_aggregates_per_track(catalog, tmp_path):
    report = ingest_billboard(catalog, write_chart(tmp_path / "chart"))
    # T4 and T5 ("Paper Suns", "- 2015 Remaster") match lines 2 ("Okra Lane Featuring ...") and 3:
    # year min(1999, 2001), points 500 + 250, best rank min(12, 5)
    assert chart_values(catalog, T4) == chart_values(catalog, T5) == (1999, 750, 5)
    assert chart_values(catalog, T1) == chart_values(catalog, T3) == (1987, 60, 40)   # two artists keyed "vela moss"
    assert chart_values(catalog, T2) == (1989, 25, 88)                                # "- Remastered 2011" dropped
    assert chart_values(catalog, T6) == (2003, 80, 60)                                # "Zoe" of "Zoe Quill & ..."
    assert chart_values(catalog, T7) == (None, None, None)                            # wrong artist
    assert report.matches == {"billboard songs": (5, 7), "catalog tracks": (6, 7)}
    assert report.written["track year"] == WriteCounts(updated=6)


def test_billboard_second_run_changes_nothing(catalog, tmp_path):
    folder = write_chart(tmp_path / "chart")
    ingest_billboard(catalog, folder)
    again = ingest_billboard(catalog, folder / "hot100_songs.csv")   # the file itself is accepted too
    assert again.changed == 0
    assert set(again.written.values()) == {WriteCounts(unchanged=6)}


def test_credit_keys_keep_band_names_that_contain_a_separator():
    keys = credit_keys("Mama & The Tides Featuring Vela Moss")
    assert {"mama and the tides", "vela moss", "mama", "tides"} <= keys


def test_band_name_with_ampersand_matches(store, tmp_path):
    ingest_mpd(store, write_mpd(tmp_path / "mpd", tracks=[[URIS[0], "Low Sun", "Mama & The Tides", "0", "0"]],
                                playlists=[]))
    report = ingest_billboard(store, write_chart(tmp_path / "chart", [
        ["Low Sun", "Mama & The Tides Featuring Vela Moss", "1975-01-04", "1975-02-01", "30", "5", "300"]]))
    assert report.matches["catalog tracks"] == (1, 1)
    assert chart_values(store, T1) == (1975, 300, 30)


DATE_FORMAT = "expected a date YYYY-MM-DD"
BAD_CHART_ROWS = [
    (["X", "Y", "1999-01-02", "1999-01-02", "0", "1", "1"], "best_rank: must be >= 1, got 0"),
    (["X", "Y", "1999-01-02", "1999-01-02", "101", "1", "1"], r"best_rank: must be in \[1, 100\], got 101"),
    (["X", "Y", "01/02/1999", "1999-01-02", "1", "1", "1"], f"first_chart_date: {DATE_FORMAT}, got '01/02/1999'"),
    (["X", "Y", "1999-02-30", "1999-03-02", "1", "1", "1"], f"first_chart_date: {DATE_FORMAT}, got '1999-02-30'"),
    (["X", "Y", "1999-01-02", "1998-01-03", "1", "1", "1"],
     "last_chart_date: 1998-01-03 is before first_chart_date 1999-01-02"),
    (["X", "Y", "1999-01-02", "1999-01-02", "1", "0", "1"], "weeks_charted: must be >= 1, got 0"),
    (["X", "Y", "1999-01-02", "1999-01-02", "1", "1", "-5"], "chart_points: must be >= 0, got -5"),
    (["", "Y", "1999-01-02", "1999-01-02", "1", "1", "1"], "song: required"),
    (["Paper Suns", "Okra Lane", "1999-01-02", "1999-01-02", "1", "1", "1"],
     r"duplicate song \| artist 'Paper Suns \| Okra Lane' \(first seen on line 3\)"),
]


@pytest.mark.parametrize("row, message", BAD_CHART_ROWS)
def test_bad_chart_row_is_reported_with_its_line_and_nothing_is_written(catalog, tmp_path, row, message):
    folder = write_chart(tmp_path / "chart", CHART_ROWS + [row])
    with pytest.raises(IngestError, match=rf"hot100_songs\.csv:9: {message}"):
        ingest_billboard(catalog, folder)
    assert all(chart_values(catalog, t) == (None, None, None) for t in (T1, T2, T3, T4, T5, T6, T7))


def test_billboard_skip_bad_commits_good_rows_and_writes_rejects(catalog, tmp_path):
    bad = ["X", "Y", "1999-01-02", "1999-01-02", "0", "1", "1"]
    rejects_path = tmp_path / "rejects.jsonl"
    report = ingest_billboard(catalog, write_chart(tmp_path / "chart", CHART_ROWS[:3] + [bad] + CHART_ROWS[3:]),
                              skip_bad=True, rejects_path=rejects_path)
    assert report.rejected == 1 and report.matches["billboard songs"] == (5, 7)
    assert chart_values(catalog, T4) == (1999, 750, 5)
    assert rejects(rejects_path) == [("hot100_songs.csv", 5)]


# --- lastfm -------------------------------------------------------------------------------------------------

LASTFM = {
    "artists.dat": (["id", "name", "url", "pictureURL"],
                    [["1", "Vela Moss", "http://x/1", ""], ["2", "Zoe Quill", "http://x/2", ""],
                     ["3", "Unsigned Band", "http://x/3", ""], ["4", "Okra Lane", "http://x/4", ""]]),
    "tags.dat": (["tagID", "tagValue"], [["1", "synthwave"], ["2", "Dreamy"], ["3", "raptuga"], ["4", "dreamy"]]),
    "user_artists.dat": (["userID", "artistID", "weight"],
                         [["10", "1", "63"], ["10", "2", "7"], ["10", "3", "5000"], ["20", "4", "7"], ["20", "1", "1"],
                          ["30", "3", "42"]]),
    "user_taggedartists.dat": (["userID", "artistID", "tagID", "day", "month", "year"],
                               [["10", "1", "1", "1", "4", "2009"], ["20", "1", "1", "1", "5", "2009"],
                                ["30", "1", "1", "1", "6", "2010"], ["10", "1", "2", "1", "4", "2009"],
                                ["20", "1", "4", "1", "5", "2009"], ["30", "1", "3", "1", "6", "2010"],
                                ["10", "2", "1", "1", "4", "2009"], ["10", "2", "3", "1", "4", "2009"]]),
}
# "Vela Moss" matches two MPD artists by exact name; the first by entity id is the one used.
LASTFM_VELA, LASTFM_VELA_OTHER = sorted([VELA, VELA_SPACE])


def write_lastfm(folder: Path, extra: dict[str, list[list[str]]] | None = None, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in LASTFM.items():
        lines = ["\t".join(row) for row in [header, *rows, *(extra or {}).get(name, [])]]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_lastfm_user_profiles_by_hand(catalog, tmp_path, gz):
    report = ingest_lastfm(catalog, write_lastfm(tmp_path / "lastfm", gz=gz))
    u10, u20, u30 = catalog.get_users([user_id(10), user_id(20), user_id(30)])
    # user 10: Vela 63 plays -> log 64 (the max), Zoe 7 -> log 8 / log 64 = 0.5; Unsigned Band is not in the catalog.
    # tags applied: synthwave twice (Vela, Zoe), Dreamy once, raptuga once -> 1, 1/2, 1/2
    assert u10.artists == (Affinity(LASTFM_VELA, 1.0, 63), Affinity(ZOE, 0.5, 7))
    assert {a.key: (a.weight, a.count) for a in u10.tags} == {"synthwave": (1.0, 2), "dreamy": (0.5, 1),
                                                             "raptuga": (0.5, 1)}
    # user 20: Okra 7 -> log 8 (the max), Vela 1 -> log 2 / log 8 = 1/3
    assert u20.artists == (Affinity(OKRA, 1.0, 7), Affinity(LASTFM_VELA, round(1 / 3, 6), 1))
    assert u30.artists == () and {a.key for a in u30.tags} == {"synthwave", "raptuga"}
    assert u10.source == "lastfm"
    # plays matched: Vela 63 + 1, Zoe 7, Okra 7 = 78 of 78 + 5000 + 42
    assert report.matches == {"lastfm artists": (3, 4), "plays": (78, 5120), "taggings of artists in artists.dat": (8, 8),
                              "users with >=1 matched artist": (2, 3)}
    assert report.written["users"] == WriteCounts(inserted=3)


def test_lastfm_play_counts_and_artist_tags_by_hand(catalog, tmp_path):
    ingest_lastfm(catalog, write_lastfm(tmp_path / "lastfm"))
    plays = {a.entity_id: a.popularity.play_count for a in
             catalog.get_entities([LASTFM_VELA, LASTFM_VELA_OTHER, ZOE, OKRA, JUNO])}
    assert plays == {LASTFM_VELA: 64, LASTFM_VELA_OTHER: None, ZOE: 7, OKRA: 7, JUNO: None}
    # Vela: synthwave by users 10, 20, 30; "Dreamy"/"dreamy" by 10 and 20 (one tag); raptuga by 30 only (dropped)
    assert tags_of(catalog, LASTFM_VELA, "lastfm") == {"synthwave": 1.0, "dreamy": pytest.approx(2 / 3, abs=1e-6)}
    assert tags_of(catalog, ZOE, "lastfm") == {}      # synthwave and raptuga by user 10 only
    assert tags_of(catalog, LASTFM_VELA_OTHER, "lastfm") == {}
    vela_track = T1 if LASTFM_VELA == VELA else T3
    assert tags_of(catalog, vela_track, "artist:lastfm") == {"synthwave": 1.0, "dreamy": pytest.approx(2 / 3, abs=1e-6)}


def test_lastfm_second_run_changes_nothing(catalog, tmp_path):
    folder = write_lastfm(tmp_path / "lastfm")
    first = ingest_lastfm(catalog, folder)
    again = ingest_lastfm(catalog, folder)
    assert first.changed > 0 and again.changed == 0
    assert again.written == {"users": WriteCounts(unchanged=3), "artist play counts": WriteCounts(unchanged=3),
                             "artist tags": WriteCounts(unchanged=3)}


BAD_LASTFM_ROWS = [
    ("user_artists.dat", ["10", "99", "5"], 8, "artistID: unknown artist 99"),
    ("user_artists.dat", ["10", "4", "lots"], 8, "weight: expected an integer, got 'lots'"),
    ("user_artists.dat", ["10", "1", "5"], 8, r"duplicate userID/artistID '10, 1' \(first seen on line 2\)"),
    ("user_taggedartists.dat", ["10", "4", "77", "1", "1", "2009"], 10, "tagID: unknown tag 77"),
    ("user_taggedartists.dat", ["10", "4", "1", "1", "13", "2009"], 10, r"month: must be in \[1, 12\], got 13"),
    ("user_taggedartists.dat", ["x", "4", "1", "1", "1", "2009"], 10, "userID: expected an integer, got 'x'"),
    ("artists.dat", ["x", "New Act", "", ""], 6, "id: expected an integer, got 'x'"),
    ("artists.dat", ["9", "New Act", ""], 6, "expected 4 fields, got 3"),
    ("tags.dat", ["9", " "], 6, "tagValue: required"),
]


@pytest.mark.parametrize("file, row, line, message", BAD_LASTFM_ROWS)
def test_bad_lastfm_row_is_reported_with_its_line_and_nothing_is_written(catalog, tmp_path, file, row, line, message):
    folder = write_lastfm(tmp_path / "lastfm", {file: [row]})
    with pytest.raises(IngestError, match=rf"{file.replace('.', '[.]')}:{line}: {message}"):
        ingest_lastfm(catalog, folder)
    assert catalog.counts().users == 0 and catalog.counts().entity_tags == 0
    assert catalog.get_entities([OKRA])[0].popularity.play_count is None


def test_lastfm_skip_bad_commits_good_rows_and_writes_rejects(catalog, tmp_path):
    folder = write_lastfm(tmp_path / "lastfm", {"user_taggedartists.dat": [["20", "1", "77", "1", "5", "2009"]],
                                                "user_artists.dat": [["20", "2", "many"]]})
    rejects_path = tmp_path / "rejects.jsonl"
    report = ingest_lastfm(catalog, folder, skip_bad=True, rejects_path=rejects_path)
    assert report.rejected == 2 and catalog.counts().users == 3
    assert report.matches["plays"] == (78, 5120)
    assert sorted(rejects(rejects_path)) == [("user_artists.dat", 8), ("user_taggedartists.dat", 10)]


def test_tagging_of_an_artist_missing_from_artists_dat_counts_for_the_user_only(catalog, tmp_path):
    # HetRec quirk: users tagged artists that artists.dat does not list; such a row is valid, its artist unknown
    ingest_lastfm(catalog, write_lastfm(tmp_path / "plain"))
    before = {a.key: a.count for a in catalog.get_users([user_id(20)])[0].tags}
    tags_before = catalog.counts().entity_tags
    extra = {"user_taggedartists.dat": [["20", "99", "1", "1", "5", "2009"]]}    # tag 1 = synthwave
    report = ingest_lastfm(catalog, write_lastfm(tmp_path / "extra", extra))
    assert report.rejected == 0
    assert report.matches["taggings of artists in artists.dat"] == (8, 9)
    after = {a.key: a.count for a in catalog.get_users([user_id(20)])[0].tags}
    assert after["synthwave"] == before.get("synthwave", 0) + 1
    assert catalog.counts().entity_tags == tags_before     # no artist to carry the tag


def test_rows_naming_a_rejected_artist_are_rejected_too(catalog, tmp_path):
    folder = write_lastfm(tmp_path / "lastfm")
    artists = folder / "artists.dat"
    artists.write_text(artists.read_text().replace("4\tOkra Lane", "4\t "))    # line 5: blank name
    report = ingest_lastfm(catalog, folder, skip_bad=True, rejects_path=tmp_path / "rejects.jsonl")
    # the artist row and user 20's plays of artist 4 (user_artists.dat line 5) are rejected
    assert rejects(tmp_path / "rejects.jsonl") == [("artists.dat", 5), ("user_artists.dat", 5)]
    assert report.matches["lastfm artists"] == (2, 3)
    assert catalog.get_users([user_id(20)])[0].artists == (Affinity(LASTFM_VELA, 1.0, 1),)


# --- all three ------------------------------------------------------------------------------------------------

def test_enrichers_never_create_entities_and_leave_each_others_fields(catalog, tmp_path):
    ingest_genres(catalog, write_genres(tmp_path / "genres"))
    ingest_billboard(catalog, write_chart(tmp_path / "chart"))
    ingest_lastfm(catalog, write_lastfm(tmp_path / "lastfm"))
    counts = catalog.counts()
    assert (counts.tracks, counts.artists, counts.playlists) == (7, 5, 1)
    okra, = catalog.get_entities([OKRA])
    assert (okra.popularity.source_popularity, okra.popularity.play_count, okra.popularity.playlist_count) == (55, 7, 1)
    assert tags_of(catalog, OKRA, "spotify_genres") == {"trip hop": 1.0}
    assert chart_values(catalog, T4) == (1999, 750, 5)
