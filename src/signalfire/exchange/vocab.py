"""The exchange's fixed vocabularies and the TLP 2.0 audience rules.

Everything here is pure data plus small functions, so the access policy, the forms, the STIX
exporter and the TAXII server all read one definition.

Categories and covered uses
---------------------------
An item belongs to exactly one of the three categories the FMF information-sharing agreement
names (FMF issue brief, Table 2), and its contributor chooses which of the nine covered uses
(Table 3) a reader may apply it to. The labels and descriptions are ours.

TLP 2.0 in the exchange
-----------------------
A TLP label says what a *recipient* may do with an item after reading it; the audience says who
the exchange delivers it to in the first place. The exchange checks that the two agree: an
audience must never be wider than the label lets a recipient pass the item on.

Terms, fixed for this exchange (FIRST leaves them to each community):

* **Community** is the exchange's member labs, plus designated government partners and admitted
  researchers *only when the contributor puts them in the audience*. Items labelled GREEN say
  which of these the community includes (see :func:`handling_note`).
* **Organisation** is the recipient's own lab (or agency, or research organisation). It is never
  the exchange or the forum that runs it, even though FIRST allows an information-sharing
  organisation to count as one. So TLP:AMBER+STRICT lets a recipient lab use an item inside that
  lab only, and it may not pass it to another member.
* **Clients** (TLP:AMBER only) are those a recipient lab provides services to and who need the
  item to protect themselves, for example deployers of an affected model.

Rules, per label:

* **CLEAR** may go to any audience. Recipients may disclose it without restriction.
* **GREEN** may go to any audience kind inside the community. Recipients may share it within the
  community, never through public channels.
* **AMBER** may go to whole member labs (all members or named ones), named people, government
  partners and researchers. Each recipient may share it inside its own organisation and with its
  clients, on a need-to-know basis.
* **AMBER+STRICT** may go to the same audiences as AMBER, but each recipient may share it only
  inside its own organisation. Labels limit onward sharing rather than the contributor's choice of
  first recipients, so sending AMBER+STRICT to every member lab is allowed: each lab then keeps it
  to itself.
* **RED** may go to named people only: it is for the eyes of individual recipients, so any audience
  that addresses an organisation or a group is refused. Government partners are never an allowed
  audience for RED (an authority never sees a RED item). The access policy must also refuse RED to
  people of an authority org even if a contributor names them, because this module sees only the
  audience kinds, not who the named people are.
* Every item needs at least one audience kind.

Reference identifiers
---------------------
Items cite techniques and weaknesses by public identifier: MITRE ATLAS techniques
(``AML.T0051``, sub-techniques ``AML.T0051.000``), the OWASP Top 10 for LLM applications with its
edition year (``LLM01:2025``; the bare ``LLM01`` is refused because the numbering changed between
editions), CVE ids (``CVE-2025-12345``) and CWE ids (``CWE-502``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """The three kinds of information the exchange carries (FMF brief, Table 2)."""

    VULNERABILITY = "vulnerability"
    THREAT = "threat"
    CAPABILITY_OF_CONCERN = "capability_of_concern"

    @property
    def label(self) -> str:
        return _CATEGORY_TEXT[self][0]

    @property
    def description(self) -> str:
        return _CATEGORY_TEXT[self][1]


_CATEGORY_TEXT: dict[Category, tuple[str, str]] = {
    Category.VULNERABILITY: (
        "Vulnerability, weakness or exploitable flaw",
        "A flaw that can undermine a frontier model's safety, security or intended behaviour, such as a "
        "jailbreak technique, an adversarial input, a poisoning route or another way around safeguards.",
    ),
    Category.THREAT: (
        "Threat",
        "An actor, method or indicator aimed at getting unauthorised access to a frontier model or at "
        "tampering with it: who is trying, how they get in, and what traces they leave.",
    ),
    Category.CAPABILITY_OF_CONCERN: (
        "Capability of concern",
        "Something a frontier model can do that could contribute to large-scale harm, for example "
        "meaningful help towards chemical, biological, radiological or nuclear weapons, offensive cyber "
        "operations, or dangerous autonomous behaviour.",
    ),
}


class CoveredUse(StrEnum):
    """The nine purposes a reader may apply shared information to (FMF brief, Table 3)."""

    THREAT_DETECTION = "threat_detection"
    SAFE_DEVELOPMENT = "safe_development"
    INCIDENT_RESPONSE = "incident_response"
    MODEL_EVALUATIONS = "model_evaluations"
    SAFEGUARDS = "safeguards"
    SAFETY_RESEARCH = "safety_research"
    SAFETY_GUIDANCE = "safety_guidance"
    MONITORING_DETECTION = "monitoring_detection"
    VULNERABILITY_ASSESSMENTS = "vulnerability_assessments"

    @property
    def label(self) -> str:
        return _USE_TEXT[self][0]

    @property
    def description(self) -> str:
        return _USE_TEXT[self][1]


_USE_TEXT: dict[CoveredUse, tuple[str, str]] = {
    CoveredUse.THREAT_DETECTION: (
        "Threat detection and security",
        "Building or tuning detection and threat intelligence (indicators, actor profiles) for safety and "
        "security only.",
    ),
    CoveredUse.SAFE_DEVELOPMENT: (
        "Safe development of models",
        "Shaping safety-specific development practice, such as synthetic fine-tuning data that closes a "
        "known safety gap.",
    ),
    CoveredUse.INCIDENT_RESPONSE: (
        "Incident response",
        "Preparing procedures and countermeasures for safety and security incidents before they happen.",
    ),
    CoveredUse.MODEL_EVALUATIONS: (
        "Model evaluations",
        "Designing safety and security evaluations, benchmarks and red-team exercises that find and reduce risk.",
    ),
    CoveredUse.SAFEGUARDS: (
        "Safeguards",
        "Hardening defences against known attack methods, such as adversarial inputs or data poisoning.",
    ),
    CoveredUse.SAFETY_RESEARCH: (
        "Safety research",
        "Research that advances AI safety, including independent evaluation of capabilities and safety.",
    ),
    CoveredUse.SAFETY_GUIDANCE: (
        "Safety guidance development",
        "Writing internal policy, governance and compliance procedures that concern AI safety and security.",
    ),
    CoveredUse.MONITORING_DETECTION: (
        "Monitoring and detection systems",
        "Improving systems that spot anomalous behaviour, unauthorised access or misuse.",
    ),
    CoveredUse.VULNERABILITY_ASSESSMENTS: (
        "Vulnerability assessments",
        "Finding and fixing safety or security gaps in the reader's own systems.",
    ),
}


class Tlp(StrEnum):
    """FIRST Traffic Light Protocol 2.0 labels, stored by value (``"AMBER+STRICT"``)."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def order(self) -> int:
        """0 for CLEAR up to 4 for RED: a higher number restricts disclosure more."""
        return _TLP_ORDER.index(self)

    @property
    def label(self) -> str:
        """The label as FIRST writes it, e.g. ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.value}"

    def is_stricter_than(self, other: Tlp) -> bool:
        return self.order > other.order

    @classmethod
    def strictest(cls, levels: Iterable[Tlp]) -> Tlp:
        """The most restrictive of ``levels``; raises ``ValueError`` when there are none."""
        found = list(levels)
        if not found:
            raise ValueError("no TLP levels given")
        return max(found, key=lambda level: level.order)

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Read a label in any usual spelling: ``TLP:AMBER+STRICT``, ``amber_strict``, ``tlp:white``.

        TLP 1.0 WHITE is read as CLEAR, its TLP 2.0 successor.
        """
        key = re.sub(r"\s+", "", text).upper()
        key = key.removeprefix("TLP:").removeprefix("TLP").lstrip(":-_")
        key = key.replace("_", "+").replace("-", "+")
        if key == "WHITE":
            return cls.CLEAR
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"not a TLP label: {text!r}") from None


