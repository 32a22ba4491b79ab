"""Eras and years in query words: "80s", "'80s", "90's", "eighties", "1980s", "2000s", "2014", "from 2010",
"early 90s", "2010-2015", "2010 to 2015".

Words arrive folded and tokenized ("'80s" and "80's" are the token "80s"; "2010-2015" is "20102015").
Two-digit decades read 00s-20s as 2000-2029 and 30s-90s as 1930-1999; the word "twenties" is the 1920s.
A decade is "LOW-HIGH" over its ten years ("2000s" -> 2000-2009); a single year is "YEAR-YEAR".

    >>> [era.value for era in match_eras(["best", "of", "the", "80s"], 2)]
    ['1980-1989']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

MIN_YEAR = 1900
MAX_YEAR = 2039
DECADE_WORDS = MappingProxyType({
    "twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960, "seventies": 1970,
    "eighties": 1980, "nineties": 1990, "noughties": 2000, "aughts": 2000,
})
# Part of a decade: "early 90s" is 1990-1993, "mid 90s" 1993-1996, "late 90s" 1996-1999.
PART_OF_DECADE = MappingProxyType({"early": (0, 3), "mid": (3, 6), "late": (6, 9)})
# Words that lead into an era and belong to its span: "from 2010", "in the 80s", "of the 90s".
LEAD_WORDS = frozenset({"from", "in", "of", "the"})
RANGE_WORDS = frozenset({"to", "through", "till", "until"})
_TWO_DIGIT_DECADE = re.compile(r"([0-9])0s")
_FOUR_DIGIT_DECADE = re.compile(r"((?:19|20)[0-9])0s")
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_JOINED_RANGE = re.compile(r"((?:19|20)[0-9]{2})((?:19|20)[0-9]{2})")


@dataclass(frozen=True, slots=True)
class Era:
    """Years [low, high] read from `n_words` query words starting at `start`, with a confidence in [0, 1]."""

    low: int
    high: int
    start: int
    n_words: int
    confidence: float

    @property
    def value(self) -> str:
        """The "years" slot value, "LOW-HIGH"."""
        return f"{self.low}-{self.high}"


def decade_of(word: str) -> tuple[int, float] | None:
    """(first year, confidence) of a decade word: "80s", "1980s", "eighties"; None for other words.

    >>> decade_of("90s"), decade_of("2000s"), decade_of("eighties"), decade_of("1985")
    ((1990, 0.95), (2000, 1.0), (1980, 0.95), None)
    """
    if word in DECADE_WORDS:
        return DECADE_WORDS[word], 0.95
    if match := _FOUR_DIGIT_DECADE.fullmatch(word):
        year = int(match.group(1)) * 10
        return (year, 1.0) if MIN_YEAR <= year <= MAX_YEAR else None
    if match := _TWO_DIGIT_DECADE.fullmatch(word):
        digit = int(match.group(1))
        return (2000 + 10 * digit if digit <= 2 else 1900 + 10 * digit), 0.95
    return None


def year_of(word: str) -> int | None:
    """The year a four-digit word names, within [MIN_YEAR, MAX_YEAR]; None otherwise."""
    if _YEAR.fullmatch(word) and MIN_YEAR <= int(word) <= MAX_YEAR:
        return int(word)
    return None


def match_eras(words: Sequence[str], start: int) -> list[Era]:
    """Every era reading that starts at word `start`, lead words ("from", "in the") included in its span."""
    lead = start
    while lead < len(words) and words[lead] in LEAD_WORDS and lead - start < 2:
        lead += 1
    return [Era(e.low, e.high, start, e.n_words + lead - start, e.confidence) for e in _core_eras(words, lead)]


def _core_eras(words: Sequence[str], start: int) -> list[Era]:
    if start >= len(words):
        return []
    word = words[start]
    eras = []
    if (decade := decade_of(word)) is not None:
        eras.append(Era(decade[0], decade[0] + 9, start, 1, decade[1]))
    elif word in PART_OF_DECADE and start + 1 < len(words) and (decade := decade_of(words[start + 1])):
        low, high = PART_OF_DECADE[word]
        eras.append(Era(decade[0] + low, decade[0] + high, start, 2, decade[1]))
    elif (year := year_of(word)) is not None:
        eras.append(Era(year, year, start, 1, 0.8))
        if start + 2 < len(words) and words[start + 1] in RANGE_WORDS:
            last = year_of(words[start + 2])
            if last is not None and last >= year:
                eras.append(Era(year, last, start, 3, 0.9))
    elif (match := _JOINED_RANGE.fullmatch(word)) and int(match.group(1)) <= int(match.group(2)):
        low, high = int(match.group(1)), int(match.group(2))
        if MIN_YEAR <= low and high <= MAX_YEAR:
            eras.append(Era(low, high, start, 1, 0.9))
    return eras
