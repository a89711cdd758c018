"""Transaction status: what became of a sender's earlier requests (statuses only, never data).

A sender sees only its own transactions; a transaction it does not have (unknown, or another
sender's) gets the same empty status, so ids reveal nothing. Data is delivered once (in the
synchronous reply or the callback) and not kept: see decision 0053.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nexo.dci.envelope import timestamp
from nexo.dci.errors import SearchReason
from nexo.dci.repository import DciRepository
from nexo.dci.schemas import TxnStatusRequest
from nexo.dci.tables import DciRequestItemRow, DciTransactionRow

Json = dict[str, Any]
#: txn_type (as the social registry API spells them) → the action Nexo recorded
TXN_TYPES = {"search": "search", "subscribe": "subscribe", "subscibe": "subscribe"}
_SEARCH_REASONS = {r.value for r in SearchReason}


def _item(row: DciRequestItemRow, search: bool) -> Json:
    out: Json = {
        "reference_id": row.reference_id,
        "timestamp": timestamp(row.at),
        "status": row.status,
    }
    message = row.reason_message
    if row.reason_code and search and row.reason_code in _SEARCH_REASONS:
        out["status_reason_code"] = row.reason_code
    elif row.reason_code:  # another API's code: keep it in words
        message = f"{row.reason_code}: {message or ''}".strip()
    if message:
        out["status_reason_message"] = message[:999]
    if row.total_count is not None and row.page_number and row.page_size:
        out["pagination"] = {
            "page_size": row.page_size,
            "page_number": row.page_number,
            "total_count": row.total_count,
        }
    if row.locale:
        out["locale"] = row.locale
    return out


def _pending(txn: DciTransactionRow) -> list[Json]:
    """Items of a transaction still waiting to be processed: ``pdng`` per reference id."""
    message = (txn.request or {}).get("message") or {}
    batch = message.get("search_request") or message.get("subscribe_request") or []
    return [
        {
            "reference_id": str(i.get("reference_id")),
            "timestamp": timestamp(txn.received_at),
            "status": "pdng",
        }
        for i in batch
        if isinstance(i, dict)
    ]


def answer(
    request: TxnStatusRequest,
    *,
    sender_id: str,
    correlation_id: str,
    repo: DciRepository,
    now: datetime,
) -> Json:
    """``TxnStatusResponse`` for ``request`` from ``sender_id``."""
    query = request.txnstatus_request
    action = TXN_TYPES.get(query.txn_type)
    values = (
        query.attribute_value
        if isinstance(query.attribute_value, list)
        else [query.attribute_value]
    )
    found: DciTransactionRow | None = None
    items: list[Json] = []
    if action is not None:
        if query.attribute_type in ("transaction_id", "correlation_id") and values:
            key = {query.attribute_type: values[0]}
            txns = [t for t in repo.transactions_of(sender_id, **key) if t.action == action]
            found = txns[0] if txns else None
            if found is not None and found.status in ("rcvd", "pdng"):
                items = _pending(found)
            elif found is not None:
                items = [_item(r, action == "search") for r in repo.items_of(found.id)]
        elif query.attribute_type == "reference_id_list":
            for row in repo.items_by_reference(sender_id, values):
                txn = repo.transaction(row.transaction_pk)
                if txn is not None and txn.action == action:
                    found = txn
                    items.append(_item(row, action == "search"))
    asked = (
        values[0] if query.attribute_type == "transaction_id" and values else request.transaction_id
    )
    return {
        "transaction_id": request.transaction_id,
        "correlation_id": correlation_id,
        "txnstatus_response": {
            "txn_type": query.txn_type,
            "txn_status": {
                "transaction_id": found.transaction_id if found else asked,
                "correlation_id": found.correlation_id if found else "",
                "search_response": items,
            },
        },
    }
