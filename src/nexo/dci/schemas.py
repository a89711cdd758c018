"""Typed views of the DCI messages Nexo receives.

Every incoming message is first checked against the standard's own JSON schema
(``nexo.dci.standard``); these models then give the fields Nexo uses a type. DCI objects are
open (implementations may add attributes), so unknown fields are kept, not refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Header(_Open):
    """``MsgHeader_V1.0.0``."""

    version: str = "1.0.0"
    message_id: str
    message_ts: AwareDatetime
    action: str
    sender_id: str
    sender_uri: str | None = None
    receiver_id: str | None = None
    total_count: int
    is_msg_encrypted: bool = False
    meta: dict[str, Any] | None = None


class Envelope(_Open):
    """``{signature, header, message}``; the message is read per action."""

    signature: str | None = None
    header: Header
    message: dict[str, Any]


class PaginationRequest(_Open):
    page_size: float
    page_number: float = 1


class SortSpec(_Open):
    attribute_name: str | None = None
    sort_order: str | None = None


class SearchCriteria(_Open):
    version: str = "1.0.0"
    reg_type: str | None = None
    reg_event_type: str | None = None
    query_type: str
    response_entity: str | None = None
    query: Any
    sort: list[SortSpec] | None = None
    pagination: PaginationRequest | None = None
    consent: dict[str, Any] | None = None
    authorize: dict[str, Any] | None = None


class SearchItem(_Open):
    reference_id: str
    timestamp: AwareDatetime
    search_criteria: SearchCriteria
    locale: str | None = None


class SearchRequest(_Open):
    transaction_id: str
    search_request: list[SearchItem]


class TxnStatusQuery(_Open):
    reference_id: str
    txn_type: str
    attribute_type: str
    attribute_value: str | list[str]
    locale: str | None = None


class TxnStatusRequest(_Open):
    transaction_id: str
    txnstatus_request: TxnStatusQuery


class EventFrequency(_Open):
    start_time: AwareDatetime
    end_time: AwareDatetime
    frequency: str


class SubscribeCriteria(_Open):
    version: str = "1.0.0"
    reg_type: str | None = None
    reg_event_type: str
    frequency: EventFrequency | None = None
    filter_type: str | None = None
    filter: Any
    notify_record_type: str
    authorize: dict[str, Any] | None = None


class SubscribeItem(_Open):
    reference_id: str
    timestamp: AwareDatetime
    subscribe_criteria: SubscribeCriteria
    locale: str | None = None


class SubscribeRequest(_Open):
    transaction_id: str
    subscribe_request: list[SubscribeItem]


class UnsubscribeRequest(_Open):
    transaction_id: str
    timestamp: AwareDatetime
    subscription_codes: list[str] = Field(default_factory=list)
