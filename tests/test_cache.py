"""RecentCache: the least recently used key goes first; a size of 0 keeps nothing."""

from __future__ import annotations

from ltrr.cache import RecentCache


def test_the_least_recently_used_key_goes_first():
    cache: RecentCache[str, int] = RecentCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert list(cache) == ["a", "c"] and cache.get("b") is None and len(cache) == 2
    cache.put("a", 4)  # replacing a value keeps one entry and marks it used
    assert list(cache) == ["c", "a"] and cache.get("a") == 4


def test_a_size_of_zero_keeps_nothing():
    cache: RecentCache[str, int] = RecentCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0
