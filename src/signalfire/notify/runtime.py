"""Build a worker from settings: real SMTP when mail is enabled, otherwise an in-memory mailer."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.settings import Settings
from signalfire.notify.transports import LogMailer, Mailer, SmtpMailer
from signalfire.notify.worker import Worker


def build_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings.mail) if settings.mail.enabled else LogMailer()


def build_worker(factory: sessionmaker[Session], settings: Settings, worker_id: str | None = None) -> Worker:
    return Worker(factory, settings=settings.jobs, mailer=build_mailer(settings), worker_id=worker_id)
