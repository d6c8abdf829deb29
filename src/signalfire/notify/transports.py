"""How a job leaves the building: SMTP for email, signed HTTP POST for webhooks."""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import httpx

from signalfire.core.clock import utcnow
from signalfire.core.settings import MailSettings
from signalfire.core.signing import sign


class DeliveryError(Exception):
    """A failed attempt; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None: ...


@dataclass
class SmtpMailer:
    settings: MailSettings

    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        # Derived from the job id, so a receiver can drop the rare redelivery after a crash.
        msg["Message-ID"] = make_msgid(idstring=job_id, domain="signalfire.local")
        msg["X-Signalfire-Delivery"] = job_id
        msg.set_content(body)
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port, timeout=30) as smtp:
                if self.settings.starttls:
                    smtp.starttls()
                if self.settings.username and self.settings.password:
                    smtp.login(self.settings.username, self.settings.password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipients refused: {exc.recipients}", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP error: {exc}") from exc


class LogMailer:
    """Development default when no SMTP server is configured: keeps messages in memory."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
        self.sent.append({"job_id": job_id, "to": to, "subject": subject, "body": body})


def post_webhook(
    client: httpx.Client, *, url: str, secret: str, event: str, delivery_id: str, data: dict[str, Any]
) -> int:
    body = json.dumps(
        {"event": event, "delivery_id": delivery_id, "sent_at": utcnow().isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Signalfire-Webhook/1",
        "Signalfire-Event": event,
        "Signalfire-Delivery": delivery_id,
        "Signalfire-Signature": sign(secret, body, at=utcnow()),
    }
    try:
        resp = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"HTTP error: {exc.__class__.__name__}: {exc}") from exc
    if resp.status_code == 410:
        raise DeliveryError("endpoint answered 410 Gone", permanent=True)
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"endpoint answered HTTP {resp.status_code}")
    return resp.status_code


def post_chat(client: httpx.Client, *, url: str, text: str) -> int:
    """A person's chat: the incoming-webhook JSON Slack defined and Mattermost, Rocket.Chat and others take
    (``{"text": ...}``). The URL itself is the credential, so nothing is signed."""
    try:
        resp = client.post(url, json={"text": text}, headers={"User-Agent": "Signalfire-Chat/1"})
    except httpx.HTTPError as exc:
        raise DeliveryError(f"HTTP error: {exc.__class__.__name__}: {exc}") from exc
    if resp.status_code in (404, 410):
        raise DeliveryError(f"chat webhook answered {resp.status_code}: removed", permanent=True)
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"chat webhook answered HTTP {resp.status_code}")
    return resp.status_code
