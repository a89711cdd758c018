"""Nexo: interoperability hub between an employment service and a social protection agency."""

__version__ = "0.1.0"
