"""Reporting: which regimes apply to an incident, the legal clocks they start, the reports filed to
authorities, and the authorities' inbox.

The house shape, with the rules split by topic because together they pass what one module should hold:
service.py composes the topic modules (assessments.py, obligations.py, events.py, reports.py, inbox.py,
retention.py, bindings.py, org_profile.py, org_settings.py) for the pages, the API and the commands;
queries.py holds the reads that belong to no one topic. routes.py gathers the routers of pages*.py and
api.py; cli.py and cli_reports.py are the commands; views.py turns rows into what is shown. The pure rules
engine is the sub-package rules/ (regime_schema.py, regime_loader.py, clock_events.py,
assessment_engine.py, deadlines.py, catalog.py): it never touches the database, and the regime files it
reads are the data package regimes/.
"""
