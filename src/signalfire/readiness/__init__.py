"""Readiness: an org's scorecard, computed from its own records in the other channels, and its published
snapshots.

Shape: no `queries.py`, because readiness reads other channels' records only through its checks
(checks/, one module per channel) and its own two tables through service.py, dashboard.py and
publication.py; no `tasks.py`, because a scorecard is computed when asked for (at any past instant) and
nothing runs on a schedule.
"""
