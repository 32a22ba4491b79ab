"""The catalog-free part of parsing: validation, folding and tokenization."""

from __future__ import annotations

import unicodedata

from ..text import fold, tokenize
from ..types import Query

# Bound the work a query can cause: no real music query needs more, and a pasted 10,000-character text
# must not cost 10,000 posting-list lookups. Longer input is cut, not refused.
MAX_QUERY_CHARS = 512
MAX_QUERY_TOKENS = 32


def clean_text(text: str) -> str:
    """Drop control and format characters (keeping spaces), cut to MAX_QUERY_CHARS; raise on empty text."""
    if not isinstance(text, str):
        raise TypeError(f"query text must be a str, got {type(text).__name__}")
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text[: MAX_QUERY_CHARS * 4])
    cleaned = " ".join(cleaned.split())[:MAX_QUERY_CHARS]
    if not cleaned:
        raise ValueError(f"query text is empty (got {text[:40]!r}); give some text to search for")
    return cleaned


def plain_query(text: str) -> Query:
    """A Query with folded text and tokens but no slots (class "ambiguous")."""
    cleaned = clean_text(text)
    normalized = fold(cleaned)
    tokens = tuple(tokenize(normalized)[:MAX_QUERY_TOKENS])
    return Query(text=cleaned, normalized=normalized, tokens=tokens, residual=normalized)
