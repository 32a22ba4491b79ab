"""Generators shared by the engines of a replay: each query is retrieved once per step, whoever asks first.

A replay runs several policies (each its own `Engine.fork`) on one stream of simulated searches. The
generators that do not learn from feedback (bm25, dense, structured, exploration) give every fork the same
list for the same query, so `SharedGenerator` computes a query's list once at the deepest k any arm asks of
that generator and hands each caller the first k. `clear()` (the replay calls it between sessions) drops the
lists, so memory stays flat. The memory generator is never shared: each fork learns its own clicks.

A prefix of a deeper list is what a shallower call returns for BM25, structured search and exploration; for
the HNSW index it is close (a deeper search may find a few better neighbours a shallower one misses). A call
shallower than any arm asks (the engine's probe before it chooses a plan, `[policy] probe_depth`) is computed
at its own k when nothing is cached yet, so a probe of a generator the chosen plan then leaves out costs a
shallow search, not the deepest list.

A generator that declares `reads_context = False` (BM25, dense and structured search: their lists depend on
the query alone) gives the same list to the same query in every session, so with `keep` > 0 its lists and
previews are keyed by the query text and the `keep` most recently used survive `clear()`: a query that comes
back (playlist names and short ambiguous queries recur through a run) is not retrieved again. The kept lists
are whatever depth was computed, so a later probe of a kept query reads a prefix of a deeper list, as it
already does within a session. Generators without the attribute are taken to read the context.

A generator that samples (exploration) would otherwise give a query a list that depends on every list drawn
before it, that is on which policies asked for what earlier in the run: a policy's results would change with
the other policies run beside it, which breaks the replay's common random numbers. With a `stream` (the
replay passes its seed), a generator that has `reseed` is reseeded before each list it computes from
`stream` and a stable hash of the query text and the context (user, device, timestamp: the session and
attempt), so the list is a function of the search alone. For the same reason a shared generator records
nothing shown (it has no `record_shown`): exploration's "recently shown to this user" filter, which a live
engine feeds from every result list, stays off in a replay instead of letting one policy's results filter
another's.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ..types import Arm, Candidate, Context, Entity, Preview, Query


class SharedGenerator:
    """A caching wrapper with the generator protocol; `max_k` is the deepest list worth computing, `min_k` the
    shallowest any arm asks (a shallower call is a probe, computed at its own k when nothing is cached);
    `keep`: queries whose lists outlive `clear()` when the generator does not read the context."""

    def __init__(self, inner, max_k: int, stream: Sequence[int] | None = None, min_k: int = 1,
                 keep: int = 0) -> None:
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k!r}")
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep!r}")
        self.inner = inner
        self.name = inner.name
        self.max_k = max_k
        self.min_k = min_k
        self.stream = tuple(stream) if stream is not None and hasattr(inner, "reseed") else None
        self.keep = 0 if getattr(inner, "reads_context", True) else keep
        self._lists: OrderedDict[object, tuple[int, list[Candidate]]] = OrderedDict()  # (k computed at, list)
        self._previews: OrderedDict[object, Preview] = OrderedDict()

    def _key(self, query: Query, context: Context) -> object:
        return query.text if self.keep else (query.text, context)

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        key = self._key(query, context)
        found = self._lists.get(key)
        if found is not None and self.keep:
            self._lists.move_to_end(key)
        if found is None or k > found[0]:
            depth = k if found is None and k < self.min_k else max(k, self.max_k)
            if self.stream is not None:
                self.inner.reseed([*self.stream, search_hash(query, context)])
            found = self._lists[key] = (depth, self.inner.generate(query, context, depth))
        return found[1][:k]

    def preview(self, query: Query, context: Context) -> Preview:
        key = self._key(query, context)
        found = self._previews.get(key)
        if found is None:
            found = self._previews[key] = self.inner.preview(query, context)
        elif self.keep:
            self._previews.move_to_end(key)
        return found

    def add(self, entities: Sequence[Entity]) -> None:
        self.clear(everything=True)
        self.inner.add(entities)

    def clear(self, *, everything: bool = False) -> None:
        """Drop the lists of the searches that are over: all of them, or all but the `keep` most recently used
        when the generator does not read the context (everything=True: all, e.g. when the catalogue changes)."""
        keep = 0 if everything else self.keep
        for cache in (self._lists, self._previews):
            while len(cache) > keep:
                cache.popitem(last=False)


def search_hash(query: Query, context: Context) -> int:
    """A 64-bit hash of the query text and the context, the same in every process (unlike `hash`)."""
    text = f"{query.text}\x1f{context.user_id}\x1f{context.device}\x1f{context.locale}\x1f" \
           f"{context.timestamp.isoformat() if context.timestamp else ''}"
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def deepest_k(arms: Sequence[Arm]) -> dict[str, int]:
    """Per generator, the largest k any arm gives it."""
    return _per_generator(arms, max)


def shallowest_k(arms: Sequence[Arm]) -> dict[str, int]:
    """Per generator, the smallest k any arm gives it."""
    return _per_generator(arms, min)


def _per_generator(arms: Sequence[Arm], pick) -> dict[str, int]:
    depth: dict[str, int] = {}
    for arm in arms:
        for name, k in arm.plan:
            depth[name] = pick(depth.get(name, k), k)
    return depth


def share_generators(generators: Mapping[str, object], arms: Sequence[Arm],
                     learning: Sequence[str] = ("memory",),
                     stream: Sequence[int] | None = None, keep: int = 0) -> dict[str, SharedGenerator]:
    """A SharedGenerator for each generator that does not learn from feedback and that some arm calls;
    `stream`, `keep`: see the module docstring."""
    depth, shallow = deepest_k(arms), shallowest_k(arms)
    return {name: SharedGenerator(generator, depth[name], stream, shallow[name], keep)
            for name, generator in generators.items() if name not in learning and depth.get(name, 0) > 0}
