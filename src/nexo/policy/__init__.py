"""Policy: purpose catalogue, data-sharing agreements, consent, and the pure decision."""
