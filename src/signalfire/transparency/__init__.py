"""Transparency reports: periodic figures compiled from an org's own records in the other channels,
signed off by a second person and published as immutable, hashed editions.

Shape: no `tasks.py`, because figures are computed when a draft is viewed, signed off or published, and
nothing runs on a schedule.
"""
