"""The input guard's shortcut (no parse when the raw body cannot hold an unstorable value) refuses exactly
what the full check refuses: JSON bodies of any shape, as clients encode them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.core.schemas import BIGINT, value_problem
from signalfire.core.web.input_guard import _json_problem

# Text that reaches every case: NUL, lone surrogates, non-ASCII, backslashes, digits.
TEXT = st.text(alphabet=st.sampled_from(["a", "7", "\\", "\x00", "\ud800", "\udfff", "é", "😀", '"', "u"]), max_size=30)
INTS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from([*BIGINT, BIGINT[0] - 1, BIGINT[1] + 1])
)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), INTS, st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)


def _full_check(body: bytes) -> tuple[str, str] | None:
    """The check without the shortcut: parse the body, then walk what it decodes to. (Not the Python value
    the body was made from: an escaped lone high surrogate followed by a lone low one decodes as one pair.)"""
    problem = value_problem(json.loads(body), BIGINT)
    return ("body", problem) if problem else None


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_shortcut_refuses_what_the_full_check_refuses(value: Any) -> None:
    escaped = json.dumps(value).encode()  # ASCII with \u escapes, as most clients send
    assert _json_problem(escaped) == _full_check(escaped)
    try:
        raw = json.dumps(value, ensure_ascii=False).encode()  # UTF-8 as it is
    except UnicodeEncodeError:
        return  # a lone surrogate has no UTF-8 form: only the escaped body above can carry it
    assert _json_problem(raw) == _full_check(raw)


def test_examples_on_each_side_of_the_shortcut() -> None:
    assert _json_problem(b'{"a": "x\\u0000"}') == ("body", "['a']: must not contain NUL characters")
    assert _json_problem(b'{"a": "\\ud800"}') == ("body", "['a']: must not contain unpaired surrogate characters")
    assert _json_problem(b'{"\\ud800\\udfff": null}') is None  # escaped, the two halves decode as one pair
    assert _json_problem(b'{"a": 9223372036854775808}') is not None
    assert _json_problem(b'{"a": 9223372036854775807, "b": "1234567890123456789012"}') is None
    assert _json_problem('{"a": "caf\u00e9 \U0001f600"}'.encode()) is None