_TLP_ORDER: tuple[Tlp, ...] = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


class AudienceKind(StrEnum):
    """Whom the contributor addresses an item to; the lists themselves live with the item."""

    ALL_MEMBERS = "all_members"
    NAMED_ORGS = "named_orgs"
    NAMED_PEOPLE = "named_people"
    GOVERNMENT_PARTNERS = "government_partners"
    RESEARCHERS = "researchers"

    @property
    def label(self) -> str:
        return _AUDIENCE_LABELS[self]


_AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.ALL_MEMBERS: "All member labs",
    AudienceKind.NAMED_ORGS: "Named member labs",
    AudienceKind.NAMED_PEOPLE: "Named people",
    AudienceKind.GOVERNMENT_PARTNERS: "Designated government partners",
    AudienceKind.RESEARCHERS: "Admitted researchers",
}

# Which audience kinds each label admits; see the module docstring for the reasoning.
ALLOWED_AUDIENCES: dict[Tlp, frozenset[AudienceKind]] = {
    Tlp.CLEAR: frozenset(AudienceKind),
    Tlp.GREEN: frozenset(AudienceKind),
    Tlp.AMBER: frozenset(AudienceKind),
    Tlp.AMBER_STRICT: frozenset(AudienceKind),
    Tlp.RED: frozenset({AudienceKind.NAMED_PEOPLE}),
}


