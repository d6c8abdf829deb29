"""Response: incidents, their timeline, actions and rollbacks, paging and on-call, playbooks, reviews.

Shape: no `queries.py`. Each topic module (service.py for incidents and timelines, actions.py, paging.py,
oncall.py, playbooks.py, reviews.py, contacts.py, stats.py, rollup.py) reads its own rows, always starting
from a readable statement of access.policy.response, and the routes call those modules; a queries.py
would only forward to them.
"""
