"""Named ranking features: registration, the per-request input they read, and `FeatureSet`, which builds a matrix.

A feature is a function of one `FeatureInput` (a whole pool) returning one float column, registered under a
dotted `source.quantity` name. Two kinds exist:

- fixed features, registered with `@feature("lexical.title_exact")`, one column each;
- per-source features, registered with `@source_feature("score")`, one column per generator name
  (`bm25.score`, `dense.score`, ...), so a model's columns stay the same whatever a request's arm retrieved.

Most features are row-wise: a row's value depends on its entity, the query, the context and the user, not on
what else is pooled. Those that read the pool itself (per-source features, which depend on which generators
retrieved the row; `pool.size`; anything normalized over the pool) are registered with `pooled=True`, and
those that read what the engine learned (its click memory's statistics) with `learned=True`.
`FeatureSet.build_each` relies on the first difference: it ranks several candidate pools of one request (plans
the replay's oracle compares) by computing the row-wise columns once, over all their entities. `SharedRows`
relies on both: engines that rank the same searches (the forks of a replay, each learning on its own) share
the row-wise columns that are not learned, each computing a row the others have not. `build(..., only=...)`
computes a subset of the columns (the rest NaN): what an engine whose log keeps no feature rows builds, the
columns its scorer and its statistics read.

    feature_set = default_feature_set(("bm25", "dense"))
    matrix = feature_set.build(batch)           # (len(batch.pool), len(feature_set.names)) float64

NaN marks a missing value wherever "missing" means something (a source that did not retrieve the entity, a
query without a genre slot): LightGBM routes NaN down a learned default branch instead of treating it as 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from itertools import chain
from typing import TypeVar

import numpy as np

from ..retrieval.base import Pool
from ..types import Context, Entity, Query, UserProfile
from .columns import PoolColumns

logger = logging.getLogger(__name__)

T = TypeVar("T")
FeatureFunction = Callable[["FeatureInput"], np.ndarray]
SourceFeatureFunction = Callable[["FeatureInput", str], np.ndarray]

# Filled once, at import of the feature modules (`ltrr.features` imports them all); read-only afterwards.
_FIXED: dict[str, FeatureFunction] = {}
_PER_SOURCE: dict[str, SourceFeatureFunction] = {}
_POOLED: set[str] = set()  # fixed features whose rows depend on the rest of the pool
_LEARNED: set[str] = set()  # fixed features that read what the engine learned


def feature(name: str, *, pooled: bool = False, learned: bool = False
            ) -> Callable[[FeatureFunction], FeatureFunction]:
    """Register a fixed feature under `name` (dotted `source.quantity`). pooled: a row's value depends on the
    other pooled entities or on which generators retrieved it; learned: it reads the engine's learned state
    (the memory statistics of `FeatureInput`), so two engines give the same row different values (see the
    module docstring)."""
    def register(function: FeatureFunction) -> FeatureFunction:
        if name in _FIXED:
            raise ValueError(f"feature {name!r} is registered twice ({_FIXED[name].__qualname__} and "
                             f"{function.__qualname__}); give one of them another name")
        _FIXED[name] = function
        if pooled:
            _POOLED.add(name)
        if learned:
            _LEARNED.add(name)
        return function
    return register


def source_feature(quantity: str) -> Callable[[SourceFeatureFunction], SourceFeatureFunction]:
    """Register a per-source feature: `quantity` becomes one column `<generator>.<quantity>` per generator.
    Per-source features are pooled (they depend on which generators retrieved the row)."""
    def register(function: SourceFeatureFunction) -> SourceFeatureFunction:
        if quantity in _PER_SOURCE:
            raise ValueError(f"per-source feature {quantity!r} is registered twice")
        _PER_SOURCE[quantity] = function
        return function
    return register


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, eq=False)  # compared by identity: its arrays have no single truth value
class FeatureInput:
    """Everything the features of one request read; every array is aligned with `pool.items`.

    entities: the catalog entity of each pooled item, in pool order, as `Entity` objects or as `PoolColumns`
    (what features read: `columns`; the engine passes columns). generators: every generator name the engine
    has (not only those the request called), which fixes the per-source columns. profile: the user's taste
    when known. memory_ctr: (n,) the memory index's posterior click-through estimate for (query,
    entity), NaN where it has none; memory_impressions: (n,) how often the pair was shown. now: naive UTC.
    """

    query: Query
    context: Context
    pool: Pool
    entities: Sequence[Entity] | PoolColumns
    generators: tuple[str, ...]
    profile: UserProfile | None = None
    memory_ctr: np.ndarray | None = None
    memory_impressions: np.ndarray | None = None
    now: datetime = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        n = len(self.pool.items)
        if len(self.entities) != n:
            raise ValueError(f"entities must align with pool.items: got {len(self.entities)} entities for a pool of "
                             f"{n}; look every pooled id up, in pool order")
        ids = self.entities.entity_ids if isinstance(self.entities, PoolColumns) else [
            entity.entity_id for entity in self.entities]
        if any(entity_id != item.entity_id for entity_id, item in zip(ids, self.pool.items)):
            raise ValueError("entities must be in pool order (entities[i].entity_id == pool.items[i].entity_id)")
        for name in ("memory_ctr", "memory_impressions"):
            values = getattr(self, name)
            if values is not None and np.shape(values) != (n,):
                raise ValueError(f"{name} must have shape ({n},) like the pool, got {np.shape(values)}")

    @cached_property
    def columns(self) -> PoolColumns:
        """The entities' attributes column by column (what every entity feature reads)."""
        entities = self.entities
        return entities if isinstance(entities, PoolColumns) else PoolColumns.from_entities(entities)

    @property
    def size(self) -> int:
        """Number of pooled entities (rows of the matrix)."""
        return len(self.pool.items)

    @cached_property
    def _source_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ranks), each (n, len(generators)) float64 with NaN where a source did not retrieve the row."""
        column = {name: j for j, name in enumerate(self.generators)}
        counts = np.fromiter((len(item.sources) for item in self.pool.items), np.int64, self.size)
        candidates = list(chain.from_iterable(item.sources for item in self.pool.items))
        columns = np.fromiter((column.get(c.source, -1) for c in candidates), np.int64, len(candidates))
        known = columns >= 0  # a source outside `generators` has no column, so no feature sees it
        rows, columns = np.repeat(np.arange(self.size), counts)[known], columns[known]
        scores = np.full((self.size, len(self.generators)), np.nan)
        ranks = np.full((self.size, len(self.generators)), np.nan)
        # generators return each entity once, so each (row, column) is written at most once
        scores[rows, columns] = np.fromiter((c.score for c in candidates), np.float64, len(candidates))[known]
        ranks[rows, columns] = np.fromiter((c.rank for c in candidates), np.float64, len(candidates))[known]
        return scores, ranks

    @cached_property
    def _derived(self) -> dict[Callable[[FeatureInput], object], object]:
        return {}

    def derived(self, compute: Callable[[FeatureInput], T]) -> T:
        """`compute(self)`, computed once per input: intermediate arrays several features share (popularity
        signals, entity keys). `compute` must be a module-level function of the input alone."""
        found = self._derived.get(compute)
        if found is None:
            found = self._derived[compute] = compute(self)
        return found  # type: ignore[return-value]

    def subset(self, pool: Pool, rows: np.ndarray) -> FeatureInput:
        """The input of `pool`, whose items are this input's rows `rows` (in that order), with their own
        sources: the same query, context, user and clock, each per-row array taken at `rows`."""
        def take(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else np.asarray(values)[rows]

        return FeatureInput(query=self.query, context=self.context, pool=pool, entities=self.columns.take(rows),
                            generators=self.generators, profile=self.profile, memory_ctr=take(self.memory_ctr),
                            memory_impressions=take(self.memory_impressions), now=self.now)

    def source_scores(self, name: str, missing: float = np.nan) -> np.ndarray:
        """(n,) each entity's score from generator `name`; `missing` where that generator did not return it."""
        return self._source_column(0, name, missing)

    def source_ranks(self, name: str, missing: float = np.nan) -> np.ndarray:
        """(n,) each entity's 0-based rank in generator `name`'s list; `missing` where it was not retrieved."""
        return self._source_column(1, name, missing)

    def _source_column(self, which: int, name: str, missing: float) -> np.ndarray:
        if name not in self.generators:
            raise KeyError(f"generator {name!r} is not among this engine's generators {list(self.generators)}")
        column = self._source_table[which][:, self.generators.index(name)]
        return column.copy() if np.isnan(missing) else np.where(np.isnan(column), missing, column)

    def source_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ranks) of every generator at once: (n, len(generators)) each, NaN where not retrieved."""
        scores, ranks = self._source_table
        return scores.copy(), ranks.copy()


def registered_features() -> tuple[str, ...]:
    """Names of the fixed features, in the default column order (see GROUP_ORDER)."""
    return tuple(fixed_feature_order())


def source_quantities() -> tuple[str, ...]:
    """The per-source quantities (`score`, `rank`, ...), in registration order."""
    return tuple(_PER_SOURCE)


def is_pooled(name: str) -> bool:
    """Whether column `name` depends on the pool beyond its own row (per-source and `pooled=True` features)."""
    if name in _FIXED:
        return name in _POOLED
    return name.rpartition(".")[2] in _PER_SOURCE


def is_learned(name: str) -> bool:
    """Whether column `name` reads the engine's learned state (`learned=True` features)."""
    return name in _LEARNED


