"""API schemas of My work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from signalfire.core.schemas import Out, StrictIn


class WorkItemOut(Out):
    kind: str
    title: str
    detail: str
    href: str
    when: datetime | None
    urgent: bool


class MyWorkOut(Out):
    now: datetime
    total: int
    counts: dict[str, int]
    items: list[WorkItemOut]


class ChoiceIO(StrictIn):
    in_app: bool = True
    email: bool = True
    chat: bool = False


class PreferencesIn(StrictIn):
    choices: dict[Annotated[str, StringConstraints(max_length=100)], ChoiceIO] = Field(
        default_factory=dict, max_length=20
    )
    chat_url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description='Your chat\'s incoming-webhook URL; "" removes it, absent leaves it.'
    )


class PreferencesOut(Out):
    kinds: dict[str, str]
    choices: dict[str, ChoiceIO]
    chat_url_set: bool


class NotificationOut(Out):
    id: uuid.UUID
    topic: str
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


class ReadIn(StrictIn):
    id: uuid.UUID | None = Field(default=None, description="One notification; absent: all unread ones.")
