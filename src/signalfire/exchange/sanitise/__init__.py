"""Sanitising text that moves from the response or intake channel into the exchange.

A lesson drafted from a closed incident's review, or a draft promoted from an intake signal, carries
the organisation's own identifiers: incident and intake references, alert fingerprints and
``env=prod``-style labels, hostnames and internal URLs, model version strings, the names of staff and
customers, e-mail addresses, IP addresses and phone numbers. :func:`sanitise` finds them with
Microsoft Presidio (its pattern recognizers for e-mail, IP and phone, plus Signalfire's own
recognizers for the internal identifier classes, and deny-lists for the org's known names) and
replaces each with a numbered placeholder using Presidio's anonymizer. It runs offline: the NLP
engine is a blank English spaCy pipeline (a tokeniser only), so nothing is downloaded at run time.

Every replacement is returned as a :class:`Change` (field, original span, class, placeholder) so a
person can preview it and a second person sign it off before the text is published.
"""

from signalfire.exchange.sanitise.engine import (
    ENTITY_LABELS,
    Change,
    Detection,
    SanitiseContext,
    Sanitised,
    detect,
    sanitise,
    sanitise_fields,
)

__all__ = [
    "ENTITY_LABELS",
    "Change",
    "Detection",
    "SanitiseContext",
    "Sanitised",
    "detect",
    "sanitise",
    "sanitise_fields",
]
