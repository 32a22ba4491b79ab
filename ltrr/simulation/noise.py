"""Seeded query noise: the queries real users type for a target they know (a track or an artist).

Three layers, all drawn from one `np.random.default_rng(seed)` held by `QueryNoise`, so a fixed seed and
the same sequence of calls give the same queries:

1. formulation (`formulate`): which words of the target the user types (FORMS);
2. typing errors (`add_typos`): operators on the typed text (OPERATORS). Every operator but "phonetic" moves
   the text by a Damerau-Levenshtein distance of exactly 1; a "phonetic" rewrite of a letter group moves it by
   1 to 3 ("beyonce" -> "beyonse" is 1, "phantom" -> "fantom" 2, "emotion" -> "emoshun" 3);
3. voice-device confusions (`voice`): what a speech recognizer writes for the spoken text.

Typos never touch digits, never empty a word and never return a blank text. Few misspellings involve a
word's first letter (Pollock & Zamora, CACM 1984), hence `first_letter_weight`; short words are edited rarely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..text import fold, strip_version
from ..types import Entity
from .typos import (  # noqa: F401  re-exported: the tables and edits are part of the noise model's surface
    _APOSTROPHE,
    _DOUBLED,
    _EDGE_PUNCT,
    _MAX_TRIES,
    _PHONETIC,
    _TENS,
    _UNITS,
    _WORD_CHAR,
    _WORD_RUN,
    HOMOPHONES,
    KEYBOARD_NEIGHBOURS,
    OPERATORS,
    PHONETIC_RULES,
    VOICE_CONFUSIONS,
    Edit,
    _match_case,
    _strip_edits,
    candidate_edits,
    letter_weights,
    phonetic_variants,
)

FORMS = ("title", "artist_title", "title_artist", "partial_title", "word_drop")
DEFAULT_FORM_WEIGHTS = MappingProxyType(
    {"title": 0.3, "artist_title": 0.25, "title_artist": 0.1, "partial_title": 0.2, "word_drop": 0.15})
PARTIAL_PREFIX_RATE = 0.5
"""Default chance that a partial title starts at the title's first word (`QueryNoise.partial_prefix_rate`)."""
DEFAULT_OPERATOR_WEIGHTS = MappingProxyType({"substitute": 0.25, "delete": 0.2, "insert": 0.1, "transpose": 0.15,
                                             "double": 0.1, "phonetic": 0.12, "strip": 0.08})

@dataclass(frozen=True, slots=True)
class NoisyQuery:
    """A simulated query for one known target: `form` says which words were typed (`intended`, before typos),
    `n_edits` how many typo operators were applied (in order: `operators`); 0 for a clean query."""

    text: str
    target_entity_id: str
    form: str
    n_edits: int
    operators: tuple[str, ...] = ()
    intended: str = ""


def _check_weights(name: str, weights: Mapping[str, float], allowed: Sequence[str]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(allowed))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; use some of {list(allowed)}")
    values = _check_vector(name, [weights.get(key, 0.0) for key in allowed], f"keys in order: {list(allowed)}")
    return dict(zip(allowed, values.tolist()))


def _check_rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {text!r}; give the text to add noise to")


def clean_title(title: str) -> str:
    """A title as a user would type it: version decorations dropped, casing and words kept.

    >>> clean_title("Yesterday - Remastered 2009"), clean_title("Closer (feat. Halsey)")
    ('Yesterday', 'Closer')
    """
    base = strip_version(title)
    return " ".join(base.split()) or " ".join(title.split())


def title_words(title: str) -> list[str]:
    """The words a part of a title is drawn from: those with a letter or digit ("/" and "-" are not words)."""
    return [word for word in title.split() if _WORD_RUN.search(word)]


def typed_run(words: Sequence[str]) -> str:
    """A run of title words as typed: joined, punctuation at its two edges dropped ("Jude," -> "Jude")."""
    run = " ".join(words)
    return _EDGE_PUNCT.sub("", run) or run


