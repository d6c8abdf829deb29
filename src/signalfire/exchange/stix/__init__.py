"""STIX 2.1 for the exchange: the mapping between items and STIX objects (convert.py), bundles in and out
over the API and the CLI (bundles.py, cli.py), and the JSON Schema of the Signalfire property extension
(extension/)."""
