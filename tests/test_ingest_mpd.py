"""MPD ingestion on tiny invented files: entities, popularity, membership, idempotency, bad rows."""

from __future__ import annotations

import json

import pytest
from builders import PLAYLISTS, TRACKS, write_mpd

from ltrr.errors import IngestError
from ltrr.ingest.mpd import artist_id, ingest_mpd, playlist_id, track_id
from ltrr.store import WriteCounts


@pytest.mark.parametrize("gz", [False, True])
def test_ingest_builds_tracks_artists_playlists(store, tmp_path, gz):
    report = ingest_mpd(store, write_mpd(tmp_path / "mpd", gz=gz))
    counts = store.counts()
    assert (counts.tracks, counts.artists, counts.playlists, counts.playlist_tracks) == (5, 3, 3, 7)
    assert report.read == {"tracks": 5, "playlists": 3} and report.rejected == 0
    assert report.written["tracks"] == WriteCounts(inserted=5)


def test_ids_and_fields(store, tmp_path):
    ingest_mpd(store, write_mpd(tmp_path / "mpd"))
    t2, = store.get_entities(["spotify:track:AAAAAAAAAAAAAAAAAAAAA2"])
    assert t2.name == "Glass Harbour - Remastered 2011" and t2.artist_name == "Vela Moss"
    assert t2.source_id == "spotify:track:AAAAAAAAAAAAAAAAAAAAA2"
    assert (t2.popularity.playlist_count, t2.popularity.follower_sum) == (1, 10)
    chill, = store.get_entities([playlist_id(2)])
    assert chill.name == "chill" and chill.description == "for slow sundays"
    assert chill.popularity.follower_sum == 15


def test_artist_popularity_counts_distinct_playlists(store, tmp_path):
    ingest_mpd(store, write_mpd(tmp_path / "mpd"))
    # Vela Moss: tracks 1, 2 are in playlists 1 and 3 -> 2 playlists, 10 + 20 followers
    # Okra Lane: track 3 is in playlists 1 and 2 (twice in 2) -> 2 playlists, 10 + 15 followers
    vela, okra = store.get_entities([artist_id("Vela Moss"), artist_id("Okra Lane")])
    assert (vela.popularity.playlist_count, vela.popularity.follower_sum) == (2, 30)
    assert (okra.popularity.playlist_count, okra.popularity.follower_sum) == (2, 25)


def test_playlist_order_and_repeats_are_kept(store, tmp_path):
    ingest_mpd(store, write_mpd(tmp_path / "mpd"))
    assert store.playlist_track_ids(playlist_id(2)) == [track_id(uri) for uri in PLAYLISTS[1]["tracks"]]


def test_exact_artist_names_stay_distinct(store, tmp_path):
    tracks = TRACKS + [["spotify:track:AAAAAAAAAAAAAAAAAAAAA6", "Echo", "Vela Moss ", "0", "0"]]
    ingest_mpd(store, write_mpd(tmp_path / "mpd", tracks=tracks))
    assert store.counts().artists == 4


def test_second_run_changes_nothing(store, tmp_path):
    folder = write_mpd(tmp_path / "mpd")
    ingest_mpd(store, folder)
    again = ingest_mpd(store, folder)
    assert again.changed == 0
    assert again.written["tracks"] == WriteCounts(unchanged=5)
    assert again.written["playlist lists"] == WriteCounts(unchanged=3)


def test_changed_input_updates_in_place(store, tmp_path):
    ingest_mpd(store, write_mpd(tmp_path / "a"))
    tracks = [row[:] for row in TRACKS]
    tracks[0][3] = "7"
    playlists = [dict(p) for p in PLAYLISTS]
    playlists[0] = {**playlists[0], "tracks": playlists[0]["tracks"][::-1]}
    report = ingest_mpd(store, write_mpd(tmp_path / "b", tracks=tracks, playlists=playlists))
    assert report.written["tracks"] == WriteCounts(updated=1, unchanged=4)
    assert report.written["playlist lists"] == WriteCounts(updated=1, unchanged=2)
    assert store.get_entities([track_id(TRACKS[0][0])])[0].popularity.playlist_count == 7


