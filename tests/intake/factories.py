"""Builders for intake test data, over the real services so tests exercise the same rules."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.intake import sources
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import IntakeSettings, Signal, SourceKind
from signalfire.intake.schemas import IntakeSettingsIn


def signal(
    db: Session,
    org_id: uuid.UUID,
    *,
    title: str = "Model produced harmful output",
    text: str = "A user reported that the assistant produced instructions it should have refused.",
    source_kind: SourceKind = SourceKind.manual,
    **extra: Any,
) -> Signal:
    return ingest(db, Incoming(org_id=org_id, source_kind=source_kind, title=title, text=text, **extra))


def open_channel(
    db: Session,
    admin: Actor,
    *,
    min_fill_seconds: int = 0,
    model_names: list[str] | None = None,
    allow_anonymous: bool = True,
) -> IntakeSettings:
    return sources.update_settings(
        db,
        admin,
        IntakeSettingsIn(
            public_form_enabled=True,
            min_fill_seconds=min_fill_seconds,
            model_names=model_names or [],
            allow_anonymous=allow_anonymous,
            intro="Tell us what happened.",
        ),
    )
