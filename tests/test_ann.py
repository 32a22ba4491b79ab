"""ExactIndex and HnswIndex: one interface, hand-checked exact results, HNSW recall against exact, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from ltrr.retrieval.ann import ExactIndex, HnswIndex, load_index


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_exact() -> ExactIndex:
    return ExactIndex()


def make_hnsw() -> HnswIndex:
    return HnswIndex(M=16, ef_construction=100, ef_search=64, seed=1, n_threads=1)


MAKERS = [make_exact, make_hnsw]


@pytest.mark.parametrize("make", MAKERS)
def test_search_by_hand(make):
    index = make()
    index.add(np.eye(3, dtype=np.float32), np.array([10, 11, 12]))
    query = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    ids, scores = index.search(query, k=2)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert ids[0].tolist() == [11, 10] and scores[0] == pytest.approx([0.8, 0.6], abs=1e-6)
    assert ids[1, 0] == 12 and scores[1, 0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("make", MAKERS)
def test_k_is_capped_by_size_and_empty_index_returns_nothing(make):
    index = make()
    ids, scores = index.search(unit_rows(2, 4, 0), k=5)
    assert ids.shape == (2, 0) and scores.shape == (2, 0) and len(index) == 0
    index.add(unit_rows(3, 4, 1), np.array([0, 1, 2]))
    ids, scores = index.search(unit_rows(2, 4, 0), k=5)
    assert ids.shape == (2, 3) and sorted(ids[0].tolist()) == [0, 1, 2]
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    assert index.search(unit_rows(1, 4, 0), k=0)[0].shape == (1, 0)


@pytest.mark.parametrize("make", MAKERS)
def test_adding_an_existing_id_replaces_its_vector(make):
    index = make()
    index.add(np.eye(2, dtype=np.float32), np.array([5, 6]))
    index.add(np.array([[0.0, 1.0]], dtype=np.float32), np.array([5]))
    assert len(index) == 2
    ids, scores = index.search(np.array([[0.0, 1.0]], dtype=np.float32), k=2)
    assert set(ids[0].tolist()) == {5, 6} and scores[0] == pytest.approx([1.0, 1.0], abs=1e-6)


@pytest.mark.parametrize("make", MAKERS)
def test_growth_keeps_every_vector_findable(make):
    index = make()
    vectors = unit_rows(1500, 8, 2)  # past the initial capacity of 1024, in uneven steps
    for start, stop in [(0, 1), (1, 1000), (1000, 1200), (1200, 1500)]:
        index.add(vectors[start:stop], np.arange(start, stop) + 100)
    assert len(index) == 1500
    ids, _ = index.search(vectors[[0, 1100, 1499]], k=1)
    assert ids[:, 0].tolist() == [100, 1200, 1599]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("vectors, ids, message", [
    (np.ones(3, dtype=np.float32), np.array([0]), "2-D array"),
    (np.ones((2, 3), dtype=np.float32), np.array([0]), "one per vector"),
    (np.ones((1, 3), dtype=np.float32), np.array([-1]), "integers >= 0"),
    (np.ones((2, 3), dtype=np.float32), np.array([4, 4]), "must be unique"),
])
def test_add_rejects_bad_input(make, vectors, ids, message):
    with pytest.raises(ValueError, match=message):
        make().add(vectors, ids)


@pytest.mark.parametrize("make", MAKERS)
def test_search_rejects_bad_input(make):
    index = make()
    index.add(unit_rows(3, 4, 0), np.arange(3))
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        index.search(unit_rows(1, 4, 0), k=-1)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        index.search(unit_rows(1, 5, 0), k=1)
    with pytest.raises(ValueError, match="2-D array of shape"):
        index.search(unit_rows(1, 4, 0)[0], k=1)


def test_hnsw_agrees_with_exact_search():
    vectors, queries = unit_rows(2000, 32, 3), unit_rows(200, 32, 4)
    exact, hnsw = ExactIndex(), HnswIndex(M=16, ef_construction=200, ef_search=64, seed=0, n_threads=1)
    for index in (exact, hnsw):
        index.add(vectors, np.arange(2000))
    exact_ids, exact_scores = exact.search(queries, k=10)
    hnsw_ids, hnsw_scores = hnsw.search(queries, k=10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact_ids.tolist(), hnsw_ids.tolist())])
    assert recall >= 0.95
    same_top = exact_ids[:, 0] == hnsw_ids[:, 0]
    assert same_top.mean() >= 0.95 and np.allclose(exact_scores[same_top, 0], hnsw_scores[same_top, 0], atol=1e-5)
    # Exact scores are the true cosine similarities.
    assert exact_scores[0, 0] == pytest.approx(float(np.max(vectors @ queries[0])), abs=1e-5)


@pytest.mark.parametrize("make", MAKERS)
def test_save_load_round_trip(make, tmp_path):
    index, vectors = make(), unit_rows(300, 16, 5)
    index.add(vectors, np.arange(300) * 3)
    index.save(tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert type(loaded) is type(index) and len(loaded) == 300
    for before, after in zip(index.search(vectors[:20], k=7), loaded.search(vectors[:20], k=7)):
        assert np.array_equal(before, after)
    loaded.add(unit_rows(2, 16, 6), np.array([5000, 5001]))  # a loaded index still grows
    assert len(loaded) == 302 and loaded.search(unit_rows(2, 16, 6), k=1)[0][:, 0].tolist() == [5000, 5001]


def test_hnsw_parameters_survive_save_load(tmp_path):
    index = HnswIndex(M=8, ef_construction=50, ef_search=33, seed=9, n_threads=1)
    index.add(unit_rows(10, 4, 0), np.arange(10))
    index.save(tmp_path)
    loaded = HnswIndex.load(tmp_path)
    assert (loaded.M, loaded.ef_construction, loaded.ef_search, loaded.seed) == (8, 50, 33, 9)


def test_load_refuses_the_wrong_kind_and_missing_directories(tmp_path):
    ExactIndex().save(tmp_path / "exact")
    with pytest.raises(ValueError, match="holds a 'exact' index"):
        HnswIndex.load(tmp_path / "exact")
    with pytest.raises(FileNotFoundError, match="ann.json is missing"):
        load_index(tmp_path / "nothing")


def test_clone_is_empty_with_the_same_parameters():
    index = make_hnsw()
    index.add(unit_rows(5, 4, 0), np.arange(5))
    twin = index.clone()
    assert len(twin) == 0 and (twin.M, twin.ef_search, twin.seed) == (16, 64, 1)
    assert len(ExactIndex().clone()) == 0


@pytest.mark.parametrize("make", MAKERS)
def test_removed_ids_leave_every_search_and_come_back_when_added(make, tmp_path):
    index = make()
    vectors = np.eye(4, dtype=np.float32)
    index.add(vectors, np.array([10, 11, 12, 13]))
    index.remove(np.array([11, 99, 11]))  # unknown and repeated ids are ignored
    assert len(index) == 3
    ids, _ = index.search(vectors[1:2], k=4)
    assert sorted(ids[0].tolist()) == [10, 12, 13]
    index.save(tmp_path)
    loaded = type(index).load(tmp_path)
    assert len(loaded) == 3 and 11 not in loaded.search(vectors[1:2], k=3)[0][0].tolist()
    loaded.add(vectors[1:2], np.array([11]))
    assert len(loaded) == 4 and loaded.search(vectors[1:2], k=1)[0][0].tolist() == [11]
