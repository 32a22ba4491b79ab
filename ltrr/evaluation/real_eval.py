"""Real-data evaluation: retrieval systems and the engine, cold and after a simulated warm-up, on playlist-name
queries whose answers no system saw.

1. The playlists are split by playlist, seeded (`real_queries.split_train_test`). Test queries are the test
   playlists' normalized names, graded by how many same-named test playlists hold each track; "head" when a
   train playlist shares the name, else "tail" (`real_queries.topical_queries`).
2. Leakage. Every part that reads playlists is rebuilt from a snapshot without the test playlists
   (`retrieval.build.load_snapshot(exclude=...)`), with playlist-derived counts recomputed from the train
   playlists (`real_queries.train_popularity`):
   - bm25 indexes playlist entities (name as title) and, on each track, the names of playlists holding it;
   - dense embeds playlist entities ("Name. Description"); the engine's index is synced to the snapshot in
     place (the entities it drops are removed; nothing is re-encoded: the embedding cache is reused);
   - memory predicts each playlist name's tracks, and each entity's own name;
   - structured, exploration and the query parser's lexicon (playlist vocabulary) read entity names;
   - the features read entity popularity (playlist_count, follower_sum: counts over every playlist at ingest)
     from the engine's entity table, so the evaluated engines get a table built from the recounted snapshot.
   The engines are `Engine.fork`s with these generators; a fork shares the opened engine's parser and entity
   table, so both attributes are replaced on each fork. Nothing is written to the store: the forks log to a
   `RecentFeedbackLog` in memory, the opened engine learns nothing and keeps no memory on shutdown.
3. Warm-up: `engine_learned` serves `warm_up` simulated sessions (`simulation.World` over the train side only:
   topical intents and playlist users from train playlists; a DBN click model; settings as sim/mpd.toml) and
   learns online (bandit, click memory), refitting LambdaMART on its log every `retrain_every` clicks as a
   deployment with `[ranker] retrain_every` would; then LambdaMART is fitted once more on the whole log
   (`fit_ranker(save=False)`). The refits let the bandit learn what each plan is worth under a learned
   ranker, the scorer it is evaluated with; fitted only at the end, its plan values were learned under the
   default scorer. Measured (1,500 warm-up sessions, seeds 0 and 1): refitting every 400 clicks against only
   at the end gave engine_learned nDCG@10 head 0.121 vs 0.110 and 0.114 vs 0.104, tail 0.096 vs 0.086 and
   0.081 vs 0.076, MRR (all) 0.214 vs 0.189 and 0.216 vs 0.200, spearfishing recall@10 0.853 vs 0.833 and
   0.767 vs 0.760.
4. Evaluation learns nothing: per query each engine's policy selects a plan as in a live search (sampled from
   its pmf, exploration included), and `Engine.rank_plan` ranks that plan's pool; no search is logged, closed
   or rewarded. The engines' learned state is compared before and after (`RealEvalReport.frozen`).

Systems, each ranking at most DEPTH = 100 entities per query, in a context timed after the warm-up: bm25,
dense, structured, memory (each generator alone, memory without clicks), rrf_union (the static "equal" plan's
lists fused by reciprocal rank fusion, k = 60), engine_cold (default policy and scorer), engine_learned.
Metrics (trec_eval conventions, `metrics`): ndcg@10, recall@100 (of the top 100 ranked, for the engines too),
mrr; spearfish_recall@10 and spearfish_mrr on noisy title/artist queries. Means with 95% paired bootstrap
intervals over queries (`metrics.bootstrap_means`). `RealEvalReport.spearfish_ceiling` is the highest expected
recall@10 any system can have on the same spearfishing queries: that of the Bayes-optimal ranking under the
query model that drew them (`spearfish_ceiling`), per class. `RealEvalReport.spearfish_misses` says, per system,
where its missed spearfishing targets were lost (`spearfish_misses`): beyond the Bayes-optimal top 10 (no ranking
finds them in expectation), not retrieved (not in the engine's pool, not in another system's list of DEPTH), or
retrieved and ranked below 10.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from ..config import EngineConfig
from ..engine import Engine
from ..engine_entities import EntityCache
from ..engine_entity_table import EntityTable
from ..feedback.recent import RecentFeedbackLog
from ..policy.arms import arm_index
from ..progress import StageFactory, no_progress
from ..retrieval.base import CandidateGenerator
from ..retrieval.build import CatalogSnapshot, exploring, fit_generator, load_snapshot
from ..retrieval.dense import DenseGenerator
from ..retrieval.memory import MemoryGenerator
from ..simulation.click_models import make_click_model
from ..simulation.replay import CLICK_STREAM, REFORMULATION_RATE
from ..simulation.snapshot import CatalogSnapshot as WorldSnapshot
from ..simulation.world import World, WorldConfig
from ..types import Candidate, Context, Query
from ..understanding.lexicon import Lexicon
from ..understanding.parser import QueryParser
from .metrics import bootstrap_means, mrr, ndcg_at, recall_at
from .spearfish_ceiling import SpearfishCeiling
from .real_queries import (
    SPEARFISH_FORMS,
    GradedQuery,
    PlaylistSplit,
    sample_queries,
    spearfish_class,
    spearfish_queries,
    spearfish_weights,
    split_train_test,
    topical_queries,
    train_popularity,
)

SINGLE_SYSTEMS = ("bm25", "dense", "structured", "memory")
SYSTEMS = (*SINGLE_SYSTEMS, "rrf_union", "engine_cold", "engine_learned")
TOPICAL_METRICS = ("ndcg@10", "recall@100", "mrr")
SPEARFISH_METRICS = ("spearfish_recall@10", "spearfish_mrr")
SPEARFISH_CLASSES = ("all", "one_word", "multi_word")
CLASSES = ("head", "tail", "all")
DEPTH = 100
RRF_K = 60
WORLD = {"intent_mix": {"spearfish": 0.45, "topical": 0.4, "ambiguous": 0.15}, "typo_rate": 0.25,
         "max_reformulations": 2}  # as sim/mpd.toml
CLICK_MODEL = {"kind": "dbn", "gamma": 0.9, "min_attractiveness": 0.02, "max_attractiveness": 0.9,
               "satisfaction_scale": 0.9}


@dataclass(frozen=True)
class RealEvalOptions:
    """test_share: share of playlists held out; warm_up: simulated sessions before `engine_learned` is measured;
    max_queries: cap on topical test queries (a seeded sample; None: all); spearfish: spearfishing queries;
    spearfish_typo_rate: chance one is misspelt; n_resamples: bootstrap resamples; retrain_every: clicks
    between ranker refits during the warm-up (0: fitted once, at its end)."""

    test_share: float = 0.2
    seed: int = 0
    warm_up: int = 1500
    max_queries: int | None = None
    spearfish: int = 300
    spearfish_typo_rate: float = 0.3
    n_resamples: int = 1000
    retrain_every: int = 400

    def __post_init__(self) -> None:
        if isinstance(self.test_share, bool) or not 0.0 < self.test_share < 1.0:
            raise ValueError(f"test_share must be in (0, 1), got {self.test_share!r}; e.g. 0.2")
        for name, low in (("seed", 0), ("warm_up", 0), ("spearfish", 0), ("n_resamples", 1), ("retrain_every", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.max_queries is not None and (not isinstance(self.max_queries, int) or self.max_queries < 1):
            raise ValueError(f"max_queries must be an integer >= 1 or None (every query), got {self.max_queries!r}")
        if not 0.0 <= self.spearfish_typo_rate <= 1.0:
            raise ValueError(f"spearfish_typo_rate must be in [0, 1], got {self.spearfish_typo_rate!r}")


@dataclass(frozen=True)
class RealEvalReport:
    """metrics: {metric: {class: {system: {"mean": m, "ci95": [lo, hi]}}}} (None where a class has no query);
    frozen: the evaluation changed no engine's learned state."""

    metrics: dict
    n_queries: dict[str, int]
    n_playlists: dict[str, int]
    warm_up: dict
    timings_s: dict[str, float]
    frozen: bool
    spearfish_ceiling: dict[str, float | None] = field(default_factory=dict)
    spearfish_misses: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class HeldOut:
    """The split, its test queries, and what is evaluated, all built without the test playlists: the snapshot
    (train side, recounted), the parser, the generators (memory without clicks) and two engine forks over them
    with memories of their own."""

    split: PlaylistSplit
    topical: list[GradedQuery]
    snapshot: CatalogSnapshot
    parser: QueryParser
    generators: dict[str, CandidateGenerator]
    cold: Engine
    learned: Engine
    engines: dict[str, Engine] = field(init=False)

    def __post_init__(self) -> None:
        self.engines = {"engine_cold": self.cold, "engine_learned": self.learned}


