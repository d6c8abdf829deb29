"""Exchange: items shared between member labs, authorities and researchers under TLP-style markings,
their responses and routing, and the STIX 2.1 / TAXII 2.1 interfaces.

Background work (`tasks.py`): STIX imports run as jobs of notify's worker (``stix.jobs``); the notifications
the exchange sends (routing, responses) are outbox jobs that the worker delivers.
"""
