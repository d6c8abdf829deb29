"""Turn untrusted bytes and markup from outside sources into plain text.

Everything here is pure and bounded: intake runs these functions on feeds and pages that anyone on
the internet controls, so none of them may raise on bad encodings or take super-linear time on
hostile markup.

Why a pre-pass before ``html.parser``: on CPython 3.11.7 (the version this project pins) the stdlib
``HTMLParser`` is quadratic on malformed input. ``"<!--" * 250_000`` takes minutes and
``"<a" * 50_000`` several seconds, because every unterminated construct makes it search to the end of
the buffer again (upstream fixes landed in later patch releases). ``_markup_pieces`` therefore
tokenises the markup itself in one forward pass, drops comments, declarations and raw-text elements
(script, style, iframe, ...), and hands the parser only text plus canonical tags such as ``<p>`` and
``</div>``. The parser still does what it is good at: entity decoding and tag dispatch.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser

__all__ = [
    "DEFAULT_MAX_HTML_INPUT_CHARS",
    "decode_text",
    "html_to_text",
    "normalize_for_matching",
]

# Input beyond this is cut off before any parsing; a feed summary or article body is far smaller.
DEFAULT_MAX_HTML_INPUT_CHARS = 1_000_000

# Labels that servers commonly use for text that is really windows-1252 (curly quotes in 0x80-0x9F).
# The WHATWG Encoding Standard maps them to windows-1252 for the same reason.
_CP1252_LABELS = frozenset({"iso8859-1", "ascii", "cp1252"})
_MAX_CHARSET_LABEL = 40


def decode_text(raw: bytes, declared_charset: str | None) -> str:
    """Decode ``raw`` to text without ever raising.

    Order: a byte-order mark (it wins over any label, as in browsers), then ``declared_charset``
    (e.g. from a ``Content-Type`` header; unknown or non-text codecs are ignored), then UTF-8, then
    windows-1252 with undecodable bytes replaced by U+FFFD. Latin-1 and ASCII labels are read as
    windows-1252. NUL characters are removed because PostgreSQL text columns cannot store them.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(codec, errors="replace").replace("\x00", "")

    candidates: list[str] = []
    declared = _codec_name(declared_charset)
    if declared in _CP1252_LABELS:
        candidates += ["cp1252", "utf-8"]
    elif declared is not None:
        candidates += [declared, "utf-8"]
    else:
        candidates.append("utf-8")
    for codec in candidates:
        try:
            return raw.decode(codec).replace("\x00", "")
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("cp1252", errors="replace").replace("\x00", "")


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    cleaned = label.strip().strip("\"'").strip()
    if not cleaned or len(cleaned) > _MAX_CHARSET_LABEL:
        return None
    try:
        return codecs.lookup(cleaned).name
    except LookupError:
        return None


# --- HTML to text -------------------------------------------------------------------------------

# Elements whose content is raw text in HTML and never shown as prose; removed by the pre-pass.
_RAW_TEXT_ELEMENTS = frozenset({"script", "style", "iframe", "noscript", "noembed", "noframes", "xmp"})
# Elements whose (parsed) content is not prose either; everything inside them is skipped.
_SKIPPED_ELEMENTS = frozenset({"template", "svg", "math", "object", "select"})
_BLOCK_ELEMENTS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tr",
        "ul",
        "title",
    }
)
_CELL_ELEMENTS = frozenset({"td", "th"})

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:_-]*")
_UP_TO_QUOTE_OR_END = re.compile(r"[^>\"'=]*")
_SPACES = re.compile(r"\s*")
_MAX_TAG_NAME = 64
_FEED_BATCH_CHARS = 32_768


def _is_ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _skip_attributes(s: str, pos: int) -> tuple[int, bool] | None:
    """Consume a tag's attributes from ``pos``; return (index of the closing ``>``, self-closing).

    Every step consumes at least one character and never backtracks, so this is linear. A quote
    only opens a value after ``=``, as in the HTML tokenizer. ``None`` means the tag runs to the end
    of the input, which browsers also drop.
    """
    n = len(s)
    while pos < n:
        match = _UP_TO_QUOTE_OR_END.match(s, pos)
        pos = match.end() if match else pos
        if pos >= n:
            return None
        char = s[pos]
        if char == ">":
            return pos, s[pos - 1] == "/"
        if char == "=":
            spaces = _SPACES.match(s, pos + 1)
            pos = spaces.end() if spaces else pos + 1
            if pos < n and s[pos] in "\"'":
                close = s.find(s[pos], pos + 1)
                if close < 0:
                    return None
                pos = close + 1
            continue
        pos += 1  # a quote inside an attribute name is just a character
    return None