def evaluate_real(db_url: str | Path, options: RealEvalOptions = RealEvalOptions(), *,
                  config: EngineConfig | None = None, index_dir: str | Path | None = None,
                  progress: StageFactory = no_progress) -> RealEvalReport:
    """Open the engine on `db_url` (indexes built when missing, learned state not restored) and evaluate."""
    engine = Engine.open(db_url, index_dir, config, progress=progress, restore_state=False)
    try:
        return evaluate_engine(engine, options, progress)
    finally:
        engine.shutdown(keep_memory=False)


def evaluate_engine(engine: Engine, options: RealEvalOptions, progress: StageFactory = no_progress) -> RealEvalReport:
    """The steps of the module docstring, on an opened engine (whose dense index is synced to the train side)."""
    timings, clock = {}, time.perf_counter()
    held = hold_out(engine, options, progress)
    timings["build"], clock = time.perf_counter() - clock, time.perf_counter()
    world = World.from_snapshot(world_snapshot(held.snapshot, engine.store), WorldConfig.from_dict(WORLD),
                                seed=options.seed)
    config = held.learned.config
    held.learned.config = replace(config, ranker=replace(config.ranker, retrain_every=options.retrain_every))
    warm = warm_up(held.learned, world, options.warm_up, options.seed, progress)
    timings["warm_up"], clock = time.perf_counter() - clock, time.perf_counter()
    tracks = [e for e in held.snapshot.entities if e.kind == "track"]
    spearfish = spearfish_queries(tracks, options.spearfish, options.seed, options.spearfish_typo_rate)
    context = Context(timestamp=world.config.start + timedelta(
        minutes=(options.warm_up + 60) * world.config.minutes_between_sessions))
    before = {name: learned_state(e) for name, e in held.engines.items()}
    rankings, retrieved = rank_all(held, held.topical + spearfish, context, progress)
    frozen = before == {name: learned_state(e) for name, e in held.engines.items()}
    timings["evaluate"] = time.perf_counter() - clock
    metrics = summarize(rankings, held.topical, spearfish, options)
    counts = {cls: sum(q.query_class == cls for q in held.topical) for cls in ("head", "tail")}
    spear_counts = {f"spearfish_{cls}": sum(spearfish_class(q.text) == cls for q in spearfish)
                    for cls in SPEARFISH_CLASSES[1:]}
    bayes = SpearfishCeiling(tracks, spearfish_weights(tracks), SPEARFISH_FORMS) if spearfish else None
    offset = len(held.topical)
    misses = spearfish_misses({name: lists[offset:] for name, lists in rankings.items()},
                              {name: sets[offset:] for name, sets in retrieved.items()}, spearfish, bayes)
    return RealEvalReport(metrics, {**counts, "all": len(held.topical), "spearfish": len(spearfish), **spear_counts},
                          {"train": len(held.split.train), "test": len(held.split.test)}, warm,
                          {k: round(v, 1) for k, v in timings.items()}, frozen, spearfish_ceiling(bayes, spearfish),
                          misses)


