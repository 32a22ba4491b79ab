"""FeedbackLog on both databases: round trips, duplicate and unknown clicks, pseudonyms, paging, concurrency."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from ltrr.errors import StoreError, UnknownEntityError
from ltrr.feedback import Click, FeedbackLog, Impression, RequestContext, ShownItem, UnknownRequestError
from ltrr.store import CatalogStore
from ltrr.store.feedback_schema import clicks, impression_items, impressions
from ltrr.types import Arm, Context, Decision

T0 = datetime(2025, 4, 7, 21, 30, 0, 123456)
NAMES = ("bm25.score", "track.popularity")
DECISION = Decision(Arm("bm25_dense", (("bm25", 150), ("dense", 50))), 1, 0.7, (0.3, 0.7), "vw", 3)


def make_impression(log: FeedbackLog, request_id: str, created_at: datetime = T0, n_items: int = 3,
                    user_id: str | None = "u42", feature_names: tuple[str, ...] = NAMES) -> Impression:
    items = tuple(ShownItem(p, f"t:track:{p}", "track", 3.0 - p, (("bm25", p, 9.5 - p),),
                            tuple(float(p + j) for j in range(len(feature_names)))) for p in range(n_items))
    return Impression(request_id, created_at, log.pseudonymize(user_id), "Night Drive", "night drive", "topical",
                      RequestContext("phone", "en-GB", 21, 0), DECISION, 2, {"x": [0.5, 1.0]}, feature_names,
                      items, n_candidates=180, latency_ms=12.5)


@pytest.fixture(params=[0.0, 30.0], ids=["write-through", "write-behind"])
def log(db_url: str, request):
    """Every log test runs writing at once and with a write-behind queue that only reads, clicks, a full queue
    or flush() empty (the 30 s timer never fires within a test)."""
    feedback = FeedbackLog.open(db_url, write_behind_s=request.param)
    yield feedback
    feedback.dispose()


def stored_rows(log: FeedbackLog) -> list[tuple[str, object]]:
    """(request_id, reward) of the impressions rows in the database, read around the log (no flush)."""
    with log.engine.connect() as conn:
        return sorted(conn.execute(select(impressions.c.request_id, impressions.c.reward)).all())


def test_impression_round_trips(log: FeedbackLog):
    nan_item = ShownItem(3, "t:album:9", "album", math.nan, (("dense", 0, math.inf),), (math.nan, 1.5))
    original = make_impression(log, "r1")
    original = replace(original, items=original.items + (nan_item,), policy_input={"x": [0.5, math.nan]})
    log.record_impression(original)
    got = log.get_impression("r1")
    assert got.items[:3] == original.items[:3] and got.decision == DECISION and got.context == original.context
    assert (got.request_id, got.created_at, got.user_key, got.query_class) == ("r1", T0, original.user_key, "topical")
    assert (got.feature_names, got.n_candidates, got.latency_ms, got.ranker_version) == (NAMES, 180, 12.5, 2)
    assert got.policy_input == {"x": [0.5, None]}  # non-finite floats are stored as null
    last = got.items[3]
    assert math.isnan(last.score) and math.isnan(last.sources[0][2]) and math.isnan(last.features[0])
    assert last.features[1] == 1.5 and last.kind == "album"


def test_duplicate_click_counts_once(log: FeedbackLog):
    log.record_impression(make_impression(log, "r1"))
    assert log.record_click(Click("r1", "t:track:1", dwell_s=45.0)) is True
    assert log.record_click(Click("r1", "t:track:1", dwell_s=2.0)) is False
    got = log.clicks_for("r1")
    assert [(c.entity_id, c.position, c.dwell_s) for c in got] == [("t:track:1", 1, 45.0)]
    assert log.counts() == {"impressions": 1, "closed": 0, "items": 3, "clicks": 1, "streams": 1}


def test_unknown_request_and_entity_are_errors(log: FeedbackLog):
    log.record_impression(make_impression(log, "r1"))
    with pytest.raises(UnknownRequestError, match="request id 'nope' is not in the feedback log; use the"):
        log.record_click(Click("nope", "t:track:0"))
    with pytest.raises(KeyError):
        log.get_impression("nope")
    with pytest.raises(UnknownRequestError, match="'nope'"):
        log.clicks_for("nope")
    with pytest.raises(UnknownRequestError, match="'nope'"):
        log.close("nope")
    with pytest.raises(UnknownEntityError, match="entity 't:track:99' was not shown by request 'r1'"):
        log.record_click(Click("r1", "t:track:99"))
    assert log.counts()["clicks"] == 0 and log.clicks_for("r1") == []


def test_repeated_request_id_and_bad_input_are_refused(log: FeedbackLog):
    log.record_impression(make_impression(log, "r1"))
    with pytest.raises(StoreError, match="request id 'r1' is already in the feedback log"):
        log.record_impression(make_impression(log, "r1"))
    with pytest.raises(ValueError, match="is not a key from FeedbackLog.pseudonymize") as caught:
        log.record_impression(replace(make_impression(log, "r2"), user_key="alice@example.com"))
    assert "alice" not in str(caught.value)
    with pytest.raises(ValueError, match="has 2 features, feature_names has 1"):
        log.record_impression(replace(make_impression(log, "r3"), feature_names=("bm25.score",)))
    with pytest.raises(ValueError, match="dwell_s must be >= 0"):
        log.record_click(Click("r1", "t:track:0", dwell_s=-1.0))


def test_close_once(log: FeedbackLog):
    log.record_impression(make_impression(log, "r1"))
    assert log.close("r1", reward=0.5) is True
    assert log.close("r1", reward=0.9) is False
    assert log.record_click(Click("r1", "t:track:0")) is True  # clicks after close are still events
    assert log.counts()["closed"] == 1


def test_pseudonyms_are_stable_per_store_and_raw_ids_never_stored(tmp_path):
    first, again = FeedbackLog.open(tmp_path / "a.db"), FeedbackLog.open(tmp_path / "a.db")
    other = FeedbackLog.open(tmp_path / "b.db")
    key = first.pseudonymize("listener-8812")
    assert key == again.pseudonymize("listener-8812") and len(key) == 64
    assert key != other.pseudonymize("listener-8812") and key != first.pseudonymize("listener-8813")
    assert first.pseudonymize(None) is None
    first.record_impression(make_impression(first, "r1", user_id="listener-8812"))
    first.record_click(Click("r1", "t:track:0"))
    with first.engine.connect() as conn:
        stored = [conn.execute(select(table)).all() for table in (impressions, impression_items, clicks)]
    assert key in repr(stored) and "listener-8812" not in repr(stored)
    for opened in (first, again, other):
        opened.dispose()


def test_shares_the_catalog_store(sqlite_url: str):
    store = CatalogStore.open(sqlite_url)
    log = FeedbackLog.from_engine(store.engine)
    log.record_impression(make_impression(log, "r1"))
    assert log.get_impression("r1").request_id == "r1" and store.counts().tracks == 0
    store.close()


def test_request_context_from_context():
    at = datetime(2025, 4, 6, 23, 0, tzinfo=timezone(timedelta(hours=-2)))  # Monday 01:00 UTC
    assert RequestContext.from_context(Context("u1", "car", None, "de-DE"), at) == RequestContext("car", "de-DE", 1, 0)


def test_iter_impressions_pages_in_time_order(log: FeedbackLog):
    times = {"c": T0, "a": T0 + timedelta(seconds=2), "b": T0, "d": T0 - timedelta(days=1), "e": T0}
    for request_id, created_at in times.items():
        log.record_impression(make_impression(log, request_id, created_at, n_items=2))
    log.record_click(Click("e", "t:track:0"))
    log.record_click(Click("a", "t:track:1"))
    got = [impression.request_id for impression in log.iter_impressions(batch_size=2)]
    assert got == ["d", "b", "c", "e", "a"]
    assert [i.request_id for i in log.iter_impressions(since=T0, batch_size=1)] == ["b", "c", "e", "a"]
    with_clicks = [(i.request_id, [c.entity_id for c in cs]) for i, cs in log.iter_feedback(min_clicks=1)]
    assert with_clicks == [("e", ["t:track:0"]), ("a", ["t:track:1"])]
    assert log.latest_feature_names() == NAMES
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        next(log.iter_impressions(batch_size=0))


def test_concurrent_searches_and_clicks_lose_nothing(log: FeedbackLog):
    n_threads, per_thread = 8, 20
    errors: list[BaseException] = []

    def serve(thread: int) -> None:
        try:
            for i in range(per_thread):
                request_id = f"r{thread}-{i}"
                log.record_impression(make_impression(log, request_id, T0 + timedelta(microseconds=i)))
                assert log.record_click(Click(request_id, "t:track:0"))
                assert not log.record_click(Click(request_id, "t:track:0"))
                assert log.record_click(Click(request_id, "t:track:2", dwell_s=40.0))
                assert log.close(request_id, reward=1.0)
        except BaseException as exc:  # noqa: BLE001  reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=serve, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = n_threads * per_thread
    assert log.counts() == {"impressions": total, "closed": total, "items": 3 * total, "clicks": 2 * total,
                            "streams": total}
    assert len({impression.request_id for impression in log.iter_impressions(batch_size=64)}) == total


def test_stream_seconds_is_checked(sqlite_url: str):
    with pytest.raises(ValueError, match="stream_seconds must be a positive number of seconds, got 0"):
        FeedbackLog.open(sqlite_url, stream_seconds=0)


def test_write_behind_queues_until_a_read_or_flush(sqlite_url: str):
    log = FeedbackLog.open(sqlite_url, write_behind_s=30.0)
    log.record_impression(make_impression(log, "r1"))
    log.record_impression(make_impression(log, "r2"))
    assert stored_rows(log) == []
    assert log.close("r1", reward=0.5) is True and log.close("r1", reward=0.9) is False  # settled in the queue
    assert stored_rows(log) == []
    assert log.flush() == 2 and log.flush() == 0
    assert stored_rows(log) == [("r1", 0.5), ("r2", None)]
    assert log.get_impression("r1").request_id == "r1" and log.counts()["closed"] == 1
    log.record_impression(make_impression(log, "r3"))
    assert log.record_click(Click("r3", "t:track:1")) is True  # a click writes the queue first
    assert [row[0] for row in stored_rows(log)] == ["r1", "r2", "r3"]
    log.dispose()


def test_write_behind_timer_and_full_queue_write_batches(sqlite_url: str):
    timed = FeedbackLog.open(sqlite_url, write_behind_s=0.05)
    timed.record_impression(make_impression(timed, "t1"))
    deadline = time.monotonic() + 10.0
    while not stored_rows(timed) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stored_rows(timed) == [("t1", None)]
    full = FeedbackLog.open(sqlite_url, write_behind_s=30.0, max_buffered=3)
    for i in range(5):
        full.record_impression(make_impression(full, f"f{i}"))
    assert [row[0] for row in stored_rows(full)] == ["f0", "f1", "f2", "t1"]  # the third filled the queue
    full.dispose()  # writes the rest
    assert [row[0] for row in stored_rows(timed)] == ["f0", "f1", "f2", "f3", "f4", "t1"]
    timed.dispose()


def test_write_behind_skips_a_request_id_already_stored_and_keeps_the_batch(sqlite_url: str, caplog):
    direct = FeedbackLog.open(sqlite_url)
    direct.record_impression(make_impression(direct, "r1"))
    direct.close("r1", reward=1.0)
    queued = FeedbackLog.open(sqlite_url, write_behind_s=30.0)
    queued.record_impression(make_impression(queued, "r1"))
    queued.record_impression(make_impression(queued, "r2"))
    with caplog.at_level("ERROR", logger="ltrr.feedback.log"):
        assert queued.flush() == 2
    assert stored_rows(queued) == [("r1", 1.0), ("r2", None)]  # the stored r1 is untouched
    assert "search 'r1' was not logged" in caplog.text and "already in the feedback log" in caplog.text
    direct.dispose()
    queued.dispose()


def test_write_behind_queue_is_written_at_interpreter_exit(sqlite_url: str):
    code = (f"from tests.test_feedback_log import make_impression\n"
            f"from ltrr.feedback import FeedbackLog\n"
            f"log = FeedbackLog.open({sqlite_url!r}, write_behind_s=30.0)\n"
            f"log.record_impression(make_impression(log, 'exit-1'))\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent, timeout=120)
    log = FeedbackLog.open(sqlite_url)
    assert stored_rows(log) == [("exit-1", None)]
    log.dispose()


@pytest.mark.parametrize("options, message", [
    ({"write_behind_s": -1.0}, "write_behind_s must be between 0 and 60 seconds, got -1.0"),
    ({"write_behind_s": math.inf}, "write_behind_s must be between 0 and 60 seconds, got inf"),
    ({"max_buffered": 0}, "max_buffered must be an integer >= 1, got 0"),
])
def test_write_behind_options_are_checked(sqlite_url: str, options: dict, message: str):
    log = FeedbackLog.open(sqlite_url)
    with pytest.raises(ValueError, match=message):
        FeedbackLog(log.engine, b"salt", **options)
    log.dispose()
