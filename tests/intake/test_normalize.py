"""Decoding, HTML-to-text and matching normalisation of untrusted input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.intake.normalize import decode_text, html_to_text, normalize_for_matching

# --- decode_text -----------------------------------------------------------------------------------


def test_declared_charset_is_used_when_it_fits() -> None:
    raw = "これは警告です".encode("shift_jis")
    assert decode_text(raw, "Shift_JIS") == "これは警告です"


def test_utf8_wins_over_a_wrong_declared_ascii_label() -> None:
    assert decode_text("Zürich “model” incident".encode(), "us-ascii") == "Zürich “model” incident"


def test_latin1_label_is_read_as_windows_1252() -> None:
    # Curly quotes are 0x93/0x94 in windows-1252 and C1 controls in real latin-1.
    raw = "“Tern” déjà".encode("cp1252")
    assert decode_text(raw, "ISO-8859-1") == "“Tern” déjà"


def test_undeclared_non_utf8_falls_back_to_windows_1252() -> None:
    assert decode_text("caf\u00e9 \u2013 ok".encode("cp1252"), None) == "caf\u00e9 \u2013 ok"


def test_bytes_undefined_in_windows_1252_become_replacement_characters() -> None:
    assert decode_text(b"a\x81b\x9dc", None) == "a\ufffdb\ufffdc"


@pytest.mark.parametrize("label", ["no-such-charset", "base64", "rot13", "", "  ", '"utf-8"', "x" * 500])
def test_unknown_or_non_text_labels_are_ignored(label: str) -> None:
    assert decode_text("naïve".encode(), label) == "naïve"


def test_byte_order_mark_wins_over_the_label() -> None:
    assert decode_text(b"\xef\xbb\xbfhello", "cp1252") == "hello"
    assert decode_text(b"\xff\xfe" + "hi".encode("utf-16-le"), None) == "hi"


def test_nul_characters_are_removed() -> None:
    assert decode_text(b"a\x00b", "utf-8") == "ab"


@settings(max_examples=200, deadline=None)
@given(
    raw=st.binary(max_size=300),
    label=st.sampled_from([None, "utf-8", "latin-1", "cp1252", "shift_jis", "utf-16", "bogus", "base64"]),
)
def test_decode_text_never_raises(raw: bytes, label: str | None) -> None:
    text = decode_text(raw, label)
    assert isinstance(text, str)
    assert "\x00" not in text


# --- html_to_text ----------------------------------------------------------------------------------


def test_text_is_extracted_with_entities_decoded_and_blocks_on_lines() -> None:
    html = """<html><head><title>Bulletin</title><style>p { color: red }</style></head>
    <body><h1>Rollback   complete</h1>
      <p>Model&nbsp;<b>m-7.2</b> was rolled back &amp; verified.</p>
      <ul><li>Tool use: off</li><li>Browsing: on</li></ul>
      <table><tr><td>EU</td><td>done</td></tr><tr><td>US</td><td>done</td></tr></table>
    </body></html>"""
    assert html_to_text(html, max_chars=500) == (
        "Bulletin\nRollback complete\nModel m-7.2 was rolled back & verified.\n"
        "Tool use: off\nBrowsing: on\nEU done\nUS done"
    )


def test_script_style_iframe_and_comments_are_dropped() -> None:
    html = (
        "<p>before</p><script>if (a<b) { document.write('<p>bad</p>') }</script>"
        "<STYLE>.x{}</STYLE ><iframe src=https://ads.example>Your browser lacks iframes</iframe>"
        "<noscript>enable js</noscript><!-- hidden <p>comment</p> --><svg><text>chart</text></svg>"
        "<p>after</p>"
    )
    assert html_to_text(html, max_chars=200) == "before\nafter"


def test_markup_lookalikes_in_text_and_attributes_are_handled() -> None:
    html = "<a title='x > y' href=\"/a?b=1&c=2\">link</a> 3 < 4 and 5 > 2, <![CDATA[raw <b>]]>"
    assert html_to_text(html, max_chars=200) == "link 3 < 4 and 5 > 2, raw <b>"


def test_unterminated_constructs_swallow_the_rest_like_a_browser() -> None:
    assert html_to_text("kept <!-- never closed <p>lost</p>", max_chars=100) == "kept"
    assert html_to_text('kept <a href="never closed>lost', max_chars=100) == "kept"
    assert html_to_text("kept <script>lost", max_chars=100) == "kept"


def test_output_is_cut_at_a_word_boundary_within_max_chars() -> None:
    text = html_to_text("<p>" + "incident report " * 50 + "</p>", max_chars=40)
    assert len(text) <= 40
    assert text.endswith("…")
    assert text == "incident report incident report…"


def test_max_chars_of_one_and_invalid_max_chars() -> None:
    assert html_to_text("abc", max_chars=1) == "…"
    assert html_to_text("a", max_chars=1) == "a"
    with pytest.raises(ValueError, match="max_chars"):
        html_to_text("abc", max_chars=0)


def test_input_beyond_max_input_chars_is_not_read() -> None:
    html = "<p>start</p>" + " " * 1000 + "<p>hidden tail</p>"
    assert html_to_text(html, max_chars=100, max_input_chars=500) == "start"


# Each of these makes CPython 3.11.7's HTMLParser quadratic (the first takes minutes at this size).
HOSTILE = {
    "unterminated comments": "<!--" * 100_000,
    "open tags": "<a" * 200_000,
    "broken end tags": "</a <b" * 66_000,
    "quote soup": "<a '" * 100_000,
    "processing instructions": "<?" * 200_000,
    "unclosed attribute values": '<a b="' * 66_000,
    "bang": "<!" * 200_000,
    "deep nesting": "<svg><div>" * 40_000,
    "entities": "&#" * 200_000,
}


@pytest.mark.parametrize("html", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markup_takes_linear_time(html: str) -> None:
    started = time.perf_counter()
    text = html_to_text(html, max_chars=1000)
    # A bound against super-linear parsing, not a speed test (a quadratic parse of these takes minutes);
    # the margin keeps a loaded CI machine from failing it.
    assert time.perf_counter() - started < 30
    assert len(text) <= 1000


@settings(max_examples=300, deadline=None)
@given(
    html=st.text(alphabet="<>/!?-='\" abcdefghijklmnopqrstuvwxyz&#;\n\tSCRIPTsvgp", max_size=400),
    max_chars=st.integers(min_value=1, max_value=200),
)
def test_html_to_text_never_raises_and_respects_the_limit(html: str, max_chars: int) -> None:
    text = html_to_text(html, max_chars=max_chars)
    assert len(text) <= max_chars
    assert text == text.strip()
    assert "  " not in text


@settings(max_examples=100, deadline=None)
@given(secret=st.text(alphabet="abcdefghij <>&", min_size=1, max_size=30))
def test_script_content_never_leaks(secret: str) -> None:
    html = f"<p>visible</p><script>{secret}</script><style>{secret}</style>"
    assert html_to_text(html, max_chars=200) == "visible"


# --- normalize_for_matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Northwind AI's TERN agent!", "northwind ais tern agent"),
        ("See https://example.org/a?b=1 and www.example.com/x for more", "see and for more"),
        ("\uff27\uff30\uff34\uff0d\uff14\uff4f (full-width)", "gpt 4o full width"),
        ("Straße — “quoted”, naïve…", "strasse quoted naïve"),
        ("  multiple\n\twhitespace\u00a0here ", "multiple whitespace here"),
        ("模型 事故 报告", "模型 事故 报告"),
        ("", ""),
    ],
)
def test_normalize_for_matching(text: str, expected: str) -> None:
    assert normalize_for_matching(text) == expected


@given(st.text(max_size=200))
def test_normalize_for_matching_is_idempotent(text: str) -> None:
    once = normalize_for_matching(text)
    assert normalize_for_matching(once) == once