def spearfish_ceiling(ceiling: SpearfishCeiling | None, queries: Sequence[GradedQuery], k: int = 10
                      ) -> dict[str, float | None]:
    """Per spearfishing class ("all", "one_word", "multi_word", by the typed text as the metrics class them):
    the mean Bayes-optimal expected recall@k of `queries` (drawn by `spearfish_queries` from the ceiling's
    tracks), or None."""
    hits = [(spearfish_class(q.text), ceiling.recall_at(q.intended, k)) for q in queries] if ceiling else []
    means = {}
    for cls in SPEARFISH_CLASSES:
        chosen = [hit for query_class, hit in hits if cls == "all" or query_class == cls]
        means[cls] = round(float(np.mean(chosen)), 4) if chosen else None
    return means


def spearfish_misses(rankings: Mapping[str, Sequence[Sequence[str]]],
                     retrieved: Mapping[str, Sequence[frozenset[str]]], queries: Sequence[GradedQuery],
                     ceiling: SpearfishCeiling | None, k: int = 10) -> dict[str, dict[str, float]]:
    """Per system, where the targets of the spearfishing `queries` it missed (not in its top k) were lost.

    Each miss counts `1 - h` as "beyond_bayes_top_k" and `h` as "not_retrieved" (the target is not in what the
    system retrieved) or "retrieved_below_k", where h = `ceiling.hit_at`: whether the Bayes-optimal top k holds
    the target (a fraction on ties at the cut). The three sum to "misses"; a miss beyond the Bayes top k is one
    no ranking avoids in expectation, so "not_retrieved" and "retrieved_below_k" are what a system could win back.
    rankings[system][i] and retrieved[system][i] belong to queries[i]."""
    out: dict[str, dict[str, float]] = {}
    targets = [_target(q) for q in queries]
    bayes = [ceiling.hit_at(q.intended, target, k) if ceiling else 0.0 for q, target in zip(queries, targets)]
    for system, ranked in rankings.items():
        counts = {"queries": float(len(queries)), "misses": 0.0, f"beyond_bayes_top_{k}": 0.0, "not_retrieved": 0.0,
                  f"retrieved_below_{k}": 0.0}
        for target, top, found, hit in zip(targets, ranked, retrieved[system], bayes):
            if target in top[:k]:
                continue
            counts["misses"] += 1.0
            counts[f"beyond_bayes_top_{k}"] += 1.0 - hit
            counts["not_retrieved" if target not in found else f"retrieved_below_{k}"] += hit
        out[system] = {key: round(value, 2) for key, value in counts.items()}
    return out


