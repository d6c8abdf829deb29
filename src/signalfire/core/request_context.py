"""Per-request context that lower layers read without knowing about the web: the request id, set by the
middleware and stamped on audit entries and logs."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
