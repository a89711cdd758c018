"""Test support for the DCI layer over HTTP: messages, a DCI client that checks every request
and response against the standard's schemas, and a real callback receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dci_support import PURPOSE, SENDER, SenderKey, StoreDisclosure
from fastapi.testclient import TestClient

from nexo.dci.service import DciRuntime
from nexo.dci.signature import sign
from nexo.dci.standard import Document, problems, request_pointer, response_pointer
from nexo.dci.worker import DciWorker

Json = dict[str, Any]


# ----------------------------------------------------------------------------- messages


def ts(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="seconds")


def search_item(
    query: Any,
    *,
    query_type: str = "idtype-value",
    reference_id: str = "ref-1",
    purpose: str | None = PURPOSE,
    **criteria: Any,
) -> Json:
    c: Json = {
        "version": "1.0.0",
        "reg_event_type": "REGISTER",
        "query_type": query_type,
        "query": query,
    }
    if purpose:
        c["authorize"] = {
            "@type": "Authorize",
            "ts": ts(),
            "purpose": {"code": purpose, "text": "eligibility"},
        }
    c.update(criteria)
    return {"reference_id": reference_id, "timestamp": ts(), "search_criteria": c, "locale": "eng"}


def envelope(
    action: str,
    message: Json,
    *,
    sender: str = SENDER,
    total: int = 1,
    sender_uri: str | None = None,
    **header: Any,
) -> Json:
    h: Json = {
        "version": "1.0.0",
        "message_id": str(uuid.uuid4()),
        "message_ts": ts(),
        "action": action,
        "sender_id": sender,
        "receiver_id": "nexo",
        "total_count": total,
        "is_msg_encrypted": False,
    }
    if sender_uri:
        h["sender_uri"] = sender_uri
    h.update(header)
    return {"header": h, "message": message}


def search_envelope(*items: Json, transaction_id: str = "txn-1", **kw: Any) -> Json:
    message = {"transaction_id": transaction_id, "search_request": list(items)}
    return envelope("search", message, total=len(items), **kw)


def signed(env: Json, key: SenderKey | None) -> Json:
    if key is None:
        return env
    signature = sign(
        env["header"],
        env["message"],
        key=key.key,
        sender_id=key.sender_id,
        kid=key.kid,
        now=time.time(),
    )
    return {"signature": signature, **env}


# ----------------------------------------------------------------------------- contract checks

#: path → (document, path in that document) for every DCI endpoint Nexo serves
OPERATIONS = {
    "/registry/search": Document.SOCIAL,
    "/registry/sync/search": Document.SOCIAL,
    "/registry/txn/status": Document.SOCIAL,
    "/registry/sync/txn/status": Document.SOCIAL,
    "/registry/subscribe": Document.CORE,
    "/registry/unsubscribe": Document.CORE,
}
#: callback action → (document, the sender's endpoint receiving it)
CALLBACKS = {
    "on-search": (Document.SOCIAL, "/registry/on-search"),
    "txn-on-status": (Document.SOCIAL, "/registry/txn/on-status"),
    "on-subscribe": (Document.CORE, "/registry/on-subscribe"),
    "on-unsubscribe": (Document.CORE, "/registry/on-unsubscribe"),
}


def assert_request(path: str, body: Any) -> None:
    document = OPERATIONS[path]
    found = problems(document, request_pointer(path), body)
    assert not found, f"request to {path} breaks the DCI schema: {found}"


def assert_response(path: str, status: int, body: Any) -> None:
    document = OPERATIONS[path]
    found = problems(document, response_pointer(document, path, status), body)
    assert not found, f"{status} reply of {path} breaks the DCI schema: {found}"


def assert_callback(body: Any) -> None:
    action = body["header"]["action"]
    document, path = CALLBACKS[action]
    found = problems(document, request_pointer(path), body)
    assert not found, f"{action} callback breaks the DCI schema: {found}"


@dataclass
class DciClient:
    """Posts DCI messages to the app and checks both sides against the standard."""

    http: TestClient
    prefix: str = "/dci"
    sent: list[tuple[str, Any]] = field(default_factory=list)

    def post(
        self,
        path: str,
        body: Any,
        *,
        token: str | None = "token-social",
        valid: bool = True,
        raw: bytes | None = None,
    ) -> tuple[int, Json]:
        if valid:
            assert_request(path, body)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = raw if raw is not None else json.dumps(body).encode()
        response = self.http.post(self.prefix + path, content=content, headers=headers)
        self.sent.append((path, body))
        data = response.json()
        assert_response(path, response.status_code, data)
        return response.status_code, data


# ----------------------------------------------------------------------------- callback receiver


class Receiver:
    """A real HTTP server on 127.0.0.1 that records the callbacks it gets.

    ``script`` lists the HTTP statuses to answer, one per request (then 200); every body is
    checked against the standard's schema for its action.
    """

    def __init__(self, script: Sequence[int] = (), port: int = 0) -> None:
        self.script = list(script)
        self.received: list[Json] = []
        self.statuses: list[int] = []
        self.invalid: list[str] = []  # callbacks that break the standard's schema
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                try:
                    assert_callback(body)
                    broken = None
                except (AssertionError, KeyError, TypeError) as e:
                    broken = str(e)
                with receiver.lock:
                    if broken:
                        receiver.invalid.append(broken)
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.statuses.append(status)
                    if status == 200:
                        receiver.received.append(body)
                    receiver.arrived.notify_all()
                reply = json.dumps(
                    {"message": {"ack_status": "ACK", "timestamp": ts(), "correlation_id": "r"}}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/dci"

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Json]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no callback within {timeout} s (got {len(self.received)})"
                self.arrived.wait(left)
            assert not self.invalid, self.invalid
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(repr=False)  # (hypothesis shows the fixture's repr: the full one grows to 40 kB
class Registry:  # as callbacks arrive, and a repr over 30 kB is a warning, an error here)
    runtime: DciRuntime
    disclosure: StoreDisclosure
    client: DciClient
    receiver: Receiver
    keys: dict[str, SenderKey]
    worker: DciWorker
    started: list[bool] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Registry(keys={sorted(self.keys)}, worker started: {bool(self.started)})"

    def start_worker(self) -> None:
        self.runtime.on_accept = self.worker.wake
        self.worker.start()
        self.started.append(True)
