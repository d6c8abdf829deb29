"""Exchange: items shared between member labs, authorities and researchers under TLP-style markings,
their responses and routing, and the STIX 2.1 / TAXII 2.1 interfaces.

Shape: no `tasks.py`, because the exchange runs nothing in the background; the notifications it sends
(routing, responses) are outbox jobs that notify's worker runs.
"""
