"""Errors specific to the exchange, rendered as problem+json like every AppError."""

from __future__ import annotations

from signalfire.core.errors import AppError, FieldError
from signalfire.exchange.vocab import CoveredUse


class PurposeNotPermitted(AppError):
    """403: the reader may see the item exists but declared no covered use, or one the item does not permit."""

    def __init__(self, purpose: CoveredUse | None, permitted: list[CoveredUse]) -> None:
        allowed = ", ".join(u.value for u in permitted)
        if purpose is None:
            detail = f"Declare why you are reading this item: one of its permitted covered uses ({allowed})."
            title = "Declared purpose required"
        else:
            detail = (
                f"The contributor does not permit this item to be used for '{purpose.value}'. "
                f"Permitted covered uses: {allowed}."
            )
            title = "Purpose not permitted"
        super().__init__(
            detail=detail, status=403, title=title, slug="purpose-not-permitted", errors=[FieldError("purpose", detail)]
        )


class ScreeningBlocked(AppError):
    """409: screening found something; publishing needs an explicit override with a reason."""

    def __init__(self, findings: list[dict[str, object]]) -> None:
        kinds = sorted({str(f["kind"]) for f in findings})
        super().__init__(
            detail=(
                f"Screening found {len(findings)} possible problem(s) ({', '.join(kinds)}). Remove them, or "
                "publish with an override and a reason (screening_override_reason)."
            ),
            status=409,
            title="Screening findings need an override",
            slug="screening-findings",
            errors=[FieldError(f"{f['field']}", f"{f['kind']}: {f['message']} ({f['excerpt']})") for f in findings],
        )