class SharedRows:
    """Row-wise feature values of the searches in progress, shared by engines that rank the same searches over
    the same catalogue, parser and feature set (the forks of a replay): per (feature names and columns built,
    query text, context), entity id -> the row's values of the columns built that are neither pooled nor
    learned. The context's timestamp fixes the clock, so a search without one is not shared. Unbounded within
    a search: `clear` between sessions (the replay does), as it clears its shared generators."""

    def __init__(self) -> None:
        self._rows: dict[tuple, dict[str, np.ndarray]] = {}

    def rows(self, columns: tuple, query: Query, context: Context) -> dict[str, np.ndarray]:
        """The rows known for this search of the columns `columns` names (a dict to add to)."""
        return self._rows.setdefault((columns, query.text, context), {})

    def clear(self) -> None:
        self._rows.clear()


def _resolve(name: str, generators: Sequence[str] | None) -> FeatureFunction:
    """The function computing column `name`; raises ValueError naming the known features if there is none."""
    if name in _FIXED:
        return _FIXED[name]
    source, _, quantity = name.rpartition(".")
    if source and quantity in _PER_SOURCE and (generators is None or source in generators):
        function = _PER_SOURCE[quantity]
        return lambda batch: function(batch, source)
    per_source = ", ".join(f"<generator>.{q}" for q in _PER_SOURCE)
    where = f" with generators {list(generators)}" if generators is not None else ""
    raise ValueError(f"unknown feature {name!r}{where}; known features: {', '.join(_FIXED)}; per-source "
                     f"features: {per_source}. Fix the name in [features].set or drop it")