def _markup_pieces(s: str) -> Iterator[str]:
    """Yield text runs (without ``<``) and canonical tags; see the module docstring for why."""
    n = len(s)
    i = 0
    while i < n:
        j = s.find("<", i)
        if j < 0:
            yield s[i:]
            return
        if j > i:
            yield s[i:j]
        nxt = s[j + 1 : j + 2]
        after_slash = s[j + 2 : j + 3] if nxt == "/" else ""
        if s.startswith("<!--", j):
            close = s.find("-->", j + 4)
            if close < 0:
                return  # an unterminated comment swallows the rest, as in browsers
            i = close + 3
        elif s.startswith("<![CDATA[", j):
            close = s.find("]]>", j + 9)
            if close < 0:
                return
            yield escape(s[j + 9 : close], quote=False)
            i = close + 3
        elif nxt in ("!", "?") or (nxt == "/" and not _is_ascii_letter(after_slash)):
            close = s.find(">", j + 2)  # doctype, processing instruction, bogus comment
            if close < 0:
                return
            i = close + 1
        elif _is_ascii_letter(nxt) or nxt == "/":
            is_end = nxt == "/"
            name_match = _TAG_NAME.match(s, j + (2 if is_end else 1))
            if name_match is None:
                yield "&lt;"
                i = j + 1
                continue
            name = name_match.group().lower()[:_MAX_TAG_NAME]
            end = _skip_attributes(s, name_match.end())
            if end is None:
                return
            close, self_closing = end
            i = close + 1
            if is_end:
                yield f"</{name}>"
            elif name in _RAW_TEXT_ELEMENTS and not self_closing:
                closing = re.compile(rf"</{re.escape(name)}[\s/>]", re.IGNORECASE).search(s, i)
                if closing is None:
                    return
                after = s.find(">", closing.end() - 1)
                if after < 0:
                    return
                i = after + 1
            else:
                yield f"<{name}/>" if self_closing else f"<{name}>"
        else:
            yield "&lt;"
            i = j + 1


def _prose_pieces(pieces: Iterator[str]) -> Iterator[str]:
    """Keep only what changes the text: prose, and block or cell tags as separators.

    Content of skipped elements is dropped here, and runs of block tags with no text between them
    are collapsed, so that the (slow per tag) parser sees at most one tag per text run.
    """
    skip_depth = 0
    last_separator = ""  # "", "cell" or "block": what was yielded since the last text
    for piece in pieces:
        if not piece.startswith("<"):
            if not skip_depth:
                last_separator = ""
                yield piece
            continue
        name = piece.strip("</>")
        if name in _SKIPPED_ELEMENTS and not piece.endswith("/>"):
            skip_depth = max(0, skip_depth - 1) if piece.startswith("</") else skip_depth + 1
        elif skip_depth:
            continue
        elif name in _BLOCK_ELEMENTS and last_separator != "block":
            last_separator = "block"
            yield piece
        elif name in _CELL_ELEMENTS and not last_separator:
            last_separator = "cell"
            yield piece


class _TextCollector(HTMLParser):
    """Collects text with block boundaries marked as newlines; input comes from ``_prose_pieces``."""

    def __init__(self, budget: int) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._budget = budget
        self._visible = 0

    @property
    def full(self) -> bool:
        # Whitespace collapsing never removes a visible character, so past the budget the result
        # will be truncated anyway and further input is wasted work.
        return self._visible > self._budget

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        self._boundary(tag)

    def handle_data(self, data: str) -> None:
        words = data.split()
        if not words:
            if data:
                self._parts.append(" ")
            return
        lead = " " if data[0].isspace() else ""
        trail = " " if data[-1].isspace() else ""
        self._parts.append(lead + " ".join(words) + trail)
        self._visible += sum(map(len, words))

    def _boundary(self, tag: str) -> None:
        self._parts.append("\n" if tag in _BLOCK_ELEMENTS else " ")

    def text(self) -> str:
        lines = ("".join(self._parts)).split("\n")
        return "\n".join(cleaned for line in lines if (cleaned := " ".join(line.split())))


def html_to_text(html: str, *, max_chars: int, max_input_chars: int = DEFAULT_MAX_HTML_INPUT_CHARS) -> str:
    """Extract readable text from untrusted HTML.

    Script, style, iframe (and similar) content, comments and markup are dropped; entities are
    decoded; whitespace is collapsed to single spaces, with one newline between block elements.
    At most ``max_input_chars`` of input are looked at and the work is linear in that. The result
    has at most ``max_chars`` characters; a cut is made at a word boundary and marked with "…".
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    collector = _TextCollector(budget=max_chars)
    batch: list[str] = []
    batch_len = 0
    for piece in _prose_pieces(_markup_pieces(html[:max_input_chars])):
        # Pieces are complete tags or text, so they can be fed in any grouping; batching avoids
        # the parser's per-call overhead on inputs made of many tiny tags.
        batch.append(piece)
        batch_len += len(piece)
        if batch_len >= _FEED_BATCH_CHARS:
            collector.feed("".join(batch))
            batch.clear()
            batch_len = 0
            if collector.full:
                break
    else:
        collector.feed("".join(batch))
    collector.close()
    return _truncate(collector.text(), max_chars)


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    if max_chars == 1:
        return "…"
    cut = text[: max_chars - 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary >= max_chars * 0.6:  # don't throw away most of the budget for one long word
        cut = cut[:boundary]
    return cut.rstrip() + "…"


# --- Text for matching --------------------------------------------------------------------------

# Linear: one character class and one unbounded run, no nesting.
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]{1,15}://|www\.)\S+")
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc")


def normalize_for_matching(text: str) -> str:
    """Canonical form for lexical comparison (dedup shingles, entity matching).

    NFKC (full-width and ligature forms fold to plain ones), case-folded, URLs removed, apostrophes
    dropped ("OpenAI's" -> "openais"), every other punctuation, symbol or control character turned
    into a space, and whitespace collapsed. Letters and digits of every script are kept.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _URL.sub(" ", folded).translate(_APOSTROPHES)
    kept = "".join(ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in folded)
    return " ".join(kept.split())
