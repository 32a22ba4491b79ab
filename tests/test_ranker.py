"""Ranking: LambdaMART on a synthetic set where one feature decides relevance, the default scorer, save/load."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from ltrr.errors import FeatureMismatchError, NotFittedError
from ltrr.ranking import DefaultScorer, LambdaMartRanker, RankingData, Scorer, load_scorer, mean_ndcg_at

NAMES = ("noise.a", "signal.x", "noise.b", "noise.c")
GROUP_SIZE = 10


def _synthetic(n_groups: int, seed: int, position_bias: bool = False) -> RankingData:
    """Relevance 0-2 set by `signal.x` alone; shown in random order. With `position_bias`, a relevant row is
    clicked (labelled) only with probability 1 / (1 + position), as in a position-based click model."""
    rng = np.random.default_rng(seed)
    n = n_groups * GROUP_SIZE
    features = rng.normal(size=(n, len(NAMES)))
    features[rng.random((n, len(NAMES))) < 0.05] = np.nan  # missing values, as real feature rows have
    signal = np.nan_to_num(features[:, 1], nan=-1.0)
    labels = np.digitize(signal, [0.3, 1.2])
    positions = np.concatenate([rng.permutation(GROUP_SIZE) for _ in range(n_groups)])
    if position_bias:
        labels = labels * (rng.random(n) < 1.0 / (1.0 + positions))
    return RankingData(features, labels.astype(np.int64), np.full(n_groups, GROUP_SIZE), positions, NAMES)


@pytest.fixture(scope="module")
def train() -> RankingData:
    return _synthetic(120, seed=1)


@pytest.fixture(scope="module")
def held_out() -> RankingData:
    return _synthetic(60, seed=2)


@pytest.fixture(scope="module")
def ranker(train, held_out) -> LambdaMartRanker:
    return LambdaMartRanker(n_estimators=20, learning_rate=0.1, min_data_in_leaf=10, num_threads=1).fit(
        train, held_out)


def test_the_deciding_feature_has_the_highest_importance(ranker):
    importance = ranker.feature_importance("gain")
    assert max(importance, key=importance.get) == "signal.x"


def test_ndcg_beats_a_random_scorer_on_held_out_groups(ranker, held_out):
    learned = mean_ndcg_at(ranker.score(held_out.features, NAMES), held_out.labels, held_out.group)
    random_scores = np.random.default_rng(0).random(len(held_out.labels))
    baseline = mean_ndcg_at(random_scores, held_out.labels, held_out.group)
    assert learned > baseline + 0.2
    assert ranker.validation_ndcg_ == pytest.approx(learned)


def test_ndcg_by_hand():
    # one group, labels [0, 1, 2] scored [3, 2, 1]: DCG = 1/log2(3) + 3/log2(4); ideal = 3 + 1/log2(3)
    value = mean_ndcg_at(np.array([3.0, 2.0, 1.0]), np.array([0, 1, 2]), np.array([3]), k=10)
    assert value == pytest.approx((1 / math.log2(3) + 3 / 2) / (3 + 1 / math.log2(3)))
    assert math.isnan(mean_ndcg_at(np.zeros(2), np.zeros(2, dtype=int), np.array([2])))


def test_contributions_sum_to_the_score(ranker, held_out):
    rows = held_out.features[:25]
    parts = ranker.contributions(rows, NAMES)
    assert parts.shape == (25, len(NAMES) + 1)
    np.testing.assert_allclose(parts.sum(axis=1), ranker.score(rows, NAMES), rtol=1e-9, atol=1e-9)


def test_default_scorer_formula_and_contributions():
    names = ["pool.size", "pool.rrf", "entity.popularity_normalized"]
    matrix = np.array([[5.0, 1 / 61, 0.0], [5.0, 1 / 62 + 1 / 61, 1.0], [5.0, 0.0, 0.5]])
    scorer = DefaultScorer(popularity_weight=0.01)
    scores = scorer.score(matrix, names)
    np.testing.assert_allclose(scores, [1 / 61, 1 / 62 + 1 / 61 + 0.01, 0.005])
    parts = scorer.contributions(matrix, names)
    assert parts.shape == (3, 4) and (parts[:, 0] == 0).all() and (parts[:, -1] == 0).all()
    np.testing.assert_allclose(parts.sum(axis=1), scores)
    assert scorer.version == 0 and isinstance(scorer, Scorer)
    with pytest.raises(FeatureMismatchError, match=r"missing \['entity.popularity_normalized'\]"):
        scorer.score(matrix[:, :2], names[:2])


def test_save_and_load_give_identical_scores(ranker, held_out, tmp_path):
    ranker.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "ranker.json").read_text())
    assert meta["feature_names"] == list(NAMES) and meta["version"] == ranker.version_
    assert meta["params"]["n_estimators"] == 20 and 0.0 <= meta["validation_ndcg_at_10"] <= 1.0
    loaded = LambdaMartRanker.load(tmp_path / "model")
    assert (loaded.score(held_out.features, NAMES) == ranker.score(held_out.features, NAMES)).all()
    assert loaded.version == ranker.version and loaded.validation_ndcg_ == ranker.validation_ndcg_
    assert isinstance(load_scorer(tmp_path / "model"), LambdaMartRanker)


def test_load_scorer_falls_back_to_the_default(tmp_path):
    assert isinstance(load_scorer(tmp_path), DefaultScorer)
    with pytest.raises(FileNotFoundError, match="no saved ranker"):
        LambdaMartRanker.load(tmp_path)


@pytest.mark.parametrize("names, message", [
    (("noise.a", "signal.x", "noise.b"), r"missing \['noise.c'\], extra \[\]"),
    ((*NAMES, "pool.rrf"), r"missing \[\], extra \['pool.rrf'\]"),
    (("signal.x", "noise.a", "noise.b", "noise.c"), r"the same names in another order"),
])
def test_feature_mismatch_names_the_difference_and_the_fix(ranker, names, message):
    matrix = np.zeros((2, len(names)))
    with pytest.raises(FeatureMismatchError, match=message) as caught:
        ranker.score(matrix, names)
    assert "engine.fit_ranker()" in str(caught.value) and "ltrr train-ranker" in str(caught.value)


def test_position_bias_mode_trains_with_logged_positions():
    clicks = _synthetic(80, seed=3, position_bias=True)
    options = {"n_estimators": 10, "min_data_in_leaf": 10, "num_threads": 1}
    corrected = LambdaMartRanker(position_bias="lightgbm", **options).fit(clicks)
    plain = LambdaMartRanker(position_bias="none", **options).fit(clicks)
    # the learned position factors change the gradients, hence the trees
    assert not np.allclose(corrected.score(clicks.features, NAMES), plain.score(clicks.features, NAMES))


def test_position_bias_without_positions_warns_and_trains(train, caplog):
    unknown = RankingData(train.features, train.labels, train.group, np.full(len(train.labels), -1), NAMES)
    with caplog.at_level(logging.WARNING, logger="ltrr.ranking.lambdamart"):
        ranker = LambdaMartRanker(n_estimators=3, num_threads=1).fit(unknown)
    assert "no training row has a logged position" in caplog.text
    assert ranker.score(train.features[:3], NAMES).shape == (3,)


def test_versions_increment_unless_given(train):
    ranker = LambdaMartRanker(n_estimators=2, num_threads=1)
    assert ranker.fit(train).version == 1 and ranker.fit(train).version == 2
    assert ranker.fit(train, version=7).version == 7
    assert math.isnan(ranker.validation_ndcg_)


@pytest.mark.parametrize("kwargs, fit_kwargs, message", [
    ({"position_bias": "ips"}, {}, r"position_bias must be one of \('lightgbm', 'none'\), got 'ips'"),
    ({}, {"version": 0}, r"version must be >= 1"),
])
def test_fit_rejects_bad_input(train, kwargs, fit_kwargs, message):
    with pytest.raises(ValueError, match=message):
        LambdaMartRanker(n_estimators=1, num_threads=1, **kwargs).fit(train, **fit_kwargs)


def test_unfitted_ranker_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        LambdaMartRanker().score(np.zeros((1, 4)), NAMES)
