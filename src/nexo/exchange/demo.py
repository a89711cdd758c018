"""The exchange part of ``nexo demo``: one client per agency, with tokens, ready to call the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.audit.service import record_event
from nexo.auth import service as auth
from nexo.auth.domain import Scope
from nexo.auth.keys import KeyStore
from nexo.config import Settings
from nexo.exchange.mpi_seed import SeedReport, seed_mpi_from_identifiers
from nexo.linkage.tables import MpiLinkRow
from nexo.policy.loader import load_policy
from nexo.store.engine import transaction
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow

DEMO_TOKEN_TTL = timedelta(days=1)


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    agency: str
    secret: str
    token: str
    token_expires: datetime
    #: what the agency may ask: "purpose ← provider (agreement)"
    agreements: list[str]


@dataclass
class ExchangeDemo:
    policy_version: str
    clients: list[DemoClient] = field(default_factory=list)
    seeded: SeedReport | None = None
    #: an identifier of a person both agencies hold, to try a search with
    example: tuple[str, str] | None = None


def _example(s: Session) -> tuple[str, str] | None:
    """A verified identifier of a person both agencies hold (the social agency's record first,
    which the demo's social client may search by), or None."""
    link, p, i = MpiLinkRow, PersonRecordRow, PersonIdentifierRow
    both = (
        select(link.person_id)
        .group_by(link.person_id)
        .having(func.count(func.distinct(link.agency)) > 1)
    )
    row = s.execute(
        select(i.scheme, i.value)
        .join(p, p.id == i.person_pk)
        .join(link, (link.agency == p.agency) & (link.source == p.source)
              & (link.record_id == p.record_id))
        .where(link.person_id.in_(both), i.verified.is_(True))
        .order_by(p.agency != "social", link.person_id, i.value)
        .limit(1)
    ).first()  # fmt: skip
    return (row[0], row[1]) if row else None


def prepare_exchange_demo(
    factory: sessionmaker[Session], *, settings: Settings, keys: KeyStore, now: datetime
) -> ExchangeDemo:
    """Make the demo's exchange usable: a person index (the stand-in seed, only for records
    not yet linked), and for every agency named as a recipient a client ``demo-<agency>`` with
    a fresh secret and a day-long token. Safe to run again: secrets are rotated."""
    policy = load_policy(settings.api.policy_dir)
    demo = ExchangeDemo(policy.version)
    with transaction(factory) as s:
        demo.seeded = seed_mpi_from_identifiers(s, now=now)
    recipients = sorted({a.parties.recipient for a in policy.agreements})
    scopes = frozenset(s.value for s in Scope)
    for agency in recipients:
        client_id = f"demo-{agency}"
        with transaction(factory) as s:
            client = auth.get_client(s, client_id)
            if client is None:
                client, secret = auth.add_client(
                    s,
                    client_id=client_id,
                    agency=agency,
                    name=f"{agency} agency (demo)",
                    scopes=scopes,
                    rate_per_second=settings.api.rate_per_second,
                    burst=settings.api.burst,
                    now=now,
                )
                assert secret is not None
            else:
                secret = auth.rotate_secret(s, client_id=client_id, now=now)
            issued = auth.issue_token(
                keys,
                client=client,
                scope=None,
                issuer=settings.api.issuer,
                audience=settings.api.audience,
                now=now,
                ttl=DEMO_TOKEN_TTL,
                long_lived=True,
            )
            record_event(
                s,
                keys=keys,
                action="client.token_issued",
                actor="demo",
                agency=agency,
                detail={"client_id": client_id, "jti": issued.jti},
                at=now,
            )
        agreements = [
            f"{a.purpose} ← {a.parties.provider} ({a.key})"
            for a in policy.for_recipient(agency)
            if a.in_force(now)
        ]
        demo.clients.append(
            DemoClient(client_id, agency, secret, issued.token, issued.expires_at, agreements)
        )
    with transaction(factory) as s:
        demo.example = _example(s)
    return demo
