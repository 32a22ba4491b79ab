"""StructuredGenerator: retrieval by query slots alone (genre, mood, years, artist, kind), relaxed step by step.

    generator = StructuredGenerator(QueryParser(lexicon)).fit(store.iter_entities())
    candidates, relaxations = generator.generate_with_trace(parser.parse("90s synthwave"), Context(), 50)
    # relaxations == ("widen years 1985-2004",) when too few 90s synthwave entities exist

Each slot is a constraint: a genre or mood slot requires the tag (tags are matched on `match_key`, so "hip hop"
and "hip-hop" are one tag), a years slot a year in range (or, for an entity without a year, a decade tag such
as "80s" overlapping it: most real tracks have no year but inherit their artist's decade tags), an artist slot
the artist itself or its tracks and albums, a kind slot that kind.

Score of an entity = (1 + b / (1 + b)) x 2^-v, where
  b = t x ((1 - w) + w x popularity) [x 2 for the artist entity an artist slot names],
  t = sum over genre/mood slots of (slot confidence x the entity's tag weight), or 1 when no slot names a
      tag the catalog has; w = `popularity_weight`; popularity in [0, 1], normalized within the entity's kind;
  v = number of the query's constraints the entity violates.
Strict matches score in [1, 2) and each violated constraint halves the score, so every entity meeting all
constraints ranks above every relaxed one.

When fewer than k entities meet the active constraints, they are relaxed in this order, each step recorded:
  1. "drop <genre|mood> <value>" for a tag no entity carries;
  2. "widen years LOW-HIGH" (by `years_widening` each side), then 3. "drop years";
  4. "drop <genre|mood> <value>" for the lowest-confidence tag slot (the later one on ties), while 2+ remain;
  5. "drop kind <kind>".
An artist constraint and the last remaining constraint are never dropped (widening drops nothing).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NotFittedError
from ..text import name_key
from ..types import ENTITY_KINDS as KINDS
from ..types import Candidate, Context, Entity, Preview, Query
from ..understanding.lexicon import Lexicon, match_key
from ..understanding.parser import QueryParser
from .base import check_k
from .structured_index import StructuredIndex

FORMAT_VERSION = 1
RECENT = 16  # queries whose strict pool and scores are kept (see `_strict`)


@dataclass(frozen=True, slots=True)
class _Constraint:
    """One slot as a requirement: `mask` marks the entities meeting it."""

    kind: str  # "tag", "years", "artist" or "kind"
    label: str  # e.g. "genre synthwave", "years 1990-1999"
    mask: np.ndarray
    confidence: float = 1.0
    column: int | None = None  # the tag column of a "tag" constraint; None when no entity carries the tag
    years: tuple[int, int] | None = None  # the range of a "years" constraint not widened yet


class StructuredGenerator:
    """Candidate generator over slots; see the module docstring for scoring and relaxation.

    `parser` (a QueryParser, or a Lexicon to build one) parses queries that arrive without slots (e.g. from
    `plain_query`); without it such queries return []. `context` is not used.
    """

    reads_context = False  # its lists depend on the query alone (see base.CandidateGenerator)

    def __init__(self, parser: QueryParser | Lexicon | None = None, name: str = "structured",
                 popularity_weight: float = 0.5, years_widening: int = 5) -> None:
        self.parser = parser
        self.name = name
        self.popularity_weight = popularity_weight
        self.years_widening = years_widening
        self._recent_lock = threading.Lock()
        self._recent_index: StructuredIndex | None = None
        self._recent: OrderedDict[Query, tuple[list[_Constraint], np.ndarray, np.ndarray]] = OrderedDict()

    def fit(self, entities: Iterable[Entity]) -> StructuredGenerator:
        """Index every entity's kind, year, artist, tags (entity x tag weight matrix) and popularity."""
        self.parser_ = QueryParser(self.parser) if isinstance(self.parser, Lexicon) else self.parser
        self.index_ = StructuredIndex.build(entities)
        return self

    def add(self, entities: Sequence[Entity]) -> None:
        """Append entities (an id already indexed is replaced); retrievable at once."""
        self._check_fitted()
        self.index_ = self.index_.extended(entities)

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        """At most k candidates, best first; [] when the query has no slot or nothing matches."""
        return self.generate_with_trace(query, context, k)[0]

    def generate_with_trace(self, query: Query, context: Context, k: int) -> tuple[list[Candidate], tuple[str, ...]]:
        """`generate` plus the relaxations made, in order (empty when the constraints were met as asked)."""
        check_k(k)
        self._check_fitted()
        if k == 0:
            return [], ()
        constraints, rows, scores = self._strict(query)
        if not constraints:
            return [], ()
        relaxations: list[str] = []
        if len(rows) < k:
            active = list(constraints)
            pool = self._pool(active)
            while int(pool.sum()) < k and (step := self._next_relaxation(active)) is not None:
                active, label = step
                relaxations.append(label)
                pool = self._pool(active)
            rows = np.flatnonzero(pool)
            scores = self._scores(rows, constraints)
        order = _top_k(scores, rows, k)
        index = self.index_
        top = rows[order]
        candidates = [Candidate(index.entity_ids[row], KINDS[kind], self.name, score, rank) for rank, (row, kind, score)
                      in enumerate(zip(top.tolist(), index.kinds[top].tolist(), scores[order].tolist()))]
        return candidates, tuple(relaxations)

    def preview(self, query: Query, context: Context) -> Preview:
        """n_hits: entities meeting every constraint before relaxation; their top score and top-two gap."""
        self._check_fitted()
        _, rows, scores = self._strict(query)
        n_hits = len(rows)
        if n_hits == 0:
            return Preview(self.name, 0, 0.0, 0.0)
        top_two = np.sort(np.partition(scores, -min(2, n_hits))[-min(2, n_hits):])[::-1]
        gap = float(top_two[0] - top_two[1]) if n_hits > 1 else 0.0
        return Preview(self.name, n_hits, float(top_two[0]), gap)

    def save(self, directory: str | Path) -> None:
        """Write the fitted state (JSON + npy) and the parser's lexicon, when there is one, to `directory`."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        settings = {"format_version": FORMAT_VERSION, "name": self.name,
                    "popularity_weight": self.popularity_weight, "years_widening": self.years_widening}
        (path / "structured.json").write_text(json.dumps(settings), encoding="utf-8")
        self.index_.save(path)
        if self.parser_ is not None:
            self.parser_.lexicon.save(path / "lexicon.json")

    @classmethod
    def load(cls, directory: str | Path, parser: QueryParser | None = None) -> StructuredGenerator:
        """Restore a generator written by `save`. `parser`: one over the lexicon it was fitted with, to share
        (an engine's: one parser, one parse cache) instead of loading the saved copy of the lexicon."""
        path = Path(directory)
        settings = json.loads((path / "structured.json").read_text(encoding="utf-8"))
        if settings.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path / 'structured.json'} has format_version {settings.get('format_version')!r}, "
                             f"expected {FORMAT_VERSION}; refit the generator and save it again")
        lexicon_path = path / "lexicon.json"
        if parser is None and lexicon_path.exists():
            parser = QueryParser(Lexicon.load(lexicon_path))
        generator = cls(parser, settings["name"], settings["popularity_weight"], settings["years_widening"])
        generator.parser_ = parser
        generator.index_ = StructuredIndex.load(path)
        return generator

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_") or not hasattr(self, "parser_"):
            raise NotFittedError(f"StructuredGenerator {self.name!r} is not fitted; call fit(entities) first")

    def _strict(self, query: Query) -> tuple[list[_Constraint], np.ndarray, np.ndarray]:
        """(the query's constraints, the entity rows meeting all of them, their scores), remembered for the
        latest RECENT queries of the current index: a search previews a query, then generates from that pool."""
        index = self.index_
        with self._recent_lock:
            if self._recent_index is not index:
                self._recent_index, self._recent = index, OrderedDict()
            found = self._recent.get(query)
        if found is not None:
            return found
        constraints = self._constraints(query)
        rows = np.flatnonzero(self._pool(constraints)) if constraints else np.zeros(0, dtype=np.int64)
        found = (constraints, rows, self._scores(rows, constraints) if len(rows) else np.zeros(0))
        with self._recent_lock:
            if self._recent_index is index:
                self._recent[query] = found
                while len(self._recent) > RECENT:
                    self._recent.popitem(last=False)
        return found

    def _constraints(self, query: Query) -> list[_Constraint]:
        """One constraint per genre/mood slot, one for years, artists and kinds each (in that order)."""
        slots = query.slots
        if not slots and query.tokens and self.parser_ is not None:
            slots = self.parser_.parse(query.text).slots
        index = self.index_
        found = []
        for slot in slots:
            if slot.name in ("genre", "mood"):
                column = index.tag_columns.get(match_key(slot.value))
                mask = index.tag_mask(column) if column is not None else np.zeros(len(index), dtype=bool)
                found.append(_Constraint("tag", f"{slot.name} {slot.value}", mask, slot.confidence, column))
        if years := [s for s in slots if s.name == "years"]:
            low, high = max(years, key=lambda s: s.confidence).year_range()
            found.append(_Constraint("years", f"years {low}-{high}", index.years_mask(low, high), years=(low, high)))
        if artists := [s for s in slots if s.name == "artist"]:
            codes = sorted({code for s in artists for code in index.artist_keys.get(name_key(s.value), ())})
            label = "artist " + ", ".join(s.value for s in artists)
            found.append(_Constraint("artist", label, index.artist_mask(codes)))
        if kinds := sorted({s.value for s in slots if s.name == "kind" and s.value in KINDS}):
            mask = np.zeros(len(index), dtype=bool)
            for kind in kinds:
                mask |= index.kinds == KINDS.index(kind)
            found.append(_Constraint("kind", "kind " + ",".join(kinds), mask))
        return found

    def _scores(self, rows: np.ndarray, constraints: Sequence[_Constraint]) -> np.ndarray:
        """The documented score of each of `rows` (sorted entity rows): computed on the pool alone."""
        index = self.index_
        tags = [c for c in constraints if c.kind == "tag" and c.column is not None]
        match = np.zeros(len(rows)) if tags else np.ones(len(rows))
        for constraint in tags:
            tagged, weights = index.tag_column(constraint.column)
            position = np.minimum(np.searchsorted(rows, tagged), max(len(rows) - 1, 0))
            hit = rows[position] == tagged if len(rows) else np.zeros(len(tagged), bool)
            match[position[hit]] += constraint.confidence * weights[hit]
        weight = self.popularity_weight
        base = match * ((1.0 - weight) + weight * index.popularity[rows])
        violations = np.zeros(len(rows))
        for constraint in constraints:
            meets = constraint.mask[rows]
            violations += ~meets
            if constraint.kind == "artist":  # the artist itself ranks above its own tracks
                base[meets & (index.kinds[rows] == KINDS.index("artist"))] *= 2.0
        return (1.0 + base / (1.0 + base)) * np.exp2(-violations)

    def _pool(self, active: Sequence[_Constraint]) -> np.ndarray:
        pool = self.index_.alive.copy()
        for constraint in active:
            pool &= constraint.mask
        return pool

    def _next_relaxation(self, active: list[_Constraint]) -> tuple[list[_Constraint], str] | None:
        """The next relaxation of the documented order, or None when nothing may be relaxed any more."""
        tags = [c for c in active if c.kind == "tag"]
        unmatchable = [c for c in tags if c.column is None]
        years = next((c for c in active if c.kind == "years"), None)
        if len(active) > 1 and unmatchable:
            return _without(active, unmatchable[0]), f"drop {unmatchable[0].label}"
        if years is not None and years.years is not None and not unmatchable:
            low, high = years.years[0] - self.years_widening, years.years[1] + self.years_widening
            widened = _Constraint("years", f"years {low}-{high}", self.index_.years_mask(low, high))
            return [widened if c is years else c for c in active], f"widen years {low}-{high}"
        if len(active) < 2:
            return None
        if years is not None:
            return _without(active, years), "drop years"
        if len(tags) > 1:
            weakest = min(reversed(tags), key=lambda c: c.confidence)
            return _without(active, weakest), f"drop {weakest.label}"
        kind = next((c for c in active if c.kind == "kind"), None)
        return (_without(active, kind), f"drop {kind.label}") if kind is not None else None


def _without(active: list[_Constraint], dropped: _Constraint) -> list[_Constraint]:
    return [c for c in active if c is not dropped]


def _top_k(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores, best first; ties broken by row (fit order), so results are deterministic."""
    positions = np.arange(len(rows))
    if len(rows) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        positions = positions[scores >= threshold]
    return positions[np.lexsort((rows[positions], -scores[positions]))[:k]]