BAD_TRACK_ROWS = [
    (["spotify:track:BAD", "", "Vela Moss", "1", "1"], "track_name: required"),
    (["spotify:track:BAD", "X", "Vela Moss", "many", "1"], "n_playlists: expected an integer, got 'many'"),
    (["spotify:track:BAD", "X", "Vela Moss", "-3", "1"], "n_playlists: must be >= 0, got -3"),
    (["spotify:track:BAD", "X", "Vela Moss", "1"], "expected 5 fields, got 4"),
    ([TRACKS[0][0], "Again", "Vela Moss", "1", "1"], "duplicate track_uri .* \\(first seen on line 2\\)"),
]


@pytest.mark.parametrize("row, message", BAD_TRACK_ROWS)
def test_bad_track_row_is_reported_with_its_line_and_nothing_is_written(store, tmp_path, row, message):
    folder = write_mpd(tmp_path / "mpd", tracks=TRACKS + [row])
    with pytest.raises(IngestError, match=rf"tracks\.csv:7: {message}"):
        ingest_mpd(store, folder)
    assert store.counts().tracks == 0 and store.counts().artists == 0


BAD_PLAYLISTS = [
    ({"pid": "x", "name": "n", "num_followers": 1, "tracks": []}, "pid: expected an integer, got 'x'"),
    ({"pid": 9, "name": "  ", "num_followers": 1, "tracks": []}, "name: required"),
    ({"pid": 9, "name": "n", "num_followers": 1, "tracks": "abc"}, "tracks: expected a list"),
    ({"pid": 9, "name": "n", "num_followers": 1, "tracks": ["spotify:track:NOPE"]},
     "tracks: 1 URIs are not valid rows of tracks.csv"),
    ({"pid": 1, "name": "n", "num_followers": 1, "tracks": []}, "duplicate pid '1' \\(first seen on line 1\\)"),
]


@pytest.mark.parametrize("playlist, message", BAD_PLAYLISTS)
def test_bad_playlist_is_reported_with_its_line(store, tmp_path, playlist, message):
    folder = write_mpd(tmp_path / "mpd", playlists=PLAYLISTS + [playlist])
    with pytest.raises(IngestError, match=rf"playlists\.jsonl:4: {message}"):
        ingest_mpd(store, folder)
    assert store.counts().playlists == 0


def test_invalid_json_and_bad_encoding_are_bad_rows(store, tmp_path):
    folder = write_mpd(tmp_path / "mpd")
    with (folder / "playlists.jsonl").open("ab") as out:
        out.write(b'{"pid": 7, "name": \n')
    with (folder / "tracks.csv").open("ab") as out:
        out.write(b"spotify:track:ENC,Caf\xe9 Noir,Vela Moss,1,1\n")
    with pytest.raises(IngestError) as caught:
        ingest_mpd(store, folder)
    assert "tracks.csv:7: bad encoding" in str(caught.value)
    assert any(p.endswith("playlists.jsonl:4: not valid JSON: Expecting value at column 19") for p in caught.value.problems)


def test_missing_column_fails_the_file(store, tmp_path):
    folder = tmp_path / "mpd"
    write_mpd(folder)
    (folder / "tracks.csv").write_text("track_uri,track_name\nspotify:track:X,Y\n")
    with pytest.raises(IngestError, match=r"tracks\.csv:1: missing required columns \['artist_name'"):
        ingest_mpd(store, folder)


def test_missing_input_file_names_the_fix(store, tmp_path):
    with pytest.raises(IngestError, match="no tracks.csv or tracks.csv.gz here"):
        ingest_mpd(store, tmp_path)


def test_skip_bad_commits_good_rows_and_writes_rejects(store, tmp_path):
    bad_track = ["spotify:track:BAD", "X", "Vela Moss", "many", "1"]
    bad_playlist = {"pid": 9, "name": "uses bad", "num_followers": 1, "tracks": ["spotify:track:BAD"]}
    folder = write_mpd(tmp_path / "mpd", tracks=TRACKS + [bad_track], playlists=PLAYLISTS + [bad_playlist])
    rejects = tmp_path / "rejects.jsonl"
    report = ingest_mpd(store, folder, skip_bad=True, rejects_path=rejects)
    assert report.rejected == 2 and report.rejects_path == rejects
    assert (store.counts().tracks, store.counts().playlists) == (5, 3)
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["file"].rsplit("/", 1)[-1], r["line"]) for r in lines] == [("tracks.csv", 7), ("playlists.jsonl", 4)]
    assert lines[0]["row"]["n_playlists"] == "many"
