"""Counsel sign-off: publishing despite antitrust findings needs competition counsel's approval.

A person holding ``exchange:screening:counsel`` (the org's ``counsel`` role; admins do not hold it,
see ``access.permissions``) reviews the findings with their "why flagged" explanations and signs off,
with a reason, for the text as it is now. Four eyes, twice over: counsel never signs off an item they
drafted, and the publisher's override is accepted only with a sign-off by someone other than the
publisher; editing the text or its attachments voids it. Both acts are audited.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.exchange import readable_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.exchange import antitrust, screening
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.sanitise.models import CounselSignoff
from signalfire.exchange.sanitise.service import attachment_digests, current_hash, signoff_hash
from signalfire.exchange.screening import Finding, ScreeningInputTooLarge

REASON_MIN = 10
REASON_MAX = 2000


def antitrust_findings(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.kind == "antitrust"]


def sign_off(session: Session, actor: Actor, item_id: uuid.UUID, reason: str) -> CounselSignoff:
    """Counsel approves publishing this item's current text despite its antitrust findings."""
    from signalfire.exchange.authoring import screen_item  # authoring calls require_counsel: import late

    # The item first: someone who cannot see it (another org; a viewer, reporter or responder of the org
    # while it is a draft) gets the same 404 as for a missing one. Only those who can see it learn, with a
    # 403, that their role does not sign off (admins and analysts see drafts but are not counsel).
    item = first_or_404(
        session,
        readable_items(actor).where(ExchangeItem.id == item_id, ExchangeItem.org_id == actor.org_id),
        "No such item.",
    )
    require(actor, Permission.exchange_screening_counsel)
    if item.created_by_id == actor.user_id:
        raise Forbidden("Counsel's sign-off must come from someone other than the item's author.")
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationFailed.single("reason", f"say why in {REASON_MIN} to {REASON_MAX} characters")
    findings = antitrust_findings(screen_item(session, item))
    if not findings:
        raise Conflict(
            "Screening finds nothing commercially sensitive; there is nothing to sign off.", slug="no-findings"
        )
    signoff = CounselSignoff(
        id=uuid.uuid4(),
        item_id=item.id,
        org_id=actor.org_id,
        user_id=actor.user_id,
        content_hash=current_hash(session, item),
        reason=reason,
        findings=[asdict(finding) for finding in findings],
        created_at=utcnow(),
    )
    session.add(signoff)
    record(
        session,
        action="exchange.item.counsel_signed_off",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"reason": reason, "findings": [f"{f.rule_id}@{f.field}" for f in findings]},
    )
    return signoff


def require_counsel(session: Session, actor: Actor, item: ExchangeItem, findings: list[Finding]) -> None:
    """Publishing gate for an override: antitrust findings need a current sign-off by another person."""
    flagged = antitrust_findings(findings)
    if not flagged:
        return
    current = current_hash(session, item)
    signoffs = session.execute(
        select(CounselSignoff).where(CounselSignoff.item_id == item.id, CounselSignoff.content_hash == current)
    ).scalars()
    if any(signoff.user_id != actor.user_id for signoff in signoffs):
        return
    families = sorted({finding.rule_id.removeprefix("antitrust.") for finding in flagged})
    raise Conflict(
        "Commercially sensitive content (" + ", ".join(families) + ") can only be published with competition "
        "counsel's sign-off, given by someone other than the publisher for the text as it is now.",
        slug="counsel-sign-off-needed",
    )


def can_sign_off(actor: Actor, item: ExchangeItem) -> bool:
    """Whether the sign-off form is offered: counsel of the item's org, not its author (as in sign_off)."""
    return (
        actor.can(Permission.exchange_screening_counsel)
        and item.org_id == actor.org_id
        and item.created_by_id != actor.user_id
    )


# How many of the org's latest drafts "My work" screens for antitrust findings. Screening runs in Python (a
# few ms per draft, plus its text attachments), and the My work badge refreshes every minute, so the scan is
# bounded; an org rarely has more drafts in flight. Unchanged drafts are not screened again (_FindingsCache).
AWAITING_SCAN = 50
CACHE_ENTRIES = 4096


