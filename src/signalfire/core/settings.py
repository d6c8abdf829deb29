"""One settings object for the whole service, read from SIGNALFIRE_* environment variables.

It fails closed: outside development and test, default secrets refuse to start.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-key-change-me"  # noqa: S105 (refused outside development)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class MailSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 1025
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    sender: str = "Signalfire <signalfire@localhost>"
    # Off in development so the embedded demo never tries to reach a mail server that is not there.
    enabled: bool = False


class JobSettings(BaseModel):
    poll_interval_seconds: float = 1.0
    max_attempts: int = 8
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    # A claimed job whose worker died is taken again after this lease runs out.
    lease_seconds: float = 120.0
    # A worker holding jobs refreshes its row in the worker registry this often (from a thread of its own,
    # so a long job does not stop it); a holder silent for longer than the grace, or whose process on this
    # host is gone, is dead and its jobs are taken again at once instead of when their lease runs out.
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    heartbeat_grace_seconds: float = Field(default=15.0, gt=0)
    webhook_timeout_seconds: float = 10.0

    @model_validator(mode="after")
    def _grace_spans_missed_beats(self) -> JobSettings:
        # One late beat (a busy database) must not make a live worker look dead.
        if self.heartbeat_grace_seconds < 2 * self.heartbeat_seconds:
            raise ValueError("SIGNALFIRE_JOBS__HEARTBEAT_GRACE_SECONDS must be at least twice HEARTBEAT_SECONDS")
        return self


class FeedSettings(BaseModel):
    # Feed URLs come from org admins: by default the server fetches only from public addresses.
    allow_private_addresses: bool = False


class FederationSettings(BaseModel):
    """Peering (SIGNALFIRE_FEDERATION__...): how often pull collections are polled, when to alert."""

    pull_every_seconds: float = 60.0
    # A peer failing for longer than this alerts its org's admins (once per failing spell).
    alert_after_minutes: float = 30.0
    # Peers on loopback or private addresses (tests, the federated demo, an intranet hub). None: follow
    # SIGNALFIRE_FEEDS__ALLOW_PRIVATE_ADDRESSES. Off, a peer URL can never reach the deployment's own network.
    allow_private_addresses: bool | None = None
    # Push: ledger rows of one peer collection sent in one TAXII envelope (one POST) by one job run.
    push_batch_size: int = Field(default=500, ge=1, le=5000)


class LimitSettings(BaseModel):
    max_body_bytes: int = 2 * 1024 * 1024
    max_attachment_bytes: int = 5 * 1024 * 1024
    login_attempts_per_minute: int = 10
    public_submissions_per_minute: int = 20


class RetentionSettings(BaseModel):
    """How long bookkeeping rows are kept before the worker prunes them (SIGNALFIRE_RETENTION__...).

    Outbox rows carry dedupe keys ("notify about X once"), so keep finished jobs longer than any producer
    could enqueue the same notification again; every current producer keeps its own record as well.
    """

    # Fixed windows of at most a few minutes; a day of history is plenty to look into an incident.
    rate_limit_window_hours: float = Field(default=24.0, gt=0)
    # A client retrying a create after this long gets a new record instead of the first response.
    idempotency_key_days: float = Field(default=7.0, gt=0)
    outbox_done_days: float = Field(default=30.0, gt=0)
    # Dead jobs are kept longer: they are the evidence that someone was not notified.
    outbox_dead_days: float = Field(default=90.0, gt=0)
    # STIX import jobs once finished (done or failed; queued and running ones are never pruned). The stored
    # bundle (up to the API's 100 MB, TLP:RED included) goes first: a done job drops it as it finishes, a
    # failed one keeps it this long. The job row (its outcome, shown on its page and by the API) goes later;
    # after that the job answers 404 like any missing one, and its audit entries remain.
    import_bundle_days: float = Field(default=7.0, gt=0)
    import_job_days: float = Field(default=90.0, gt=0)
    # Each run deletes at most batch_size * max_batches rows per table, one bounded DELETE per batch.
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    max_batches: int = Field(default=20, ge=1)


class AuditSettings(BaseModel):
    # The checkpoint signing key, "PRIVATE+KEY+<name>+<hex id>+<base64>" (signed-note format), inline or
    # in a file; `signalfire audit keygen` writes one. Without either, development and test derive a key
    # from the secret key; production refuses to start.
    signing_key: SecretStr | None = None
    signing_key_file: Path | None = None
    # Verifier keys of earlier signing keys ("<name>+<hex id>+<base64>"): their checkpoints still verify.
    trusted_keys: list[str] = Field(default_factory=list)
    # Witness cosignature keys that count towards `audit verify --quorum` (default: those registered).
    witness_keys: list[str] = Field(default_factory=list)
    # The log's name in checkpoints; by default the host of public_base_url plus "/signalfire/audit".
    origin: str | None = None
    # The sequencer integrates pending entries this often, at most this many per batch.
    sequencer_interval_seconds: float = 0.2
    sequencer_batch: int = 5000
    sequencer_lease_seconds: float = 30.0
    witness_timeout_seconds: float = 10.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNALFIRE_", env_nested_delimiter="__", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = Field(default="")
    instance_dir: Path = Path("instance")
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    public_base_url: str = "http://127.0.0.1:8000"
    session_max_age_seconds: int = 12 * 3600
    # Run the outbox worker and scheduler inside `serve` (embedded mode).
    embedded_worker: bool = True
    cookie_secure: bool = False
    mail: MailSettings = Field(default_factory=MailSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    federation: FederationSettings = Field(default_factory=FederationSettings)

    @model_validator(mode="after")
    def _defaults_and_fail_closed(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.instance_dir / 'signalfire.db').resolve()}"
        if self.environment == Environment.production:
            if self.secret_key.get_secret_value() == DEV_SECRET or len(self.secret_key.get_secret_value()) < 32:
                raise ValueError(
                    "SIGNALFIRE_SECRET_KEY must be set to a random value of at least 32 characters in production"
                )
            if self.audit.signing_key is None and self.audit.signing_key_file is None:
                raise ValueError(
                    "SIGNALFIRE_AUDIT__SIGNING_KEY or SIGNALFIRE_AUDIT__SIGNING_KEY_FILE must be set in production"
                )
            if not self.cookie_secure:
                raise ValueError("SIGNALFIRE_COOKIE_SECURE must be true in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
