"""QueryParser: raw text -> `Query` with slots (artist, genre, mood, years, kind), residual text and a class guess.

    parser = QueryParser(Lexicon.from_store(store))
    query = parser.parse("90s hip hop playlists")   # years 1990-1999, genre "hip hop", kind "playlist"

How a parse runs:
1. `plain_query` validates and folds the text (ValueError on empty text) and tokenizes it; a word with inner
   punctuation ("hip-hop") is one word here though it gives several tokens ("hiphop", "hip", "hop").
2. Every n-gram of the first `MAX_SLOT_WORDS` words gets its readings: artists, genres and moods from the
   lexicon (`matching`), eras (`eras`), kind words ("playlists", "songs"; `vocabulary.KIND_WORDS`).
   An artist right after "by" ("songs by X", "hello by X") also reads "by X", with confidence >= 0.7.
3. The readings that explain the query best are chosen by dynamic programming over word positions: the
   non-overlapping set maximizing sum(confidence x n_words^1.5), so one two-word reading beats two one-word
   ones of equal confidence. A common word read as an artist ("love", "the") competes only when it is the
   whole query.
4. Words no chosen reading covers form the residual; `classify` guesses the query class from slots and words.

A parse depends on the text and the lexicon only, so the last `cache_size` distinct texts' parses are kept
(LRU; a `Query` is immutable): a repeated head query is parsed once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from ..cache import RecentCache
from ..text import tokenize
from ..types import Query, QueryClass, Slot
from .basic import plain_query
from .eras import match_eras
from .lexicon import Lexicon
from .matching import LexiconMatcher, Match
from .vocabulary import ARTIST_CUE, KIND_WORDS, MOOD_WORDS, STOPWORDS, TOPICAL_FILLERS

if TYPE_CHECKING:
    from ..store import CatalogStore

MAX_SLOT_WORDS = 12  # longer queries keep their later words as residual: bounds the n-gram lookups
MIN_CONFIDENCE = 0.4  # weaker readings are dropped (a fallback artist, 0.3, is kept when it is the whole query)
CUE_CONFIDENCE = 0.7
GENERIC_TITLE_SHARE = 0.001  # a word in at least this share of track titles is generic ("love", "summer")


@dataclass(frozen=True, slots=True)
class _Word:
    """One query word: its text (the joined token) and its [start, end) token positions."""

    text: str
    start: int
    end: int


class QueryParser:
    """Parses query text against a catalog `Lexicon`; thread-safe. cache_size: parses kept (0: none)."""

    def __init__(self, lexicon: Lexicon, cache_size: int = 4096) -> None:
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be an integer >= 0, got {cache_size!r}")
        self.lexicon = lexicon
        self.cache_size = cache_size
        self._parsed: RecentCache[str, Query] = RecentCache(cache_size)

    @classmethod
    def from_store(cls, store: CatalogStore, **lexicon_options) -> QueryParser:
        """A parser over `Lexicon.from_store(store, **lexicon_options)`."""
        return cls(Lexicon.from_store(store, **lexicon_options))

    def prepare(self) -> None:
        """Build the lookup tables now rather than at the first `parse` (`Engine.warm_up`)."""
        _ = self.matcher, self._vocabulary

    @cached_property
    def matcher(self) -> LexiconMatcher:
        """The lexicon's lookup tables, built on first use (~2 s for the real catalog's 44k match keys)."""
        return LexiconMatcher(self.lexicon)

    @cached_property
    def _vocabulary(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(topical words, generic words, title words): see `classify`."""
        lexicon = self.lexicon
        playlist_min = max(2, math.ceil(0.001 * lexicon.n_playlists))
        topical = ({w for phrase in MOOD_WORDS for w in phrase.split()} | {w for t in lexicon.tags for w in t.split()}
                   | {w for w, count in lexicon.playlist_words.items() if count >= playlist_min} | TOPICAL_FILLERS)
        title_min = max(2, math.ceil(GENERIC_TITLE_SHARE * lexicon.n_titles))
        generic = {w for w, count in lexicon.title_words.items() if count >= title_min}
        return frozenset(topical), frozenset(generic), frozenset(lexicon.title_words)

    def parse(self, text: str) -> Query:
        """The parsed query; raises ValueError when `text` is empty once cleaned (see `plain_query`)."""
        query = self._parsed.get(text)
        if query is None:
            query = self._parse(text)
            self._parsed.put(text, query)
        return query

    def _parse(self, text: str) -> Query:
        base = plain_query(text)
        words = _words(base.tokens, base.normalized)
        texts = [word.text for word in words]
        chosen = _segment(self._readings(texts[:MAX_SLOT_WORDS]), min(len(words), MAX_SLOT_WORDS))
        slots = tuple(Slot(m.name, m.value, m.confidence, " ".join(texts[m.start:m.end]),  # type: ignore[arg-type]
                           (words[m.start].start, words[m.end - 1].end)) for m in chosen)
        covered = {i for m in chosen for i in range(m.start, m.end)}
        residual = [t for i, t in enumerate(texts) if i not in covered]
        query_class = classify(texts, residual, slots, *self._vocabulary)
        return replace(base, slots=slots, residual=" ".join(residual), query_class=query_class)

    def _readings(self, texts: Sequence[str]) -> list[Match]:
        """Every candidate reading of the words, with the "by" cue applied and lone-word fallbacks filtered."""
        found = self.matcher.match(texts)
        for start in range(len(texts)):
            found.extend(Match("years", era.value, era.confidence, era.start, era.start + era.n_words)
                         for era in match_eras(texts, start))
            if texts[start] in KIND_WORDS:
                kind, confidence = KIND_WORDS[texts[start]]
                found.append(Match("kind", kind, confidence, start, start + 1))
        cued = [Match(m.name, m.value, max(m.confidence, CUE_CONFIDENCE), m.start - 1, m.end)
                for m in found if m.name == "artist" and m.start > 0 and texts[m.start - 1] == ARTIST_CUE]
        whole = (0, len(texts))
        return [m for m in found + cued
                if (m.fallback and (m.start, m.end) == whole) or (not m.fallback and m.confidence >= MIN_CONFIDENCE)]