def _target(query: GradedQuery) -> str:
    """The one relevant entity of a spearfishing query."""
    if len(query.relevance) != 1:
        raise ValueError(f"a spearfishing query has one target; {query.text!r} has {len(query.relevance)}")
    return next(iter(query.relevance))


def hold_out(engine: Engine, options: RealEvalOptions, progress: StageFactory = no_progress) -> HeldOut:
    """Split the playlists, draw the test queries and build what is evaluated from a snapshot without the test
    playlists (see the module docstring's leakage list). Syncs `engine`'s dense index to that snapshot."""
    store = engine.store
    playlists = sorted(store.iter_entities(kind="playlist"), key=lambda p: p.entity_id)
    split = split_train_test([p.entity_id for p in playlists], options.test_share, options.seed)
    topical = sample_queries(topical_queries(playlists, store.playlist_memberships(), split), options.max_queries,
                             options.seed)
    snapshot = load_snapshot(store, exclude=split.test, progress=progress)
    snapshot = replace(snapshot, entities=train_popularity(snapshot.entities, snapshot.playlist_tracks))
    parser, generators, fork = _systems(engine, snapshot, options.seed, progress)
    return HeldOut(split, topical, snapshot, parser, generators, fork(), fork())


def _systems(engine: Engine, snapshot: CatalogSnapshot, seed: int, progress: StageFactory
             ) -> tuple[QueryParser, dict[str, CandidateGenerator], Callable[[], Engine]]:
    """The parser and generators fitted on `snapshot`, and a maker of engine forks over them."""
    retrieval = exploring(seed, engine.config.retrieval)
    parser = QueryParser(Lexicon.from_entities(snapshot.entities))
    generators: dict[str, CandidateGenerator] = {}
    for name in retrieval.generators:
        stage = progress(f"held-out {name}", None)
        dense = engine.generators.get(name)
        if name == "dense" and isinstance(dense, DenseGenerator):
            dense.sync(snapshot.entities, progress=progress)  # in place: an HNSW rebuild would take minutes
            generators[name] = dense
        else:
            generators[name] = fit_generator(name, snapshot, parser, engine.encoder, engine.index_dir / "emb_cache",
                                             retrieval, progress)
        stage.close()
    table = EntityTable.build(snapshot.entities)
    window = 100_000  # searches the forks' logs keep: the whole warm-up, so the ranker trains on all of it

    def fork() -> Engine:
        own = {name: g.fork() if isinstance(g, MemoryGenerator) else g for name, g in generators.items()}
        twin = engine.fork(log=RecentFeedbackLog(window, stream_seconds=engine.config.feedback.stream_seconds),
                           generators=own)
        twin.parser = parser  # a fork shares the opened engine's parser and entity table: both read every playlist
        twin.entities = EntityCache(engine.store, table)
        return twin

    return parser, generators, fork


