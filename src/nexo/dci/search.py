"""Answering the requests of a search message, one by one, through the disclosure port.

Each request gets its own status: ``succ`` with the records the port returned (mapped by
:mod:`nexo.dci.records`, nothing added), or ``rjct`` with the standard's reason code. The purpose
is the request's ``authorize`` (or ``consent``) purpose code, else the client's default purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nexo.config import DciSettings
from nexo.dci import records
from nexo.dci.criteria import Entity
from nexo.dci.envelope import timestamp
from nexo.dci.errors import ItemRejected, SearchReason
from nexo.dci.ports import (
    Client,
    Denied,
    Disclosed,
    Disclosure,
    GroupView,
    PageRequest,
    PersonView,
    RequestContext,
)
from nexo.dci.query import parse_search
from nexo.dci.schemas import SearchItem, SearchRequest

DEFAULT_LOCALE = "eng"
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One answered request: the item for the reply and what Nexo keeps of it (no data)."""

    item: Json
    reference_id: str
    status: str  # succ | rjct
    reason_code: str | None = None
    reason_message: str | None = None
    total_count: int | None = None
    page: PageRequest | None = None
    locale: str | None = None


def rejected(reference_id: str, reason: Any, message: str, locale: str, now: datetime) -> Outcome:
    item: Json = {
        "reference_id": reference_id,
        "timestamp": timestamp(now),
        "status": "rjct",
        "status_reason_message": message[:999],
        "locale": locale,
    }
    code = reason.value if reason is not None else None
    if code:
        item["status_reason_code"] = code
    return Outcome(item, reference_id, "rjct", code, message[:999], locale=locale)


def _check(result: Disclosed, entity: Entity, page: PageRequest) -> None:
    """The port's answer must be what was asked: a binding bug must not reach a sender."""
    kind = GroupView if entity is Entity.GROUP else PersonView
    if len(result.records) > page.size or any(not isinstance(r, kind) for r in result.records):
        raise TypeError(
            f"the disclosure port returned {len(result.records)} records not all {kind.__name__} "
            f"for a page of {page.size}"
        )
    if result.total_count < len(result.records):
        raise TypeError("the disclosure port's total_count is below the records it returned")


def _answer_one(
    item: SearchItem,
    *,
    client: Client,
    context: RequestContext,
    disclosure: Disclosure,
    settings: DciSettings,
    clock: Callable[[], datetime],
) -> Outcome:
    locale = item.locale or DEFAULT_LOCALE
    try:
        parsed = parse_search(
            item.search_criteria,
            default_page_size=min(settings.default_page_size, settings.max_page_size),
            max_page_size=settings.max_page_size,
        )
    except ItemRejected as e:
        return rejected(item.reference_id, e.reason, e.message, locale, clock())
    purpose = parsed.purpose or client.default_purpose
    if not purpose:
        return rejected(
            item.reference_id,
            SearchReason.SEARCH_CRITERIA_INVALID,
            "no purpose: state it in authorize.purpose.code (or consent.purpose.code); "
            "this client has no default purpose",
            locale,
            clock(),
        )
    result = disclosure.search(
        client=client,
        purpose=purpose,
        consent_refs=parsed.consent_refs,
        query=parsed.query,
        page=parsed.page,
        at=clock(),
        context=context,
    )
    now = clock()
    if isinstance(result, Denied):
        return rejected(
            item.reference_id, None, f"denied ({result.rule}): {result.message}", locale, now
        )
    _check(result, parsed.query.entity, parsed.page)
    record_type = "Group" if parsed.query.entity is Entity.GROUP else "Member"
    reply: Json = {
        "reference_id": item.reference_id,
        "timestamp": timestamp(now),
        "status": "succ",
        "data": {
            "version": "1.0.0",
            "reg_record_type": record_type,
            "reg_records": records.records(result.records),
        },
        "pagination": {
            "page_size": parsed.page.size,
            "page_number": parsed.page.number,
            "total_count": result.total_count,
        },
        "locale": locale,
    }
    return Outcome(
        reply,
        item.reference_id,
        "succ",
        total_count=result.total_count,
        page=parsed.page,
        locale=locale,
    )


def answer(
    request: SearchRequest,
    *,
    client: Client,
    sender_id: str,
    message_id: str,
    correlation_id: str,
    disclosure: Disclosure,
    settings: DciSettings,
    clock: Callable[[], datetime],
) -> list[Outcome]:
    """Answer every request of ``request`` in order; a repeated reference id is rejected."""
    out: list[Outcome] = []
    seen: set[str] = set()
    for item in request.search_request:
        if item.reference_id in seen:
            out.append(
                rejected(
                    item.reference_id,
                    SearchReason.REFERENCE_ID_DUPLICATE,
                    "reference_id repeats an earlier request of this message",
                    item.locale or DEFAULT_LOCALE,
                    clock(),
                )
            )
            continue
        seen.add(item.reference_id)
        context = RequestContext(
            sender_id=sender_id,
            message_id=message_id,
            transaction_id=request.transaction_id,
            reference_id=item.reference_id,
            correlation_id=correlation_id,
        )
        out.append(
            _answer_one(
                item,
                client=client,
                context=context,
                disclosure=disclosure,
                settings=settings,
                clock=clock,
            )
        )
    return out


def response_message(transaction_id: str, correlation_id: str, outcomes: list[Outcome]) -> Json:
    """``SearchResponse``."""
    return {
        "transaction_id": transaction_id,
        "correlation_id": correlation_id,
        "search_response": [o.item for o in outcomes],
    }
