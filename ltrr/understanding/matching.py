"""Lexicon matches of query n-grams: artists, genres and moods, exact or within a few typos.

Every n-gram of 1 to `MAX_NGRAM` words is looked up by its `match_key` ("hip hop", "hip-hop" and "hiphop"
share the key "hiphop"). N-grams with no exact entry are looked up in a `FuzzyIndex` when they hold a word
that is not a known spelling (a stopword, mood, kind or tag word, a word of 0.01% of titles or of 0.1% of
playlist names is spelled right, not a typo). Every verified key becomes a reading; the parser's segmentation
keeps the most confident one.

Confidence (in [0, 1]) = prior x similarity^2, where similarity = 1 - edits / key length, and the prior is:
  artist: 0.6 + 0.4 x popularity; further x (0.4 + 0.6 x popularity) when every word of the n-gram is a
          known word (a title, playlist or tag word), so "good vibes" is an obscure band only weakly;
          a single stopword, mood or kind word ("the", "love", "songs") is a *fallback* artist, confidence 0.3,
          used only when it is the whole query;
  genre:  0.5 + 0.5 x min(1, log(1 + n) / log(101)), n = entities carrying the tag (1.0 from 100 entities);
  mood:   at least 0.85 when the catalog carries it, 0.6 for a mood word no entity carries yet.
Tags naming a decade or a year ("80s", "2010") are left to the years slot (`eras`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .eras import decade_of, year_of
from .fuzzy import FuzzyIndex
from .lexicon import Lexicon, match_key
from .vocabulary import KIND_WORDS, MOOD_ALIASES, MOOD_WORDS, STOPWORDS

MAX_NGRAM = 4
FALLBACK_CONFIDENCE = 0.3
UNTAGGED_MOOD_CONFIDENCE = 0.6
TAGGED_MOOD_CONFIDENCE = 0.85
# A word in this share of titles (and in 2+) is a known spelling, not a typo: rare title words (a title's
# own misspelling, a name) must not shield typos from the fuzzy lookup.
KNOWN_TITLE_SHARE = 0.0001
KNOWN_PLAYLIST_SHARE = 0.001
EntryName = Literal["artist", "genre", "mood"]


@dataclass(frozen=True, slots=True)
class Match:
    """A reading of words [start, end) as one slot. `fallback`: a common word read as an artist."""

    name: str
    value: str
    confidence: float
    start: int
    end: int
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    name: EntryName
    value: str
    prior: float
    popularity: float = 0.0


def tag_prior(count: int) -> float:
    """Prior confidence of a genre tag carried by `count` entities: 0.5 + 0.5 x min(1, log(1+n)/log(101))."""
    return 0.5 + 0.5 * min(1.0, math.log1p(count) / math.log(101))


class LexiconMatcher:
    """Exact and typo-tolerant lookups of query n-grams in a `Lexicon`."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.entries = _entries(lexicon)
        self.keys = sorted(self.entries)
        self.index = FuzzyIndex(self.keys)
        moods = {word for phrase in MOOD_WORDS for word in phrase.split()}
        self.common_words = frozenset(STOPWORDS | moods | set(KIND_WORDS))
        tag_words = {word for tag in lexicon.tags for word in tag.split()}
        title_min = max(2, math.ceil(KNOWN_TITLE_SHARE * lexicon.n_titles))
        title_words = {word for word, count in lexicon.title_words.items() if count >= title_min}
        self.known_words = frozenset(self.common_words | title_words | set(lexicon.playlist_words) | tag_words)
        # Playlist names hold artist names ("demi lovato"): only frequent playlist words are known spellings.
        playlist_min = max(2, math.ceil(KNOWN_PLAYLIST_SHARE * lexicon.n_playlists))
        self.spellings = frozenset(self.common_words | title_words | tag_words
                                   | {word for word, count in lexicon.playlist_words.items() if count >= playlist_min})

    def match(self, words: Sequence[str]) -> list[Match]:
        """Every artist, genre and mood reading of every n-gram of `words` (folded tokens, one per word)."""
        found: list[Match] = []
        fuzzy_keys: list[str] = []
        fuzzy_spans: list[tuple[int, int]] = []
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + MAX_NGRAM) + 1):
                key = match_key(" ".join(words[start:end]))
                if key in self.entries:
                    found.extend(self._readings(key, words, start, end, 0))
                elif self._fuzzy_eligible(words[start:end], key):
                    fuzzy_keys.append(key)
                    fuzzy_spans.append((start, end))
        for (start, end), hits in zip(fuzzy_spans, self.index.lookup_many(fuzzy_keys)):
            for owner, distance in hits:
                found.extend(self._readings(self.keys[owner], words, start, end, distance))
        return found

    def _fuzzy_eligible(self, gram: Sequence[str], key: str) -> bool:
        """Worth a typo lookup: 4+ characters and some word that is not a known spelling."""
        return len(key) >= 4 and any(word not in self.spellings for word in gram)

    def _readings(self, key: str, words: Sequence[str], start: int, end: int, distance: int) -> list[Match]:
        similarity = 1.0 - distance / max(len(key), 1)
        gram = words[start:end]
        readings = []
        for entry in self.entries[key]:
            confidence = entry.prior * similarity ** 2
            fallback = False
            if entry.name == "artist":
                if len(gram) == 1 and gram[0] in self.common_words:
                    confidence, fallback = min(confidence, FALLBACK_CONFIDENCE), True
                elif all(word in self.known_words for word in gram):
                    confidence *= 0.4 + 0.6 * entry.popularity
            readings.append(Match(entry.name, entry.value, round(confidence, 4), start, end, fallback))
        return readings


def _entries(lexicon: Lexicon) -> dict[str, list[_Entry]]:
    """match key -> entries: the most popular artist of the key, one genre or mood per key, curated moods."""
    entries: dict[str, list[_Entry]] = {}
    artists: dict[str, _Entry] = {}
    for artist in lexicon.artists.values():
        key = match_key(artist.key)
        if key and (key not in artists or artist.popularity > artists[key].popularity):
            artists[key] = _Entry("artist", artist.key, 0.6 + 0.4 * artist.popularity, artist.popularity)
    for key, entry in artists.items():
        entries.setdefault(key, []).append(entry)
    for key, entry in _tag_entries(lexicon).items():
        entries.setdefault(key, []).append(entry)
    return entries


def _tag_entries(lexicon: Lexicon) -> dict[str, _Entry]:
    """One entry per match key: the most frequent tag's name, the group's total count; then mood words."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for tag, count in lexicon.tags.items():
        key = match_key(tag)
        if key and decade_of(key) is None and year_of(key) is None:  # "80s", "2010": the years slot reads them
            groups.setdefault(key, []).append((count, tag))
    found: dict[str, _Entry] = {}
    for key, tags in groups.items():
        total = sum(count for count, _ in tags)
        name = min(tags, key=lambda pair: (-pair[0], len(pair[1]), pair[1]))[1]
        if any(tag in MOOD_WORDS for _, tag in tags):
            found[key] = _Entry("mood", name, max(TAGGED_MOOD_CONFIDENCE, tag_prior(total)))
        else:
            found[key] = _Entry("genre", name, tag_prior(total))
    for word in sorted(MOOD_WORDS):
        key = match_key(word)
        if key in found and found[key].name == "mood":
            continue
        target = MOOD_ALIASES.get(word, word)
        if target in lexicon.tags:
            found[key] = _Entry("mood", target, TAGGED_MOOD_CONFIDENCE * 0.95)
        elif key not in found:
            found[key] = _Entry("mood", target, UNTAGGED_MOOD_CONFIDENCE)
    return found
