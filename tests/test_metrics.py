"""Metrics worked by hand (ranx style), edge cases, and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltrr.evaluation import mrr, ndcg_at, recall_at


def test_ndcg_at_3_by_hand():
    # relevant at ranks 0 and 2 -> DCG = 1 + 1/log2(4); ideal = 1 + 1/log2(3)
    assert ndcg_at(["a", "x", "b"], {"a": 1, "b": 1}, k=3) == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))


def test_ndcg_graded_gain_is_exponential():
    # rel 2 at rank 1, rel 1 at rank 0: DCG = 1 + 3/log2(3); ideal = 3 + 1/log2(3)
    got = ndcg_at(["b", "a"], {"a": 2, "b": 1}, k=2)
    assert got == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))


def test_ndcg_counts_unretrieved_relevant_in_the_ideal():
    assert ndcg_at(["a"], {"a": 1, "b": 1}, k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_recall_and_mrr_by_hand():
    assert recall_at(["a", "x", "b"], {"a", "b", "c", "d"}, k=3) == 0.5
    assert recall_at(["a"], set(), k=3) == 0.0
    assert mrr(["x", "a", "b"], {"a": 1, "b": 1}) == 0.5
    assert mrr(["x", "y", "a"], {"a"}, k=2) == 0.0


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_refused(k):
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        ndcg_at(["a"], {"a": 1}, k=k)


ids = st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=8)
rels = st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 3), max_size=8)


@given(ids, rels, st.integers(1, 10))
def test_metrics_stay_in_unit_interval(ranked, relevance, k):
    for value in (ndcg_at(ranked, relevance, k), recall_at(ranked, relevance, k), mrr(ranked, relevance, k)):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(rels, st.integers(1, 10))
def test_ideal_ranking_scores_one(relevance, k):
    ideal = sorted(relevance, key=lambda entity_id: -relevance[entity_id])
    expected = 1.0 if any(rel > 0 for rel in relevance.values()) else 0.0
    assert ndcg_at(ideal, relevance, k) == pytest.approx(expected)
