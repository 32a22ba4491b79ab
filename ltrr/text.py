"""Text normalization shared by ingestion (matching names across sources) and retrieval.

`fold` keeps word structure (case and accent folding, Unicode compatibility forms); `name_key`
builds a matching key for names from different sources ("Beyoncé" == "beyonce", "AC/DC" == "ACDC");
`title_key` also drops version decorations ("- Remastered 2011", "(feat. X)", "(Live)").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Punctuation inside a word joins its parts ("ac/dc" -> "acdc", "p!nk" -> "pnk"); between words it separates.
_INNER_PUNCT = re.compile(r"(?<=\w)[^\w\s]+(?=\w)")
_NON_WORD = re.compile(r"[^\w\s]+")
_VERSION_DASH = re.compile(
    r"\s+-\s+(?:.*\b(?:remaster\w*|live|version|mix|edit|mono|stereo|acoustic|demo|remix|radio|"
    r"single|original|bonus|deluxe|explicit|clean|instrumental|recorded|from|feat\w*)\b.*|\d{4}.*)$",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)
# Credit separators on chart data: "X Featuring Y", "X & Y", "X x Y", "X With Y", "X, Y", "X / Y".
_CREDIT_SPLIT = re.compile(
    r"\s+(?:featuring|feat\.?|ft\.?|with|x|vs\.?|and|duet with)\s+|\s*[&,/+]\s*", re.IGNORECASE
)


_PLAIN = re.compile(r"[a-z0-9 ]*")
_FEATURING_WORD = re.compile(r"\s(?:feat|ft|featuring)\b")


def _plain(text: str) -> str | None:
    """`text` lower-cased when it holds only ASCII letters, digits and spaces (no punctuation, accents or other
    whitespace), else None: such text folds, keys and tokenizes by splitting on spaces, which the fast paths
    below do (the same results as the general path, checked in tests/test_text.py)."""
    if not text.isascii():
        return None
    lower = text.lower()
    return lower if _PLAIN.fullmatch(lower) else None


def fold(text: str) -> str:
    """Lower-case, strip accents, apply NFKC compatibility forms, collapse whitespace."""
    if text.isascii():  # fast path: nothing to decompose
        return _SPACE.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", stripped).casefold()).strip()


def name_key(text: str) -> str:
    """A matching key for an artist, playlist or tag name across sources.

    >>> name_key("Beyoncé"), name_key("AC/DC"), name_key("The Weeknd"), name_key("Simon & Garfunkel")
    ('beyonce', 'acdc', 'weeknd', 'simon and garfunkel')
    """
    plain = _plain(text)
    if plain is not None:
        key = " ".join(plain.split())
        return key[4:] if key.startswith("the ") and len(key) > 4 else key
    return _name_key(text)


def _name_key(text: str) -> str:
    """`name_key` without the fast path."""
    folded = fold(text).replace("&", " and ")
    joined = _INNER_PUNCT.sub("", folded)
    key = _SPACE.sub(" ", _NON_WORD.sub(" ", joined)).strip()
    if key.startswith("the ") and len(key) > 4:
        key = key[4:]
    return key


def strip_version(title: str) -> str:
    """The title without version decorations, words and casing kept.

    >>> strip_version("Yesterday - Remastered 2009"), strip_version("Closer (feat. Halsey)")
    ('Yesterday', 'Closer')
    """
    return _FEATURING.sub("", _BRACKETED.sub("", _VERSION_DASH.sub("", title))).strip()


def title_key(title: str) -> str:
    """A matching key for a track title that ignores version decorations.

    >>> title_key("Yesterday - Remastered 2009"), title_key("Closer (feat. Halsey)"), title_key("HUMBLE.")
    ('yesterday', 'closer', 'humble')
    """
    plain = _plain(title)
    if plain is not None and not _FEATURING_WORD.search(plain):  # nothing for strip_version to drop
        return name_key(title)
    return _title_key(title)


def _title_key(title: str) -> str:
    """`title_key` without the fast path."""
    return _name_key(strip_version(title)) or _name_key(title)


def credit_artists(credit: str) -> list[str]:
    """Split a free-text artist credit into artist names, primary first.

    >>> credit_artists("Babyface Featuring LL Cool J, Howard Hewett & Jody Watley")
    ['Babyface', 'LL Cool J', 'Howard Hewett', 'Jody Watley']
    """
    parts = [part.strip() for part in _CREDIT_SPLIT.split(credit)]
    return [part for part in parts if part]


_WORD = re.compile(r"\w+(?:[^\w\s]+\w+)*")  # a word, with punctuation inside it kept: "ac/dc", "p!nk", "don't"


def tokenize(text: str) -> list[str]:
    """Search tokens: folded words; a word with inner punctuation gives its joined form and its parts.

    >>> tokenize("AC/DC - Back in Black"), tokenize("P!nk"), tokenize("2Pac feat. Beyoncé")
    (['acdc', 'ac', 'dc', 'back', 'in', 'black'], ['pnk', 'nk'], ['2pac', 'feat', 'beyonce'])
    """
    plain = _plain(text)
    if plain is not None:
        return plain.split()
    return _tokenize(text)


def _tokenize(text: str) -> list[str]:
    """`tokenize` without the fast path."""
    tokens: list[str] = []
    for match in _WORD.finditer(fold(text)):
        word = match.group()
        joined = _INNER_PUNCT.sub("", word)
        tokens.append(joined)
        if joined != word:
            tokens.extend(part for part in _NON_WORD.split(word) if len(part) > 1)
    return tokens


def tag_name(text: str) -> str:
    """Canonical form of a tag or genre: folded, single-spaced ("Hip-Hop " -> "hip-hop")."""
    return fold(text)


def short_hash(text: str, n_hex: int = 16) -> str:
    """A stable hex digest of `text` (blake2b), for ids derived from free-text names."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=n_hex // 2).hexdigest()
