"""One module per channel the scorecard reads; each function is a ``scorecard.Check``."""
