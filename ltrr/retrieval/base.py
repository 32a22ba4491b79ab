"""The one protocol every candidate generator follows, and `union`, which pools their lists.

Building is specific to each generator and follows the sklearn contract (`fit(...) -> self`, fitted state
in trailing-underscore attributes); the engine only calls what the protocol names:

    bm25 = BM25Generator().fit(store.iter_entities())
    candidates = bm25.generate(query, Context.anonymous(), k=100)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..types import Candidate, Context, Entity, EntityKind, Preview, Query


@runtime_checkable
class CandidateGenerator(Protocol):
    """A retrieval strategy. `generate` returns at most k candidates, ranks 0..n-1, each entity once,
    and `[]` rather than raising when nothing matches; `preview` is cheap (no k candidates built where avoidable);
    `add` makes new entities retrievable at once. A generator may declare `reads_context = False` when its
    lists and previews depend on the query alone, so callers may reuse them across users and sessions
    (`simulation.shared`); without the attribute it is taken to read the context."""

    name: str

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]: ...

    def preview(self, query: Query, context: Context) -> Preview: ...

    def add(self, entities: Sequence[Entity]) -> None: ...


@dataclass(frozen=True, slots=True)
class PooledEntity:
    """One entity of a pool with every source's (rank, score) for it."""

    entity_id: str
    kind: EntityKind
    sources: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class Pool:
    """The deduplicated union of candidate lists, in order of first appearance."""

    items: tuple[PooledEntity, ...]

    @property
    def entity_ids(self) -> list[str]:
        return [item.entity_id for item in self.items]

    def __len__(self) -> int:
        return len(self.items)


def union(lists: Sequence[Sequence[Candidate]]) -> Pool:
    """Merge per-generator candidate lists into one pool keyed by entity_id.

    Scores are not compared across sources; each pooled entity keeps every source's candidate so features
    can use their ranks and scores. Order: first appearance, scanning the lists in the given order.
    """
    sources: dict[str, list[Candidate]] = {}
    for candidates in lists:
        for candidate in candidates:
            found = sources.get(candidate.entity_id)
            if found is None:
                sources[candidate.entity_id] = [candidate]
            else:
                found.append(candidate)
    # an entity's kind is its first candidate's
    return Pool(tuple([PooledEntity(entity_id, found[0].kind, tuple(found)) for entity_id, found in sources.items()]))


def check_k(k: int) -> None:
    """Generators call this on the caller's k."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