@dataclass(frozen=True, slots=True)
class AudienceViolation:
    """One reason an audience does not fit a TLP label; ``audience`` is None for whole-audience faults."""

    audience: AudienceKind | None
    message: str


def audience_allowed(tlp: Tlp, audience_kinds: Iterable[AudienceKind]) -> list[AudienceViolation]:
    """Check an item's audience against its label; an empty list means the pair is allowed."""
    kinds = sorted(set(audience_kinds), key=list(AudienceKind).index)
    if not kinds:
        return [AudienceViolation(None, "Choose at least one audience for the item.")]
    violations = []
    for kind in kinds:
        if kind in ALLOWED_AUDIENCES[tlp]:
            continue
        if tlp is Tlp.RED and kind is AudienceKind.GOVERNMENT_PARTNERS:
            message = (
                "TLP:RED items are never shared with government partners; choose TLP:AMBER+STRICT or "
                "wider, or leave government partners out."
            )
        elif tlp is Tlp.RED:
            message = (
                f"TLP:RED is for named individuals only, so '{kind.label}' cannot receive it; name the people instead."
            )
        else:  # pragma: no cover - every other label admits every kind today
            message = f"{tlp.label} cannot be shared with '{kind.label}'."
        violations.append(AudienceViolation(kind, message))
    return violations


def community_members(audience_kinds: Iterable[AudienceKind]) -> list[str]:
    """Who counts as the community for an item with this audience (shown on GREEN items)."""
    kinds = set(audience_kinds)
    members = ["the exchange's member labs"]
    if AudienceKind.GOVERNMENT_PARTNERS in kinds:
        members.append("designated government partners")
    if AudienceKind.RESEARCHERS in kinds:
        members.append("admitted researchers")
    return members


def handling_note(tlp: Tlp, audience_kinds: Iterable[AudienceKind]) -> str:
    """One sentence telling a recipient what they may do with an item, in the exchange's terms."""
    if tlp is Tlp.CLEAR:
        return "TLP:CLEAR: you may share this without restriction."
    if tlp is Tlp.GREEN:
        community = community_members(audience_kinds)
        listed = community[0] if len(community) == 1 else ", ".join(community[:-1]) + " and " + community[-1]
        return f"TLP:GREEN: you may share this within the community ({listed}), but not through any public channel."
    if tlp is Tlp.AMBER:
        return (
            "TLP:AMBER: you may share this inside your own organisation, and with those you provide "
            "services to who need it to protect themselves, on a need-to-know basis only."
        )
    if tlp is Tlp.AMBER_STRICT:
        return (
            "TLP:AMBER+STRICT: you may share this only inside your own organisation, on a need-to-know "
            "basis; not with other member labs, nor with your clients."
        )
    return "TLP:RED: for you alone, as a named recipient; do not share it with anyone."


