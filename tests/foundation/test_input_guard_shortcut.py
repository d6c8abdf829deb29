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


def _expected(value: Any) -> tuple[str, str] | None:
    problem = value_problem(value, BIGINT)
    return ("body", problem) if problem else None


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_shortcut_refuses_what_the_full_check_refuses(value: Any) -> None:
    expected = _expected(value)
    assert _json_problem(json.dumps(value).encode()) == expected  # ASCII with \\u escapes, as most clients send
    try:
        raw = json.dumps(value, ensure_ascii=False).encode()  # UTF-8 as it is
    except UnicodeEncodeError:
        return  # a lone surrogate has no UTF-8 form: only the escaped body above can carry it
    assert _json_problem(raw) == expected


def test_examples_on_each_side_of_the_shortcut() -> None:
    assert _json_problem(b'{"a": "x\\u0000"}') == ("body", "['a']: must not contain NUL characters")
    assert _json_problem(b'{"a": "\\ud800"}') == ("body", "['a']: must not contain unpaired surrogate characters")
    assert _json_problem(b'{"a": 9223372036854775808}') is not None
    assert _json_problem(b'{"a": 9223372036854775807, "b": "1234567890123456789012"}') is None
    assert _json_problem('{"a": "caf\u00e9 \U0001f600"}'.encode()) is None
