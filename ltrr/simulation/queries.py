"""Query formulation for a session: the first query, then reformulations, each closer to the target.

The first query is what the user types for the intent (`QueryNoise` forms for a track; the playlist name,
lower-cased; the ambiguous word). On a voice device it is what the recognizer writes (`QueryNoise.voice`:
lower case, no punctuation, homophones) and carries no typing errors; otherwise it is misspelt with chance
`typo_rate`. Reformulations walk a ladder and never repeat an earlier query (compared folded):

- spearfish: the intended text without typos, then "artist title" (the full title when the track has no artist);
- topical: the clean name, then the name plus the tag most of its relevant tracks carry;
- ambiguous: the clean word, then the word plus the user's top genre (a non-mood tag; else its top artist).

On a voice device every reformulation is spoken too. Every random choice draws from `noise.rng`.
Labels (`forms`) name the formulation, suffixed "+typo" or "+voice" when those applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..text import fold, name_key
from ..types import Entity
from ..understanding.vocabulary import MOOD_WORDS
from .noise import QueryNoise

NEEDS_ARTIST = ("artist_title", "title_artist")
Formulation = tuple[tuple[str, ...], tuple[str, ...]]  # (queries, their form labels)


def spearfish_queries(noise: QueryNoise, track_id: str, title: str, artist: str, forms: Mapping[str, float], *,
                      typo_rate: float, voice: bool, max_reformulations: int) -> Formulation:
    """(queries, forms) for a known track `title` by `artist` ("" when unknown)."""
    entity = Entity(track_id, "track", title, "sim", track_id, artist_name=artist or None)
    allowed = [form for form, weight in forms.items() if weight > 0 and (artist or form not in NEEDS_ARTIST)]
    form = "title"
    if allowed:
        weights = np.array([forms[name] for name in allowed])
        form = allowed[int(noise.rng.choice(len(allowed), p=weights / weights.sum()))]
    intended = noise.formulate(entity, form)
    closer = ("artist_title", noise.formulate(entity, "artist_title")) if artist else \
        ("title", noise.formulate(entity, "title"))
    return _ladder(noise, form, intended, [(form, intended), closer], typo_rate, voice, max_reformulations)


def topical_queries(noise: QueryNoise, name: str, dominant_tag: str | None, *, typo_rate: float, voice: bool,
                    max_reformulations: int) -> Formulation:
    """(queries, forms) for a playlist name; `dominant_tag` is added unless the name already says it."""
    typed = " ".join(name.lower().split())
    steps = [("playlist_name", typed)]
    if dominant_tag and not set(name_key(dominant_tag).split()) <= set(name_key(typed).split()):
        steps.append(("playlist_name+tag", f"{typed} {dominant_tag}"))
    return _ladder(noise, "playlist_name", typed, steps, typo_rate, voice, max_reformulations)


def ambiguous_queries(noise: QueryNoise, word: str, user_tags: Sequence[str], top_artist: str | None, *,
                      typo_rate: float, voice: bool, max_reformulations: int) -> Formulation:
    """(queries, forms) for an ambiguous word; the last step narrows it by the user's taste."""
    steps = [("ambiguous_word", word)]
    genre = next((tag for tag in user_tags if tag not in MOOD_WORDS and tag != word), None)
    genre = genre or next((tag for tag in user_tags if tag != word), None)
    if genre:
        steps.append(("word+tag", f"{word} {genre}"))
    elif top_artist:
        steps.append(("word+artist", f"{word} {top_artist}"))
    return _ladder(noise, "ambiguous_word", word, steps, typo_rate, voice, max_reformulations)


def _ladder(noise: QueryNoise, form: str, intended: str, steps: list[tuple[str, str]], typo_rate: float,
            voice: bool, max_reformulations: int) -> Formulation:
    """The first query (spoken, or misspelt with chance `typo_rate`), then the distinct steps, at most
    `max_reformulations` of them."""
    first, first_form = intended, form
    if voice:
        first, first_form = noise.voice(intended), f"{form}+voice"
    elif noise.rng.random() < typo_rate:
        first = noise.add_typos(intended)
        first_form = f"{form}+typo" if first != intended else form
    queries, forms, seen = [first], [first_form], {fold(first)}
    for step_form, text in steps:
        if len(queries) > max_reformulations:
            break
        if voice:
            text, step_form = noise.voice(text), f"{step_form}+voice"
        if fold(text) not in seen:
            seen.add(fold(text))
            queries.append(text)
            forms.append(step_form)
    return tuple(queries), tuple(forms)
