"""The real-data evaluation's mechanics on a tiny synthetic catalog (hashing encoder, exact dense search): the
seeded disjoint split, graded relevance worked by hand, no test playlist visible to what is evaluated, learning
frozen during evaluation, the JSON shape; and the metrics against hand-worked values (and ranx / pytrec_eval
when one is installed)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ltrr.config import EngineConfig
from ltrr.engine import Engine
from ltrr.evaluation.metrics import bootstrap_means, mrr, ndcg_at, recall_at
from ltrr.evaluation.real_eval import (
    CLASSES,
    SPEARFISH_CLASSES,
    SPEARFISH_METRICS,
    SYSTEMS,
    TOPICAL_METRICS,
    RealEvalOptions,
    RealEvalReport,
    hold_out,
    learned_state,
    rank_all,
    rrf_fuse,
    spearfish_misses,
    warm_up,
    world_snapshot,
)
from ltrr.evaluation.real_queries import (
    GradedQuery,
    PlaylistSplit,
    count_key,
    spearfish_class,
    split_train_test,
    topical_queries,
    train_popularity,
)
from ltrr.simulation.world import World, WorldConfig
from ltrr.store import CatalogStore
from ltrr.synthetic import generate_catalog, write_catalog
from ltrr.text import name_key
from ltrr.types import Candidate, Context, Entity, Popularity

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Zqxv Plorth"  # a test playlist renamed so that no other text in the catalog shares its words
SEED, SHARE = 0, 0.3
SMALL = {"catalog": {"synthetic": {"n_artists": 25, "n_playlists": 60, "n_users": 10}},
         "retrieval": {"encoder": "hashing", "dense": {"exact": True}}, "ranker": {"n_estimators": 10}}
CONFIG_TOML = """[retrieval]
encoder = "hashing"
[retrieval.dense]
exact = true
[ranker]
n_estimators = 10
"""


def playlist(entity_id: str, name: str, followers: int = 0) -> Entity:
    return Entity(entity_id, "playlist", name, "test", entity_id, popularity=Popularity(follower_sum=followers))


# -- split and queries ------------------------------------------------------------------------------------------

def test_split_is_seeded_disjoint_and_ignores_order():
    ids = [f"p{i}" for i in range(50)]
    split = split_train_test(ids, 0.2, seed=3)
    assert split == split_train_test(list(reversed(ids)), 0.2, seed=3)
    assert split.train.isdisjoint(split.test) and split.train | split.test == set(ids)
    assert len(split.test) == 10
    assert split_train_test(ids, 0.2, seed=4).test != split.test


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, True])
def test_split_rejects_bad_share(share):
    with pytest.raises(ValueError, match="test_share must be a number in"):
        split_train_test(["p1", "p2"], share, seed=0)


def test_topical_queries_grade_by_same_named_test_playlists():
    playlists = [playlist("p1", "Chill Vibes"), playlist("p2", "chill vibes!"), playlist("p3", "CHILL  VIBES"),
                 playlist("p4", "Road Trip"), playlist("p5", "my playlist"), playlist("p6", "empty one")]
    memberships = {"p1": ["z"], "p2": ["a", "b", "b"], "p3": ["b", "c"], "p4": ["a"], "p5": ["a"], "p6": []}
    split = PlaylistSplit(train=frozenset({"p1"}), test=frozenset({"p2", "p3", "p4", "p5", "p6"}))
    queries = topical_queries(playlists, memberships, split)
    # "chill vibes": a in p2; b in p2 and p3 (twice in p2: one playlist); c in p3. The train p1 makes it head.
    assert queries == [GradedQuery("chill vibes", "head", {"a": 1, "b": 2, "c": 1}),
                       GradedQuery("road trip", "tail", {"a": 1})]  # "my playlist": no topical word; p6: no track


def test_train_popularity_counts_train_playlists_only():
    track = Entity("t1", "track", "Song", "test", "t1", artist_id="a1", popularity=Popularity(99, 999))
    lonely = Entity("t2", "track", "Other", "test", "t2", popularity=Popularity(play_count=5))
    artist = Entity("a1", "artist", "Band", "test", "a1", popularity=Popularity(99, 999))
    entities = [track, lonely, artist, playlist("p1", "x", followers=10), playlist("p2", "y", followers=5)]
    recounted = {e.entity_id: e for e in train_popularity(entities, {"p1": ["t1", "t1"], "p2": ["t1", "t2"]})}
    assert (recounted["t1"].popularity.playlist_count, recounted["t1"].popularity.follower_sum) == (2, 15)
    assert (recounted["a1"].popularity.playlist_count, recounted["a1"].popularity.follower_sum) == (2, 15)
    assert recounted["t2"].popularity == Popularity(play_count=5)  # counts it never had stay None


# -- metrics ----------------------------------------------------------------------------------------------------

RANKED = ["d1", "x1", "d2", "x2", "d3"]
GRADES = {"d1": 2, "d2": 1, "d3": 3, "d9": 1}


def test_metrics_by_hand():
    dcg = (2**2 - 1) / math.log2(2) + (2**1 - 1) / math.log2(4) + (2**3 - 1) / math.log2(6)
    ideal = 7 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    assert ndcg_at(RANKED, GRADES, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(RANKED, GRADES, 1) == pytest.approx(3 / 7)
    assert recall_at(RANKED, GRADES, 3) == pytest.approx(2 / 4) and recall_at(RANKED, GRADES, 100) == 0.75
    assert mrr(["x", "y", "d2"], GRADES) == pytest.approx(1 / 3) and mrr(["x"], GRADES) == 0.0


def test_rrf_fuse_by_hand_with_first_appearance_breaking_ties():
    def listed(*ids):
        return [Candidate(entity_id, "track", "g", 0.0, rank) for rank, entity_id in enumerate(ids)]

    # a: 1/61; b: 1/62 + 1/61; c: 1/62; d: 1/61 (ties a, listed after it)
    assert rrf_fuse([listed("a", "b"), listed("d", "b", "c")], limit=10) == ["b", "a", "d", "c"]
    assert rrf_fuse([listed("a", "b"), listed("d", "b", "c")], limit=2) == ["b", "a"]


def test_bootstrap_intervals_are_seeded_paired_and_hold_the_mean():
    values = np.random.default_rng(1).random((40, 3))
    means, lows, highs = bootstrap_means(values, 500, seed=(7, 1))
    again = bootstrap_means(values, 500, seed=(7, 1))
    assert all(np.array_equal(a, b) for a, b in zip((means, lows, highs), again))
    assert np.allclose(means, values.mean(axis=0)) and np.all(lows <= means) and np.all(means <= highs)
    assert np.all(highs - lows > 0)
    with pytest.raises(ValueError, match="n_resamples must be an integer >= 1"):
        bootstrap_means(values, 0)


def _ranx_or_trec_runs():
    qrels = {"q1": GRADES, "q2": {"b": 1}}
    runs = {"q1": RANKED, "q2": ["a", "c", "b"]}
    return qrels, runs


def test_metrics_agree_with_ranx():
    ranx = pytest.importorskip("ranx")
    qrels, runs = _ranx_or_trec_runs()
    scored = {q: {doc: float(len(ids) - i) for i, doc in enumerate(ids)} for q, ids in runs.items()}
    got = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(scored), ["ndcg_burges@10", "recall@100", "mrr"])
    ours = {"ndcg_burges@10": np.mean([ndcg_at(runs[q], qrels[q], 10) for q in qrels]),
            "recall@100": np.mean([recall_at(runs[q], qrels[q], 100) for q in qrels]),
            "mrr": np.mean([mrr(runs[q], qrels[q]) for q in qrels])}
    assert {k: pytest.approx(v) for k, v in ours.items()} == got


def test_metrics_agree_with_pytrec_eval_on_binary_relevance():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, runs = _ranx_or_trec_runs()
    binary = {q: {doc: 1 for doc in grades} for q, grades in qrels.items()}  # trec_eval's gain is linear
    scored = {q: {doc: float(len(ids) - i) for i, doc in enumerate(ids)} for q, ids in runs.items()}
    got = pytrec_eval.RelevanceEvaluator(binary, {"ndcg_cut_10", "recall_100", "recip_rank"}).evaluate(scored)
    for q in binary:
        assert got[q]["ndcg_cut_10"] == pytest.approx(ndcg_at(runs[q], binary[q], 10))
        assert got[q]["recall_100"] == pytest.approx(recall_at(runs[q], binary[q], 100))
        assert got[q]["recip_rank"] == pytest.approx(mrr(runs[q], binary[q]))


# -- on a tiny catalog ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[Path, str]:
    """A synthetic catalog whose one test playlist is renamed SECRET; returns (db path, that playlist's id)."""
    folder = tmp_path_factory.mktemp("eval_real")
    store = CatalogStore.open(folder / "catalog.db")
    write_catalog(store, generate_catalog(EngineConfig.from_dict(SMALL).catalog.synthetic))
    playlists = sorted(store.iter_entities(kind="playlist"), key=lambda p: p.entity_id)
    test = split_train_test([p.entity_id for p in playlists], SHARE, SEED).test
    memberships = store.playlist_memberships()
    secret = next(p for p in playlists if p.entity_id in test and len(memberships.get(p.entity_id, ())) >= 3)
    with store.writer() as writer:
        writer.upsert_entities([replace(secret, name=SECRET)], ("name",))
    store.close()
    return folder / "catalog.db", secret.entity_id


def _copy(catalog: tuple[Path, str], tmp_path: Path) -> Path:
    target = tmp_path / "catalog.db"
    target.write_bytes(catalog[0].read_bytes())
    return target


def test_no_test_playlist_is_visible_to_what_is_evaluated(catalog, tmp_path):
    db, secret_id = _copy(catalog, tmp_path), catalog[1]
    engine = Engine.open(db, config=EngineConfig.from_dict(SMALL), restore_state=False)
    try:
        store = engine.store
        secret_tracks = set(store.playlist_memberships()[secret_id])
        query = engine.parser.parse(SECRET)
        full_memory = {c.entity_id for c in engine.generators["memory"].generate(query, Context(), 50)}
        assert secret_id in {c.entity_id for c in engine.generators["bm25"].generate(query, Context(), 50)}
        assert secret_tracks <= full_memory  # the control: the full catalog's memory predicts the name's tracks

        held = hold_out(engine, RealEvalOptions(test_share=SHARE, seed=SEED))
        test, snapshot = held.split.test, held.snapshot
        assert secret_id in test and {q.text: q.query_class for q in held.topical}[name_key(SECRET)] == "tail"
        world = World.from_snapshot(world_snapshot(snapshot, store), WorldConfig(), seed=SEED)
        assert world.snapshot.playlist_ids and set(world.snapshot.playlist_ids).isdisjoint(test)
        warm_up(held.learned, world, 15, SEED)
        assert held.learned.generators["memory"].observed_.pairs and not held.cold.generators["memory"].observed_.pairs
        parsed = held.parser.parse(SECRET)
        assert "zqxv" not in held.parser.lexicon.playlist_words
        for memory in (held.generators["memory"], held.cold.generators["memory"], held.learned.generators["memory"]):
            assert memory.generate(parsed, Context(), 50) == []  # no name prediction, no click learned for it
        assert held.generators["bm25"].generate(parsed, Context(), 50) == []
        names = [p.name for p in store.iter_entities(kind="playlist") if p.entity_id in test]
        for text in names:
            for name, generator in held.generators.items():
                found = {c.entity_id for c in generator.generate(held.parser.parse(text), Context(), 200)}
                assert not found & test, (text, name)  # no test playlist entity is retrievable
        for forked in held.engines.values():
            assert forked.parser is held.parser and forked.generators["dense"] is held.generators["dense"]
        secret_sorted = sorted(secret_tracks)
        recounted = [e.popularity.playlist_count for e in held.cold.entities.get_many(secret_sorted)]
        assert recounted == [sum(t in ids for ids in snapshot.playlist_tracks.values()) for t in secret_sorted]
        stored = [e.popularity.playlist_count for e in engine.entities.get_many(secret_sorted)]
        assert all(full > train for full, train in zip(stored, recounted))  # the secret playlist counted there

        before = learned_state(held.learned)
        rankings, retrieved = rank_all(held, [GradedQuery(SECRET, "tail", {t: 1 for t in secret_tracks})], Context())
        assert learned_state(held.learned) == before and held.learned.log.counts()["impressions"] > 0
        assert set(rankings) == set(SYSTEMS) and all(len(lists) == 1 for lists in rankings.values())
        assert set(retrieved) == set(SYSTEMS) and all(set(rankings[s][0]) <= retrieved[s][0] for s in SYSTEMS)
    finally:
        engine.shutdown(keep_memory=False)


def _load_script():
    spec = importlib.util.spec_from_file_location("eval_real_script", ROOT / "scripts" / "eval_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_prints_the_json_shape(catalog, tmp_path):
    db = _copy(catalog, tmp_path)
    (tmp_path / "ltrr.toml").write_text(CONFIG_TOML, encoding="utf-8")
    script = _load_script()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = script.main(["--db", str(db), "--config", str(tmp_path / "ltrr.toml"), "--json", "--quiet",
                            "--test-share", str(SHARE), "--warm-up", "25", "--spearfish", "20", "--resamples", "200",
                            "--retrain-every", "3"])
    assert code == 0
    metrics, about = json.loads(out.getvalue()), json.loads(err.getvalue().strip().splitlines()[-1])
    assert list(metrics) == [*TOPICAL_METRICS, *SPEARFISH_METRICS]
    assert about["frozen"] is True and about["warm_up"]["searches"] >= 25
    assert about["warm_up"]["ranker"]["version"] > 2  # refitted during the warm-up, then once more at its end
    assert about["n_queries"]["head"] >= 1 and about["n_queries"]["tail"] >= 1 and about["n_queries"]["spearfish"] == 20
    assert about["n_playlists"] == {"train": 42, "test": 18}
    counts = about["n_queries"]
    assert counts["spearfish_one_word"] + counts["spearfish_multi_word"] == 20 and counts["spearfish_multi_word"] > 0
    for metric, by_class in metrics.items():
        assert list(by_class) == (list(SPEARFISH_CLASSES) if metric in SPEARFISH_METRICS else list(CLASSES))
        for cls, entries in by_class.items():
            assert list(entries) == list(SYSTEMS)
            for entry in entries.values():
                low, high = entry["ci95"]
                if counts[count_key(metric, cls)] == 0:  # no query of that kind: no mean
                    assert entry == {"mean": None, "ci95": [None, None]}
                    continue
                assert set(entry) == {"mean", "ci95"} and 0.0 <= low <= entry["mean"] <= high <= 1.0
    assert any(e["mean"] > 0 for e in metrics["ndcg@10"]["all"].values())
    ceiling = about["spearfish_ceiling"]
    assert list(ceiling) == list(SPEARFISH_CLASSES) and 0.0 < ceiling["all"] <= 1.0
    assert (ceiling["one_word"] is None) == (counts["spearfish_one_word"] == 0)
    report = RealEvalReport(metrics, about["n_queries"], about["n_playlists"], about["warm_up"], about["timings_s"],
                            about["frozen"], ceiling)
    misses = about["spearfish_misses"]
    assert list(misses) == list(SYSTEMS)
    for system, counts in misses.items():
        recall = metrics["spearfish_recall@10"]["all"][system]["mean"]
        assert counts["queries"] == 20 and counts["misses"] == pytest.approx(20 * (1 - recall), abs=1e-9)
        parts = counts["beyond_bayes_top_10"] + counts["not_retrieved"] + counts["retrieved_below_10"]
        assert parts == pytest.approx(counts["misses"], abs=0.05) and min(counts.values()) >= 0
    report = replace(report, spearfish_misses=misses)
    printed = script._tables(report)
    assert "engine_learned" in printed and "spearfish_mrr" in printed
    assert "spearfishing misses" in printed and "beyond_bayes_top_10" in printed
    assert f"ceiling (Bayes-optimal under the query model; no system exceeds it in expectation): all " \
           f"{ceiling['all']:.3f}" in printed


def test_options_reject_bad_values():
    with pytest.raises(ValueError, match="max_queries must be an integer >= 1 or None"):
        RealEvalOptions(max_queries=0)
    with pytest.raises(ValueError, match="warm_up must be an integer >= 0"):
        RealEvalOptions(warm_up=-1)
    with pytest.raises(ValueError, match="retrain_every must be an integer >= 0"):
        RealEvalOptions(retrain_every=-1)


class FixedCeiling:
    """A stand-in for SpearfishCeiling: the Bayes top-10 hit of each intended text, given."""

    def __init__(self, hits):
        self.hits = hits

    def hit_at(self, intended, target_id, k=10):
        return self.hits[intended]


def test_spearfish_misses_split_each_miss_by_where_the_target_was_lost():
    queries = [GradedQuery(text, "spearfish", {target: 1}, text)
               for text, target in (("found", "t1"), ("deep", "t2"), ("absent", "t3"), ("hopeless", "t4"))]
    ceiling = FixedCeiling({"found": 1.0, "deep": 1.0, "absent": 0.75, "hopeless": 0.0})
    ranked = [["t1"], [f"x{i}" for i in range(10)] + ["t2"], ["x"], ["y"]]
    retrieved = [frozenset(r) for r in ranked]
    misses = spearfish_misses({"engine": ranked}, {"engine": retrieved}, queries, ceiling)
    assert misses == {"engine": {"queries": 4.0, "misses": 3.0, "beyond_bayes_top_10": 1.25, "not_retrieved": 0.75,
                                 "retrieved_below_10": 1.0}}
    assert spearfish_misses({"engine": ranked}, {"engine": retrieved}, queries, None)["engine"][
        "beyond_bayes_top_10"] == 3.0  # without a ceiling every miss counts as beyond it
    with pytest.raises(ValueError, match="has one target"):
        spearfish_misses({"e": [[]]}, {"e": [frozenset()]}, [GradedQuery("q", "spearfish", {"a": 1, "b": 1})], None)


def test_spearfish_class_and_count_keys():
    assert spearfish_class("Digger") == "one_word" and spearfish_class("  24K ") == "one_word"
    assert spearfish_class("Gold Digger") == "multi_word" and spearfish_class("Kanye West Gold Digger") == "multi_word"
    assert count_key("ndcg@10", "head") == "head" and count_key("spearfish_mrr", "all") == "spearfish"
    assert count_key("spearfish_recall@10", "one_word") == "spearfish_one_word"