class QueryNoise:
    """Turns known targets into noisy user queries, reproducibly for a fixed seed.

    typo_rate: chance a `spearfish_queries` query is misspelt at all (about 10-15% of web queries are,
    Cucerzan & Brill, EMNLP 2004). edit_count_weights: relative chances of 1, 2, ... edits in a misspelt
    query (default: 80% one edit, 20% two). operator_weights: relative chances of OPERATORS (missing keys: 0).
    short_word_weight / first_letter_weight: how much less likely an edit lands in a word of <= 3 letters /
    on a word's first letter. partial_prefix_rate: chance a partial title starts at the title's first word.
    voice_rate: chance `voice` swaps a word that has a homophone or number form.

        >>> noise = QueryNoise(seed=16)
        >>> noise.add_typos("Taylor Swift"), noise.add_typos("Metallica", n_edits=1)
        ('Tylor Swift', 'Metalica')
    """

    def __init__(self, seed: int | None = None, typo_rate: float = 0.15,
                 edit_count_weights: Sequence[float] = (0.8, 0.2),
                 operator_weights: Mapping[str, float] = DEFAULT_OPERATOR_WEIGHTS, short_word_weight: float = 0.1,
                 first_letter_weight: float = 0.2, partial_prefix_rate: float = PARTIAL_PREFIX_RATE,
                 voice_rate: float = 0.5) -> None:
        self.seed = seed
        self.typo_rate = _check_rate("typo_rate", typo_rate)
        self.edit_count_weights = tuple(_check_vector("edit_count_weights", edit_count_weights, "e.g. (0.8, 0.2)"))
        self.operator_weights = _check_weights("operator_weights", operator_weights, OPERATORS)
        self.short_word_weight = _check_rate("short_word_weight", short_word_weight)
        self.first_letter_weight = _check_rate("first_letter_weight", first_letter_weight)
        self.partial_prefix_rate = _check_rate("partial_prefix_rate", partial_prefix_rate)
        self.voice_rate = _check_rate("voice_rate", voice_rate)
        self.rng = np.random.default_rng(seed)

    def edit_count_probabilities(self) -> np.ndarray:
        """P(n edits) for n = 1, 2, ... in a misspelt query (the normalized `edit_count_weights`)."""
        return np.asarray(self.edit_count_weights) / sum(self.edit_count_weights)

    def formulate(self, entity: Entity, form: str) -> str:
        """The words a user types for `entity` (a track; for other kinds the name plays the title).

        >>> track = Entity("t1", "track", "Hey Jude - Remastered 2015", "demo", "1", artist_name="The Beatles")
        >>> noise = QueryNoise(seed=0)
        >>> [noise.formulate(track, form) for form in ("title", "artist_title", "title_artist")]
        ['Hey Jude', 'The Beatles Hey Jude', 'Hey Jude The Beatles']
        """
        if form not in FORMS:
            raise ValueError(f"form must be one of {list(FORMS)}, got {form!r}")
        title = clean_title(entity.name) if entity.kind in ("track", "album") else " ".join(entity.name.split())
        artist = " ".join((entity.artist_name or "").split())
        if not title:
            raise ValueError(f"entity {entity.entity_id!r} has a blank name {entity.name!r}; nothing to query")
        if form in ("artist_title", "title_artist") and not artist:
            raise ValueError(f"form {form!r} needs an artist name; entity {entity.entity_id!r} has none, "
                             "use 'title', 'partial_title' or 'word_drop'")
        whole = {"title": title, "artist_title": f"{artist} {title}", "title_artist": f"{title} {artist}"}
        if form in whole:
            return whole[form]
        return self._partial(title) if form == "partial_title" else self._drop_word(f"{artist} {title}".strip())

    def _partial(self, title: str) -> str:
        """A contiguous run of the title's words, at least one word shorter than the title (if it has two)."""
        words = title_words(title)
        if len(words) < 2:
            return title
        length = int(self.rng.integers(1, len(words)))
        at_first_word = self.rng.random() < self.partial_prefix_rate
        start = 0 if at_first_word else int(self.rng.integers(0, len(words) - length + 1))
        return typed_run(words[start: start + length])

    def _drop_word(self, text: str) -> str:
        """`text` less one of its words other than the first (unchanged with a single word)."""
        words = text.split()
        droppable = [i for i, word in enumerate(words) if i > 0 and _WORD_RUN.search(word)]
        if not droppable:
            return text
        drop = droppable[int(self.rng.integers(len(droppable)))]
        return " ".join(word for i, word in enumerate(words) if i != drop)

    def add_typos(self, text: str, n_edits: int | None = None) -> str:
        """`text` with `n_edits` typos (drawn from `edit_count_weights` when None).

        Each edit picks an operator among those that can edit the text, then one of its edits by weight.
        An edit that returns a text seen before (or a blank one) is redrawn, so the result differs from the
        input whenever an edit was made. Texts with fewer editable places get fewer edits ("2012": none).
        """
        return self._misspell(text, n_edits)[0]

    def _misspell(self, text: str, n_edits: int | None) -> tuple[str, tuple[str, ...]]:
        """(misspelt text, the operators applied in order)."""
        _check_text(text)
        if n_edits is None:
            n_edits = int(self.rng.choice(len(self.edit_count_weights), p=self.edit_count_probabilities())) + 1
        if isinstance(n_edits, bool) or not isinstance(n_edits, (int, np.integer)) or n_edits < 0:
            raise ValueError(f"n_edits must be an int >= 0 or None, got {n_edits!r}")
        seen, applied = {text}, []
        for _ in range(n_edits):
            step = self._one_edit(text, seen)
            if step is None:
                break
            text, operator = step
            seen.add(text)
            applied.append(operator)
        return text, tuple(applied)

    def _one_edit(self, text: str, seen: set[str]) -> tuple[str, str] | None:
        weights = letter_weights(text, self.short_word_weight, self.first_letter_weight)
        options = {op: edits for op, w in self.operator_weights.items()
                   if w > 0 and (edits := candidate_edits(text, op, weights))}
        if not options:
            return None
        names = list(options)
        operator_p = np.array([self.operator_weights[name] for name in names])
        for _ in range(_MAX_TRIES):
            name = names[int(self.rng.choice(len(names), p=operator_p / operator_p.sum()))]
            edit_p = np.array([edit.weight for edit in options[name]])
            result = options[name][int(self.rng.choice(len(edit_p), p=edit_p / edit_p.sum()))].apply(text)
            if result not in seen and result.strip():
                return result, name
        return None

    def voice(self, text: str) -> str:
        """What a speech recognizer writes for `text` spoken aloud.

        Lower-cased and accent-folded, punctuation dropped ("don't" -> "dont"), then each word with a
        homophone or number form ("2" <-> "two", "to"/"too", "for"/"4", "night"/"nite", VOICE_CONFUSIONS) is
        swapped with chance `voice_rate`; "21".."99" may be spelled out ("22" -> "twenty two"). Multi-word
        numbers are not turned back into digits. A text with nothing to say is returned as given.

        >>> QueryNoise(seed=1, voice_rate=1.0).voice("Love Me 2 Times!")
        'love me two times'
        """
        _check_text(text)
        spoken = " ".join(re.sub(r"[^\w\s]+", " ", _APOSTROPHE.sub("", fold(text))).split())
        if not spoken:
            return text
        words = []
        for word in spoken.split():
            options = VOICE_CONFUSIONS.get(word) or _spelled(word)
            if options and self.rng.random() < self.voice_rate:
                word = options[int(self.rng.integers(len(options)))]
            words.append(word)
        return " ".join(words)

    def spearfish_queries(self, entities: Sequence[Entity], n: int,
                          forms_weights: Mapping[str, float] = DEFAULT_FORM_WEIGHTS, *, typo: bool = True,
                          popularity: Sequence[float] | np.ndarray | None = None) -> list[NoisyQuery]:
        """`n` queries, each for a target drawn (with replacement) from `entities`: uniformly, or in
        proportion to `popularity` (one weight >= 0 per entity). Each query's form is drawn from
        `forms_weights` among the forms the target supports (no artist name: no "artist_title" or
        "title_artist"; "title" if none is left). With `typo`, a query is misspelt with chance `typo_rate`.

        >>> track = Entity("t1", "track", "Hey Jude", "demo", "1", artist_name="The Beatles")
        >>> [q.text for q in QueryNoise(seed=3).spearfish_queries([track], 2, {"artist_title": 1.0}, typo=False)]
        ['The Beatles Hey Jude', 'The Beatles Hey Jude']
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        form_weights = _check_weights("forms_weights", forms_weights, FORMS)
        if n and not entities:
            raise ValueError("entities is empty; give at least one target entity")
        targets = self.rng.choice(len(entities), size=n, p=_popularity_p(popularity, len(entities))) if n else []
        return [self._spearfish_one(entities[int(i)], form_weights, typo) for i in targets]

    def _spearfish_one(self, entity: Entity, form_weights: dict[str, float], typo: bool) -> NoisyQuery:
        needs_artist = ("artist_title", "title_artist")
        allowed = [f for f, w in form_weights.items() if w > 0 and (entity.artist_name or f not in needs_artist)]
        form = "title"
        if allowed:
            p = np.array([form_weights[f] for f in allowed])
            form = allowed[int(self.rng.choice(len(allowed), p=p / p.sum()))]
        text = intended = self.formulate(entity, form)
        operators: tuple[str, ...] = ()
        if typo and self.rng.random() < self.typo_rate:
            text, operators = self._misspell(intended, None)
        return NoisyQuery(text, entity.entity_id, form, len(operators), operators, intended)


def _spelled(word: str) -> tuple[str, ...]:
    """("twenty two",) for "22": two-digit numbers without a one-word name."""
    if word.isascii() and word.isdigit() and word == str(int(word)) and 21 <= int(word) <= 99 and int(word) % 10:
        return (f"{_TENS[int(word) // 10 - 2]} {_UNITS[int(word) % 10]}",)
    return ()


def _check_vector(name: str, values: Sequence[float] | np.ndarray, fix: str) -> np.ndarray:
    weights = np.asarray(values, dtype=float)
    if weights.ndim != 1 or weights.size == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0) \
            or weights.sum() <= 0:
        raise ValueError(f"{name} must be finite weights >= 0, not empty and not all 0, got {values!r}; {fix}")
    return weights


def _popularity_p(popularity: Sequence[float] | np.ndarray | None, n_entities: int) -> np.ndarray | None:
    if popularity is None:
        return None
    fix = "add a constant (e.g. playlist_count + 1) to zero-popularity targets"
    weights = _check_vector("popularity", popularity, fix)
    if weights.shape != (n_entities,):
        raise ValueError(f"popularity must hold one weight per entity ({n_entities}), got shape {weights.shape}")
    return weights / weights.sum()