class FeatureSet:
    """An ordered list of feature names and the functions that compute them.

    `generators`, when given, restricts per-source names to those generators (checked here, at the door).

        >>> FeatureSet(["pool.rrf", "bm25.rank"]).names
        ('pool.rrf', 'bm25.rank')
    """

    def __init__(self, names: Sequence[str], generators: Sequence[str] | None = None) -> None:
        self.names = tuple(names)
        duplicates = sorted({name for name in self.names if self.names.count(name) > 1})
        if duplicates:
            raise ValueError(f"feature names must be distinct, got {duplicates} more than once")
        self._functions = tuple(_resolve(name, generators) for name in self.names)
        pooled = np.array([is_pooled(name) for name in self.names], dtype=bool)
        learned = np.array([is_learned(name) for name in self.names], dtype=bool)
        self._kinds = pooled, learned
        self._everything = self._subset(None)
        self._subsets: dict[tuple[int, ...], _Columns] = {}

    def _subset(self, only: tuple[int, ...] | None) -> _Columns:
        """The column groups (indices into `names`) of the sorted distinct indices `only` (None: every column)."""
        pooled, learned = self._kinds
        wanted = np.ones(len(self.names), dtype=bool) if only is None else np.isin(np.arange(len(self.names)), only)
        return _Columns(only, np.flatnonzero(wanted & pooled), np.flatnonzero(wanted & ~pooled),
                        np.flatnonzero(wanted & ~pooled & ~learned), np.flatnonzero(wanted & ~pooled & learned))

    def _columns(self, only: Sequence[int] | None) -> _Columns:
        if only is None:
            return self._everything
        found = self._subsets.get(only) if isinstance(only, tuple) else None  # a caller's own tuple, every search
        if found is None:
            key = tuple(sorted(set(int(j) for j in only)))
            if any(j < 0 or j >= len(self.names) for j in key):
                raise ValueError(f"column indices must be in [0, {len(self.names)}), got {list(key)}")
            found = self._subsets.get(key) or self._subset(key)
            self._subsets[key] = found
            if isinstance(only, tuple):
                self._subsets[only] = found
        return found

    def reads_learned(self, only: Sequence[int] | None = None) -> bool:
        """Whether building `only` (every column for None) computes a learned column (see `feature`)."""
        return bool(len(self._columns(only).learned))

    def indices(self, names: Sequence[str]) -> tuple[int, ...]:
        """The column indices of `names` (for `build(..., only=...)`); raises ValueError for a name not in the set."""
        position = {name: j for j, name in enumerate(self.names)}
        missing = [name for name in names if name not in position]
        if missing:
            raise ValueError(f"features {missing} are not in this feature set; known: {list(self.names)}")
        return tuple(position[name] for name in names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"FeatureSet({list(self.names)!r})"

    def build(self, batch: FeatureInput, shared: SharedRows | None = None,
              only: Sequence[int] | None = None) -> np.ndarray:
        """(n, len(names)) float64 matrix, columns in `names` order, rows in pool order; NaN = missing.
        shared: rows other engines computed for the same search (see `SharedRows`), read and added to.
        only: compute just these columns (indices into `names`, see `indices`) and leave the others NaN, for
        a caller that reads no other (a scorer reading two columns, with a log that keeps no feature rows)."""
        columns = self._columns(only)
        matrix = self._row_wise_matrix(batch, shared, columns)
        self._fill(matrix, batch, columns.pooled)
        return matrix

    def build_each(self, batch: FeatureInput, pools: Sequence[Pool], shared: SharedRows | None = None,
                   only: Sequence[int] | None = None) -> list[np.ndarray]:
        """`build` of each pool in `pools`, whose entities must all be in `batch.pool`: the row-wise columns
        are computed once over `batch`, the pooled ones over each pool. Equal to building each pool on its own
        (with the same query, context, user and memory statistics), for less work when the pools overlap.
        shared, only: as for `build`."""
        columns = self._columns(only)
        values = self._row_wise_matrix(batch, shared, columns)
        row_of = {entity_id: row for row, entity_id in enumerate(batch.pool.entity_ids)}
        matrices = []
        for pool in pools:
            try:
                rows = np.fromiter((row_of[item.entity_id] for item in pool.items), np.int64, len(pool.items))
            except KeyError as missing:
                raise ValueError(f"build_each: entity {missing.args[0]!r} of a pool is not in the batch's pool; "
                                 "build the batch over the union of the pools") from None
            matrix = values[rows]  # a copy: the row-wise columns; the pooled ones are overwritten
            self._fill(matrix, batch.subset(pool, rows), columns.pooled)
            matrices.append(matrix)
        return matrices

    def _fill(self, matrix: np.ndarray, batch: FeatureInput, columns: np.ndarray) -> None:
        """Compute `columns` (indices into `names`) of `batch` into `matrix`, checking each column's shape."""
        for j in columns.tolist():
            column = self._functions[j](batch)
            if column.shape != (batch.size,):
                raise ValueError(f"feature {self.names[j]!r} returned shape {column.shape}, expected ({batch.size},)")
            matrix[:, j] = column

    def _row_wise_matrix(self, batch: FeatureInput, shared: SharedRows | None, columns: _Columns) -> np.ndarray:
        """A (n, len(names)) matrix with the row-wise `columns` filled, the columns not built NaN and the pooled
        ones left for the caller to fill."""
        matrix = np.empty((batch.size, len(self.names)), dtype=np.float64)
        if columns.key is not None:
            matrix.fill(np.nan)
        self._fill_row_wise(matrix, batch, shared, columns)
        return matrix

    def _fill_row_wise(self, matrix: np.ndarray, batch: FeatureInput, shared: SharedRows | None,
                       columns: _Columns) -> None:
        """The row-wise `columns` of `batch` into `matrix`: the shareable ones through `shared` when the search
        can be shared (it has a timestamp), the rest computed."""
        if shared is None or batch.context.timestamp is None or not len(columns.shareable):
            self._fill(matrix, batch, columns.row_wise)
            return
        matrix[:, columns.shareable] = self._shared_rows(batch, shared, columns)
        self._fill(matrix, batch, columns.learned)

    def _shared_rows(self, batch: FeatureInput, shared: SharedRows, columns: _Columns) -> np.ndarray:
        """(n, len(columns.shareable)): the shareable columns of every row, computing only the rows `shared`
        lacks for this search (and adding them)."""
        known = shared.rows((self.names, columns.key), batch.query, batch.context)
        ids = batch.pool.entity_ids
        missing = [row for row, entity_id in enumerate(ids) if entity_id not in known]
        if missing:
            part = batch if len(missing) == len(ids) else \
                batch.subset(Pool(tuple(batch.pool.items[row] for row in missing)), np.array(missing, dtype=np.int64))
            computed = np.empty((len(missing), len(self.names)), dtype=np.float64)
            self._fill(computed, part, columns.shareable)
            computed = computed[:, columns.shareable]
            for row, values in zip(missing, computed):
                known[ids[row]] = values
            if len(missing) == len(ids):
                return computed
        if not ids:
            return np.empty((0, len(columns.shareable)), dtype=np.float64)
        return np.stack([known[entity_id] for entity_id in ids])


@dataclass(frozen=True, eq=False)
class _Columns:
    """A set of a FeatureSet's columns by kind (indices into its names): key is the sorted indices, None for
    every column (what `SharedRows` keys rows by, so builds of different columns never share rows)."""

    key: tuple[int, ...] | None
    pooled: np.ndarray
    row_wise: np.ndarray
    shareable: np.ndarray  # row-wise, not learned: what `SharedRows` may hold
    learned: np.ndarray


def default_feature_set(generators: Sequence[str]) -> FeatureSet:
    """Every per-source quantity for each generator (generator order), then every fixed feature.

    A generator name that makes a per-source name collide with a fixed feature is rejected.
    """
    per_source = [f"{name}.{quantity}" for name in generators for quantity in _PER_SOURCE]
    clashes = sorted(set(per_source) & set(_FIXED))
    if clashes:
        raise ValueError(f"generator names {list(generators)} give per-source features {clashes} that clash "
                         f"with fixed features; rename the generator")
    return FeatureSet([*per_source, *fixed_feature_order()], generators=generators)


# Column groups of the default set, in order. The order is fixed here, not by which module happens to be
# imported first, so a saved model's feature list matches in every process.
GROUP_ORDER = ("pool", "lexical", "entity", "slots", "query", "user", "memory", "context")


def fixed_feature_order() -> list[str]:
    """Fixed features by group (GROUP_ORDER; other prefixes after, by name), in registration order within one."""
    position = {name: i for i, name in enumerate(_FIXED)}

    def key(name: str) -> tuple[int, str, int]:
        group = name.partition(".")[0]
        rank = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
        return rank, group if rank == len(GROUP_ORDER) else "", position[name]

    return sorted(_FIXED, key=key)
