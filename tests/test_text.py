"""Text keys and tokens: the fast path for plain ASCII text gives what the general path gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltrr import text

PIECES = ["the ", "The ", "feat ", " ft ", "featuring", " - ", "Remastered 2009", "(Live)", "[Demo]", "AC/DC",
          "p!nk", "don't", "Beyoncé", "&", "  ", "\t", "_", "x", "Love", "1999", "ß", "ﬁ", "ｆｕｌｌ", "- Radio Edit"]


@given(st.lists(st.sampled_from(PIECES) | st.text(alphabet="abcXYZ019 -()&'.", max_size=6), max_size=8))
@settings(max_examples=400, deadline=None)
def test_fast_paths_agree_with_the_general_path(pieces):
    sample = "".join(pieces)
    assert text.name_key(sample) == text._name_key(sample)
    assert text.title_key(sample) == text._title_key(sample)
    assert text.tokenize(sample) == text._tokenize(sample)


@pytest.mark.parametrize("sample, plain", [
    ("Night Drive", "night drive"), ("The Beatles", "the beatles"), ("song 2", "song 2"),
    ("Don't Stop", None), ("Beyoncé", None), ("tab\there", None), ("snake_case", None), ("", ""),
])
def test_only_letters_digits_and_spaces_take_the_fast_path(sample, plain):
    assert text._plain(sample) == plain


def test_fast_path_examples():
    assert text.name_key("The  Weeknd ") == "weeknd" and text.name_key("The") == "the"
    assert text.title_key("Closer feat Halsey") == "closer"  # a featuring word goes the general way
    assert text.tokenize("Back In  Black") == ["back", "in", "black"]
