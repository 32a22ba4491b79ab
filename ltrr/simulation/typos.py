"""The typing-error layer of the query noise: keyboard neighbours, sound-alike spellings, voice confusions, and
the candidate edits of each typo operator (`candidate_edits`), weighted so that short words and first letters
are edited rarely."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

OPERATORS = ("substitute", "delete", "insert", "transpose", "double", "phonetic", "strip")

# Letter keys next to each letter key on a QWERTY keyboard (rows offset as on real keyboards).
KEYBOARD_NEIGHBOURS = MappingProxyType({
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "wedazx", "d": "erfsxc", "f": "rtgdcv", "g": "tyhfvb",
    "h": "yujgbn", "j": "uikhnm", "k": "iojlm", "l": "opk", "z": "asx", "x": "sdzc", "c": "dfxv", "v": "fgcb",
    "b": "ghvn", "n": "hjbm", "m": "jkn"})
_DOUBLED = frozenset("bcdfgklmnprstzeo")  # letters people double or undouble ("metallica" -> "metalica")

# (pattern, replacement, example): spelling by sound. Matching ignores case; the replacement copies the case.
PHONETIC_RULES: tuple[tuple[str, str, str], ...] = (
    (r"ph", "f", "phantom -> fantom"), (r"\bf", "ph", "funk -> phunk"),
    (r"ce", "se", "beyonce -> beyonse"), (r"se\b", "ce", "sense -> sence"),
    (r"or\b", "er", "taylor -> tayler"), (r"ck", "k", "rock -> rok"),
    (r"y\b", "ie", "kelly -> kellie"), (r"ie\b", "y", "billie -> billy"),
    (r"ie(?=\w)", "ei", "believe -> beleive"), (r"ei", "ie", "their -> thier"),
    (r"ee", "ea", "sweet -> sweat"), (r"ea", "ee", "dream -> dreem"),
    (r"tion", "shun", "emotion -> emoshun"), (r"c(?=[aou])", "k", "metallica -> metallika"),
    (r"ight\b", "ite", "tonight -> tonite"), (r"s\b", "z", "boys -> boyz"),
    (r"wh", "w", "whitney -> witney"))
_PHONETIC = tuple((re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement, _ in PHONETIC_RULES)

# Words a speech recognizer confuses; groups sharing a word merge (two/2 joins to/too/two).
HOMOPHONES: tuple[tuple[str, ...], ...] = (
    ("to", "too", "two"), ("for", "four"), ("you", "u"), ("night", "nite"), ("tonight", "tonite"),
    ("are", "r"), ("be", "bee"), ("see", "sea"), ("why", "y"), ("by", "buy", "bye"), ("one", "won"),
    ("eight", "ate"), ("know", "no"), ("right", "write"), ("hear", "here"), ("new", "knew"), ("blue", "blew"),
    ("there", "their"), ("i", "eye"), ("son", "sun"), ("wait", "weight"), ("peace", "piece"), ("rain", "reign"),
    ("light", "lite"), ("through", "thru"))
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def _confusions() -> Mapping[str, tuple[str, ...]]:
    groups = [set(group) for group in HOMOPHONES]
    groups += [{str(n), word} for n, word in enumerate(_UNITS)]
    groups += [{str(20 + 10 * n), word} for n, word in enumerate(_TENS)]
    merged: list[set[str]] = []
    for group in groups:
        for other in [m for m in merged if m & group]:
            group |= other
            merged.remove(other)
        merged.append(group)
    return MappingProxyType({word: tuple(sorted(g - {word})) for g in merged for word in g})


VOICE_CONFUSIONS = _confusions()
_WORD_RUN = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_MAX_TRIES = 10  # draws per edit before giving up on a text with (almost) nothing left to edit


class Edit(NamedTuple):
    """Replace text[start:end] by `replacement`; `weight` is the edit's relative chance within its operator."""

    start: int
    end: int
    replacement: str
    weight: float

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end:]



