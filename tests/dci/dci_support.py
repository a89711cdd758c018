"""Test support for the DCI layer.

- a small, explicit population written into the real store (records, households, enrolments,
  the master person index);
- the two ports bound to that store with an explicit test policy (tests of the standard itself;
  the real binding to the exchange is tested in ``test_exchange_binding``): a fixed field set
  for a fixed client and purpose, denial otherwise; every call is recorded so tests can see what
  DCI passed through;
- the senders and their keys.

Messages, the schema-checking DCI client and the callback receiver are in ``dci_http``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from nexo.dci.criteria import SubjectQuery
from nexo.dci.ports import (
    AuthenticationFailed,
    Client,
    ConsentRef,
    Denied,
    Disclosed,
    PageRequest,
    RequestContext,
)
from nexo.dci.signature import public_jwk
from nexo.dci.subjects import minimise, read_page
from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.model import (
    Address,
    BenefitEnrolment,
    BenefitStatus,
    Contact,
    EntityType,
    Household,
    HouseholdMembership,
    Identifier,
    Person,
    Relationship,
    Sex,
)
from nexo.model.identifier import IdentifierScheme, run_check_digit
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository

Json = dict[str, Any]
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)

# ----------------------------------------------------------------------------- population


def run(body: str) -> str:
    return body + run_check_digit(body)


@dataclass(frozen=True)
class Someone:
    person_id: str
    record_id: str
    given: str
    family: str
    second: str | None
    born: date
    sex: Sex
    run: str
    phone: str
    locality: str
    household: str | None
    relationship: Relationship | None


PEOPLE = (
    Someone(
        "NX-ANA",
        "B1",
        "Ana María",
        "Pérez",
        "Soto",
        date(1985, 5, 20),
        Sex.FEMALE,
        run("12345678"),
        "+56 9 1111 1111",
        "Valparaíso",
        "H1",
        Relationship.HEAD,
    ),
    Someone(
        "NX-JUAN",
        "B2",
        "Juan",
        "Pérez",
        "Rojas",
        date(1982, 3, 15),
        Sex.MALE,
        run("11222333"),
        "+56 9 2222 2222",
        "Valparaíso",
        "H1",
        Relationship.SPOUSE,
    ),
    Someone(
        "NX-SOFIA",
        "B3",
        "Sofía",
        "Pérez",
        "Pérez",
        date(2010, 7, 5),
        Sex.FEMALE,
        run("23456789"),
        "+56 9 3333 3333",
        "Valparaíso",
        "H1",
        Relationship.CHILD,
    ),
    Someone(
        "NX-LUIS",
        "B4",
        "Luis",
        "Rojas",
        None,
        date(1990, 1, 2),
        Sex.MALE,
        run("15555666"),
        "+56 9 4444 4444",
        "Temuco",
        "H2",
        Relationship.HEAD,
    ),
)
ANA, JUAN, SOFIA, LUIS = PEOPLE
EMPLOYMENT_RECORD = "E1"  # Ana's record with the employment service (another spelling)


def _person(s: Someone, *, given: str | None = None) -> Person:
    return Person(
        given_names=given or s.given,
        family_name=s.family,
        second_family_name=s.second,
        birth_date=s.born,
        sex=s.sex,
        identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value=s.run, verified=True),),
        contact=Contact(phone=s.phone, email=f"{s.record_id.lower()}@example.org"),
        address=Address(
            line="Calle Falsa 123", locality=s.locality, postcode="2340000", country="CL"
        ),
    )


def populate(factory: sessionmaker[Session]) -> None:
    """Four persons of the social agency (two households, one enrolment), Ana also known to
    the employment service, all linked in the master person index."""
    social: list[NewRecord] = []
    for s in PEOPLE:
        social.append(NewRecord.of(EntityType.PERSON, s.record_id, _person(s), date(2026, 5, 1)))
        if s.household:
            member = HouseholdMembership(
                household_id=s.household,
                person_record_id=s.record_id,
                relationship=s.relationship,
                start_date=date(2020, 1, 15),
            )
            social.append(NewRecord.of(EntityType.HOUSEHOLD_MEMBERSHIP, s.record_id, member))
    for hid, size, locality in (("H1", 3, "Valparaíso"), ("H2", 1, "Temuco")):
        home = Household(
            address=Address(locality=locality, postcode="2340000"),
            registered_on=date(2020, 1, 15),
            size=size,
        )
        social.append(NewRecord.of(EntityType.HOUSEHOLD, hid, home))
    enrolment = BenefitEnrolment(
        person_record_id=ANA.record_id,
        person_source="beneficiaries",
        start_date=date(2024, 2, 2),
        programme_code="SUF",
        programme_name="Subsidio Familiar",
        means_tested=True,
        status=BenefitStatus.ACTIVE,
        monthly_amount=Decimal("21243"),
        currency="CLP",
        household_id="H1",
    )
    with transaction(factory) as session:
        repo = RecordRepository(session)
        common = {"batch_id": str(uuid.uuid4()), "mapping_version": "test", "received_at": NOW}
        repo.write(agency="social", source="beneficiaries", records=social, **common)
        repo.write(
            agency="social",
            source="benefit-events",
            records=[NewRecord.of(EntityType.BENEFIT_ENROLMENT, "EV1", enrolment)],
            **common,
        )
        employment = NewRecord.of(
            EntityType.PERSON, EMPLOYMENT_RECORD, _person(ANA, given="Ana"), date(2025, 1, 1)
        )
        repo.write(agency="employment", source="jobseekers", records=[employment], **common)
        for s in PEOPLE:
            session.add(
                MpiPersonRow(
                    person_id=s.person_id,
                    status="active",
                    merged_into=None,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.flush()
        links = [(s.person_id, "social", "beneficiaries", s.record_id) for s in PEOPLE]
        links.append((ANA.person_id, "employment", "jobseekers", EMPLOYMENT_RECORD))
        for pid, agency, source, rid in links:
            session.add(
                MpiLinkRow(
                    person_id=pid,
                    agency=agency,
                    source=source,
                    record_id=rid,
                    match_probability=1.0,
                    method="deterministic",
                    linked_at=NOW,
                )
            )


def personal_values() -> set[str]:
    """Every personal value of the population that a response could leak."""
    out: set[str] = set()
    for s in PEOPLE:
        out |= {
            s.given,
            s.family,
            s.run,
            s.phone,
            s.born.isoformat(),
            f"{s.record_id.lower()}@example.org",
        }
        if s.second:
            out.add(s.second)
    return out | {"Calle Falsa 123", "21243"}


# ----------------------------------------------------------------------------- ports

SOCIAL_CLIENT = "social-mis"
OTHER_CLIENT = "employment-portal"
PURPOSE = "social-assistance-eligibility"
#: what the test policy lets SOCIAL_CLIENT see for PURPOSE
ALLOWED_FIELDS = frozenset(
    {
        "given_names",
        "family_name",
        "birth_date",
        "sex",
        "identifiers",
        "enrolments",
        "relationship",
        "household.size",
        "household.members",
    }
)
TOKENS = {
    "token-social": Client(SOCIAL_CLIENT, default_purpose=None),
    "token-social-default": Client(SOCIAL_CLIENT, default_purpose=PURPOSE),
    "token-other": Client(OTHER_CLIENT, default_purpose=None),
}


class TokenAuthenticator:
    def __init__(self, tokens: dict[str, Client] | None = None) -> None:
        self.tokens = tokens or TOKENS

    def authenticate(self, bearer_token: str | None) -> Client:
        if not bearer_token:
            raise AuthenticationFailed("no bearer token", hint="send Authorization: Bearer <token>")
        client = self.tokens.get(bearer_token)
        if client is None:
            raise AuthenticationFailed("the bearer token is not valid")
        return client


@dataclass
class Call:
    method: str
    client: Client
    purpose: str
    consent_refs: tuple[ConsentRef, ...]
    query: SubjectQuery
    page: PageRequest | None
    context: RequestContext
    returned: Disclosed | Denied | None = None


@dataclass
class StoreDisclosure:
    """The disclosure port over the real store with a fixed test policy."""

    factory: sessionmaker[Session]
    policy: dict[tuple[str, str], frozenset[str]] = field(
        default_factory=lambda: {(SOCIAL_CLIENT, PURPOSE): ALLOWED_FIELDS}
    )
    calls: list[Call] = field(default_factory=list)
    fail: bool = False

    def search(
        self,
        *,
        client: Client,
        purpose: str,
        consent_refs: Sequence[ConsentRef],
        query: SubjectQuery,
        page: PageRequest,
        at: datetime,
        context: RequestContext,
    ) -> Disclosed | Denied:
        call = Call("search", client, purpose, tuple(consent_refs), query, page, context)
        self.calls.append(call)
        if self.fail:
            raise RuntimeError("audit store unavailable")
        fields = self.policy.get((client.client_id, purpose))
        if fields is None:
            call.returned = Denied(
                "agreement", f"no agreement lets {client.client_id} see persons for {purpose}"
            )
            return call.returned
        with transaction(self.factory) as session:
            whole = read_page(session, query=query, page=page)
        call.returned = replace(whole, records=tuple(minimise(r, fields) for r in whole.records))  # type: ignore[arg-type]
        return call.returned

    def authorise(
        self,
        *,
        client: Client,
        purpose: str,
        consent_refs: Sequence[ConsentRef],
        query: SubjectQuery,
        at: datetime,
        context: RequestContext,
    ) -> Denied | None:
        self.calls.append(
            Call("authorise", client, purpose, tuple(consent_refs), query, None, context)
        )
        if (client.client_id, purpose) not in self.policy:
            return Denied(
                "agreement", f"no agreement lets {client.client_id} subscribe for {purpose}"
            )
        return None


# ----------------------------------------------------------------------------- senders

SENDER = "spmis.example.org"  # signature required
LAX_SENDER = "legacy.example.org"  # signature optional
FOREIGN_SENDER = "portal.example.org"  # registered to OTHER_CLIENT


@dataclass
class SenderKey:
    sender_id: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def kid(self) -> str:
        return public_jwk(self.key.public_key())["kid"]

    @property
    def jwks(self) -> Json:
        return {"keys": [public_jwk(self.key.public_key())]}
