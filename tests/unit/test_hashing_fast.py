"""The C-encoder fast path of canonicalize() writes exactly what the reference `rfc8785` package writes."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.scheme.jcs import MAX_SAFE_INTEGER, canonicalize, fast_canonicalize

# Strings over all of Unicode except lone surrogates (which both paths refuse), including control
# characters, quotes, backslashes, "/", DEL, U+2028 and astral characters.
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
ascii_keys = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
safe_ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
scalars = st.none() | st.booleans() | safe_ints | text
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(ascii_keys, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(ascii_keys, documents, max_size=6))
def test_fast_path_equals_reference_jcs(document):
    fast = fast_canonicalize(document)
    assert fast is not None
    assert fast == rfc8785.dumps(document)


def test_fast_path_declines_what_it_cannot_write_exactly():
    assert fast_canonicalize({"score": 1.5}) is None  # ECMAScript number formatting
    assert fast_canonicalize({"é": 1}) is None  # non-ASCII keys: UTF-16 ordering
    assert fast_canonicalize({"n": 2**60}) is None  # outside I-JSON
    assert fast_canonicalize({"s": "\ud800"}) is None  # lone surrogate
    assert fast_canonicalize(["not", "an", "object"]) is None
    # and canonicalize() still gives the reference bytes for those it can represent
    assert canonicalize({"score": 1.5, "é": 1, "b": [1e21, -0.0]}) == rfc8785.dumps(
        {"score": 1.5, "é": 1, "b": [1e21, -0.0]}
    )


def test_escapes_match_rfc8785_exactly():
    tricky = {"k": '\x00\x01\x1f"\\/\x7f\u2028\u00e9\U0001f600\b\f\n\r\t'}
    assert fast_canonicalize(tricky) == rfc8785.dumps(tricky)
