"""``nexo consent``: record and show a person's consent and objections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from nexo.audit.service import record_event
from nexo.auth.keys import keystore
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console
from nexo.config import get_settings
from nexo.errors import NotFound, UsageError
from nexo.exchange.repository import ExchangeRepository
from nexo.policy.consent import Channel, ConsentKind
from nexo.policy.loader import load_policy
from nexo.policy.service import consent_event, consent_history, consent_view, record_consent
from nexo.store.base import utc_now
from nexo.store.engine import transaction

consent_app = typer.Typer(
    help="A person's consent and objections, per purpose and recipient.", no_args_is_help=True
)
app.add_typer(consent_app, name="consent")

Person = Annotated[str, typer.Argument(help="Person id (master person index).")]
Purpose = Annotated[str, typer.Option(help="Purpose from the catalogue.")]
Recipient = Annotated[str, typer.Option(help="The agency that receives the data.")]
ChannelOpt = Annotated[Channel, typer.Option(help="How the person told us.")]
Notice = Annotated[str, typer.Option(help="Version of the information notice shown.")]
At = Annotated[
    datetime | None,
    typer.Option(help="When it took effect (default now).", formats=["%Y-%m-%dT%H:%M:%S%z"]),
]
By = Annotated[str, typer.Option(help="Who records it.")]


def _record(
    kind: ConsentKind,
    person: str,
    purpose: str,
    recipient: str,
    channel: Channel,
    notice: str,
    at: datetime | None,
    by: str,
    expires: datetime | None = None,
) -> None:
    if (at and at.tzinfo is None) or (expires and expires.tzinfo is None):
        raise UsageError("times need a zone", hint="e.g. 2026-06-30T12:00:00+0000")
    load_policy(get_settings().api.policy_dir).catalogue.require(purpose)
    keys = keystore(get_settings().home)
    now = utc_now()
    _, factory = open_store()
    with transaction(factory) as s:
        current = ExchangeRepository(s).current_person_id(person)
        if current is None:
            raise NotFound(f"no person {person!r} in the person index")
        event = consent_event(
            person_id=current,
            purpose=purpose,
            recipient=recipient,
            kind=kind,
            at=at or now,
            channel=channel,
            notice_version=notice,
            expires_at=expires,
            recorded_at=now,
            recorded_by=by,
        )
        record_consent(s, event=event)
        record_event(
            s,
            keys=keys,
            action=f"consent.{kind.value}",
            actor=by,
            agency=recipient,
            purpose=purpose,
            persons=(current,),
            detail={"channel": channel.value, "notice": notice},
        )
    console.print(f"{kind.value}: {current}, purpose {purpose}, recipient {recipient}")


@consent_app.command("grant")
def grant(
    person: Person,
    purpose: Purpose,
    recipient: Recipient,
    notice: Notice,
    channel: ChannelOpt = Channel.CASEWORKER,
    at: At = None,
    by: By = "operator",
    expires: At = None,
) -> None:
    """Record that the person consents (optionally until --expires)."""
    _record(ConsentKind.GRANTED, person, purpose, recipient, channel, notice, at, by, expires)


@consent_app.command("withdraw")
def withdraw(
    person: Person,
    purpose: Purpose,
    recipient: Recipient,
    notice: Notice,
    channel: ChannelOpt = Channel.CASEWORKER,
    at: At = None,
    by: By = "operator",
) -> None:
    """Record that the person withdraws consent; the next request is refused."""
    _record(ConsentKind.WITHDRAWN, person, purpose, recipient, channel, notice, at, by)


@consent_app.command("object")
def object_(
    person: Person,
    purpose: Purpose,
    recipient: Recipient,
    notice: Notice,
    channel: ChannelOpt = Channel.CASEWORKER,
    at: At = None,
    by: By = "operator",
) -> None:
    """Record an objection (where the legal basis is not consent)."""
    _record(ConsentKind.OBJECTED, person, purpose, recipient, channel, notice, at, by)


@consent_app.command("unobject")
def unobject(
    person: Person,
    purpose: Purpose,
    recipient: Recipient,
    notice: Notice,
    channel: ChannelOpt = Channel.CASEWORKER,
    at: At = None,
    by: By = "operator",
) -> None:
    """Record that the person withdrew their objection."""
    _record(ConsentKind.OBJECTION_WITHDRAWN, person, purpose, recipient, channel, notice, at, by)


@consent_app.command("show")
def show(person: Person, at: At = None) -> None:
    """The person's consent state (now or at --at) and the full history behind it."""
    when = at or utc_now()
    _, factory = open_store()
    with transaction(factory) as s:
        history = consent_history(s, person_id=person)
        state = consent_view(s, person_id=person, at=when)
    table = Table(title=f"consent of {person} at {when:%Y-%m-%d %H:%M %Z}")
    for col in ("purpose", "recipient", "consent", "objection", "since", "notice"):
        table.add_column(col)
    for (purpose, recipient), st in sorted(state.items()):
        table.add_row(
            purpose,
            recipient,
            st.status.value,
            "yes" if st.objection else "no",
            f"{st.since:%Y-%m-%d %H:%M}" if st.since else "",
            st.notice_version or "",
        )
    console.print(table)
    hist = Table(title="history (append-only)")
    for col in ("at", "event", "purpose", "recipient", "channel", "notice", "recorded by"):
        hist.add_column(col)
    for e in history:
        hist.add_row(
            f"{e.at:%Y-%m-%d %H:%M}",
            e.kind.value,
            e.purpose,
            e.recipient,
            e.channel.value,
            e.notice_version,
            e.recorded_by,
        )
    console.print(hist)
