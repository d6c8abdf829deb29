"""Screening of an item's text before it is published to the exchange.

Three kinds of finding, each a reason to stop and look before sharing:

* ``personal_data``: e-mail addresses, phone numbers, people's names (with a title, in a signature,
  or labelled as reporter/contact), public IP addresses;
* ``secret``: private keys, cloud and API keys, access tokens, passwords in settings, long
  random-looking strings;
* ``antitrust``: commercially sensitive content that competitors must not exchange: prices and
  pricing plans, launch plans and roadmaps, customers and contracts, capacity plans (accelerator
  counts, data-centre power, compute buildout), wages and hiring, revenues and margins, and
  language about coordinating markets.

The rules are data, in ``screening_rules/*.yaml`` (one file per kind), in the spirit of MISP
warninglists: adding a pattern is a data change with its own examples, not a code change. Each rule
has an ``id``, a ``label``, a ``message`` and a ``type``:

``regex``
    ``pattern``; optional ``ignore_case``, ``requires`` (substrings, at least one of which must occur
    for the rule to run: a cheap pre-filter), ``exclude`` (regexes searched in the matched text; a
    hit drops the match) and ``validator`` (a named check in this module, see ``_VALIDATORS``).
``terms``
    ``terms``: literal phrases matched as whole words, ignoring case.
``near``
    ``terms`` and ``near``: two lists of phrases (``re:`` marks a regex), matched when one of each
    occurs within ``window`` words of the other.
``entropy``
    runs of ``charset`` characters between ``min_length`` and ``max_length`` long whose Shannon
    entropy is at least ``min_bits_per_char`` and which contain every class in
    ``require_classes`` (``upper``, ``lower``, ``digit``); catches unknown token formats.

Every rule carries ``examples`` (``match`` and ``no_match``), which the tests run, so a rule cannot
silently stop working.

Findings are warnings. The service decides what happens next (remove, or override with a stored
reason); this module only finds and, for the "lesson from an incident" sanitiser, redacts.

Runtime is bounded: all fields together may hold at most :data:`MAX_SCREEN_CHARS` characters
(larger input raises :class:`ScreeningInputTooLarge`, so nothing is published unscreened); every
pattern is anchored by a look-behind or a literal prefix and uses bounded or possessive
quantifiers, so each rule scans in time linear in the text; and at most
:data:`MAX_FINDINGS_PER_RULE` findings are kept per rule and field.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from signalfire.exchange.antitrust import FamilyHit, detect_families

FindingKind = Literal["personal_data", "secret", "antitrust"]
KINDS: tuple[FindingKind, ...] = ("personal_data", "secret", "antitrust")

RULES_DIR = Path(__file__).with_name("screening_rules")
MAX_SCREEN_CHARS = 500_000
MAX_FINDINGS_PER_RULE = 50
_EXCERPT_CHARS = 120


class ScreeningInputTooLarge(ValueError):
    """The text is longer than :data:`MAX_SCREEN_CHARS`; refuse it rather than publish it unscreened."""


class RuleFileError(ValueError):
    """A screening rule file is malformed."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One hit: which rule, in which field, where (``start``/``end`` are offsets in that field's text).

    ``excerpt`` shows the matched text, except for secrets, where only the first characters and the
    length are kept so the finding itself can be logged and stored safely.
    """

    rule_id: str
    kind: FindingKind
    field: str
    start: int
    end: int
    excerpt: str
    message: str


# --- Validators: checks a regex cannot express well, named from the rule files ----------------------

_PLACEHOLDER_WORDS = ("example", "your", "xxxx", "placeholder", "redacted", "dummy", "sample", "****", "....")


def _not_placeholder(text: str) -> bool:
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or "<" in text:
        return False
    tail = re.split(r"[-_:=\s]", text)[-1] or text
    return len(set(tail)) >= 6


def _phone_digits(text: str) -> bool:
    digits = sum(char.isdigit() for char in text)
    return 7 <= digits <= 15 and re.search(r"[ ().-]{3}", text) is None


def _public_ipv4(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    if text.startswith("255."):  # netmasks
        return False
    return address.is_global


_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "not_placeholder": _not_placeholder,
    "phone_digits": _phone_digits,
    "public_ipv4": _public_ipv4,
}


# --- Rules -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleExamples:
    match: tuple[str, ...]
    no_match: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled screening rule; build with :func:`load_rules`."""

    id: str
    kind: FindingKind
    label: str
    message: str
    examples: RuleExamples
    spans: Callable[[str], Iterator[tuple[int, int]]]

    def matches(self, text: str) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of each hit in ``text``."""
        return self.spans(text)


_WORD_RE = re.compile(r"\w+")
_PHRASE_GAP_RE = re.compile(r"[ \t\-]+")


@functools.lru_cache(maxsize=4)
def _words(text: str) -> tuple[list[int], list[int], list[str]]:
    """Start offsets, end offsets and lower-cased text of the words in ``text``.

    Cached because every ``terms`` and ``near`` rule reads the same field's words.
    """
    starts, ends, words = [], [], []
    for match in _WORD_RE.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
        words.append(match.group(0).lower())
    return starts, ends, words


@dataclass(frozen=True, slots=True)
class _Phrases:
    """Literal phrases looked up word by word (one dict lookup per word), plus optional regexes.

    One big case-insensitive alternation would be retried at every position of the text; indexing
    phrases by their first word keeps a scan linear with a small constant however many terms a
    rule lists.
    """

    by_first_word: dict[str, tuple[tuple[str, ...], ...]]
    pattern: re.Pattern[str] | None

    @classmethod
    def build(cls, entries: Sequence[str], what: str) -> _Phrases:
        by_first: dict[str, list[tuple[str, ...]]] = {}
        regexes = []
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise RuleFileError(f"{what}: entries must be non-empty strings")
            if entry.startswith("re:"):
                regexes.append(f"(?:{entry[3:]})")
                continue
            words = tuple(word.lower() for word in _WORD_RE.findall(entry))
            if not words:
                raise RuleFileError(f"{what}: {entry!r} has no words")
            by_first.setdefault(words[0], []).append(words)
        try:
            pattern = re.compile("|".join(regexes), re.IGNORECASE) if regexes else None
        except re.error as exc:
            raise RuleFileError(f"{what}: {exc}") from None
        index = {first: tuple(sorted(found, key=len, reverse=True)) for first, found in by_first.items()}
        return cls(index, pattern)

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = []
        if self.by_first_word:
            starts, ends, words = _words(text)
            for position, word in enumerate(words):
                for phrase in self.by_first_word.get(word, ()):
                    last = position + len(phrase) - 1
                    if self._phrase_at(text, phrase, position, starts, ends, words):
                        found.append((starts[position], ends[last]))
                        break
        if self.pattern is not None:
            found.extend(match.span() for match in self.pattern.finditer(text))
            found.sort()
        return found

    @staticmethod
    def _phrase_at(
        text: str,
        phrase: tuple[str, ...],
        position: int,
        starts: list[int],
        ends: list[int],
        words: list[str],
    ) -> bool:
        if position + len(phrase) > len(words):
            return False
        for offset in range(1, len(phrase)):
            index = position + offset
            if words[index] != phrase[offset]:
                return False
            # Words of a phrase are separated by spaces or hyphens only, not by punctuation.
            if _PHRASE_GAP_RE.fullmatch(text, ends[index - 1], starts[index]) is None:
                return False
        return True


def _regex_spans(
    pattern: re.Pattern[str],
    requires: tuple[str, ...],
    excludes: tuple[re.Pattern[str], ...],
    validator: Callable[[str], bool] | None,
) -> Callable[[str], Iterator[tuple[int, int]]]:
    def spans(text: str) -> Iterator[tuple[int, int]]:
        folded = text.lower() if pattern.flags & re.IGNORECASE else text
        if requires and not any(needle in folded for needle in requires):
            return
        for match in pattern.finditer(text):
            value = match.group(0)
            if any(exclude.search(value) for exclude in excludes):
                continue
            if validator is not None and not validator(value):
                continue
            yield match.start(), match.end()

    return spans


def _terms_spans(phrases: _Phrases) -> Callable[[str], Iterator[tuple[int, int]]]:
    def spans(text: str) -> Iterator[tuple[int, int]]:
        yield from phrases.spans(text)

    return spans


def _near_spans(first: _Phrases, second: _Phrases, window: int) -> Callable[[str], Iterator[tuple[int, int]]]:
    def spans(text: str) -> Iterator[tuple[int, int]]:
        a_hits = first.spans(text)
        if not a_hits:
            return
        b_hits = second.spans(text)
        if not b_hits:
            return
        word_starts = _words(text)[0]
        b_words = [bisect.bisect_right(word_starts, start) for start, _end in b_hits]
        for start, end in a_hits:
            position = bisect.bisect_right(word_starts, start)
            # b_hits are in text order, so b_words is sorted: only hits inside the window are looked at.
            low = bisect.bisect_left(b_words, position - window)
            high = bisect.bisect_right(b_words, position + window)
            for b_start, b_end in b_hits[low:high]:
                if (b_start, b_end) != (start, end):
                    yield min(start, b_start), max(end, b_end)
                    break

    return spans


_CLASS_TESTS: dict[str, Callable[[str], bool]] = {
    "upper": lambda s: any(c.isupper() for c in s),
    "lower": lambda s: any(c.islower() for c in s),
    "digit": lambda s: any(c.isdigit() for c in s),
}


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _entropy_spans(
    charset: str,
    min_length: int,
    max_length: int,
    min_bits: float,
    classes: tuple[str, ...],
    validator: Callable[[str], bool] | None,
) -> Callable[[str], Iterator[tuple[int, int]]]:
    pattern = re.compile(rf"(?<![{charset}])[{charset}]{{{min_length},{max_length}}}+(?![{charset}])")

    def spans(text: str) -> Iterator[tuple[int, int]]:
        for match in pattern.finditer(text):
            value = match.group(0)
            if not all(_CLASS_TESTS[name](value) for name in classes):
                continue
            if _entropy(value) < min_bits:
                continue
            if validator is not None and not validator(value):
                continue
            yield match.start(), match.end()

    return spans


_COMMON_KEYS = {"id", "label", "type", "message", "examples"}
_TYPE_KEYS: dict[str, set[str]] = {
    "regex": {"pattern", "ignore_case", "requires", "exclude", "validator"},
    "terms": {"terms"},
    "near": {"terms", "near", "window"},
    "entropy": {"charset", "min_length", "max_length", "min_bits_per_char", "require_classes", "validator"},
}


def _text_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise RuleFileError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _compile(raw: Any, kind: FindingKind, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: each rule must be a mapping")
    rule_type = raw.get("type")
    if rule_type not in _TYPE_KEYS:
        raise RuleFileError(f"{where}: unknown rule type {rule_type!r}")
    unknown = set(raw) - _COMMON_KEYS - _TYPE_KEYS[rule_type]
    if unknown:
        raise RuleFileError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "label", "message"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleFileError(f"{where}: '{key}' is required")
    where = f"{where} ({raw['id']})"
    validator = None
    if "validator" in raw:
        if raw["validator"] not in _VALIDATORS:
            raise RuleFileError(f"{where}: unknown validator {raw['validator']!r}")
        validator = _VALIDATORS[raw["validator"]]

    spans: Callable[[str], Iterator[tuple[int, int]]]
    if rule_type == "regex":
        flags = re.IGNORECASE if raw.get("ignore_case", False) else 0
        try:
            pattern = re.compile(raw["pattern"], flags)
            excludes = tuple(re.compile(entry) for entry in _text_list(raw, "exclude", where))
        except (re.error, KeyError, TypeError) as exc:
            raise RuleFileError(f"{where}: bad pattern: {exc}") from None
        requires = _text_list(raw, "requires", where)
        if flags:
            requires = tuple(needle.lower() for needle in requires)
        spans = _regex_spans(pattern, requires, excludes, validator)
    elif rule_type == "terms":
        spans = _terms_spans(_Phrases.build(_text_list(raw, "terms", where), where))
    elif rule_type == "near":
        window = raw.get("window")
        if not isinstance(window, int) or window < 1:
            raise RuleFileError(f"{where}: 'window' must be a positive number of words")
        first = _Phrases.build(_text_list(raw, "terms", where), where)
        second = _Phrases.build(_text_list(raw, "near", where), where)
        spans = _near_spans(first, second, window)
    else:
        classes = _text_list(raw, "require_classes", where)
        if not set(classes) <= set(_CLASS_TESTS):
            raise RuleFileError(f"{where}: require_classes must be among {sorted(_CLASS_TESTS)}")
        try:
            spans = _entropy_spans(
                str(raw["charset"]),
                int(raw["min_length"]),
                int(raw["max_length"]),
                float(raw["min_bits_per_char"]),
                classes,
                validator,
            )
        except (KeyError, ValueError, re.error) as exc:
            raise RuleFileError(f"{where}: {exc}") from None

    examples = raw.get("examples", {})
    if not isinstance(examples, dict):
        raise RuleFileError(f"{where}: 'examples' must be a mapping")
    return Rule(
        id=raw["id"],
        kind=kind,
        label=raw["label"],
        message=raw["message"],
        examples=RuleExamples(_text_list(examples, "match", where), _text_list(examples, "no_match", where)),
        spans=spans,
    )


def load_rules(directory: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Compile every ``*.yaml`` rule file in ``directory`` (secrets first, so they win overlaps)."""
    rules: list[Rule] = []
    files = sorted(directory.glob("*.yaml"), key=lambda path: (path.stem != "secrets", path.name))
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("kind") not in KINDS or not isinstance(data.get("rules"), list):
            raise RuleFileError(f"{path.name}: needs 'kind' (one of {', '.join(KINDS)}) and a 'rules' list")
        for position, raw in enumerate(data["rules"]):
            rules.append(_compile(raw, data["kind"], f"{path.name} rule {position}"))
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise RuleFileError(f"duplicate rule ids: {duplicates}")
    return tuple(rules)


