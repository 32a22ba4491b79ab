"""The Engine facade: understand -> select plan -> generate -> union -> features -> rank -> log.

    from ltrr import Context, Engine
    engine = Engine.open("ltrr_data/demo.db")                 # indexes next to the file, built when missing
    result = engine.search("80s synthwave", Context(user_id="u42", device="phone"), limit=10)
    engine.record_click(result.request_id, result.items[0].entity_id, position=0)
    engine.save()                                             # policy, ranker, statistics -> <index_dir>/state

Thread-safe: searches and clicks from several threads are serialized where they touch learned state (one
lock), and each writes its own log rows. See `engine_feedback.py` for when a search's reward is settled.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import chain
from pathlib import Path

import numpy as np

from .config import EngineConfig
from .engine_entities import EntityCache
from .engine_feedback import Pending, PendingSearches
from .engine_index import make_encoder, open_index
from .engine_result import build_result, impression_of, ranked_rows
from .engine_state import default_index_dir, load_state, save_state
from .engine_support import (
    PreviewCache,
    Timer,
    check_search,
    policy_from_config,
    request_time,
    reward_options,
    split_groups,
)
from .errors import UnknownEntityError
from .features import FeatureInput, SharedRows, default_feature_set
from .feedback import Click, FeedbackLog, RewardModel, new_request_id
from .policy import GeneratorStats, Policy, PolicyInput, arm_catalogue, policy_input
from .policy.arms import widen_plan
from .policy.stats import TRAITS
from .progress import StageFactory, no_progress
from .ranking import DefaultScorer, LambdaMartRanker, RankingData
from .result import SearchResult
from .retrieval.base import CandidateGenerator, Pool, union
from .retrieval.memory import MemoryGenerator
from .store import CatalogStore
from .types import Candidate, Context, Decision, Query, UserProfile

logger = logging.getLogger(__name__)

PREVIEWED = ("bm25", "structured", "memory", "exploration")  # dense's preview would cost a query encoding
WARM_UP_TEXT = "ltrr warm up love songs 1999"
CACHED_PREVIEWS = ("bm25", "structured")  # previews that depend on the query and the index only
PROBED = ("bm25", "structured", "memory")  # retrieved `[policy] probe_depth` deep before a plan is chosen
# the columns `_record_traits` reads, besides each generator's `<generator>.retrieved`
TRAIT_FEATURES = ("entity.is_new", "entity.popularity_normalized", "user.artist_affinity", "user.tag_affinity")


class Engine:
    """Search with learned retrieval plans over a catalog store. Build with `open`, `from_config` or `load`."""

    def __init__(self, config: EngineConfig, store: CatalogStore, index_dir: Path, *,
                 progress: StageFactory = no_progress, rebuild: bool = False) -> None:
        self.config = config
        self.store = store
        self.index_dir = index_dir
        self.encoder = make_encoder(config.retrieval)
        built, table, self.index_report = open_index(store, index_dir, config.retrieval, self.encoder, rebuild=rebuild,
                                              progress=progress)
        self.parser = built.parser
        self.generators = built.generators
        self.previews = PreviewCache(CACHED_PREVIEWS)
        self.arms = arm_catalogue(config.retrieval.generators, config.policy.budget)
        self.policy = policy_from_config(config, self.arms)
        self.stats = GeneratorStats()
        self.feature_rows: SharedRows | None = None  # rows shared with other engines ranking the same searches
        self.feature_set = default_feature_set(config.retrieval.generators)
        self.scorer: DefaultScorer | LambdaMartRanker = DefaultScorer()
        self._read_columns: dict[tuple, object] = {}  # column indices by what reads them (`_columns_read`)
        self.log = FeedbackLog.from_engine(store.engine, stream_seconds=config.feedback.stream_seconds,
                                           write_behind_s=config.feedback.write_behind_s)
        self.rewards = RewardModel(**reward_options(config))
        self.entities = EntityCache(store, table)
        for generator in self.generators.values():
            if hasattr(generator, "record_shown"):  # per-user "recently shown" lists, keyed like the log's users
                generator.user_key = self.log.pseudonymize
        self.pending = PendingSearches(self._settle, config.feedback.close_after_s)
        self.clicks_since_fit = 0
        self.autosave = True  # periodic ranker retrains save the state (forks keep theirs in memory)
        self._lock = threading.RLock()

    # -- building ---------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, db_url: str | Path, index_dir: str | Path | None = None, config: EngineConfig | None = None, *,
             progress: StageFactory = no_progress, rebuild: bool = False, restore_state: bool = True,
             warm: bool = True) -> Engine:
        """The engine over the store at `db_url` (a SQLite path or any SQLAlchemy URL).

        index_dir: where indexes and learned state live; defaults to `<file>.ltrr/` next to a SQLite file and
        is required for a server URL. Indexes are built (or refreshed) when the catalog changed; learned state
        saved in `<index_dir>/state` is restored unless restore_state is False. warm: build what the first
        search would otherwise build (`warm_up`), so it is as fast as the next.
        """
        config = config or EngineConfig()
        config = replace(config, store=replace(config.store, url=str(db_url)))
        return cls.from_config(config, index_dir=index_dir, progress=progress, rebuild=rebuild,
                               restore_state=restore_state, warm=warm)

    @classmethod
    def from_config(cls, config: EngineConfig, index_dir: str | Path | None = None, *,
                    progress: StageFactory = no_progress, rebuild: bool = False,
                    restore_state: bool = True, warm: bool = True) -> Engine:
        store = CatalogStore.open(config.store.url)
        if index_dir is None:
            index_dir = config.store.index_dir or default_index_dir(config.store.url)
        index_dir = Path(index_dir)
        engine = cls(config, store, index_dir, progress=progress, rebuild=rebuild)
        if restore_state:
            engine.restore()
        if warm:
            engine.warm_up()
        return engine

    @classmethod
    def load(cls, directory: str | Path, *, db_url: str | None = None, index_dir: str | Path | None = None,
             progress: StageFactory = no_progress, warm: bool = True) -> Engine:
        """An engine from `save(directory)`: its config, then its learned state (over the same catalog store,
        or `db_url`)."""
        from .engine_state import read_saved_config
        config, saved_index_dir = read_saved_config(Path(directory))
        if db_url is not None:
            config = replace(config, store=replace(config.store, url=str(db_url)))
        store = CatalogStore.open(config.store.url)
        engine = cls(config, store, Path(index_dir or saved_index_dir), progress=progress)
        load_state(engine, Path(directory))
        if warm:
            engine.warm_up()
        return engine

    def warm_up(self) -> dict[str, float]:
        """Build what the first search would otherwise build on its way (the parser's lookup tables, the query
        encoder, the entity and feature tables, the first database reads): on the real catalog the first search
        after `open` took 1.8 s without it, 39 ms with it. Learns, logs and samples nothing: it parses
        and ranks a fixed text with every generator that does not sample (exploration only previews), so the
        engine's decisions and random streams are the same with or without it. Returns the milliseconds per step.
        """
        timer = Timer()
        context = Context.anonymous()
        with self._lock:
            timer.run("parser", self.parser.prepare)
            query = timer.run("parse", self.parser.parse, WARM_UP_TEXT)
            if not query.tokens:
                return timer.timings
            timer.run("previews", lambda: [self.previews.preview(name, generator, query, context)
                                           for name, generator in self.generators.items() if name in PREVIEWED])
            plan = [(name, 10) for name, generator in self.generators.items()
                    if not hasattr(generator, "reseed")]  # a sampling generator would advance its random stream
            ranked, _ = timer.run("rank", self.rank_plan, query, context, plan) if plan else ([], 0)
            if ranked:
                timer.run("entities", self.entities.get_many, ranked[:3])
        return timer.timings

    def restore(self) -> None:
        """Bring back what was learned before this process: the memory index's click statistics from the store,
        then the state saved in `<index_dir>/state` (parts saved under another config are skipped, logged)."""
        memory = self.generators.get("memory")
        if isinstance(memory, MemoryGenerator):
            memory.load_from(self.store)
        if (self.index_dir / "state").is_dir():
            load_state(self, self.index_dir / "state", strict=False)

    def save(self, directory: str | Path | None = None) -> Path:
        """Write config.json and every learned component (VW model, LightGBM text model, JSON statistics) to
        `directory` (default `<index_dir>/state`, which `open` restores). Never pickles."""
        directory = Path(directory) if directory is not None else self.index_dir / "state"
        with self._lock:
            save_state(self, directory)
        return directory

    def shutdown(self, *, settle_pending: bool = False, keep_memory: bool = True) -> None:
        """Keep the memory's click statistics in the store (unless keep_memory is False) and close the store.
        Pending searches stay unsettled in the log (no bandit update) unless settle_pending, which gives them
        the no-click reward first."""
        if settle_pending:
            self.pending.drain()
        if keep_memory:
            self._save_memory()
        self.log.flush()
        self.store.close()

    def fork(self, *, policy: Policy | None = None, log: FeedbackLog | None = None,
             generators: Mapping[str, CandidateGenerator] | None = None,
             feature_rows: SharedRows | None = None) -> Engine:
        """An engine over the same catalog, parser and indexes that learns on its own: for replaying several
        policies side by side without building anything twice.

        The fork gets a fresh policy (`policy`, else one made from the config), generator statistics, default
        scorer and pending searches; a memory index with the same predictions and no clicks
        (`MemoryGenerator.fork`); and the feedback log `log` (default: this engine's). `generators` replaces
        generators by name (e.g. caching wrappers several forks share); `feature_rows` is where forks ranking
        the same searches share the feature values none of them learned (`features.SharedRows`). Nothing
        learned is copied. A fork shares `index_dir`: save it with an explicit directory.
        """
        twin = copy.copy(self)
        twin.generators = {name: generator.fork() if isinstance(generator, MemoryGenerator) else generator
                           for name, generator in self.generators.items()}
        twin.generators.update(generators or {})
        twin.policy = policy if policy is not None else policy_from_config(self.config, self.arms)
        twin.stats = GeneratorStats()
        twin.scorer = DefaultScorer()
        twin.log = log if log is not None else self.log
        twin.feature_rows = feature_rows
        twin.pending = PendingSearches(twin._settle, self.config.feedback.close_after_s)
        twin.clicks_since_fit = 0
        twin.autosave = False
        twin._lock = threading.RLock()
        return twin

    # -- searching --------------------------------------------------------------------------------------------

    def search(self, text: str, context: Context | None = None, *, limit: int = 10,
               explain: bool = False) -> SearchResult:
        """The top `limit` entities for `text`, with the plan that retrieved them. Raises ValueError for an empty
        query or a limit below 1."""
        check_search(text, limit)
        context = context or Context.anonymous()
        self.pending.expire()
        timer = Timer()
        with self._lock:
            query = timer.run("understand", self.parser.parse, text)
            inputs, decision, probe = timer.run("select", self._select_plan, query, context)
            plan = self.pool_plan(decision.arm.plan, query)
            lists = timer.run("generate", self._generate, query, context, plan, probe)
            pool = timer.run("union", union, lists)
            # every column when the log keeps feature rows (ranker training reads them) or for explanations;
            # else only what the scorer and the trait statistics read
            full = explain or getattr(self.log, "keep_features", True)
            only = None if full else self._columns_read(traits=True)
            matrix = timer.run("features", self._features, query, context, pool, only)
            timer.run("traits", self._record_traits, query, pool, matrix)
            scores = timer.run("rank", self.scorer.score, matrix, self.feature_set.names)
            result, rows = timer.run("result", build_result, new_request_id(), query, pool, self.entities.get_many,
                                     scores, matrix, decision, self.scorer, self.feature_set.names, limit, explain,
                                     lists, plan)
            self._record_shown(context, result)
        logged, names = (matrix, self.feature_set.names) if full else (matrix[:, :0], ())
        impression = impression_of(result, rows, context, self.log.pseudonymize(context.user_id), inputs, logged,
                                   self.scorer, names, timer.total_ms())
        timer.run("log", self.log.record_impression, impression)
        self.pending.add(Pending(impression, inputs, query, at=context.timestamp))
        result.timings_ms.update(timer.timings)
        return result

    def choose_plan(self, query: Query, context: Context) -> Decision:
        """The plan the policy would choose for a parsed query now (sampled from its pmf, as a search does),
        without searching, logging or learning: with `rank_plan`, an evaluation that must not teach the engine."""
        with self._lock:
            return self._select_plan(query, context)[1]

    def pool_plan(self, plan: Sequence[tuple[str, int]], query: Query) -> tuple[tuple[str, int], ...]:
        """What the engine retrieves for a policy's plan for a parsed query: the plan itself, or when the query's
        class is one of `[policy] pool_probe` (and there is a probe, `probe_depth` > 0) the plan widened so that
        every probed generator (`PROBED`) contributes at least `probe_depth` candidates: the probe's lists,
        retrieved before the plan was chosen, join the pool."""
        options = self.config.policy
        if query.query_class not in options.pool_probe or options.probe_depth <= 0:
            return tuple(plan)
        return widen_plan(plan, [name for name in PROBED if name in self.generators], options.probe_depth)

    def rank_plan(self, query: Query, context: Context, plan: Sequence[tuple[str, int]],
                  limit: int = 10) -> tuple[list[str], int]:
        """What `plan` ((generator, k) pairs) would show for a parsed query, without logging or learning
        anything: the top `limit` entity ids of its ranked pool, and the pool's size. For what-if analysis
        (and the replay's oracle)."""
        return self.rank_plans(query, context, [plan], limit)[0]

    def rank_plans(self, query: Query, context: Context, plans: Sequence[Sequence[tuple[str, int]]],
                   limit: int = 10) -> list[tuple[list[str], int]]:
        """`rank_plan` of each plan, for less than the sum of their costs: each generator is asked once per
        distinct k, the row-wise features are computed once over every plan's entities
        (`FeatureSet.build_each`), only the columns the scorer reads, and one scorer call ranks every pool. Each
        plan is pooled as a search pools it (`pool_plan`)."""
        plans = [self.pool_plan(plan, query) for plan in plans]
        with self._lock:
            only = self._columns_read(traits=False)
            lists: dict[tuple[str, int], list[Candidate]] = {}
            for plan in plans:
                for name, k in plan:
                    if (name, k) not in lists:
                        lists[name, k] = self.generators[name].generate(query, context, k)
            pools = [union([lists[name, k] for name, k in plan]) for plan in plans]
            filled = [pool for pool in pools if len(pool)]
            if not filled:
                return [([], 0) for _ in plans]
            if len(filled) == 1:
                matrices = [self._features(query, context, filled[0], only)]
            else:
                everything = union(list(lists.values()))
                matrices = self.feature_set.build_each(self._feature_input(query, context, everything, only),
                                                       filled, self.feature_rows, only)
            scores = np.asarray(self.scorer.score(np.concatenate(matrices), self.feature_set.names), dtype=np.float64)
        ranked, start = [], 0
        for pool in pools:
            part = scores[start:start + len(pool)]
            start += len(pool)
            ranked.append(([pool.items[row].entity_id for row in ranked_rows(part, limit).tolist()], len(pool)))
        return ranked

    def _select_plan(self, query: Query, context: Context
                     ) -> tuple[PolicyInput, Decision, Mapping[str, list[Candidate]]]:
        """The policy's input and decision, and the probe's lists (empty when there was no probe)."""
        if not getattr(self.policy, "reads_inputs", True) and not getattr(self.log, "keep_policy_input", True):
            # nobody reads the features: the policy ignores them and the log drops them (a replay's fixed plans)
            inputs = PolicyInput({}, tuple({} for _ in self.arms), query.query_class)
            return inputs, self.policy.select(inputs, self.arms), {}
        previews = {name: self.previews.preview(name, generator, query, context)
                    for name, generator in self.generators.items() if name in PREVIEWED}
        memory = self.generators.get("memory")
        seen = bool(memory is not None and query.tokens and memory.query_seen(query))
        depth = self.config.policy.probe_depth
        lists = ({name: generator.generate(query, context, depth) for name, generator in self.generators.items()
                  if name in PROBED} if depth > 0 else None)
        inputs = policy_input(query, context, self.arms, previews, taste=self._taste(context), memory_seen=seen,
                              stats=self.stats, lists=lists, probe_depth=depth)
        return inputs, self.policy.select(inputs, self.arms), lists or {}

    def _record_shown(self, context: Context, result: SearchResult) -> None:
        """Tell the generators that keep per-user "recently shown" lists (exploration) what this user saw."""
        if context.user_id is None:
            return
        shown = [item.entity_id for item in result.items]
        for generator in self.generators.values():
            record = getattr(generator, "record_shown", None)
            if record is not None:
                record(context.user_id, shown)

    def _generate(self, query: Query, context: Context, plan: Sequence[tuple[str, int]],
                  probe: Mapping[str, list[Candidate]]) -> list[list[Candidate]]:
        """Each planned generator's list; a probe list as deep as the plan asks is reused, not retrieved again."""
        depth = self.config.policy.probe_depth
        return [probe[name][:k] if name in probe and k <= depth else self.generators[name].generate(query, context, k)
                for name, k in plan]

    def _features(self, query: Query, context: Context, pool: Pool, only: Sequence[int] | None = None) -> np.ndarray:
        return self.feature_set.build(self._feature_input(query, context, pool, only), self.feature_rows, only)

    def _columns_read(self, *, traits: bool) -> tuple[int, ...] | None:
        """The feature columns the scorer reads (and with traits, those of `_trait_layout`): indices into the
        feature set's names, None for every column (a ranker trained on them all)."""
        key = (self.feature_set.names, self.scorer.feature_names, traits)
        if key not in self._read_columns:
            names = set(self.feature_set.names)
            columns = set(self.feature_set.indices([name for name in self.scorer.feature_names if name in names]))
            layout = self._trait_layout() if traits else None
            if layout is not None:
                columns.update(chain.from_iterable(layout))
            self._read_columns[key] = None if len(columns) == len(self.feature_set) else tuple(sorted(columns))
        return self._read_columns[key]

    def _feature_input(self, query: Query, context: Context, pool: Pool,
                       only: Sequence[int] | None = None) -> FeatureInput:
        """only: the columns to be built (None: all); the memory's statistics are read only when a learned
        column is among them."""
        entities = self.entities.columns(pool.entity_ids)
        memory = self.generators.get("memory")
        ctr = impressions = None
        if isinstance(memory, MemoryGenerator) and self.feature_set.reads_learned(only):
            ctr, impressions = memory.pair_stats(query, pool.entity_ids, context)
        batch = FeatureInput(query=query, context=context, pool=pool, entities=entities,
                             generators=tuple(self.generators), profile=self._profile(context), memory_ctr=ctr,
                             memory_impressions=impressions, now=request_time(context))
        return batch

    def _record_traits(self, query: Query, pool: Pool, matrix: np.ndarray) -> None:
        """What share of each called generator's candidates were new, popular or to the user's taste: running
        statistics per query class that the bandit reads as action features (`policy.stats.TRAITS`).

        Read from the feature matrix already built: `<generator>.retrieved` marks each generator's rows (NaN,
        a missing value, counts as 0 throughout)."""
        layout = self._trait_layout()
        if layout is None or len(pool) == 0:
            return
        traits_at, retrieved_at = layout
        values = matrix[:, traits_at]
        traits = np.column_stack([values[:, 0] > 0.5, values[:, 1] >= 0.5, (values[:, 2] > 0) | (values[:, 3] > 0)])
        retrieved = matrix[:, retrieved_at] > 0  # (n, generators)
        counts = retrieved.sum(axis=0)
        sums = retrieved.T.astype(np.float64) @ traits.astype(np.float64)  # exact: sums of 0s and 1s
        for g, generator in enumerate(self.generators):
            if counts[g]:
                shares = (sums[g] / counts[g]).tolist()
                self.stats.record_traits(query.query_class, generator, dict(zip(TRAITS, shares, strict=True)))

    def _trait_layout(self) -> tuple[list[int], list[int]] | None:
        """(the columns of TRAIT_FEATURES, each generator's `<generator>.retrieved` column), or None when the
        feature set lacks one of them."""
        key = ("traits", self.feature_set.names, tuple(self.generators))
        if key not in self._read_columns:
            columns = {name: j for j, name in enumerate(self.feature_set.names)}
            needed = [*TRAIT_FEATURES, *(f"{generator}.retrieved" for generator in self.generators)]
            self._read_columns[key] = None if not all(name in columns for name in needed) else (
                [columns[name] for name in TRAIT_FEATURES],
                [columns[f"{generator}.retrieved"] for generator in self.generators])
        return self._read_columns[key]

    def _profile(self, context: Context) -> UserProfile | None:
        return self.entities.user(context.user_id) if context.user_id else None

    def _taste(self, context: Context, n: int = 3) -> list[str]:
        profile = self._profile(context)
        if profile is None:
            return []
        return [affinity.key for affinity in sorted(profile.tags, key=lambda a: -a.weight)[:n]]

    # -- feedback ---------------------------------------------------------------------------------------------

    def record_click(self, request_id: str, entity_id: str, position: int | None = None,
                     dwell_s: float | None = None) -> bool:
        """Record a click on a shown result. Returns False when this (request, entity) click was recorded before
        (it counts once). Raises UnknownRequestError / UnknownEntityError for ids the log does not know."""
        self.pending.expire()
        recorded = self._record_click(Click(request_id, entity_id, position, dwell_s))
        if recorded is None:
            return False
        pending = self.pending.take(request_id)
        if pending is not None:
            pending.clicks.append(recorded)
            self._settle(pending)
        self._count_click()
        return True

    def record_feedback(self, request_id: str, clicks: Sequence[tuple[str, int | None, float | None]] = ()) -> float:
        """Record every click one search got, given as (entity_id, position, dwell_s), and settle the search
        with the reward of all of them (the no-click reward for none): for a caller that knows a search's whole
        outcome at once, such as a replay. Returns the reward. Raises like `record_click`, and ValueError when
        the search was settled already."""
        self.pending.expire()
        pending = self.pending.peek(request_id)
        if pending is None:
            self.log.get_impression(request_id)  # raises for an unknown id
            raise ValueError(f"search {request_id!r} was settled already (clicked, closed or timed out); "
                             "record later clicks with record_click")
        for entity_id, position, dwell_s in clicks:
            recorded = self._record_click(Click(request_id, entity_id, position, dwell_s))
            if recorded is not None:
                pending.clicks.append(recorded)
                self._count_click()
        pending = self.pending.take(request_id)
        return self._settle(pending) if pending is not None else 0.0

    def _record_click(self, click: Click) -> Click | None:
        """Log the click and teach the memory index; None when the log had it already."""
        if not self.log.record_click(click):
            return None
        waiting = self.pending.peek(click.request_id)  # the impression is in memory while its search is pending
        impression = waiting.impression if waiting is not None else self.log.get_impression(click.request_id)
        shown = impression.item_for(click.entity_id)
        position = shown.position if shown else click.position
        with self._lock:
            memory = self.generators.get("memory")
            if isinstance(memory, MemoryGenerator) and impression.query_normalized.strip():
                try:
                    memory.record(impression.query_normalized, click.entity_id, clicked=True, position=position,
                                  timestamp=waiting.at if waiting is not None else None)
                except UnknownEntityError:
                    logger.info("entity %s is not in the memory index yet; its click is logged only",
                                click.entity_id)
        return replace(click, position=position)

    def _count_click(self) -> None:
        self.clicks_since_fit += 1
        if self.config.ranker.retrain_every and self.clicks_since_fit >= self.config.ranker.retrain_every:
            self._retrain_quietly()

    def close(self, request_id: str) -> float | None:
        """Settle a search now: with no click so far it earns the no-click reward. Returns the reward, or None
        when the search was settled already. Raises UnknownRequestError for an id the log does not know."""
        pending = self.pending.take(request_id)
        if pending is None:
            self.log.get_impression(request_id)  # raises for an unknown id
            return None
        return self._settle(pending)

    def _settle(self, pending: Pending) -> float:
        reward = self.rewards.reward(pending.impression, pending.clicks)
        with self._lock:
            self.policy.update(pending.inputs, pending.impression.decision, reward)
            self.stats.record(pending.inputs.query_class, pending.impression.decision.arm, reward)
            self._remember_impressions(pending)
        self.log.close(pending.impression.request_id, reward)
        return reward

    def _remember_impressions(self, pending: Pending) -> None:
        """The memory index learns which shown results were passed over (weighted by position)."""
        memory = self.generators.get("memory")
        if not isinstance(memory, MemoryGenerator) or not pending.query.tokens:
            return
        clicked = {click.entity_id for click in pending.clicks}
        for item in pending.impression.items:
            if item.entity_id not in clicked:
                try:
                    memory.record(pending.query, item.entity_id, clicked=False, position=item.position,
                                  timestamp=pending.at)
                except UnknownEntityError:
                    continue

    def _save_memory(self) -> None:
        memory = self.generators.get("memory")
        if isinstance(memory, MemoryGenerator):
            with self._lock:
                memory.save_to(self.store)

    # -- ranker -----------------------------------------------------------------------------------------------

    def fit_ranker(self, *, valid_share: float = 0.2, save: bool = True, since: datetime | None = None) -> dict:
        """Train LambdaMART on the logged searches with clicks (position bias corrected, see ranking/lambdamart.py;
        only those logged at or after `since` when given, naive UTC), keep it when it trains, and (with save)
        save it with the rest of the state. Returns a summary."""
        data = RankingData.from_log(self.log, self.feature_set.names, since=since)
        train, valid = split_groups(data, valid_share)
        options = self.config.ranker
        ranker = LambdaMartRanker(n_estimators=options.n_estimators, learning_rate=options.learning_rate,
                                  num_leaves=options.num_leaves, min_data_in_leaf=options.min_data_in_leaf,
                                  position_bias=options.position_bias,
                                  position_bias_regularization=options.position_bias_regularization, seed=options.seed)
        ranker.fit(train, valid, version=self.scorer.version + 1)
        with self._lock:
            self.scorer = ranker
            self.clicks_since_fit = 0
        if save:
            self.save()
        return {"version": ranker.version_, "n_searches": data.n_groups, "n_rows": len(data.labels),
                "validation_ndcg@10": ranker.validation_ndcg_}

    def _retrain_quietly(self) -> None:
        try:
            self.fit_ranker(save=self.autosave)
        except ValueError as error:  # too little data yet: keep the current scorer
            logger.info("ranker retrain skipped: %s", error)
