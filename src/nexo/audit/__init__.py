"""Audit trail: an append-only Merkle log of every request and event, with signed checkpoints."""