@functools.cache
def default_rules() -> tuple[Rule, ...]:
    """The rules shipped with Signalfire, compiled once per process."""
    return load_rules()


# --- Screening ---------------------------------------------------------------------------------------


def _mask(secret: str) -> str:
    shown = secret[:4] if len(secret) >= 16 else secret[:2]
    return f"{shown}… ({len(secret)} characters)"


def _excerpt(kind: FindingKind, text: str) -> str:
    if kind == "secret":
        return _mask(text)
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"


class _Spans:
    """Non-overlapping spans found so far in one field for one kind, sorted, with O(log n) overlap checks."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add_if_free(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.starts, end)
        if index > 0 and self.ends[index - 1] > start:
            return False
        self.starts.insert(index, start)
        self.ends.insert(index, end)
        return True


def screen(fields: Mapping[str, str], *, rules: Sequence[Rule] | None = None) -> list[Finding]:
    """Screen named text fields (``{"title": ..., "details": ...}``); findings in field, then text order.

    Where several rules of one kind hit overlapping text, the first rule (secrets file first, then
    file order) reports it. Raises :class:`ScreeningInputTooLarge` above :data:`MAX_SCREEN_CHARS`.
    """
    total = sum(len(text) for text in fields.values())
    if total > MAX_SCREEN_CHARS:
        raise ScreeningInputTooLarge(
            f"The text to screen is {total} characters; the limit is {MAX_SCREEN_CHARS}. Shorten it."
        )
    active = default_rules() if rules is None else rules
    findings: list[Finding] = []
    for name, text in fields.items():
        taken = {kind: _Spans() for kind in KINDS}
        field_findings = _family_findings(name, text, taken["antitrust"]) if rules is None else []
        for rule in active:
            kept = 0
            for start, end in rule.matches(text):
                if not taken[rule.kind].add_if_free(start, end):
                    continue
                field_findings.append(
                    Finding(
                        rule.id,
                        rule.kind,
                        name,
                        start,
                        end,
                        _excerpt(rule.kind, text[start:end]),
                        rule.message,
                    )
                )
                kept += 1
                if kept >= MAX_FINDINGS_PER_RULE:
                    break
        findings.extend(sorted(field_findings, key=lambda finding: (finding.start, finding.end)))
    return findings


def _family_findings(name: str, text: str, taken: _Spans) -> list[Finding]:
    """Antitrust findings by family (``exchange.antitrust``): one per sentence, saying why it was flagged.

    They run before the keyword rules, so a sentence flagged by family is explained once, by family.
    """
    by_sentence: dict[tuple[int, int], list[FamilyHit]] = {}
    for hit in detect_families(text):
        by_sentence.setdefault((hit.start, hit.end), []).append(hit)
    found = []
    for (start, end), hits in by_sentence.items():
        if not taken.add_if_free(start, end):
            continue
        why = " ".join(f"Why flagged: {hit.explanation}" for hit in hits)
        found.append(
            Finding(
                f"antitrust.family.{hits[0].family}",
                "antitrust",
                name,
                start,
                end,
                _excerpt("antitrust", text[start:end]),
                why,
            )
        )
    return found


_PLACEHOLDERS: dict[FindingKind, str] = {
    "personal_data": "[personal data removed]",
    "secret": "[secret removed]",
    "antitrust": "[commercial detail removed]",
}


def redact(text: str, findings: Iterable[Finding], *, field: str | None = None) -> str:
    """Replace every finding's span in ``text`` by a placeholder naming its kind.

    Pass ``field`` to use only the findings of that field (``screen`` reports all fields at once);
    otherwise every finding must belong to ``text``. Overlapping spans are merged.
    """
    spans = []
    for finding in findings:
        if field is not None and finding.field != field:
            continue
        if not 0 <= finding.start < finding.end <= len(text):
            raise ValueError(f"finding {finding.rule_id} at {finding.start}-{finding.end} lies outside the text")
        spans.append((finding.start, finding.end, finding.kind))
    spans.sort()
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].add(kind)
        else:
            merged.append([start, end, {kind}])
    pieces = []
    cursor = 0
    for start, end, kinds in merged:
        pieces.append(text[cursor:start])
        # Secrets dominate a merged span: the placeholder must not suggest something milder was there.
        kind = next(k for k in ("secret", "personal_data", "antitrust") if k in kinds)
        pieces.append(_PLACEHOLDERS[kind])
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


_INCIDENT_REF_RE = re.compile(r"[A-Z][A-Z0-9]*-\d{2,4}-\d+", re.IGNORECASE)
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _placeholder_kind(identifier: str) -> str:
    if "@" in identifier:
        return "email"
    if _INCIDENT_REF_RE.fullmatch(identifier):
        return "incident"
    if _HOSTNAME_RE.fullmatch(identifier):
        return "host"
    return "internal-id"


def strip_internal_identifiers(text: str, identifiers: Sequence[str]) -> str:
    """Replace each internal identifier in ``text`` by a numbered placeholder.

    ``identifiers`` are the owning org's internal names for things (incident references like
    ``INC-2026-0007``, hostnames, staff e-mail addresses, ticket ids). Placeholders are
    ``[incident-1]``, ``[host-2]``, ``[email-1]`` or ``[internal-id-1]``, numbered by position in
    ``identifiers`` so every field of one item uses the same placeholder for the same identifier.
    Matching ignores case and only replaces whole tokens: ``INC-2026-0007`` is not replaced inside
    ``INC-2026-00071``.
    """
    numbers: dict[str, str] = {}
    counters: Counter[str] = Counter()
    for identifier in identifiers:
        key = identifier.strip().lower()
        if not key or key in numbers:
            continue
        kind = _placeholder_kind(identifier.strip())
        counters[kind] += 1
        numbers[key] = f"[{kind}-{counters[kind]}]"
    if not numbers:
        return text
    alternatives = "|".join(re.escape(key) for key in sorted(numbers, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.@-])(?:{alternatives})(?![\w@-]|\.\w)", re.IGNORECASE)
    return pattern.sub(lambda match: numbers[match.group(0).lower()], text)
