"""The TAXII 2.1 server: routes, the wire rules (protocol.py), paging tokens (cursor.py), collections as
audiences (collections.py), their contents and reads (store.py), adding objects (ingest.py) and its
tables (models.py, listed in core.db.all_models)."""