def _words(tokens: tuple[str, ...], normalized: str) -> list[_Word]:
    """Group tokens into words: each whitespace chunk's first token is the word, its parts follow it."""
    words: list[_Word] = []
    position = 0
    for chunk in normalized.split():
        chunk_tokens = tokenize(chunk)
        if not chunk_tokens or position >= len(tokens):
            continue
        n = min(len(chunk_tokens), len(tokens) - position)
        if tuple(chunk_tokens[:n]) != tokens[position:position + n]:
            break  # folding was not idempotent on some exotic text: fall back to one word per token
        words.append(_Word(chunk_tokens[0], position, position + n))
        position += n
    if position != len(tokens):
        return [_Word(token, i, i + 1) for i, token in enumerate(tokens)]
    return words


def _segment(matches: list[Match], n_words: int) -> list[Match]:
    """The non-overlapping matches maximizing sum(confidence x n_words^1.5), in word order (ties: first
    in (start, end, name, value) order wins, so the result is deterministic)."""
    by_end: dict[int, list[Match]] = {}
    for match in sorted(matches, key=lambda m: (m.start, m.end, m.name, m.value, -m.confidence)):
        by_end.setdefault(match.end, []).append(match)
    best = [0.0] * (n_words + 1)
    back: list[Match | None] = [None] * (n_words + 1)
    for end in range(1, n_words + 1):
        best[end] = best[end - 1]
        for match in by_end.get(end, ()):
            score = best[match.start] + match.confidence * (match.end - match.start) ** 1.5
            if score > best[end] + 1e-9:
                best[end], back[end] = score, match
    chosen = []
    end = n_words
    while end > 0:
        match = back[end]
        if match is None:
            end -= 1
        else:
            chosen.append(match)
            end = match.start
    return chosen[::-1]


def classify(words: Sequence[str], residual: Sequence[str], slots: Sequence[Slot], topical: frozenset[str],
             generic: frozenset[str], title_words: frozenset[str]) -> QueryClass:
    """Guess the query class. Solid slots: every slot but a fallback artist (confidence >= MIN_CONFIDENCE).
    Content words: non-stopwords. Topical words: mood, tag and frequent playlist-name words, `TOPICAL_FILLERS`
    ("music", "mix", month names). Generic words: words of at least `GENERIC_TITLE_SHARE` of track titles.

    1. No solid slot and no content word left -> "ambiguous" ("the", "a").
    2. No solid artist, genre, years or kind slot, one or two content words, each topical and generic ->
       "ambiguous" ("love", "summer", "happy days"; but "country" names a genre: topical).
    3. A solid artist: with genre/mood/years slots and no title-like residual -> "topical" ("80s madonna
       dance"), else "spearfishing" ("taylor swift", "adele hello", "songs by drake").
    4. Title-like residual (content words not topical) at least half of the content residual ->
       "spearfishing" when something was recognized (a slot, or a word known from titles), else
       "ambiguous" (nothing recognized: "xqzv").
    5. Otherwise "topical" when a solid slot or a topical word exists, else "ambiguous".
    """
    solid = [slot for slot in slots if slot.confidence >= MIN_CONFIDENCE]
    content = [word for word in residual if word not in STOPWORDS]
    if not solid and not content:
        return "ambiguous"
    all_content = [word for word in words if word not in STOPWORDS]
    names = {slot.name for slot in solid}
    if (not names & {"artist", "genre", "years", "kind"} and 1 <= len(all_content) <= 2
            and all(word in topical and word in generic for word in all_content)):
        return "ambiguous"
    title_like = [word for word in content if word not in topical]
    if "artist" in names:
        return "topical" if names & {"genre", "mood", "years"} and not title_like else "spearfishing"
    if title_like and 2 * len(title_like) >= len(content):
        recognized = solid or any(word in title_words for word in title_like)
        return "spearfishing" if recognized else "ambiguous"
    return "topical" if solid or content else "ambiguous"
