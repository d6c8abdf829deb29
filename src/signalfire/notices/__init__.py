"""Capability-threshold notices: telling a government body that a model crossed a threshold of the org's
own safety framework, whether or not anything went wrong. Kept apart from incident reporting.
"""
