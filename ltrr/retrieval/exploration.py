"""ExplorationGenerator: a seeded sample of matching entities the other generators rarely surface.

Matching: a query with slots keeps the entities meeting every slot name (kind; genre and mood by tag name;
years by `Entity.year`; artist by the artist's name key), any value of a name sufficing; a query without
slots keeps the entities whose title, artist name or top tags hold at least one query token.

Modes, and the sampling weight w of a matching entity (its candidate score):
  "new"       added within `new_days` before the reference time (`reference_time`, or the newest entity's
              `added_at`), or after it; w = 2 - age / new_days, from 2 (age <= 0) down to 1 (age = new_days).
  "long_tail" popularity level (`memory_predict.popularity_level`) at or below the `tail_share` quantile of
              the fitted catalog; w = 1.05 - level.
  "novel"     not among the `novel_window` entities last shown to the user (`record_shown`); w = 1.
              An engine records every result list it serves to a known user and sets `user_key` to its
              log's keyed hash, so the recently shown lists (in memory and in the saved state) hold no raw
              user id.
  "mix"       not recently shown to the user; w = w_new (0 when not new) + w_tail (0 in the head) + 0.05,
              so new and long-tail entities dominate while any matching one may appear.
Sampling: k entities without replacement with probability proportional to w (Efraimidis & Spirakis,
IPL 2006: the k largest log(u) / w), then ordered by w (ties in sampling order). The generator's own
`np.random.default_rng(seed)` draws once per `generate` call, so a seed and a call sequence fix the output;
`preview` draws nothing.

    >>> from ltrr.types import Context, Entity
    >>> from ltrr.understanding.basic import plain_query
    >>> explore = ExplorationGenerator(mode="novel", seed=0).fit([Entity("t1", "track", "Night Drive", "demo", "t1")])
    >>> [c.entity_id for c in explore.generate(plain_query("night"), Context(), k=5)]
    ['t1']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import NotFittedError
from ..progress import StageFactory, no_progress
from ..text import name_key, tag_name
from ..types import ENTITY_KINDS, Candidate, Context, Entity, Preview, Query, Slot
from .base import check_k
from .exploration_index import ExplorationIndex
from .memory_stats import to_day

MODES = ("new", "long_tail", "novel", "mix")
PARAMS = ("mode", "seed", "new_days", "reference_time", "tail_share", "novel_window", "name")
FORMAT_VERSION = 1
MIX_FLOOR = 0.05
UNIQUE_LIMIT = 20_000  # token postings merged by sorting below this total, by a mask above


class ExplorationGenerator:
    """Seeded exploration candidates: new, long-tail or not-yet-shown entities that match the query."""

    reads_context = True  # its lists depend on who asks and when

    def __init__(self, mode: str = "mix", seed: int | None = None, new_days: float = 30,
                 reference_time: datetime | None = None, tail_share: float = 0.8, novel_window: int = 200,
                 name: str = "exploration") -> None:
        self.mode = mode
        self.seed = seed
        self.new_days = new_days
        self.reference_time = reference_time
        self.tail_share = tail_share
        self.novel_window = novel_window
        self.name = name
        self.user_key: Callable[[str], str] | None = None  # maps a user id to the key shown_ is kept under
        self._reset_caches()

    def fit(self, entities: Iterable[Entity], progress: StageFactory = no_progress) -> ExplorationGenerator:
        """Index the entities, set the long-tail threshold and (re)seed the random generator."""
        self._check_params()
        self.index_ = ExplorationIndex.build(entities, progress(f"{self.name}: index", None))
        self._reset_caches()
        levels = self.index_.popularity
        self.tail_level_ = float(np.quantile(levels, self.tail_share)) if len(levels) else 0.0
        self.rng_ = np.random.default_rng(self.seed)
        self.shown_: dict[str, dict[str, None]] = {}  # user id -> entity ids, oldest first
        return self

    def add(self, entities: Sequence[Entity]) -> None:
        """Index new entities (the long-tail threshold stays the fitted one)."""
        self._check_fitted()
        self.index_.add(list(entities))
        self._reset_caches()

    def record_shown(self, user_id: str, entity_ids: Iterable[str]) -> None:
        """Remember entities shown to a user; only the last `novel_window` count as recently shown."""
        self._check_fitted()
        key = self._user(user_id)
        self._shown_at.pop(key, None)
        shown = self.shown_.setdefault(key, {})
        for entity_id in entity_ids:
            shown.pop(entity_id, None)  # re-shown: move to the newest end
            shown[entity_id] = None
        for entity_id in list(shown)[: max(len(shown) - self.novel_window, 0)]:
            del shown[entity_id]

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        """At most k sampled entities, highest sampling weight first."""
        check_k(k)
        self._check_fitted()
        if k == 0 or not query.tokens:
            return []
        positions, weights = self._weighted(query, context)
        if len(positions) == 0:
            return []
        keys = np.log(self.rng_.random(len(positions))) / weights  # Efraimidis-Spirakis keys
        chosen = np.argpartition(-keys, k - 1)[:k] if k < len(keys) else np.arange(len(keys))
        chosen = chosen[np.argsort(-keys[chosen], kind="stable")]  # sampling order
        chosen = chosen[np.argsort(-weights[chosen], kind="stable")]
        table = self.index_.table
        return [Candidate(table.entity_id(int(positions[i])), table.kind(int(positions[i])), self.name,
                          float(weights[i]), rank) for rank, i in enumerate(chosen.tolist())]

    def preview(self, query: Query, context: Context) -> Preview:
        """Matching entities of the mode, the highest weight and its gap to the second (no sampling)."""
        self._check_fitted()
        _, weights = self._weighted(query, context) if query.tokens else (None, np.zeros(0))
        best = np.partition(weights, len(weights) - 2)[-2:] if len(weights) > 2 else weights  # no full sort
        top = sorted(best.tolist(), reverse=True) + [0.0, 0.0]
        return Preview(self.name, int(len(weights)), float(top[0]), float(top[0] - top[1]) if len(weights) > 1 else 0.0)

    def reseed(self, entropy: int | Sequence[int]) -> None:
        """Draw the next samples from `np.random.default_rng(entropy)`. A replay reseeds from the query and its
        context before each list it computes, so a list does not depend on which lists were drawn before it."""
        self._check_fitted()
        self.rng_ = np.random.default_rng(entropy)

    def sampling_state(self) -> dict:
        """What changes as it serves (random state, recently shown per user), JSON-able: an engine saves it
        with its learned state so a reloaded engine continues the same sequence."""
        self._check_fitted()
        return {"rng": self.rng_.bit_generator.state, "shown": {user: list(ids) for user, ids in self.shown_.items()}}

    def restore_sampling_state(self, state: dict) -> None:
        """Continue from `sampling_state()`'s output."""
        self._check_fitted()
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self.rng_ = rng
        self.shown_ = {user: dict.fromkeys(ids) for user, ids in state["shown"].items()}
        self._shown_at = {}

    def save(self, directory: str | Path) -> None:
        """Write the fitted state to `directory`: exploration.json (parameters, random state, recently shown)
        and the index's npy arrays. A loaded generator continues the same random sequence."""
        self._check_fitted()
        directory = Path(directory)
        self.index_.save(directory)
        params = {name: getattr(self, name) for name in PARAMS}
        params["reference_time"] = self.reference_time.isoformat() if self.reference_time else None
        state = {"format_version": FORMAT_VERSION, "params": params, "tail_level": self.tail_level_,
                 **self.sampling_state()}
        (directory / "exploration.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> ExplorationGenerator:
        path = Path(directory) / "exploration.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; save an ExplorationGenerator to {directory} first")
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path} has format_version {state.get('format_version')!r}, this ltrr reads "
                             f"{FORMAT_VERSION}; fit and save the generator again")
        params = dict(state["params"])
        if params["reference_time"] is not None:
            params["reference_time"] = datetime.fromisoformat(params["reference_time"])
        explore = cls(**params)
        explore.index_ = ExplorationIndex.load(Path(directory))
        explore.tail_level_ = state["tail_level"]
        explore.restore_sampling_state(state)
        return explore

    def _weighted(self, query: Query, context: Context) -> tuple[np.ndarray, np.ndarray]:
        """(positions, weights > 0) of the matching entities the mode keeps, positions ascending."""
        positions = self._matching(query)
        if self.mode in ("novel", "mix"):
            positions = _without(positions, self._shown_positions(context.user_id))
        weights = self._mode_weights()[positions]
        keep = weights > 0.0
        return positions[keep], weights[keep]

    def _mode_weights(self) -> np.ndarray:
        """The mode's weight of every indexed entity, computed once per index, mode and reference day: a query
        matching most of the catalog (a bare "songs") then costs a gather, not a recomputation."""
        day = self._reference_day()
        key = (self.mode, self.new_days, self.tail_level_, day if day == day else None, len(self.index_.table))
        if self._weights_key != key:
            everyone = np.arange(len(self.index_.table))
            if self.mode == "novel":
                weights = np.ones(len(everyone))
            elif self.mode == "new":
                weights = self._new_weight(everyone)
            elif self.mode == "long_tail":
                weights = self._tail_weight(everyone)
            else:
                weights = self._new_weight(everyone) + self._tail_weight(everyone) + MIX_FLOOR
            self._weights, self._weights_key = weights, key
        return self._weights

    def _new_weight(self, positions: np.ndarray) -> np.ndarray:
        """2 - age / new_days for entities added within new_days of the reference, else 0."""
        age = self._reference_day() - self.index_.added_day[positions]
        is_new = age <= self.new_days  # NaN (unknown added_at) compares False
        return np.where(is_new, 2.0 - np.clip(age, 0.0, self.new_days) / self.new_days, 0.0)

    def _tail_weight(self, positions: np.ndarray) -> np.ndarray:
        """1.05 - popularity level for entities at or below the tail threshold, else 0."""
        level = self.index_.popularity[positions].astype(np.float64)
        return np.where(level <= self.tail_level_, 1.05 - level, 0.0)

    def _matching(self, query: Query) -> np.ndarray:
        """Positions of the entities matching the query's slots, or without slots one of its tokens."""
        index = self.index_
        if not query.slots:
            lists = [index.tokens.get(token) for token in dict.fromkeys(query.tokens)]
            if sum(len(found) for found in lists) < UNIQUE_LIMIT:
                return np.unique(np.concatenate(lists)) if lists else np.zeros(0, dtype=np.int64)
            mask = np.zeros(len(index.table), dtype=bool)  # O(n) beats sorting a long union
            for found in lists:
                mask[found] = True
            return np.flatnonzero(mask)
        mask = np.ones(len(index.table), dtype=bool)
        for slot_name in dict.fromkeys(slot.name for slot in query.slots):
            mask &= self._slot_mask(slot_name, [slot for slot in query.slots if slot.name == slot_name])
        return np.flatnonzero(mask)

    def _slot_mask(self, slot_name: str, slots: list[Slot]) -> np.ndarray:
        """Entities meeting any of the slots of one name."""
        index = self.index_
        mask = np.zeros(len(index.table), dtype=bool)
        for slot in slots:
            if slot_name == "kind":
                if slot.value in ENTITY_KINDS:
                    mask |= index.table.kinds == ENTITY_KINDS.index(slot.value)
            elif slot_name in ("genre", "mood"):
                mask[index.tags.get(tag_name(slot.value))] = True
            elif slot_name == "years":
                low, high = _year_range(slot)
                mask |= (index.year >= low) & (index.year <= high)
            elif slot_name == "artist":
                mask[index.artists.get(name_key(slot.value))] = True
        return mask

    def _shown_positions(self, user_id: str | None) -> np.ndarray:
        """Index positions of the entities recently shown to the user (cached until the next `record_shown` for
        that user or the next `add`)."""
        if user_id is None:
            return np.zeros(0, dtype=np.int64)
        key = self._user(user_id)
        cached = self._shown_at.get(key)
        if cached is None:
            found = [self.index_.table.position(entity_id) for entity_id in self.shown_.get(key, {})]
            cached = np.asarray([p for p in found if p >= 0], dtype=np.int64)  # distinct ids: distinct positions
            if key in self.shown_:
                self._shown_at[key] = cached
        return cached

    def _reset_caches(self) -> None:
        """Forget what depends on the index: the newest added day, the weights, the shown positions."""
        self._newest: float | None = None
        self._weights: np.ndarray | None = None
        self._weights_key: tuple | None = None
        self._shown_at: dict[str, np.ndarray] = {}

    def _user(self, user_id: str) -> str:
        return self.user_key(user_id) if self.user_key is not None else user_id

    def _reference_day(self) -> float:
        """The day "new" counts back from: reference_time, else the newest added_at (NaN when none has one)."""
        if self.reference_time is not None:
            return to_day(self.reference_time)
        days = self.index_.added_day
        if self._newest is None:
            self._newest = float(np.nanmax(days)) if np.isfinite(days).any() else float("nan")
        return self._newest

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError(f"{type(self).__name__} {self.name!r} is not fitted; call fit(entities) first")

    def _check_params(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"ExplorationGenerator mode must be one of {list(MODES)}, got {self.mode!r}")
        if not self.new_days > 0:
            raise ValueError(f"ExplorationGenerator new_days must be > 0, got {self.new_days!r}")
        if not 0.0 <= self.tail_share <= 1.0:
            raise ValueError(f"ExplorationGenerator tail_share must be in [0, 1], got {self.tail_share!r}")
        if self.novel_window < 0:
            raise ValueError(f"ExplorationGenerator novel_window must be >= 0, got {self.novel_window!r}")


def _without(positions: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """`positions` (ascending) without the values in `removed` (any order): a binary search per removed value, so
    a long match list costs O(len(removed) log n), not a sort."""
    if len(removed) == 0 or len(positions) == 0:
        return positions
    at = np.searchsorted(positions, removed)
    inside = at < len(positions)
    at = at[inside]
    drop = at[positions[at] == removed[inside]]
    keep = np.ones(len(positions), dtype=bool)
    keep[drop] = False
    return positions[keep]


def _year_range(slot: Slot) -> tuple[int, int]:
    """A years slot's (low, high); an unreadable value matches nothing."""
    try:
        return slot.year_range()
    except ValueError:
        return 1, 0
