"""``nexo dci``: DCI senders, Nexo's DCI signing keys, callback deliveries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console
from nexo.config import get_settings
from nexo.dci import keys as dci_keys
from nexo.dci.registration import list_deliveries, list_senders, register_sender, remove_sender
from nexo.dci.sender import SignaturePolicy
from nexo.errors import UsageError
from nexo.store.base import utc_now
from nexo.store.engine import transaction

dci_app = typer.Typer(
    help="The DCI registry API: senders, signing keys, callbacks.", no_args_is_help=True
)
senders_app = typer.Typer(help="Systems allowed to send DCI messages.", no_args_is_help=True)
keys_app = typer.Typer(help="Nexo's DCI message-signing keys.", no_args_is_help=True)
app.add_typer(dci_app, name="dci")
dci_app.add_typer(senders_app, name="senders")
dci_app.add_typer(keys_app, name="keys")


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from e
    except ValueError as e:
        raise UsageError(f"{path} is not JSON: {e}", hint='a JWKS is {"keys": [...]}') from e
    if not isinstance(document, dict):
        raise UsageError(f"{path} is not a JWKS", hint='a JWKS is {"keys": [...]}')
    return document


@senders_app.command("add")
def senders_add(
    sender_id: Annotated[str, typer.Argument(help="The sender_id it puts in its DCI headers.")],
    client: Annotated[str, typer.Option(help="Exchange client its bearer tokens belong to.")],
    callback: Annotated[
        list[str] | None,
        typer.Option(help="Callback address (repeatable); sender_uri must be under one."),
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option(help="JSON file with its public keys (JWKS).")
    ] = None,
    signature: Annotated[
        SignaturePolicy,
        typer.Option(help="required: refuse unsigned messages; optional: while it migrates."),
    ] = SignaturePolicy.REQUIRED,
) -> None:
    """Register a sender (or replace its registration)."""
    document = _read_jwks(jwks) if jwks else None
    _, factory = open_store()
    with transaction(factory) as session:
        sender = register_sender(
            session,
            sender_id=sender_id,
            client_id=client,
            callbacks=callback or [],
            jwks=document,
            signature=signature,
            now=utc_now(),
        )
    keys = len(sender.jwks["keys"]) if sender.jwks else 0
    console.print(
        f"[green]registered[/] {sender.sender_id} (client {sender.client_id}, signature "
        f"{sender.signature.value}, {keys} key(s), {len(sender.callback_uris)} callback(s))"
    )


@senders_app.command("list")
def senders_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered senders."""
    _, factory = open_store()
    with transaction(factory) as session:
        senders = list_senders(session)
    if as_json:
        rows = [
            {
                "sender_id": s.sender_id,
                "client_id": s.client_id,
                "signature": s.signature.value,
                "callbacks": list(s.callback_uris),
                "key_ids": [k.get("kid") for k in (s.jwks or {}).get("keys", [])],
                "active": s.active,
            }
            for s in senders
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table("sender", "client", "signature", "keys", "callbacks")
    for s in senders:
        count = len((s.jwks or {}).get("keys", []))
        table.add_row(
            s.sender_id, s.client_id, s.signature.value, str(count), "\n".join(s.callback_uris)
        )
    console.print(table)


@senders_app.command("remove")
def senders_remove(sender_id: Annotated[str, typer.Argument(help="Sender to remove.")]) -> None:
    """Remove a sender: its messages are refused and its pending callbacks are not sent."""
    _, factory = open_store()
    with transaction(factory) as session:
        remove_sender(session, sender_id=sender_id)
    console.print(f"[green]removed[/] {sender_id}")


@keys_app.command("show")
def keys_show() -> None:
    """Print the public JWKS of Nexo's DCI signing keys (creates the first key if none)."""
    ring = dci_keys.load_keyring(dci_keys.key_dir(get_settings()))
    console.print_json(json.dumps(ring.jwks()))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; older keys stay published until retired."""
    ring = dci_keys.rotate(dci_keys.key_dir(get_settings()))
    console.print(f"[green]signing with[/] {ring.current.kid} ({len(ring.keys)} key(s) published)")


@keys_app.command("retire")
def keys_retire(kid: Annotated[str, typer.Argument(help="Key id to stop publishing.")]) -> None:
    """Remove an older signing key."""
    ring = dci_keys.retire(dci_keys.key_dir(get_settings()), kid)
    console.print(f"[green]retired[/] {kid} ({len(ring.keys)} key(s) published)")


@dci_app.command("deliveries")
def deliveries(
    state: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """Show callback deliveries and their state."""
    if state not in (None, "pending", "delivered", "failed"):
        raise UsageError(f"unknown state {state!r}", hint="use pending, delivered or failed")
    _, factory = open_store()
    with transaction(factory) as session:
        rows = list_deliveries(session, state=state, limit=limit)
        table = Table("id", "action", "state", "tries", "next try", "last result", "url")
        for r in rows:
            result = str(r.last_status or "") or (r.last_error or "")
            next_try = (
                r.next_attempt_at.isoformat(timespec="seconds") if r.state == "pending" else ""
            )
            table.add_row(str(r.id), r.action, r.state, str(r.attempts), next_try, result, r.url)
    console.print(table)
