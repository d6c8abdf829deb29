"""How a job leaves the building: SMTP for email, signed HTTP POST for webhooks."""

from __future__ import annotations

import json
import re
import smtplib
from dataclasses import dataclass
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import httpx

from signalfire.core.clock import utcnow
from signalfire.core.settings import MailSettings
from signalfire.core.signing import sign


class DeliveryError(Exception):
    """A failed attempt; `permanent` ones are not retried. A job that dies alerts its org's admins unless
    `alert` is off (when the org itself caused it, e.g. by removing the webhook endpoint)."""

    def __init__(self, message: str, *, permanent: bool = False, alert: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.alert = alert


class MessageNotBuilt(DeliveryError):
    """The job cannot be turned into a message (an address that is not one, a missing field): a retry
    would fail the same way, so the job dies at once."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """User text made fit for a header: CR, LF and other control characters become single spaces.

    A newline in a header value would start a new header (injection); the email library refuses it,
    and a page whose incident title had one used to fail every attempt. Addresses are not cleaned
    this way: an address with a newline is not an address, and the message cannot be built.
    """
    return " ".join(_CONTROL.sub(" ", value).split())


class Mailer(Protocol):
    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None: ...


@dataclass
class SmtpMailer:
    settings: MailSettings

    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
        msg = build_message(sender=self.settings.sender, job_id=job_id, to=to, subject=subject, body=body)
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


def build_message(*, sender: str, job_id: str, to: list[str], subject: str, body: str) -> EmailMessage:
    """The email for a job; raises :class:`MessageNotBuilt` when no valid message can be made of it."""
    try:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = header_text(subject)
        # Derived from the job id, so a receiver can drop the rare redelivery after a crash.
        msg["Message-ID"] = make_msgid(idstring=job_id, domain="signalfire.local")
        msg["X-Signalfire-Delivery"] = job_id
        msg.set_content(body)
        msg.as_bytes()  # serialising is where some malformed values surface
    except (ValueError, TypeError, MessageError) as exc:
        raise MessageNotBuilt(f"the message cannot be built: {exc.__class__.__name__}: {exc}") from exc
    return msg


class LogMailer:
    """Development default when no SMTP server is configured: keeps messages in memory."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
        # Built (and dropped) like a real one, so a job that SMTP would refuse fails here too.
        build_message(sender="signalfire@localhost", job_id=job_id, to=to, subject=subject, body=body)
        self.sent.append({"job_id": job_id, "to": to, "subject": header_text(subject), "body": body})


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