def letter_weights(text: str, short_word_weight: float = 1.0, first_letter_weight: float = 1.0) -> list[float]:
    """Per character: how likely a typo lands there (0 for non-letters, so digits are never edited).

    >>> letter_weights("go 2pacs", short_word_weight=0.1, first_letter_weight=0.5)
    [0.05, 0.1, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    """
    weights = [0.0] * len(text)
    for match in _WORD_RUN.finditer(text):
        letters = [i for i in range(match.start(), match.end()) if text[i].isalpha()]
        base = short_word_weight if len(letters) <= 3 else 1.0
        for rank, i in enumerate(letters):
            weights[i] = base * (first_letter_weight if rank == 0 else 1.0)
    return weights


def candidate_edits(text: str, operator: str, weights: Sequence[float] | None = None) -> list[Edit]:
    """Every single edit `operator` can make to `text` (weights from `letter_weights` unless given).

    >>> [e.apply("aab") for e in candidate_edits("aab", "transpose")]
    ['aba']
    """
    if operator not in OPERATORS:
        raise ValueError(f"operator must be one of {list(OPERATORS)}, got {operator!r}")
    weights = letter_weights(text) if weights is None else weights
    if operator == "phonetic":
        return [Edit(m.start(), m.end(), _match_case(text, m.start(), m.end(), repl), max(weights[m.start()], 1e-3))
                for pattern, repl in _PHONETIC for m in pattern.finditer(text)]
    if operator == "strip":
        return _strip_edits(text)
    edits = []
    for i, ch in enumerate(text):
        weight, lower = weights[i], ch.lower()
        if weight <= 0:
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if operator in ("substitute", "insert") and lower in KEYBOARD_NEIGHBOURS:
            keys = KEYBOARD_NEIGHBOURS[lower]
            # a neighbour typed with the shift key held: a capital swapped, or an extra key inside a CAPS word
            keys = keys.upper() if ch.isupper() and (operator == "substitute" or nxt.isupper()) else keys
            at = (i, i + 1) if operator == "substitute" else (i + 1, i + 1)  # insert: the finger also hits a neighbour
            edits += [Edit(*at, key, weight / len(keys)) for key in keys]
        elif operator == "delete" and _WORD_CHAR.search(text[i - 1: i] + nxt):  # never delete a whole word
            edits.append(Edit(i, i + 1, "", weight))
        elif operator == "transpose" and nxt.isalpha() and nxt != ch:
            edits.append(Edit(i, i + 2, nxt + ch, weight))
        elif operator == "double" and lower in _DOUBLED:
            if nxt == ch:  # spelling a double letter single is the commoner error: twice a doubling's weight
                edits.append(Edit(i + 1, i + 2, "", 2 * weight))
            elif text[i - 1: i] != ch:
                edits.append(Edit(i + 1, i + 1, ch, weight))
    return edits


def phonetic_variants(text: str) -> list[str]:
    """Every text one phonetic rule away, in rule order.

    >>> phonetic_variants("beyonce"), phonetic_variants("Taylor Swift"), phonetic_variants("metallica")
    (['beyonse'], ['Tayler Swift'], ['metallika'])
    """
    return [edit.apply(text) for edit in candidate_edits(text, "phonetic")]


def _match_case(text: str, start: int, end: int, replacement: str) -> str:
    """`replacement` in the case of text[start:end]: "PH" in "FUNK", "Ph" in "Funk", "ph" in "funk"."""
    source = text[start:end]
    if source.isupper() and (len(source) > 1 or text[start - 1: start].isupper() or text[end: end + 1].isupper()):
        return replacement.upper()
    return replacement[0].upper() + replacement[1:] if source[0].isupper() else replacement


def _strip_edits(text: str) -> list[Edit]:
    """Drop one punctuation mark or accent: "AC/DC" -> "ACDC", "Beyoncé" -> "Beyonce"."""
    edits = []
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category[0] in "PM":  # M: a combining accent stored apart from its letter
            edits.append(Edit(i, i + 1, "", 1.0))
        elif category[0] == "L":
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
            if len(base) == 1 and base != ch:
                edits.append(Edit(i, i + 1, base, 1.0))
    return edits