class _FindingsCache:
    """Antitrust findings by what was screened, so My work's poll does not re-screen unchanged drafts.

    ``screening.screen`` is a pure function of the fields it is given (names and texts, in order) and of
    the process-wide rules (compiled once from the YAML files; no org settings). So the key is a digest of
    exactly those fields, as ``authoring.screening_fields`` builds them (attachments included, which
    ``content_hash`` leaves out), plus the org, so no entry is ever shared between orgs, not even as a
    timing difference. The rules in force are held by identity: new rule objects (``cache_clear``, a test's
    monkeypatch) empty the cache; a rules change on disk needs a restart, which starts it empty too.
    Bounded LRU; the lock only guards the dict, screening runs outside it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[uuid.UUID, str], tuple[Finding, ...] | None] = OrderedDict()
        self._rules: tuple[object, ...] = ()

    @staticmethod
    def _rules_in_force() -> tuple[object, ...]:
        # Looked up through the modules, as screen() and detect_families() do, so a replacement is seen.
        return (screening.default_rules(), antitrust.default_family_rules())

    def _current(self, rules: tuple[object, ...]) -> bool:
        return len(rules) == len(self._rules) and all(a is b for a, b in zip(rules, self._rules, strict=True))

    @staticmethod
    def _digest(fields: dict[str, str]) -> str:
        # A list of pairs keeps the field order, which the order of the findings follows.
        canonical = json.dumps(list(fields.items()), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()

    def antitrust(self, org_id: uuid.UUID, fields: dict[str, str]) -> list[Finding] | None:
        """The antitrust findings for these fields; None if the text is too large to screen."""
        rules = self._rules_in_force()
        key = (org_id, self._digest(fields))
        with self._lock:
            if not self._current(rules):
                self._entries.clear()
                self._rules = rules
            elif key in self._entries:
                self._entries.move_to_end(key)
                cached = self._entries[key]
                return None if cached is None else list(cached)
        try:
            found: tuple[Finding, ...] | None = tuple(antitrust_findings(screening.screen(fields)))
        except ScreeningInputTooLarge:
            found = None
        with self._lock:
            if self._current(rules):  # not if the rules changed while screening
                self._entries[key] = found
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return None if found is None else list(found)


_findings_cache = _FindingsCache(CACHE_ENTRIES)


@dataclass(frozen=True)
class AwaitingSignoff:
    item: ExchangeItem
    findings: list[Finding]


def awaiting_sign_off(session: Session, actor: Actor, *, limit: int = 50) -> list[AwaitingSignoff]:
    """The org's drafts this counsel may sign off whose antitrust findings have no sign-off for the current text.

    Starts from the readable statement (counsel see their org's drafts); the author's own drafts are left
    out, since they may not sign those off. Screening runs per draft, so only the latest drafts are read.
    """
    if not actor.can(Permission.exchange_screening_counsel):
        return []
    drafts = list(
        session.execute(
            readable_items(actor)
            .where(
                ExchangeItem.org_id == actor.org_id,
                ExchangeItem.status == ItemStatus.DRAFT,
                or_(ExchangeItem.created_by_id.is_(None), ExchangeItem.created_by_id != actor.user_id),
            )
            .order_by(ExchangeItem.updated_at.desc(), ExchangeItem.id)
            .limit(AWAITING_SCAN)
        ).scalars()
    )
    if not drafts:
        return []
    from signalfire.exchange.authoring import screening_fields_of  # authoring calls require_counsel: import late

    signed: dict[uuid.UUID, set[str]] = {}
    for item_id, signed_hash in session.execute(
        select(CounselSignoff.item_id, CounselSignoff.content_hash).where(
            CounselSignoff.item_id.in_([d.id for d in drafts])
        )
    ):
        signed.setdefault(item_id, set()).add(signed_hash)
    attached = attachment_digests(session, [d.id for d in drafts])
    unsigned = [item for item in drafts if signoff_hash(item, attached[item.id]) not in signed.get(item.id, set())]
    fields = screening_fields_of(session, unsigned)
    out: list[AwaitingSignoff] = []
    for item in unsigned:
        # Only screen_item's antitrust findings matter here, and they all come from screen() over these fields
        # (the sanitiser's identifier findings are personal data), so the cache stands in for screen_item.
        findings = _findings_cache.antitrust(item.org_id, fields[item.id])
        if findings is None:  # too large to screen: it cannot be published either way
            continue
        if findings:
            out.append(AwaitingSignoff(item, findings))
        if len(out) >= limit:
            break
    return out
