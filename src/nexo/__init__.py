"""Nexo: an interoperability hub between a public employment service and a social protection agency."""

__version__ = "0.1.0"
