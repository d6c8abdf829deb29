"""The pure rules engine of reporting: no database, no session, no clock of its own (instants are passed
in). regime_schema.py defines a regime file, regime_loader.py reads and checks them, catalog.py picks the
regimes in force for an org, assessment_engine.py decides applicability and classes, clock_events.py is
the vocabulary of clock starts, and deadlines.py turns an assessment and event times into due instants.
"""
