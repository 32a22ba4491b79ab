"""A kill -9 in the middle of an ingest leaves the store as it was; re-running completes the job."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from builders import write_mpd
from sqlalchemy import text

from ltrr.ingest.mpd import ingest_mpd
from ltrr.store import CatalogStore

# Runs an ingest in a child process that SIGKILLs itself while writing its third chunk of entities,
# i.e. after artists and some tracks were sent to the database but before the transaction commits.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from ltrr.ingest.mpd import ingest_mpd
    from ltrr.store import CatalogStore
    from ltrr.store.writer import CatalogWriter

    original = CatalogWriter._upsert_entity_chunk
    calls = []

    def dying_chunk(self, chunk, compared):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, chunk, compared)

    CatalogWriter._upsert_entity_chunk = dying_chunk
    ingest_mpd(CatalogStore.open(sys.argv[1]), Path(sys.argv[2]))
""")


def big_mpd(folder, n_tracks: int = 2500, version: int = 0):
    tracks = [[f"spotify:track:T{i:021d}", f"Song {i} v{version}", f"Artist {i % 40}", str(i % 3), str(i % 7)]
              for i in range(n_tracks)]
    playlists = [{"pid": p, "name": f"mix {p}", "num_followers": p,
                  "tracks": [tracks[(p * 7 + j) % n_tracks][0] for j in range(20)]} for p in range(50)]
    return write_mpd(folder, tracks=tracks, playlists=playlists)


def run_dying_ingest(db_url: str, folder) -> int:
    child = subprocess.run([sys.executable, "-c", CHILD, db_url, str(folder)], capture_output=True, timeout=120)
    return child.returncode


def test_kill_during_first_ingest_leaves_an_empty_consistent_store(db_url, tmp_path):
    folder = big_mpd(tmp_path / "mpd")
    CatalogStore.open(db_url).close()  # schema exists before the crash, as after any earlier run
    assert run_dying_ingest(db_url, folder) == -signal.SIGKILL
    store = CatalogStore.open(db_url)
    counts = store.counts()
    assert (counts.tracks, counts.artists, counts.playlist_tracks) == (0, 0, 0)
    report = ingest_mpd(store, folder)
    assert store.counts().tracks == 2500 and report.written["tracks"].inserted == 2500
    store.close()


def test_kill_during_a_re_ingest_keeps_the_previous_version(db_url, tmp_path):
    store = CatalogStore.open(db_url)
    ingest_mpd(store, big_mpd(tmp_path / "v0", version=0))
    newer = big_mpd(tmp_path / "v1", version=1)
    assert run_dying_ingest(db_url, newer) == -signal.SIGKILL
    names = {e.name for e in store.iter_entities(kind="track")}
    assert len(names) == 2500 and all(name.endswith(" v0") for name in names)
    report = ingest_mpd(store, newer)
    assert report.written["tracks"].updated == 2500
    assert all(e.name.endswith(" v1") for e in store.iter_entities(kind="track"))
    store.close()


def test_sqlite_file_passes_integrity_check_after_kill(sqlite_url, tmp_path):
    folder = big_mpd(tmp_path / "mpd")
    CatalogStore.open(sqlite_url).close()
    assert run_dying_ingest(sqlite_url, folder) == -signal.SIGKILL
    store = CatalogStore.open(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    store.close()


def test_child_script_really_ingests_without_the_patch(sqlite_url, tmp_path):
    # guards the tests above: the child would succeed were it not killed
    folder = big_mpd(tmp_path / "mpd")
    script = CHILD.replace("if len(calls) == 3:", "if False:")
    done = subprocess.run([sys.executable, "-c", script, sqlite_url, str(folder)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert CatalogStore.open(sqlite_url).counts().tracks == 2500
