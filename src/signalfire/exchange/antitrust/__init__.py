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


class FamilyRulesError(ValueError):
    """families.yaml is malformed."""


_TOKEN_RE = re.compile(r"[\w']+(?:-[\w']+)*")


@dataclass(frozen=True, slots=True)
class _Matcher:
    """Literal phrases looked up token by token (one dict lookup per token), plus a few regexes.

    Tokens keep their hyphens, so "rate-limit" is one token and never matches the cue "limit"; a
    hyphenated entry ("no-poach") is also indexed as separate words, so "no poach" matches it too.
    """

    by_first: dict[str, tuple[tuple[str, ...], ...]]
    pattern: re.Pattern[str] | None

    @classmethod
    def build(cls, entries: Sequence[Any], where: str) -> _Matcher | None:
        by_first: dict[str, set[tuple[str, ...]]] = {}
        regexes = []
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise FamilyRulesError(f"{where}: entries must be non-empty strings")
            if entry.startswith("re:"):
                regexes.append(f"(?:{entry[3:]})")
                continue
            tokens = tuple(_TOKEN_RE.findall(entry.lower()))
            if not tokens:
                raise FamilyRulesError(f"{where}: {entry!r} has no words")
            variants = {tokens}
            if any("-" in token for token in tokens):
                variants.add(tuple(part for token in tokens for part in token.split("-")))
                variants.add(tuple(token.replace("-", "") for token in tokens))
            for variant in variants:
                by_first.setdefault(variant[0], set()).add(variant)
        if not by_first and not regexes:
            return None
        try:
            pattern = re.compile("|".join(regexes), re.IGNORECASE) if regexes else None
        except re.error as exc:
            raise FamilyRulesError(f"{where}: {exc}") from None
        index = {first: tuple(sorted(found, key=len, reverse=True)) for first, found in by_first.items()}
        return cls(index, pattern)

    def hits(self, sentence: str, tokens: list[str], starts: list[int]) -> list[tuple[int, str]]:
        """``(token index, matched text)`` of every hit in the sentence."""
        found: list[tuple[int, str]] = []
        for position, token in enumerate(tokens):
            for phrase in self.by_first.get(token, ()):
                if tuple(tokens[position : position + len(phrase)]) == phrase:
                    found.append((position, " ".join(phrase)))
                    break
        if self.pattern is not None:
            for match in self.pattern.finditer(sentence):
                found.append((max(0, bisect.bisect_right(starts, match.start()) - 1), match.group(0)))
        return found


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    label: str
    advice: str
    phrases: _Matcher | None
    terms: _Matcher | None
    cues: _Matcher | None
    examples_match: tuple[str, ...]
    examples_no_match: tuple[str, ...]

    def could_match(self, tokens: set[str]) -> bool:
        """Whether any phrase or term could start at one of ``tokens`` (or a regex entry exists)."""
        for matcher in (self.phrases, self.terms):
            if matcher is None:
                continue
            if matcher.pattern is not None or not tokens.isdisjoint(matcher.by_first):
                return True
        return False


@dataclass(frozen=True, slots=True)
class FamilyRules:
    window: int
    coordination: _Matcher | None
    legit: _Matcher | None
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
                phrases=_Matcher.build(raw.get("phrases", []), where),
                terms=_Matcher.build(raw.get("terms", []), where),
                cues=_Matcher.build(raw.get("cues", []), where),
                examples_match=tuple(examples.get("match", [])),
                examples_no_match=tuple(examples.get("no_match", [])),
            )
        )
    return FamilyRules(
        window=window,
        coordination=_Matcher.build(data.get("coordination_cues", []), path.name),
        legit=_Matcher.build(data.get("legit", []), path.name),
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


def detect_families(text: str, rules: FamilyRules | None = None) -> list[FamilyHit]:
    """Every (sentence, family) hit in ``text``, in text order."""
    active = rules or default_family_rules()
    found: list[FamilyHit] = []
    # One pass over the whole text first: families none of whose phrases or terms can start anywhere in
    # it are skipped, and most texts (a TAXII envelope of indicators) then need no sentence pass at all.
    present = set(_TOKEN_RE.findall(text.lower()))
    candidates = tuple(family for family in active.families if family.could_match(present))
    if not candidates:
        return found
    for start, end in _sentences(text):
        sentence = text[start:end]
        matches = list(_TOKEN_RE.finditer(sentence.lower()))
        tokens = [m.group(0) for m in matches]
        starts = [m.start() for m in matches]

        def hits(
            matcher: _Matcher | None, sentence: str = sentence, tokens: list[str] = tokens, starts: list[int] = starts
        ) -> list[tuple[int, str]]:
            return [] if matcher is None else matcher.hits(sentence, tokens, starts)

        here = set(tokens)
        possible = [family for family in candidates if family.could_match(here)]
        if not possible or hits(active.legit):
            continue
        shared: list[tuple[int, str]] | None = None
        for family in possible:
            phrase = hits(family.phrases)
            cues: tuple[str, ...] = ()
            if phrase:
                cues = tuple(dict.fromkeys(found_phrase.lower() for _pos, found_phrase in phrase))
            else:
                terms = hits(family.terms)
                if not terms:
                    continue
                if shared is None:
                    shared = hits(active.coordination)
                nearby = hits(family.cues) + shared
                for t_pos, term in terms:
                    near = [
                        cue
                        for c_pos, cue in nearby
                        if abs(c_pos - t_pos) <= active.window and cue.lower() != term.lower()
                    ]
                    if near:
                        cues = tuple(dict.fromkeys([term.lower(), *(cue.lower() for cue in near)]))
                        break
            if cues:
                found.append(FamilyHit(family.id, family.label, start, end, sentence, cues, family.advice))
    return found
