"""The generic CSV/JSONL importer: mapping, linking, tags, playlists, bad rows, idempotency."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from ltrr.errors import IngestError
from ltrr.ids import entity_id
from ltrr.ingest.fields import FIELDS, load_mapping
from ltrr.ingest.generic import ingest_table
from ltrr.store import CatalogStore, WriteCounts
from ltrr.types import CatalogCounts, TagWeight

SAMPLE = Path(__file__).resolve().parents[1] / "catalog" / "sample"
EMPTY = CatalogCounts(0, 0, 0, 0, 0, 0, 0, 0)
HEADER = "id,kind,name,artist,album,year,duration_ms,added_at,tags,popularity,tracks"
GOOD_ROW = "t1,track,Night Drive,Vela Moss,Glass Harbour,1994,241000,2023-01-15,synthwave=0.9,62,"


def write(tmp_path: Path, name: str, *lines: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines) + b"\n")
    return path


def jsonl(tmp_path: Path, name: str, *rows: dict) -> Path:
    return write(tmp_path, name, *(json.dumps(row) for row in rows))


def ingest_sample(store: CatalogStore, fmt: str):
    mapping = load_mapping(SAMPLE / "mapping.json") if fmt == "csv" else None
    return ingest_table(store, SAMPLE / f"tracks.{fmt}", fmt=fmt, mapping=mapping, source="sample")


def own_tags(entity) -> set[tuple[str, float, str]]:
    return {(t.tag, t.weight, t.source) for t in entity.tags}


@pytest.fixture
def other_store(tmp_path: Path):
    catalog = CatalogStore.open(f"sqlite:///{tmp_path / 'other.db'}")
    yield catalog
    catalog.close()


# --- the committed sample -------------------------------------------------------------------------------------

def test_sample_csv_and_jsonl_give_identical_entities(store, other_store):
    ingest_sample(store, "csv")
    ingest_sample(other_store, "jsonl")
    from_csv, from_jsonl = list(store.iter_entities()), list(other_store.iter_entities())
    # Artists and albums carry no date in the sample, so theirs is the time of the ingest: compare without it.
    assert [dataclasses.replace(e, added_at=None) for e in from_csv] == \
           [dataclasses.replace(e, added_at=None) for e in from_jsonl]
    dated = [e.entity_id for e in from_csv if e.kind in ("track", "playlist")]
    assert [e.added_at for e in store.get_entities(dated)] == [e.added_at for e in other_store.get_entities(dated)]
    for playlist in ("sample:playlist:p01", "sample:playlist:p02"):
        assert store.playlist_track_ids(playlist) == other_store.playlist_track_ids(playlist)
    assert store.counts() == other_store.counts()
    assert store.counts() == CatalogCounts(tracks=12, artists=5, albums=3, playlists=2, tags=12, entity_tags=24,
                                           playlist_tracks=9, users=0)


def test_sample_jsonl_over_csv_in_one_store_changes_nothing(any_store):  # SQLite, and PostgreSQL if configured
    ingest_sample(any_store, "csv")
    again = ingest_sample(any_store, "jsonl")
    assert again.changed == 0 and again.written["tracks"] == WriteCounts(unchanged=12)


def test_sample_rows_by_hand(store):
    report = ingest_sample(store, "csv")
    assert report.read == {"rows": 17} and report.rejected == 0
    assert report.written["tracks"] == WriteCounts(inserted=12)
    night_drive, night_market = store.get_entities(["sample:track:t01", "sample:track:t04"])
    # Vela Moss and Glass Harbour have rows of their own: the tracks point at those rows.
    assert (night_drive.artist_id, night_drive.album_id) == ("sample:artist:a-vela", "sample:album:al-glass")
    assert (night_drive.name, night_drive.year, night_drive.duration_ms) == ("Night Drive", 1994, 241000)
    assert night_drive.added_at == datetime(2023, 1, 15)
    assert night_drive.popularity.play_count == 1520
    # own tags first, then Vela Moss's "ambient" (the track has its own "synthwave")
    assert night_drive.tags == (TagWeight("synthwave", 0.9, "sample"), TagWeight("night", 0.7, "sample"),
                                TagWeight("ambient", 0.6, "artist:sample"))
    # Okra Lane and Night Market Radio exist only as names: they become entities keyed by name.
    okra = entity_id("sample", "artist", "Okra Lane")
    radio = entity_id("sample", "album", "Okra Lane — Night Market Radio")
    assert (night_market.artist_id, night_market.album_id) == (okra, radio)
    assert night_market.added_at == datetime(2023, 3, 2, 18, 30)  # "...T18:30:00Z" stored as naive UTC
    artist, album = store.get_entities([okra, radio])
    assert (artist.name, artist.source_id) == ("Okra Lane", "Okra Lane")
    assert (album.name, album.artist_id, album.source_id) == ("Night Market Radio", okra,
                                                              "Okra Lane — Night Market Radio")
    vela = store.get_entities(["sample:artist:a-vela"])[0]
    assert vela.popularity.source_popularity == 71.5 and vela.description.startswith("Synth duo")
    assert store.playlist_track_ids("sample:playlist:p01") == [f"sample:track:t{n:02d}" for n in (1, 4, 6, 10, 2)]


def test_sample_reingest_reports_everything_unchanged(any_store):  # SQLite, and PostgreSQL if configured
    first = ingest_sample(any_store, "csv")
    second = ingest_sample(any_store, "csv")
    assert first.changed > 0
    assert second.changed == 0
    assert {target: counts.unchanged for target, counts in second.written.items()} == {
        "artists": 5, "albums": 3, "tracks": 12, "playlists": 2, "tags": 17, "playlist lists": 2}


# --- mapping ----------------------------------------------------------------------------------------------------

def test_mapping_renames_columns_inline_and_from_json(store, tmp_path):
    path = write(tmp_path, "mine.csv", "code,Song,By,released", "x1,Glass Harbour,Vela Moss,1994")
    inline = load_mapping("id=code, title=Song,artist=By,year=released")
    from_file = load_mapping(write(tmp_path, "map.json", json.dumps(
        {"id": "code", "title": "Song", "artist": "By", "year": "released"})))
    assert inline == from_file == {"id": "code", "name": "Song", "artist": "By", "year": "released"}
    ingest_table(store, path, fmt="csv", mapping=inline, source="mine")
    track = store.get_entities(["mine:track:x1"])[0]
    assert (track.name, track.artist_name, track.year) == ("Glass Harbour", "Vela Moss", 1994)


@pytest.mark.parametrize("spec, message", [
    ("titel=Song", "unknown field 'titel' in the mapping; a mapping goes FIELD -> COLUMN and the known fields are "
                   + ", ".join(FIELDS)),
    ("name=Song,artist", "mapping item 'artist' is not FIELD=COLUMN"),
    ("name=Song,title=Other", "the mapping names field 'name' twice"),
])
def test_load_mapping_rejects_bad_specs(spec, message):
    with pytest.raises(IngestError, match=re.escape(message)):
        load_mapping(spec)


def test_mapping_naming_a_missing_column_is_an_error(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id,name,year", "x1,Night Drive,1994")
    message = f"{path}:1: the mapping names columns the header lacks ({{'year': 'relased'}})"
    with pytest.raises(IngestError, match=re.escape(message)):
        ingest_table(store, path, fmt="csv", mapping={"year": "relased"})
    assert store.counts() == EMPTY


def test_csv_without_a_name_column_is_an_error(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id,title", "x1,Night Drive")
    with pytest.raises(IngestError, match=re.escape(f"{path}:1: missing required columns ['name']")):
        ingest_table(store, path, fmt="csv")


# --- linking, tags, playlists -----------------------------------------------------------------------------------

def test_artist_rows_are_reused_by_name_and_albums_belong_to_their_artist(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id,kind,name,artist,album",
                 "a1,artist,Vela Moss,,", "t1,track,Night Drive,Vela Moss,Harbour",
                 "t2,track,Tidewater,Vela Moss,Harbour", "t3,track,Harbour Lights,Okra Lane,Harbour")
    report = ingest_table(store, path, fmt="csv", source="mine")
    t1, t2, t3 = store.get_entities(["mine:track:t1", "mine:track:t2", "mine:track:t3"])
    okra = entity_id("mine", "artist", "Okra Lane")
    assert (t1.artist_id, t2.artist_id, t3.artist_id) == ("mine:artist:a1", "mine:artist:a1", okra)
    # same album name, two artists: two albums
    assert t1.album_id == t2.album_id == entity_id("mine", "album", "Vela Moss — Harbour") != t3.album_id
    assert store.get_entities([t3.album_id])[0].artist_id == okra
    assert (report.written["artists"], report.written["albums"]) == (WriteCounts(inserted=2), WriteCounts(inserted=2))


def test_csv_tags_are_parsed_with_weights(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id,name,tags",
                 "t1,Night Drive,rock=0.9;pop; Rock =0.5;;trip hop=0", "t2,Tidewater,", "t3,Bramble Line,folk")
    report = ingest_table(store, path, fmt="csv", source="mine")
    t1, t2, t3 = store.get_entities(["mine:track:t1", "mine:track:t2", "mine:track:t3"])
    # "Rock" folds onto "rock", which keeps its highest weight; a bare tag weighs 1.0
    assert own_tags(t1) == {("rock", 0.9, "mine"), ("pop", 1.0, "mine"), ("trip hop", 0.0, "mine")}
    assert own_tags(t2) == set() and own_tags(t3) == {("folk", 1.0, "mine")}
    assert report.written["tags"] == WriteCounts(inserted=2, unchanged=1)


def test_jsonl_tags_as_object_list_or_text_and_integer_ids(store, tmp_path):
    path = jsonl(tmp_path, "mine.jsonl",
                 {"id": 1, "name": "Night Drive", "tags": {"rock": 0.25, "pop": 1}},
                 {"id": "2", "name": "Tidewater", "tags": ["ambient", "chill"]},
                 {"id": 3, "name": "Bramble Line", "tags": "folk=0.5;acoustic"},
                 {"id": 9, "kind": "playlist", "name": "Mix", "tracks": [3, "1", 3]})
    ingest_table(store, path, fmt="jsonl", source="mine")
    t1, t2, t3 = store.get_entities(["mine:track:1", "mine:track:2", "mine:track:3"])
    assert own_tags(t1) == {("rock", 0.25, "mine"), ("pop", 1.0, "mine")}
    assert own_tags(t2) == {("ambient", 1.0, "mine"), ("chill", 1.0, "mine")}
    assert own_tags(t3) == {("folk", 0.5, "mine"), ("acoustic", 1.0, "mine")}
    assert store.playlist_track_ids("mine:playlist:9") == ["mine:track:3", "mine:track:1", "mine:track:3"]


def test_playlist_tracks_keep_their_order_and_repeats(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id,kind,name,tracks",
                 "p1,playlist,Late Night Drive,t3;t1;t3", "t1,track,Night Drive,", "t3,track,Tidewater,",
                 "p2,playlist,Empty,")
    report = ingest_table(store, path, fmt="csv", source="mine")
    assert store.playlist_track_ids("mine:playlist:p1") == ["mine:track:t3", "mine:track:t1", "mine:track:t3"]
    assert store.playlist_track_ids("mine:playlist:p2") == []
    assert report.written["playlists"] == WriteCounts(inserted=2)


# --- bad rows ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row, message", [
    (b",track,X,A,,,,,,,", "id: required id (text or integer), got ''"),
    (b"t2,track,,A,,,,,,,", "name: required, got ''"),
    (b"t2,song,X,A,,,,,,,", "kind: expected one of track, artist, album, playlist, got 'song'"),
    (b"t2,track,X,A,,nineteen,,,,,", "year: expected an integer, got 'nineteen'"),
    (b"t2,track,X,A,,3020,,,,,", "year: expected a year in [1000, 2100], got 3020"),
    (b"t2,track,X,A,,,-5,,,,", "duration_ms: must be >= 0, got -5"),
    (b"t2,track,X,A,,,,yesterday,,,", "added_at: expected an ISO 8601 date or datetime"),
    (b"t2,track,X,A,,,,,rock=1.5,,", "tags: weight of tag 'rock' must be a number in [0, 1], got 1.5"),
    (b"t2,track,X,A,,,,,rock=high,,", "tags: weight of tag 'rock' must be a number in [0, 1], got 'high'"),
    (b"t2,track,X,A,,,,,=0.5,,", "tags: a tag name must be non-blank text, got ''"),
    (b"t2,track,X,A,,,,,,140,", "popularity: must be in [0.0, 100.0], got '140'"),
    (b"t2,track,X,A,,,,,,,t1", "tracks: only playlist rows list tracks; this row is a track"),
    (b"p1,playlist,P,,,,,,,,t1;t404", "tracks: 1 ids are not valid track rows of this file, e.g. 't404'"),
    (b"t1,track,Again,A,,,,,,,", "id: duplicate track id 't1' (first seen on line 2)"),
    (b"t2,track", "expected 11 fields, got 2"),
    (b"t2,track,Caf\xe9,A,,,,,,,", "bad encoding: bytes that are not UTF-8"),
])
def test_bad_csv_row_stops_the_ingest(store, tmp_path, row, message):
    path = write(tmp_path, "mine.csv", HEADER, GOOD_ROW, row)
    with pytest.raises(IngestError, match=re.escape(f"{path}:3: {message}")) as caught:
        ingest_table(store, path, fmt="csv", source="mine")
    assert len(caught.value.problems) == 1
    assert store.counts() == EMPTY


@pytest.mark.parametrize("line, message", [
    (b'{"id": "t2", "name": "X", "tags": {"rock": 2}}', "tags: weight of tag 'rock' must be a number in [0, 1], got 2"),
    (b'{"id": "t2", "name": "X", "tags": {"rock": true}}', "tags: weight of tag 'rock' must be a number in [0, 1]"),
    (b'{"id": "t2", "name": "X", "tags": [1]}', "tags: a tag name must be non-blank text, got 1"),
    (b'{"id": "t2", "name": "X", "tags": 5}', "tags: expected 'tag=weight;tag' text, an object {tag: weight}"),
    (b'{"id": "t2", "name": 7}', "name: expected text, got int 7"),
    (b'{"id": true, "name": "X"}', "id: required id (text or integer), got True"),
    (b'{"id": "t2", "name": "X", "year": 1994.5}', "year: expected an integer, got 1994.5"),
    (b'{"id": "p1", "kind": "playlist", "name": "P", "tracks": "t1;t9"}', "tracks: 1 ids are not valid track rows"),
    (b'{"id": "p1", "kind": "playlist", "name": "P", "tracks": {"a": 1}}', "tracks: expected track ids"),
    (b'{"id": "t2", "name": "X"', "not valid JSON"),
    (b'["t2", "X"]', "expected a JSON object, got list"),
    (b'{"id": "t2", "name": "Caf\xe9"}', "bad encoding: bytes that are not UTF-8"),
])
def test_bad_jsonl_row_stops_the_ingest(store, tmp_path, line, message):
    path = write(tmp_path, "mine.jsonl", b'{"id": "t0", "name": "Warm Up"}', b'{"id": "t1", "name": "Night Drive"}',
                 line)
    with pytest.raises(IngestError, match=re.escape(f"{path}:3: {message}")):
        ingest_table(store, path, fmt="jsonl", source="mine")
    assert store.counts() == EMPTY


def test_skip_bad_writes_good_rows_and_rejects_the_rest(store, tmp_path):
    path = write(tmp_path, "mine.csv", HEADER, GOOD_ROW,
                 "p1,playlist,Mix,,,,,,,,t1;t2",                     # line 3: names t2, rejected below
                 "t3,track,Copper Kettle,Okra Lane,,2008,,,folk,,",
                 "t2,track,Tidewater,Vela Moss,,3020,,,,,",           # line 5: year out of range
                 "p2,playlist,Good Mix,,,,,,,,t3;t1")
    rejects = tmp_path / "rejects.jsonl"
    report = ingest_table(store, path, fmt="csv", source="mine", skip_bad=True, rejects_path=rejects)
    assert (report.read, report.rejected, report.rejects_path) == ({"rows": 5}, 2, rejects)
    bad = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(row["line"], row["row"]["id"]) for row in bad] == [(3, "p1"), (5, "t2")]  # in line order
    assert bad[0]["reason"] == "tracks: 1 ids are not valid track rows of this file, e.g. 't2'"
    assert bad[1]["reason"] == "year: expected a year in [1000, 2100], got 3020"
    assert (store.counts().tracks, store.counts().playlists) == (2, 1)
    assert store.playlist_track_ids("mine:playlist:p2") == ["mine:track:t3", "mine:track:t1"]


# --- writing only the fields a file carries ---------------------------------------------------------------------

def test_csv_without_a_year_column_keeps_the_stored_year(store, tmp_path):
    ingest_table(store, write(tmp_path, "a.csv", "id,name,year,tags", "t1,Night Drive,1994,rock"),
                 fmt="csv", source="mine")
    report = ingest_table(store, write(tmp_path, "b.csv", "id,name", "t1,Night Drive (Remastered)"),
                          fmt="csv", source="mine")
    track = store.get_entities(["mine:track:t1"])[0]
    assert (track.name, track.year, own_tags(track)) == ("Night Drive (Remastered)", 1994, {("rock", 1.0, "mine")})
    assert report.written["tracks"] == WriteCounts(updated=1)
    # A year column with a blank cell is the file saying "no year": that one does clear it.
    ingest_table(store, write(tmp_path, "c.csv", "id,name,year", "t1,Night Drive,"), fmt="csv", source="mine")
    assert store.get_entities(["mine:track:t1"])[0].year is None


def test_blank_added_at_keeps_the_stored_date(store, tmp_path):
    ingest_table(store, write(tmp_path, "a.csv", "id,name,added_at", "t1,Night Drive,2021-06-30"),
                 fmt="csv", source="mine")
    report = ingest_table(store, write(tmp_path, "b.csv", "id,name,added_at", "t1,Night Drive,"),
                          fmt="csv", source="mine")
    assert store.get_entities(["mine:track:t1"])[0].added_at == datetime(2021, 6, 30)
    assert report.written["tracks"] == WriteCounts(unchanged=1)


def test_jsonl_row_without_a_key_keeps_that_field(store, tmp_path):
    ingest_table(store, jsonl(tmp_path, "a.jsonl", {"id": "t1", "name": "Night Drive", "year": 1994,
                                                    "added_at": "2020-05-01T10:00:00+02:00"}),
                 fmt="jsonl", source="mine")
    ingest_table(store, jsonl(tmp_path, "b.jsonl", {"id": "t1", "name": "Night Drive", "duration_ms": 1000},
                              {"id": "t2", "name": "Tidewater", "year": 2001}), fmt="jsonl", source="mine")
    t1, t2 = store.get_entities(["mine:track:t1", "mine:track:t2"])
    assert (t1.year, t1.duration_ms, t1.added_at) == (1994, 1000, datetime(2020, 5, 1, 8, 0))
    assert t2.year == 2001


@pytest.mark.parametrize("kwargs, message", [
    ({"fmt": "tsv"}, "fmt must be 'csv' or 'jsonl', got 'tsv'"),
    ({"default_kind": "song"}, "default kind must be one of track, artist, album, playlist, got 'song'"),
    ({"delimiter": ";;"}, "the delimiter must be one character, got ';;'"),
    ({"source": "my:label"}, "source must be a non-empty label without ':', got 'my:label'"),
])
def test_bad_arguments_are_rejected(store, tmp_path, kwargs, message):
    path = write(tmp_path, "mine.csv", "id,name", "t1,Night Drive")
    with pytest.raises(IngestError, match=re.escape(message)):
        ingest_table(store, path, **{"fmt": "csv", **kwargs})


def test_default_kind_and_delimiter(store, tmp_path):
    path = write(tmp_path, "mine.csv", "id;name", "a1;Vela Moss")
    ingest_table(store, path, fmt="csv", source="mine", default_kind="artist", delimiter=";")
    assert store.get_entities(["mine:artist:a1"])[0].name == "Vela Moss"
