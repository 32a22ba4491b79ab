"""RankingData from the feedback log: the group array follows row order; labels, positions, skipped searches."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import numpy as np
import pytest

from ltrr.feedback import Click, FeedbackLog, Impression, NoTrainingDataError, RequestContext, ShownItem
from ltrr.ranking.dataset import RankingData, ranking_data_from_log
from ltrr.types import Arm, Decision

T0 = datetime(2025, 4, 7, 12, 0)
NAMES = ("request.index", "item.position")
DECISION = Decision(Arm("bm25_only", (("bm25", 100),)), 0, 1.0, (1.0,), "fixed")


@pytest.fixture
def log(sqlite_url: str):
    feedback = FeedbackLog.open(sqlite_url)
    yield feedback
    feedback.dispose()


def record(log: FeedbackLog, request_id: str, index: int, n_items: int, seconds: int,
           names: tuple[str, ...] = NAMES) -> None:
    """A search whose rows carry (its index, the item's position) as features, so rows can be traced back."""
    items = tuple(ShownItem(p, f"{request_id}:e{p}", "track", 0.0, features=(float(index), float(p))[:len(names)])
                  for p in range(n_items))
    log.record_impression(Impression(request_id, T0 + timedelta(seconds=seconds), None, "q", "q", "topical",
                                     RequestContext(), DECISION, 1, feature_names=names, items=items))


def test_group_follows_row_order(log: FeedbackLog):
    # logged out of time order, with 3, 1 and 2 items: rows must come by created_at, group sizes alike
    for request_id, index, n_items, seconds in (("b", 1, 1, 20), ("a", 0, 3, 10), ("c", 2, 2, 30)):
        record(log, request_id, index, n_items, seconds)
        log.record_click(Click(request_id, f"{request_id}:e0"))
    data = ranking_data_from_log(log)
    assert data.group.tolist() == [3, 1, 2]
    starts = np.cumsum(np.r_[0, data.group[:-1]])
    for index, (start, size) in enumerate(zip(starts, data.group)):
        block = data.features[start:start + size]
        assert (block[:, 0] == index).all() and block[:, 1].tolist() == list(range(size))


def test_labels_and_positions(log: FeedbackLog):
    record(log, "a", 0, 4, 0)
    log.record_click(Click("a", "a:e2", dwell_s=45.0))  # a stream: label 2
    log.record_click(Click("a", "a:e3", dwell_s=3.0))   # a click: label 1
    record(log, "b", 1, 2, 5)                            # no clicks: not a training search
    data = RankingData.from_log(log)
    assert data.labels.tolist() == [0, 0, 2, 1] and data.positions.tolist() == [0, 1, 2, 3]
    assert data.feature_names == NAMES and data.n_groups == 1
    with pytest.raises(NoTrainingDataError, match=r"no impressions with clicks in the log \(min_clicks=3\)"):
        ranking_data_from_log(log, min_clicks=3)


def test_since_and_min_clicks_filter(log: FeedbackLog):
    record(log, "a", 0, 2, 0)
    record(log, "b", 1, 3, 10)
    for request_id, entity in (("a", "a:e0"), ("a", "a:e1"), ("b", "b:e1")):
        log.record_click(Click(request_id, entity))
    assert ranking_data_from_log(log, min_clicks=2).group.tolist() == [2]
    assert ranking_data_from_log(log, since=T0 + timedelta(seconds=5)).group.tolist() == [3]


def test_searches_with_other_feature_names_are_skipped(log: FeedbackLog, caplog):
    record(log, "old", 0, 2, 0, names=("request.index",))
    record(log, "new", 1, 3, 10)
    for request_id in ("old", "new"):
        log.record_click(Click(request_id, f"{request_id}:e0"))
    with caplog.at_level(logging.WARNING, logger="ltrr.ranking.dataset"):
        data = ranking_data_from_log(log)  # default names: the most recent search's
    assert data.group.tolist() == [3] and "skipped 1 searches" in caplog.text
    assert ranking_data_from_log(log, ["request.index"]).group.tolist() == [2]
    with pytest.raises(NoTrainingDataError, match="2 searches used other names; pass feature_names="):
        ranking_data_from_log(log, ["bm25.score"])


def test_empty_log_says_what_to_do(log: FeedbackLog):
    with pytest.raises(NoTrainingDataError, match=r"no impressions with clicks in the log .*record_click"):
        ranking_data_from_log(log)
    with pytest.raises(ValueError, match="min_clicks must be >= 1"):
        ranking_data_from_log(log, min_clicks=0)
