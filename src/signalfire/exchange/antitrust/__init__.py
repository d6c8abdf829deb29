"""Antitrust screening by family: the kinds of exchange competition counsel warn competitors about.

Six families (``families.yaml``): prices and discounts, wages and hiring, allocation of customers or
markets, bids and tenders, output and capacity, future product plans. Within each sentence a family
fires on one of its stand-alone phrases ("no-poach", "bid rigging"), or on a family term found within
``window`` words of a cue: the family's own cues ("hold ... below", "sit out", "cap") or the shared
coordination cues ("agree", "competitors", "let's", "each other"). Sentences that only say something
is *not* discussed, or that describe attackers' markets, are left alone.

Every hit explains itself: the family, the cues that matched, and the sentence (:class:`FamilyHit`).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("families.yaml")
_SENTENCE_RE = re.compile(r"[^.!?;\n]+(?:[.!?;]+|\n|$)")
_WORD_RE = re.compile(r"\w+(?:'\w+)?")


class FamilyRulesError(ValueError):
    """families.yaml is malformed."""


def _alternation(entries: Sequence[Any], where: str) -> re.Pattern[str] | None:
    parts = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise FamilyRulesError(f"{where}: entries must be non-empty strings")
        if entry.startswith("re:"):
            parts.append(f"(?:{entry[3:]})")
        else:
            words = [re.escape(word) for word in entry.split()]
            # Whole words: not inside a longer word or a hyphenated compound ("rate-limit" is not "limit").
            body = r"[\s-]+".join(words).replace(r"\-", r"[\s-]?")
            parts.append(r"(?<![\w'-])" + body + r"(?![\w'-])")
    if not parts:
        return None
    try:
        # Longest first, so "list price" wins over "price" when both could start at one place.
        return re.compile("|".join(sorted(parts, key=len, reverse=True)), re.IGNORECASE)
    except re.error as exc:
        raise FamilyRulesError(f"{where}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    label: str
    advice: str
    phrases: re.Pattern[str] | None
    terms: re.Pattern[str] | None
    cues: re.Pattern[str] | None
    examples_match: tuple[str, ...]
    examples_no_match: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FamilyRules:
    window: int
    coordination: re.Pattern[str] | None
    legit: re.Pattern[str] | None
    families: tuple[Family, ...]


@dataclass(frozen=True, slots=True)
class FamilyHit:
    """Why a sentence was flagged: the family, the matched cues (term, cue or phrase) and the sentence."""

    family: str
    label: str
    start: int
    end: int
    sentence: str
    cues: tuple[str, ...]
    advice: str

    @property
    def explanation(self) -> str:
        matched = ", ".join(f"'{cue}'" for cue in self.cues)
        return f"{self.label}: {matched} in one sentence. {self.advice}"


def load_family_rules(path: Path = RULES_FILE) -> FamilyRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("families"), list):
        raise FamilyRulesError(f"{path.name}: needs a 'families' list")
    window = data.get("window", 12)
    if not isinstance(window, int) or window < 1:
        raise FamilyRulesError(f"{path.name}: 'window' must be a positive number of words")
    families = []
    for raw in data["families"]:
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("id", "label", "advice")):
            raise FamilyRulesError(f"{path.name}: each family needs id, label and advice")
        where = f"{path.name} ({raw['id']})"
        examples = raw.get("examples") or {}
        families.append(
            Family(
                id=raw["id"],
                label=raw["label"],
                advice=raw["advice"],
                phrases=_alternation(raw.get("phrases", []), where),
                terms=_alternation(raw.get("terms", []), where),
                cues=_alternation(raw.get("cues", []), where),
                examples_match=tuple(examples.get("match", [])),
                examples_no_match=tuple(examples.get("no_match", [])),
            )
        )
    return FamilyRules(
        window=window,
        coordination=_alternation(data.get("coordination_cues", []), path.name),
        legit=_alternation(data.get("legit", []), path.name),
        families=tuple(families),
    )


@functools.cache
def default_family_rules() -> FamilyRules:
    return load_family_rules()


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    for match in _SENTENCE_RE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            yield start, end


def _hits(pattern: re.Pattern[str] | None, sentence: str) -> list[tuple[int, str]]:
    if pattern is None:
        return []
    return [(m.start(), m.group(0)) for m in pattern.finditer(sentence)]


def detect_families(text: str, rules: FamilyRules | None = None) -> list[FamilyHit]:
    """Every (sentence, family) hit in ``text``, in text order."""
    active = rules or default_family_rules()
    found: list[FamilyHit] = []
    for start, end in _sentences(text):
        sentence = text[start:end]
        if active.legit is not None and active.legit.search(sentence):
            continue
        word_starts = [m.start() for m in _WORD_RE.finditer(sentence)]

        def word_at(offset: int, starts: list[int] = word_starts) -> int:
            return bisect.bisect_right(starts, offset)

        shared = _hits(active.coordination, sentence)
        for family in active.families:
            phrase = _hits(family.phrases, sentence)
            cues: tuple[str, ...] = ()
            if phrase:
                cues = tuple(dict.fromkeys(found_phrase.lower() for _pos, found_phrase in phrase))
            else:
                terms = _hits(family.terms, sentence)
                if not terms:
                    continue
                candidates = _hits(family.cues, sentence) + shared
                for t_pos, term in terms:
                    near = [
                        cue
                        for c_pos, cue in candidates
                        if abs(word_at(c_pos) - word_at(t_pos)) <= active.window and cue.lower() != term.lower()
                    ]
                    if near:
                        cues = tuple(dict.fromkeys([term.lower(), *(cue.lower() for cue in near)]))
                        break
            if cues:
                found.append(FamilyHit(family.id, family.label, start, end, sentence, cues, family.advice))
    return found