class Severity(StrEnum):
    """How bad the described problem is if left alone."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def order(self) -> int:
        return list(Severity).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Priority(StrEnum):
    """How soon the contributor thinks recipients should act."""

    ROUTINE = "routine"
    ELEVATED = "elevated"
    URGENT = "urgent"
    IMMEDIATE = "immediate"

    @property
    def order(self) -> int:
        return list(Priority).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def description(self) -> str:
        return _PRIORITY_TEXT[self]


_PRIORITY_TEXT: dict[Priority, str] = {
    Priority.ROUTINE: "Read and act in the normal course of work.",
    Priority.ELEVATED: "Review within days; schedule any change.",
    Priority.URGENT: "Review within a day; mitigation likely needed.",
    Priority.IMMEDIATE: "Act now: active exploitation or imminent harm.",
}


class Confidence(StrEnum):
    """How sure the contributor is of the assessment."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def order(self) -> int:
        return list(Confidence).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Modality(StrEnum):
    """Model input/output modalities an item can concern."""

    TEXT = "text"
    CODE = "code"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    MULTIMODAL = "multimodal"
    AGENTIC = "agentic"


# --- Reference identifiers -------------------------------------------------------------------------


class RefScheme(StrEnum):
    """Public catalogues an item can cite."""

    ATLAS = "mitre-atlas"
    OWASP_LLM = "owasp-llm-top-10"
    CVE = "cve"
    CWE = "cwe"


# Editions of the OWASP Top 10 for LLM applications; extend when OWASP publishes a new one.
OWASP_LLM_EDITIONS: frozenset[int] = frozenset({2023, 2025})

_ATLAS_RE = re.compile(r"AML\.T\d{4}(?:\.\d{3})?")
_OWASP_RE = re.compile(r"LLM(0[1-9]|10):(\d{4})")
_CVE_RE = re.compile(r"CVE-(\d{4})-\d{4,19}")
_CWE_RE = re.compile(r"CWE-[1-9]\d{0,5}")


def is_atlas_technique(ref: str) -> bool:
    """``AML.T0051`` or a sub-technique ``AML.T0051.000``."""
    return _ATLAS_RE.fullmatch(ref) is not None


def is_owasp_llm(ref: str) -> bool:
    """``LLM01:2025``: entry 01 to 10 of a published edition of the OWASP LLM Top 10."""
    match = _OWASP_RE.fullmatch(ref)
    return match is not None and int(match.group(2)) in OWASP_LLM_EDITIONS


def is_cve(ref: str) -> bool:
    """``CVE-YYYY-NNNN`` with four or more digits in the sequence part; CVE years start at 1999."""
    match = _CVE_RE.fullmatch(ref)
    return match is not None and int(match.group(1)) >= 1999


def is_cwe(ref: str) -> bool:
    """``CWE-79``: a positive number without leading zeros."""
    return _CWE_RE.fullmatch(ref) is not None


def normalise_reference(ref: str) -> str:
    """Trim and upper-case a reference the way the catalogues write it (``aml.t0051`` → ``AML.T0051``)."""
    return re.sub(r"\s+", "", ref).upper()


def reference_scheme(ref: str) -> RefScheme | None:
    """The catalogue an already-normalised reference belongs to, or None if it is not valid."""
    if is_atlas_technique(ref):
        return RefScheme.ATLAS
    if is_owasp_llm(ref):
        return RefScheme.OWASP_LLM
    if is_cve(ref):
        return RefScheme.CVE
    if is_cwe(ref):
        return RefScheme.CWE
    return None


def validate_reference(ref: str) -> str:
    """Normalise ``ref`` and return it, or raise ``ValueError`` naming the accepted forms."""
    normalised = normalise_reference(ref)
    if reference_scheme(normalised) is None:
        raise ValueError(
            f"{ref!r} is not a reference the exchange accepts: use a MITRE ATLAS technique (AML.T0051 or "
            "AML.T0051.000), an OWASP LLM Top 10 entry with its edition (LLM01:2025), a CVE "
            "(CVE-2025-12345) or a CWE (CWE-502)."
        )
    return normalised