def world_snapshot(snapshot: CatalogSnapshot, store) -> WorldSnapshot:
    """The simulated world's view of the held-out snapshot (train playlists only) and the store's user profiles."""
    tracks = [e for e in snapshot.entities if e.kind == "track"]
    playlists = [e for e in snapshot.entities if e.kind == "playlist"]
    return WorldSnapshot.from_entities(tracks, playlists, snapshot.playlist_tracks, tuple(store.iter_users()))


def warm_up(engine: Engine, world: World, n_sessions: int, seed: int, progress: StageFactory = no_progress) -> dict:
    """Serve sessions 0..n-1 of `world`'s stream `seed` through `engine`, clicked by a DBN user (a session: its
    first query, then reformulations while unsatisfied, as `simulation.replay`), learning online; then fit
    the ranker on the log. Returns counts and the ranker summary (or why it was not fitted)."""
    click_model = make_click_model(**CLICK_MODEL)
    searches = clicks = 0
    stage = progress("warm-up sessions", n_sessions)
    for session in world.sessions(seed, n_sessions):
        rng = np.random.default_rng([seed, session.index, CLICK_STREAM])
        top = max(session.intent.max_grade(), 1)
        for attempt, text in enumerate(session.queries):
            context = replace(session.context, timestamp=session.context.timestamp + timedelta(seconds=40 * attempt))
            result = engine.search(text, context, limit=10)
            grades = np.array([session.intent.grade(item.entity_id) for item in result.items], dtype=np.float64)
            outcome = click_model.simulate(grades / top, rng)
            dwell = [float(rng.uniform(60, 300) if p == outcome.satisfied_position else rng.uniform(2, 20))
                     for p in outcome.clicks]
            engine.record_feedback(result.request_id, [(result.items[p].entity_id, p, d)
                                                       for p, d in zip(outcome.clicks, dwell)])
            searches, clicks = searches + 1, clicks + len(outcome.clicks)
            if outcome.satisfied or rng.random() > REFORMULATION_RATE:
                break
        stage.update(1)
    stage.close()
    try:
        ranker = engine.fit_ranker(save=False)
    except ValueError as error:  # too few clicked searches: the default scorer stays
        ranker = {"not_fitted": str(error)}
    return {"sessions": n_sessions, "searches": searches, "clicks": clicks, "ranker": ranker}


def learned_state(engine: Engine) -> str:
    """Everything an engine learns, as one comparable string: policy and scorer versions, generator
    statistics, the memory's observed counts and the log's row counts."""
    memory = engine.generators.get("memory")
    observed = sorted((key, position, stat.impressions, stat.clicks) for key, position, stat
                      in memory.observed_.rows()) if isinstance(memory, MemoryGenerator) else []
    return json.dumps([engine.policy.version, engine.scorer.version, engine.stats.to_dict(), observed,
                       engine.log.counts()], sort_keys=True, default=str)


