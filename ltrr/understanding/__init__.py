"""Query understanding: from raw text to a `Query` with tokens, slots, residual text and a class guess.

`plain_query(text)` needs no catalog (tokens only); `QueryParser(Lexicon.from_store(store))` (or
`QueryParser.from_store(store)`) reads slots with the catalog's lexicons: artists, genres and moods,
playlist words, eras and years, entity-type words, all typo-tolerant.
"""

from .basic import MAX_QUERY_CHARS, MAX_QUERY_TOKENS, plain_query
from .eras import Era, match_eras
from .fuzzy import FuzzyIndex, max_edits, osa_distance
from .lexicon import ArtistEntry, Lexicon, match_key
from .parser import QueryParser, classify
from .vocabulary import MOOD_WORDS

__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_TOKENS", "ArtistEntry", "Era", "FuzzyIndex", "Lexicon", "MOOD_WORDS",
           "QueryParser", "classify", "match_eras", "match_key", "max_edits", "osa_distance", "plain_query"]
