"""Moderation and membership at the hub: pre-publication review, hide/withdraw/out-of-scope with reasons the
contributor sees, a moderation log, and the community's member admissions and suspensions."""
