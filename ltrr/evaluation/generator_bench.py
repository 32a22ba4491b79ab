"""Latency, build time and memory of every candidate generator on a real catalog (for scripts/bench_generators.py).

Queries: seeded spearfishing texts (titles, "artist title", partial titles, clean and misspelt) and real playlist
names, parsed once. Each generator answers every query with k=100; `preview` is timed too. The dense generator
is also timed in parts: encoding one uncached query, and the ANN search alone; and the HNSW index is graded
against exact search (recall@100). BM25 is also timed on a synthetic 1M-document index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..bench import peak_rss_mb, summarize
from ..progress import StageFactory, no_progress
from ..retrieval.ann import ExactIndex
from ..retrieval.bm25 import BM25Generator
from ..retrieval.build import GENERATOR_NAMES, exploring, fit_generator, load_snapshot
from ..retrieval.dense import DenseGenerator, entity_text, query_text
from ..retrieval.embedding_cache import EmbeddingCache, encode_with_cache
from ..retrieval.encoders import TextEncoder
from ..store import CatalogStore
from ..types import Context, Entity
from ..understanding import Lexicon, QueryParser, plain_query
from .generator_eval import spearfish_sets


def _timed(calls: Sequence[Callable[[], object]]) -> dict[str, float]:
    samples = []
    for call in calls:
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    stats = summarize(samples)
    return {"p50_ms": stats["median_s"] * 1e3, "p95_ms": stats["p95_s"] * 1e3, "n": stats["n"]}


def query_texts(snapshot_entities: Sequence[Entity], n: int, seed: int) -> list[str]:
    """n/4 clean and n/4 misspelt spearfishing texts, and n/2 playlist names (seeded)."""
    tracks = [e for e in snapshot_entities if e.kind == "track"]
    clean, typo = spearfish_sets(tracks, n // 4, seed)
    names = sorted({e.name for e in snapshot_entities if e.kind == "playlist"})
    rng = np.random.default_rng(seed)
    picked = [names[i] for i in rng.choice(len(names), size=min(n - 2 * (n // 4), len(names)), replace=False)]
    return [q.text for q in clean + typo] + picked


def bench_generators(store: CatalogStore, *, encoder: TextEncoder, cache_dir: str | Path | None,
                     n_queries: int = 2000, ann_queries: int = 500, synthetic_docs: int = 1_000_000,
                     seed: int = 0, progress: StageFactory = no_progress) -> dict:
    """{"generators": {name: {...}}, flat headline keys (bm25_p95_ms, ...), "build_s": {...}, "rss_mb": ...}."""
    start = time.perf_counter()
    snapshot = load_snapshot(store, progress=progress)
    result: dict = {"load_s": time.perf_counter() - start, "n_entities": len(snapshot.entities), "build_s": {},
                    "generators": {}}
    start = time.perf_counter()
    parser = QueryParser(Lexicon.from_entities(snapshot.entities))
    result["build_s"]["lexicon"] = time.perf_counter() - start
    generators = {}
    for name in GENERATOR_NAMES:
        start = time.perf_counter()
        generators[name] = fit_generator(name, snapshot, parser, encoder, cache_dir, exploring(seed), progress)
        result["build_s"][name] = time.perf_counter() - start
    texts = query_texts(snapshot.entities, n_queries, seed)
    result["parse"] = _timed([lambda t=t: parser.parse(t) for t in texts])
    queries = [parser.parse(t) for t in texts]
    context = Context.anonymous()
    for name, gen in generators.items():
        result["generators"][name] = {
            "generate_k100": _timed([lambda q=q, g=gen: g.generate(q, context, 100) for q in queries]),
            "preview": _timed([lambda q=q, g=gen: g.preview(q, context) for q in queries])}
    result["dense"] = _dense_parts(generators["dense"], snapshot.entities, queries[:ann_queries], encoder, cache_dir)
    result["bm25_synthetic"] = _bm25_synthetic(synthetic_docs, seed) if synthetic_docs else None
    result["rss_mb"] = peak_rss_mb()
    gens = result["generators"]
    result.update({"bm25_p95_ms": gens["bm25"]["generate_k100"]["p95_ms"],
                   "dense_ann_p95_ms": result["dense"]["ann_search_k100"]["p95_ms"],
                   "dense_encode_p50_ms": result["dense"]["encode_one"]["p50_ms"],
                   "structured_p95_ms": gens["structured"]["generate_k100"]["p95_ms"],
                   "memory_p95_ms": gens["memory"]["generate_k100"]["p95_ms"],
                   "exploration_p95_ms": gens["exploration"]["generate_k100"]["p95_ms"],
                   "ann_recall_at_100": result["dense"]["ann_recall_at_100"]})
    return result


def _dense_parts(dense: DenseGenerator, entities: Sequence[Entity], queries, encoder: TextEncoder,
                 cache_dir: str | Path | None) -> dict:
    texts = [query_text(q) for q in queries]
    encode_one = _timed([lambda t=t: encoder.encode([t + " "]) for t in texts[:200]])  # " ": miss the LRU
    vectors = encoder.encode(texts)
    ann = _timed([lambda v=v: dense.index_.search(v[None, :], 100) for v in vectors])
    by_id = {e.entity_id: e for e in entities}
    doc_texts = [entity_text(by_id[entity_id]) for entity_id in dense.entity_ids_]
    cache = EmbeddingCache(cache_dir) if cache_dir else None
    exact = ExactIndex()
    exact.add(encode_with_cache(encoder, doc_texts, cache), np.arange(len(doc_texts)))
    approx_ids, _ = dense.index_.search(vectors, 100)
    exact_ids, _ = exact.search(vectors, 100)
    recall = float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx_ids, exact_ids)]))
    return {"encode_one": encode_one, "ann_search_k100": ann, "ann_recall_at_100": recall}


def _bm25_synthetic(n_docs: int, seed: int, vocabulary: int = 200_000) -> dict:
    """BM25 over n_docs synthetic tracks of 5-15 Zipf-distributed words; 1-4 word queries drawn alike."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    ranks = np.arange(1, vocabulary + 1, dtype=float)
    p = 1.0 / ranks
    p /= p.sum()
    lengths = rng.integers(5, 16, size=n_docs)
    drawn = words[rng.choice(vocabulary, size=int(lengths.sum()), p=p)]
    cuts = np.cumsum(lengths)[:-1]
    docs = [Entity(f"syn:track:{i}", "track", " ".join(part), "syn", str(i)) for i, part in
            enumerate(np.split(drawn, cuts))]
    start = time.perf_counter()
    bm25 = BM25Generator(popularity_weight=0.0).fit(docs)
    build_s = time.perf_counter() - start
    del docs
    queries = [plain_query(" ".join(words[rng.choice(vocabulary, size=int(rng.integers(1, 5)), p=p)]))
               for _ in range(2000)]
    timing = _timed([lambda q=q: bm25.generate(q, Context.anonymous(), 100) for q in queries])
    return {"n_docs": n_docs, "build_s": build_s, "generate_k100": timing}
