"""Bulk TAXII ingest: the pattern fast path agrees with the grammar parser, and batch outcomes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from signalfire.exchange.taxii.ingest import simple_pattern

# Fragments on both sides of the subset's edges: mostly ones the subset takes (so many generated
# patterns are in it), now and then one it must refuse (keywords, upper case, hyphens in the wrong
# place, hash paths, escapes, other operators, stray brackets and quotes).
_TYPES = (
    ["url", "file", "x-custom", "ipv4-addr", "a_b", "_x", "h", "t", "true_x", "falsey", "x-"],
    ["true", "false", "AND", "Url", "1x", "-x", "IN", "a.b", "a b", "'q'"],
)
_PROPERTIES = (
    ["value", "name", "hashes", "hashes", "md5", "sha1", "in", "_p", "h"],
    ["true", "MD5", "x-y", "1", "'SHA-256'", "[*]", "Name"],
)
_OPS = (["=", "!=", " = ", "= ", " != "], ["==", "<", " LIKE ", " MATCHES ", "! ="])
_LITERALS = (
    ["'x'", "''", "'a\\'b'", "'a\\\\b'", "'multi\nline'", "'d41d8cd98f00b204e9800998ecf8427e'", "'%'"],
    ["'a\\nb'", "'it''s'", "x", "1", "'unterminated", "t'2026-01-01T00:00:00Z'", "true"],
)
_JOINS = ([" AND ", " OR ", "\tOR\n", "  AND  "], [" and ", " FOLLOWEDBY ", "AND", ""])
_BRACKETS = (["[{}]", "[ {} ]", " [{}]\n"], ["({})", "[{}", "{}]", "[[{}]]"])


def _pick(draw: st.DrawFn, pools: tuple[list[str], list[str]]) -> str:
    good, bad = pools
    return draw(st.sampled_from(bad if draw(st.integers(0, 14)) == 0 else good))


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    path = _pick(draw, _TYPES) + ":" + ".".join(_pick(draw, _PROPERTIES) for _ in range(draw(st.integers(1, 3))))
    return path + _pick(draw, _OPS) + _pick(draw, _LITERALS)


@st.composite
def _pattern(draw: st.DrawFn) -> str:
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        parts = [draw(_comparison()) for _ in range(draw(st.integers(1, 3)))]
        inner = parts[0] + "".join(_pick(draw, _JOINS) + p for p in parts[1:])
        observations.append(_pick(draw, _BRACKETS).format(inner))
    return observations[0] + "".join(_pick(draw, _JOINS) + o for o in observations[1:])


@settings(max_examples=400, deadline=None)
@given(_pattern())
def test_every_pattern_the_fast_path_accepts_the_grammar_parser_accepts(pattern: str) -> None:
    if simple_pattern(pattern):
        assert run_validator(pattern, stix_version="2.1") == [], pattern


def test_the_fast_path_takes_the_common_shapes_and_leaves_the_rest_to_the_parser() -> None:
    taken = [
        "[url:value = 'https://prompts-1.example/jb']",
        "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
        "[x-lab:prompt.text != 'it\\'s'] AND [email-addr:value = 'a@b.example']",
        "  [file:name='a.bin']  ",
    ]
    left = [
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",  # hash values are format-checked by the parser
        "[file:size > 10]",
        "[url:value LIKE '%x%']",
        "[url:value = 'x'] WITHIN 10 SECONDS",
        "[true:value = 'x']",
        "[url:true = 'x']",
        "[url:Value = 'x']",
        "[url:value = 'a\\nb']",
        "url:value = 'x'",
        "[url:value = 'x'] FOLLOWEDBY [url:value = 'y']",
    ]
    assert [p for p in taken if not simple_pattern(p)] == []
    assert [p for p in left if simple_pattern(p)] == []
    assert all(run_validator(p, stix_version="2.1") == [] for p in taken)
