"""Capability-threshold notices: telling a government body that a model crossed a threshold of the org's
own safety framework, whether or not anything went wrong. Kept apart from incident reporting.

Shape: no `tasks.py`, because a notice is sent when a person sends it (the e-mails go through the
outbox, whose worker belongs to notify/) and nothing runs on a schedule yet; overdue notices show in My
work and on the notices page.
"""
