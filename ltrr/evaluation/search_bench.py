"""End-to-end search latency of an Engine: cold and head queries, per-stage times, throughput, memory.

Cold queries are each searched once (distinct seeded spearfishing texts and playlist names: no query cache
helps); head queries are a few texts repeated (the query-embedding cache and the entity cache are warm).
Each search is settled at once with the no-click reward, as a search that nobody clicks would be. Open the
engine with `restore_state=False` to measure from a fresh policy and ranker (the script does); the searches
are still logged in the store.
The plan comparison runs the same cold texts under the engine's policy and under the static equal split.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..bench import peak_rss_mb
from ..engine import Engine
from ..policy import make_policy
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from .generator_bench import query_texts

STAGES = ("understand", "select", "generate", "union", "features", "traits", "rank", "result", "log", "total")


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=float)
    return {"n": int(values.size), "p50_ms": float(np.percentile(values, 50)),
            "p95_ms": float(np.percentile(values, 95)), "p99_ms": float(np.percentile(values, 99)),
            "mean_ms": float(values.mean())}


def run_searches(engine: Engine, texts: Sequence[str], progress: StageFactory, label: str) -> dict:
    """Search each text (settling it), returning wall-time percentiles, per-stage p50/p95 and mean pool size."""
    stage = progress(label, len(texts))
    walls, stages, pools = [], {name: [] for name in STAGES}, []
    for text in texts:
        start = time.perf_counter()
        result = engine.search(text, limit=10)
        walls.append((time.perf_counter() - start) * 1000.0)
        engine.close(result.request_id)
        for name in STAGES:
            stages[name].append(result.timings_ms.get(name, 0.0))
        pools.append(result.n_candidates)
        stage.update(1)
    stage.close()
    return {"wall": percentiles(walls), "stages": {name: percentiles(v) for name, v in stages.items()},
            "mean_candidates": float(np.mean(pools)), "qps": len(texts) / (sum(walls) / 1000.0)}


def bench_search(engine: Engine, *, n_cold: int = 1000, n_head: int = 20, head_repeats: int = 25,
                 n_warm_up: int = 0, seed: int = 0, progress: StageFactory = no_progress) -> dict:
    """{"cold": ..., "head": ..., "equal_split": ..., flat headline keys (cold_p50_ms, qps, ...)}.

    n_warm_up: simulated searches (`simulation.warmup`) the engine learns from first, followed by a ranker fit,
    so the "learned" numbers are those of a policy and ranker that have seen traffic.
    """
    result = {"warm_up": _warm_up(engine, n_warm_up, seed, progress)} if n_warm_up else {}
    entities = _sample_entities(engine.store, seed)
    texts = list(dict.fromkeys(query_texts(entities, n_cold + n_head, seed)))
    cold, head = texts[:n_cold], texts[n_cold:n_cold + n_head]
    result.update({"n_entities": engine.store.counts().tracks, "policy": engine.policy.name,
                   "ranker_version": engine.scorer.version})
    run_searches(engine, head[:5], no_progress, "warm-up")  # first-call costs (model load) out of the numbers
    result["cold"] = run_searches(engine, cold, progress, "cold queries")
    result["head"] = run_searches(engine, head * head_repeats, progress, "head queries")
    learned = engine.policy
    engine.policy = make_policy("fixed", arms=engine.arms, arm_name="equal")
    try:
        result["equal_split"] = run_searches(engine, cold, progress, "equal split")
    finally:
        engine.policy = learned
    result.update({"cold_p50_ms": result["cold"]["wall"]["p50_ms"], "cold_p95_ms": result["cold"]["wall"]["p95_ms"],
                   "cold_p99_ms": result["cold"]["wall"]["p99_ms"], "head_p50_ms": result["head"]["wall"]["p50_ms"],
                   "head_p95_ms": result["head"]["wall"]["p95_ms"], "qps": result["cold"]["qps"],
                   "peak_rss_mb": peak_rss_mb()})
    return result


def _warm_up(engine: Engine, n_searches: int, seed: int, progress: StageFactory) -> dict:
    from ..feedback.records import utc_now
    from ..simulation.warmup import warm_up

    started_at, start = utc_now(), time.perf_counter()
    report = warm_up(engine, n_searches, seed=seed + 1, progress=progress)
    half = report.n_searches // 2
    summary = {"n_searches": report.n_searches, "ctr": report.ctr(), "seconds": time.perf_counter() - start,
               "mean_reward_first_half": report.mean_reward(slice(None, half)),
               "mean_reward_second_half": report.mean_reward(slice(half, None)),
               "arms": dict(report.arms.most_common(8))}
    # this run's searches only, and the saved state left alone
    summary["ranker"] = engine.fit_ranker(save=False, since=started_at)
    return summary


def _sample_entities(store: CatalogStore, seed: int, n_tracks: int = 20_000) -> list:
    """Tracks (a seeded sample) and every playlist: what `query_texts` draws queries from."""
    tracks = [entity for batch in store.iter_batches(kind="track", batch_size=5000) for entity in batch]
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(tracks), size=min(n_tracks, len(tracks)), replace=False)
    return [tracks[i] for i in sorted(keep.tolist())] + list(store.iter_entities(kind="playlist"))
