"""The engine's helpers: the preview cache."""

from __future__ import annotations

from ltrr.engine_support import PreviewCache
from ltrr.types import Context, Preview, Query


class CountingGenerator:
    """A generator stand-in whose preview counts its calls and echoes the query's token count."""

    def __init__(self, name: str) -> None:
        self.name, self.calls = name, 0

    def preview(self, query: Query, context: Context) -> Preview:
        self.calls += 1
        return Preview(self.name, len(query.tokens), float(self.calls), 0.0)


def query(text: str) -> Query:
    return Query(text, text, tuple(text.split()))


def test_cached_generators_preview_each_query_once_and_others_every_time():
    cache, bm25, memory = PreviewCache(["bm25"]), CountingGenerator("bm25"), CountingGenerator("memory")
    context = Context.anonymous()
    first = cache.preview("bm25", bm25, query("night drive"), context)
    again = cache.preview("bm25", bm25, query("night drive"), context)  # an equal parsed query
    other = cache.preview("bm25", bm25, query("glass harbour lights"), context)
    assert bm25.calls == 2 and first == again and (first.n_hits, other.n_hits) == (2, 3)
    for _ in range(3):
        cache.preview("memory", memory, query("night drive"), context)
    assert memory.calls == 3  # what is learned changes its preview: never cached


def test_the_least_recently_used_preview_is_dropped_at_maxsize():
    cache, bm25, context = PreviewCache(["bm25"], maxsize=2), CountingGenerator("bm25"), Context.anonymous()
    for text in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
        cache.preview("bm25", bm25, query(text), context)
    assert bm25.calls == 3
    cache.preview("bm25", bm25, query("a"), context)
    assert bm25.calls == 3
    cache.preview("bm25", bm25, query("b"), context)
    assert bm25.calls == 4
