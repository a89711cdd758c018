"""DCI error and status reason codes, and the errors Nexo raises when a DCI message is refused.

Two layers, as the standard has them:

- a message Nexo cannot accept at all (unauthenticated, unparsable, breaking the schema, bad
  signature, unknown sender) is refused with an ``err.*`` code (:class:`ErrorCode`): an ``ERR``
  acknowledgement on asynchronous endpoints, a rejected envelope on synchronous ones;
- inside an accepted message, each request of a batch gets its own status, ``rjct`` with a
  ``rjct.*`` reason (:class:`SearchReason`...) when it cannot be answered.
"""

from __future__ import annotations

from enum import StrEnum

from nexo.errors import NexoError


class ErrorCode(StrEnum):
    """``Error.code`` of the standard (communication-layer errors)."""

    REQUEST_BAD = "err.request.bad"
    REQUEST_UNAUTHORIZED = "err.request.unauthorized"
    REQUEST_FORBIDDEN = "err.request.forbidden"
    REQUEST_NOT_FOUND = "err.request.not_found"
    REQUEST_TIMEOUT = "err.request.timeout"
    VERSION_NOT_SUPPORTED = "err.version.not_supported"
    TOO_MANY_REQUESTS = "err.request.too_many_requests"
    SENDER_ID_INVALID = "err.sender_id.invalid"
    SENDER_URI_INVALID = "err.sender_uri.invalid"
    RECEIVER_ID_INVALID = "err.receiver_id.invalid"
    SIGNATURE_MISSING = "err.signature.missing"
    SIGNATURE_INVALID = "err.signature.invalid"
    ENCRYPTION_INVALID = "err.encryption.invalid"
    SERVICE_UNAVAILABLE = "err.service.unavailable"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self, 400)

    @property
    def summary(self) -> str:
        return _TITLES[self]


_HTTP_STATUS = {
    ErrorCode.REQUEST_UNAUTHORIZED: 401,
    ErrorCode.SIGNATURE_MISSING: 401,
    ErrorCode.SIGNATURE_INVALID: 401,
    ErrorCode.REQUEST_FORBIDDEN: 403,
    ErrorCode.SENDER_ID_INVALID: 403,
    ErrorCode.REQUEST_NOT_FOUND: 404,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.SERVICE_UNAVAILABLE: 500,
}

_TITLES = {
    ErrorCode.REQUEST_BAD: "The message is malformed",
    ErrorCode.REQUEST_UNAUTHORIZED: "No valid access token",
    ErrorCode.REQUEST_FORBIDDEN: "Not allowed",
    ErrorCode.REQUEST_NOT_FOUND: "Not found",
    ErrorCode.REQUEST_TIMEOUT: "Timed out",
    ErrorCode.VERSION_NOT_SUPPORTED: "Protocol version not supported",
    ErrorCode.TOO_MANY_REQUESTS: "Too many requests",
    ErrorCode.SENDER_ID_INVALID: "Unknown or foreign sender_id",
    ErrorCode.SENDER_URI_INVALID: "sender_uri is not a registered callback address",
    ErrorCode.RECEIVER_ID_INVALID: "receiver_id is not this registry",
    ErrorCode.SIGNATURE_MISSING: "The message is not signed",
    ErrorCode.SIGNATURE_INVALID: "The message signature does not verify",
    ErrorCode.ENCRYPTION_INVALID: "Encrypted messages are not supported",
    ErrorCode.SERVICE_UNAVAILABLE: "The registry failed to handle the message",
}


class HeaderReason(StrEnum):
    """``MsgHeaderStatusReasonCode``: why a whole message was rejected (callback headers)."""

    VERSION_INVALID = "rjct.version.invalid"
    MESSAGE_ID_DUPLICATE = "rjct.message_id.duplicate"
    MESSAGE_TS_INVALID = "rjct.message_ts.invalid"
    ACTION_INVALID = "rjct.action.invalid"
    ACTION_NOT_SUPPORTED = "rjct.action.not_supported"
    TOTAL_COUNT_INVALID = "rjct.total_count.invalid"
    TOTAL_COUNT_LIMIT_EXCEEDED = "rjct.total_count.limit_exceeded"
    ERRORS_TOO_MANY = "rjct.errors.too_many"


class SearchReason(StrEnum):
    """``SearchStatusReasonCode``: why one search request of a batch was rejected."""

    REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
    REFERENCE_ID_DUPLICATE = "rjct.reference_id.duplicate"
    TIMESTAMP_INVALID = "rjct.timestamp.invalid"
    SEARCH_CRITERIA_INVALID = "rjct.search_criteria.invalid"
    FILTER_INVALID = "rjct.filter.invalid"
    SORT_INVALID = "rjct.sort.invalid"
    PAGINATION_INVALID = "rjct.pagination.invalid"
    TOO_MANY_RECORDS = "rjct.search.too_many_records_found"


class SubscribeReason(StrEnum):
    """``SubscribeStatusReasonCode`` (registry core)."""

    REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
    REFERENCE_ID_DUPLICATE = "rjct.reference_id.duplicate"
    TIMESTAMP_INVALID = "rjct.timestamp.invalid"
    NOTIFY_TYPES_INVALID = "rjct.notify_types.invalid"
    NOTIFY_DETAILS_INVALID = "rjct.notify_details.invalid"
    PERSON_ID_INVALID = "rjct.person_id.invalid"
    ALREADY_SUBSCRIBED = "rjct.event.already_subscribed"


class UnsubscribeReason(StrEnum):
    """``UnSubscribeStatusReasonCode`` (registry core)."""

    REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
    REFERENCE_ID_DUPLICATE = "rjct.reference_id.duplicate"
    TIMESTAMP_INVALID = "rjct.timestamp.invalid"
    SUBSCRIPTION_CODE_INVALID = "rjct.subscription_code.invalid"
    REQUESTER_INVALID = "rjct.requester.invalid"
    ALREADY_UNSUBSCRIBED = "rjct.event.already_unsubscribed"


class DciRefused(NexoError):
    """A DCI message Nexo refuses as a whole, with the standard's error code.

    ``header_reason`` is set when a header-status reason code says more (sync replies carry it).
    """

    code = "dci-refused"

    def __init__(
        self,
        error: ErrorCode,
        message: str,
        *,
        header_reason: HeaderReason | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message[:999], hint=hint)
        self.error = error
        self.header_reason = header_reason


class ItemRejected(NexoError):
    """One request of a batch cannot be answered: ``rjct`` with a reason code (if one fits)."""

    code = "dci-item-rejected"

    def __init__(self, reason: StrEnum | None, message: str) -> None:
        super().__init__(message[:999])
        self.reason = reason
