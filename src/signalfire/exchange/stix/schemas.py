"""The JSON shape of a STIX import job (``/api/v1/exchange/imports``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from signalfire.exchange.stix.bundles import ImportOutcome
from signalfire.exchange.stix.models import ImportJobState, StixImportJob


class ImportProgressOut(BaseModel):
    done: int = Field(description="Objects whose outcome is decided and stored (drafts committed).")
    total: int = Field(description="Objects the import handles: reports, lone vulnerabilities and refused objects.")


class ImportJobOut(BaseModel):
    id: uuid.UUID
    state: ImportJobState
    progress: ImportProgressOut
    filename: str
    audience: str
    permitted_uses: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="Why the import failed (state failed); the drafts made before stay.")
    outcome: dict[str, Any] | None = Field(
        description="Once finished: per object, created, updated, unchanged or refused (with the reason), the "
        "same shape as POST /api/v1/exchange/import answers (for a failed import, the objects done before)."
    )
    links: dict[str, str]

    @classmethod
    def of(cls, job: StixImportJob) -> ImportJobOut:
        outcome = ImportOutcome.from_stored(job.outcome).as_json() if job.state.finished else None
        return cls(
            id=job.id,
            state=job.state,
            progress=ImportProgressOut(done=job.done, total=job.total),
            filename=job.filename,
            audience=job.audience,
            permitted_uses=list(job.default_uses),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            outcome=outcome,
            links={"self": f"/api/v1/exchange/imports/{job.id}", "page": f"/exchange/import/jobs/{job.id}"},
        )
