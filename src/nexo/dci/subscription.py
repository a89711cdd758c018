"""Subscribe and unsubscribe: subscriptions are checked, authorised and stored.

A subscription names events (``reg_event_type``), a filter (any supported query form) and a
purpose; the disclosure port must authorise the client and purpose before it is stored.
Notifications follow once Nexo emits registry events (the events part); each will go through
the disclosure port like a search.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexo.config import DciSettings
from nexo.dci.envelope import timestamp
from nexo.dci.errors import ItemRejected, SubscribeReason, UnsubscribeReason
from nexo.dci.ports import Client, Denied, Disclosure, RequestContext
from nexo.dci.query import parse_search
from nexo.dci.repository import DciRepository
from nexo.dci.schemas import SearchCriteria, SubscribeItem, SubscribeRequest, UnsubscribeRequest
from nexo.dci.search import DEFAULT_LOCALE, Outcome, rejected
from nexo.dci.signature import canonical_json
from nexo.dci.tables import DciSubscriptionRow

Json = dict[str, Any]
Write = Callable[[DciRepository], None]


@dataclass
class SubscribeResult:
    outcomes: list[Outcome]
    writes: list[Write] = field(default_factory=list)


def _filter_type(criteria: Any) -> str:
    if isinstance(criteria.filter, list):
        return "predicate"
    value = criteria.filter.get("value") if isinstance(criteria.filter, dict) else None
    return "expression" if isinstance(value, dict) and "expression" in value else "idtype-value"


def _criteria_key(item: SubscribeItem) -> str:
    c = item.subscribe_criteria.model_dump(mode="json", exclude_none=True)
    return canonical_json(c).decode()


def _subscribe_one(
    item: SubscribeItem,
    *,
    client: Client,
    context: RequestContext,
    disclosure: Disclosure,
    settings: DciSettings,
    active: set[str],
    now: datetime,
) -> tuple[Outcome, DciSubscriptionRow | None]:
    locale = item.locale or DEFAULT_LOCALE
    criteria = item.subscribe_criteria
    reason = SubscribeReason.NOTIFY_DETAILS_INVALID
    if criteria.frequency and criteria.frequency.end_time <= criteria.frequency.start_time:
        return rejected(
            item.reference_id, reason, "frequency.end_time must be after start_time", locale, now
        ), None
    entity = "Group" if "group" in criteria.notify_record_type.lower() else "Member"
    as_search = SearchCriteria(
        query_type=criteria.filter_type or _filter_type(criteria),
        query=criteria.filter,
        response_entity=entity,
        authorize=criteria.authorize,
    )
    try:
        parsed = parse_search(as_search, default_page_size=1, max_page_size=1)
    except ItemRejected as e:
        return rejected(item.reference_id, reason, f"filter: {e.message}", locale, now), None
    purpose = parsed.purpose or client.default_purpose
    if not purpose:
        message = "no purpose: state it in authorize.purpose.code; this client has no default"
        return rejected(item.reference_id, reason, message, locale, now), None
    key = _criteria_key(item)
    if key in active:
        message = "the same subscription is already active"
        return rejected(
            item.reference_id, SubscribeReason.ALREADY_SUBSCRIBED, message, locale, now
        ), None
    denied = disclosure.authorise(
        client=client, purpose=purpose, consent_refs=(), query=parsed.query, at=now, context=context
    )
    if isinstance(denied, Denied):
        message = f"denied ({denied.rule}): {denied.message}"
        return rejected(item.reference_id, None, message, locale, now), None
    active.add(key)
    code = str(uuid.uuid4())
    info: Json = {
        "version": "1.0.0",
        "code": code,
        "status": "subscribe",
        "timestamp": timestamp(now),
        **criteria.model_dump(mode="json", exclude_none=True, exclude={"authorize", "version"}),
        "locale": locale,
    }
    info.setdefault("filter_type", as_search.query_type)
    reply = {
        "reference_id": item.reference_id,
        "timestamp": timestamp(now),
        "status": "succ",
        "subscriptions": [info],
        "locale": locale,
    }
    row = DciSubscriptionRow(
        code=code,
        sender_id=context.sender_id,
        client_id=client.client_id,
        transaction_id=context.transaction_id,
        reference_id=item.reference_id,
        status="subscribe",
        purpose=purpose,
        criteria={**criteria.model_dump(mode="json", exclude_none=True), "_key": key},
        locale=locale,
        sender_uri="",
        created_at=now,
        ended_at=None,
    )
    return Outcome(reply, item.reference_id, "succ", locale=locale), row


def subscribe(
    request: SubscribeRequest,
    *,
    client: Client,
    sender_id: str,
    message_id: str,
    correlation_id: str,
    sender_uri: str,
    existing: list[DciSubscriptionRow],
    disclosure: Disclosure,
    settings: DciSettings,
    now: datetime,
) -> SubscribeResult:
    active = {str(s.criteria.get("_key")) for s in existing if s.status == "subscribe"}
    result = SubscribeResult([])
    seen: set[str] = set()
    for item in request.subscribe_request:
        locale = item.locale or DEFAULT_LOCALE
        if item.reference_id in seen:
            message = "reference_id repeats an earlier request of this message"
            reason = SubscribeReason.REFERENCE_ID_DUPLICATE
            result.outcomes.append(rejected(item.reference_id, reason, message, locale, now))
            continue
        seen.add(item.reference_id)
        context = RequestContext(
            sender_id, message_id, request.transaction_id, item.reference_id, correlation_id
        )
        outcome, row = _subscribe_one(
            item,
            client=client,
            context=context,
            disclosure=disclosure,
            settings=settings,
            active=active,
            now=now,
        )
        result.outcomes.append(outcome)
        if row is not None:
            row.sender_uri = sender_uri
            result.writes.append(lambda repo, row=row: repo.add_subscription(row))  # type: ignore[misc]
    return result


def subscribe_message(transaction_id: str, correlation_id: str, outcomes: list[Outcome]) -> Json:
    """``SubscribeResponse`` (registry core)."""
    return {
        "transaction_id": transaction_id,
        "correlation_id": correlation_id,
        "subscribe_response": [o.item for o in outcomes],
    }


def unsubscribe(
    request: UnsubscribeRequest,
    *,
    sender_id: str,
    correlation_id: str,
    repo: DciRepository,
    now: datetime,
) -> tuple[Json, Outcome]:
    """``UnSubscribeResponse``; all codes or none: an unknown, foreign or ended code rejects the
    whole request and changes nothing."""
    codes = list(dict.fromkeys(request.subscription_codes))
    rows = {r.code: r for r in repo.subscriptions(codes) if r.sender_id == sender_id}
    reason: UnsubscribeReason | None = None
    if not codes or any(c not in rows for c in codes):
        reason = UnsubscribeReason.SUBSCRIPTION_CODE_INVALID
        text = "unknown subscription code(s) for this sender: nothing was changed"
    elif any(rows[c].status != "subscribe" for c in codes):
        reason = UnsubscribeReason.ALREADY_UNSUBSCRIBED
        text = "some subscription(s) were already ended: nothing was changed"
    message: Json = {
        "transaction_id": request.transaction_id,
        "correlation_id": correlation_id,
        "timestamp": timestamp(now),
        "status": "rjct" if reason else "succ",
    }
    if reason:
        message["status_reason_code"] = reason.value
        message["status_reason_message"] = text
        outcome = rejected(request.transaction_id, reason, text, DEFAULT_LOCALE, now)
        return message, outcome
    for c in codes:
        rows[c].status, rows[c].ended_at = "unsubscribe", now
    message["subscription_status"] = [{"code": c, "status": "unsubscribe"} for c in codes]
    return message, Outcome({}, request.transaction_id, "succ", locale=DEFAULT_LOCALE)
