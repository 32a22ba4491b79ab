"""Query understanding: from raw text to a `Query` with tokens, slots, residual text and a class guess.

`plain_query(text)` needs no catalog (tokens only); `QueryParser(...).fit(store)` adds the catalog's
lexicons (artists, genres and moods, playlist words) and reads slots.
"""

from .basic import MAX_QUERY_CHARS, MAX_QUERY_TOKENS, plain_query

__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_TOKENS", "plain_query"]
