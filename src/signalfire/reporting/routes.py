"""The reporting channel's routers: pages under /reporting, the JSON API under /api/v1/reporting."""

from __future__ import annotations

from signalfire.reporting.api import api
from signalfire.reporting.pages import pages
from signalfire.reporting.pages_reports import report_pages
from signalfire.reporting.pages_settings import settings_pages
from signalfire.reporting.panel import panel

routers = [pages, report_pages, settings_pages, panel, api]
