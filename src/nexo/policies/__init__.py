"""Example policy shipped with Nexo: purpose catalogue and data-sharing agreements."""