def rank_all(held: HeldOut, queries: Sequence[GradedQuery], context: Context,
             progress: StageFactory = no_progress
             ) -> tuple[dict[str, list[list[str]]], dict[str, list[frozenset[str]]]]:
    """system -> per query, its ranked entity ids (at most DEPTH), and system -> per query, what it retrieved
    (an engine: its plan's whole pool; rrf_union: the union of its lists; a generator: its list), learning
    nothing."""
    names = [name for name in SYSTEMS if name in held.generators or name not in SINGLE_SYSTEMS]
    rankings: dict[str, list[list[str]]] = {name: [] for name in names}
    retrieved: dict[str, list[frozenset[str]]] = {name: [] for name in names}
    equal_plan = held.cold.arms[arm_index(held.cold.arms, "equal")].plan
    stage = progress("evaluate queries", len(queries))
    for query in queries:
        parsed = held.parser.parse(query.text)
        for name in SINGLE_SYSTEMS:
            if name in held.generators:
                rankings[name].append([c.entity_id for c in held.generators[name].generate(parsed, context, DEPTH)])
                retrieved[name].append(frozenset(rankings[name][-1]))
        lists = [held.generators[name].generate(parsed, context, k) for name, k in equal_plan]
        rankings["rrf_union"].append(rrf_fuse(lists, DEPTH))
        retrieved["rrf_union"].append(frozenset(c.entity_id for found in lists for c in found))
        for name, engine in held.engines.items():
            pool = planned_ranking(engine, parsed, context)
            rankings[name].append(pool[:DEPTH])
            retrieved[name].append(frozenset(pool))
        stage.update(1)
    stage.close()
    return rankings, retrieved


def planned_ranking(engine: Engine, query: Query, context: Context) -> list[str]:
    """The engine's ranking of the whole pool of the plan its policy selects now, without logging or learning."""
    decision = engine.choose_plan(query, context)  # the live selection; VW predicts without learning
    ranked, n_pool = engine.rank_plan(query, context, decision.arm.plan, limit=sys.maxsize)
    if len(ranked) != n_pool:
        raise RuntimeError(f"the engine ranked {len(ranked)} of its pool of {n_pool} for {query.text!r}")
    return ranked


def rrf_fuse(lists: Sequence[Sequence[Candidate]], limit: int, k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k + rank), rank from 1 (Cormack et al., SIGIR
    2009); ties keep first appearance across the lists."""
    scores: dict[str, float] = {}
    for candidates in lists:
        for rank, candidate in enumerate(candidates, start=1):
            scores[candidate.entity_id] = scores.get(candidate.entity_id, 0.0) + 1.0 / (k + rank)
    ranked = sorted(enumerate(scores.items()), key=lambda item: (-item[1][1], item[0]))
    return [entity_id for _, (entity_id, _) in ranked[:limit]]


def summarize(rankings: Mapping[str, list[list[str]]], topical: Sequence[GradedQuery],
              spearfish: Sequence[GradedQuery], options: RealEvalOptions) -> dict:
    """{metric: {class: {system: {"mean", "ci95"}}}}; topical queries come first in `rankings`, then spearfish."""
    systems = list(rankings)
    measures = {"ndcg@10": lambda r, rel: ndcg_at(r, rel, 10), "recall@100": lambda r, rel: recall_at(r, rel, 100),
                "mrr": lambda r, rel: mrr(r, rel), "spearfish_recall@10": lambda r, rel: recall_at(r, rel, 10),
                "spearfish_mrr": lambda r, rel: mrr(r, rel)}
    out: dict = {}
    for m, metric in enumerate((*TOPICAL_METRICS, *SPEARFISH_METRICS)):
        spear = metric in SPEARFISH_METRICS
        offset, queries = (len(topical), spearfish) if spear else (0, topical)
        values = np.array([[measures[metric](rankings[s][offset + i], q.relevance) for s in systems]
                           for i, q in enumerate(queries)]).reshape(len(queries), len(systems))
        for c, cls in enumerate(SPEARFISH_CLASSES if spear else CLASSES):
            rows = np.array([cls == "all" or (spearfish_class(q.text) if spear else q.query_class) == cls
                             for q in queries], dtype=bool)
            if not rows.any():
                out.setdefault(metric, {})[cls] = {s: _entry(math.nan, math.nan, math.nan) for s in systems}
                continue
            means, lows, highs = bootstrap_means(values[rows], options.n_resamples,
                                                   seed=(options.seed, m, c))
            out.setdefault(metric, {})[cls] = {s: _entry(means[j], lows[j], highs[j]) for j, s in enumerate(systems)}
    return out


def _entry(mean: float, low: float, high: float) -> dict:
    if np.isnan(mean):
        return {"mean": None, "ci95": [None, None]}
    return {"mean": float(mean), "ci95": [float(low), float(high)]}


__all__ = ["SYSTEMS", "RealEvalOptions", "RealEvalReport", "evaluate_real", "evaluate_engine", "rrf_fuse"]
