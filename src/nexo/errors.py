"""Nexo's error hierarchy.

Subclasses carry meaning, never HTTP codes: the API maps them to RFC 9457 problem documents and
the CLI to exit codes. Every message says what to do next.
"""

from __future__ import annotations


class NexoError(Exception):
    """Base of every error Nexo raises on purpose."""

    #: short, stable identifier of the kind of problem (used in problem-document type URIs)
    code = "nexo-error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(NexoError):
    """The caller asked for something impossible: a bad option, a missing file, a bad value."""

    code = "usage"


class ConfigurationError(NexoError):
    """Settings or files Nexo depends on are missing or inconsistent."""

    code = "configuration"


class StoreError(NexoError):
    """The operational store failed or is not at the expected schema version."""

    code = "store"


class MappingError(NexoError):
    """A mapping specification is invalid."""

    code = "mapping"


class NotFound(NexoError):
    """A named object does not exist."""

    code = "not-found"


class TransientError(NexoError):
    """A failure of another system that a retry may cure (timeout, connection reset)."""

    code = "transient"


class TerminalError(NexoError):
    """A failure of another system that a retry will not cure (rejected, malformed)."""

    code = "terminal"
