"""The DCI registry API bound to the exchange layer: same clients, policy, consent and audit.

:class:`ExchangeAuthenticator` accepts the exchange's own bearer tokens (OAuth client
credentials or ``nexo clients token``); :class:`ExchangeDisclosure` answers DCI searches through
the gate of :mod:`nexo.exchange.gate`: the request is screened for its client and purpose, each
subject found is decided on its own (row filters, consent, objection), each field of a DCI record
is filled only from an agency whose data the decision allows, and the request is appended to the
audit trail before anything is returned. See docs/dci.md and decision 0056.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from nexo.api.state import ApiState
from nexo.audit.domain import AuditRecord
from nexo.auth.domain import Scope
from nexo.auth.service import get_client
from nexo.dci.criteria import Attribute, Entity, SubjectQuery
from nexo.dci.errors import DciRefused, ErrorCode
from nexo.dci.ports import (
    AuthenticationFailed,
    Client,
    ConsentRef,
    Denied,
    Disclosed,
    EnrolmentView,
    GroupView,
    IdentifierView,
    MemberView,
    PageRequest,
    PersonView,
    RequestContext,
)
from nexo.dci.subject_repository import MatchScope, SubjectRepository, household_ref
from nexo.dci.subjects import address_view
from nexo.errors import NexoError
from nexo.exchange.domain import AccessDenied
from nexo.exchange.gate import audit_record, decide_each, screen_request
from nexo.exchange.repository import ExchangeRepository
from nexo.policy.decision import Decision, Requester
from nexo.policy.domain import Agreement
from nexo.policy.fields import ENTITY_FIELDS, FieldRef
from nexo.store.engine import transaction
from nexo.store.tables import (
    BenefitEnrolmentRow,
    HouseholdRow,
    PersonIdentifierRow,
    PersonRecordRow,
)

#: person fields of a DCI record, by the grant that allows them (``person.contact`` gives two)
PERSON_GRANTS: dict[str, tuple[str, ...]] = {
    "given_names": ("given_names",),
    "family_name": ("family_name",),
    "second_family_name": ("second_family_name",),
    "birth_date": ("birth_date",),
    "sex": ("sex",),
    "identifiers": ("identifiers",),
    "contact": ("phone", "email"),
    "address": ("address",),
}
#: what a DCI record can carry: the grants above, enrolments and the household's own fields
REPRESENTABLE: dict[Entity, frozenset[tuple[str, str]]] = {
    Entity.MEMBER: frozenset(
        {("person", f) for f in PERSON_GRANTS}
        | {("benefit_enrolment", f) for f in ENTITY_FIELDS["benefit_enrolment"]}
    ),
    Entity.GROUP: frozenset(("household", f) for f in ENTITY_FIELDS["household"]),
}
#: the grant that lets a query attribute match a person record, and a household's own column
_PLACE = (Attribute.POSTCODE, Attribute.LOCALITY, Attribute.REGION, Attribute.ADMIN_AREA_CODE)
QUERY_GRANTS: dict[Attribute, tuple[str, str]] = {
    Attribute.IDENTIFIER: ("person", "identifiers"),
    Attribute.GIVEN_NAMES: ("person", "given_names"),
    Attribute.FAMILY_NAME: ("person", "family_name"),
    Attribute.BIRTH_DATE: ("person", "birth_date"),
    Attribute.BIRTH_YEAR: ("person", "birth_date"),
    Attribute.SEX: ("person", "sex"),
    Attribute.PROGRAMME_CODE: ("benefit_enrolment", "programme_code"),
    Attribute.HOUSEHOLD_SIZE: ("household", "size"),
    **{a: ("person", "address") for a in _PLACE},
}
HOUSEHOLD_QUERY_GRANTS: dict[Attribute, tuple[str, str]] = {
    Attribute.HOUSEHOLD_SIZE: ("household", "size"),
    **{a: ("household", "address") for a in _PLACE},
}
#: a search checks the policy for this many subjects at a time
CHUNK = 500
#: agencies granting each field: {"birth_date": {"social"}, ...}
Grants = dict[str, frozenset[str]]
Json = dict[str, Any]


class ExchangeAuthenticator:
    """DCI authentication with the exchange's bearer tokens; the client needs ``persons:read``
    and is held to its rate limit, the same bucket as its native API requests."""

    def __init__(self, state: ApiState) -> None:
        self.state = state

    def authenticate(self, bearer_token: str | None) -> Client:
        if not bearer_token:
            raise AuthenticationFailed(
                "no bearer token",
                hint="send 'Authorization: Bearer <token>'; get one from POST /oauth/token",
            )
        try:
            claims = self.state.verify_token(bearer_token)
            with transaction(self.state.factory) as s:
                client = self.state.client(s, claims)
        except NexoError as e:
            raise AuthenticationFailed(e.message, hint=e.hint) from e
        if Scope.PERSONS_READ.value not in claims.scopes:
            raise AuthenticationFailed(
                f"the token does not carry the scope {Scope.PERSONS_READ.value!r}",
                hint="ask for a token with that scope, or have the operator grant it",
            )
        wait = self.state.limiter.check(client.client_id)
        if wait is not None:
            raise DciRefused(
                ErrorCode.TOO_MANY_REQUESTS,
                f"client {client.client_id!r} is over its rate limit",
                hint=f"wait {wait} s before the next message",
            )
        return Client(client.client_id, client.default_purpose)


@dataclass
class ExchangeDisclosure:
    """The DCI disclosure port over the exchange gate and the audit trail of ``state``."""

    state: ApiState
    #: matches of one search checked against the policy (DciSettings.max_scan)
    max_scan: int = 10_000

    # ------------------------------------------------------------------ port

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
        detail = _detail(context, consent_refs)
        requester = self._requester(client)
        refused = self._screen(requester, purpose, query.entity, at, ("DCI search", detail))
        if isinstance(refused, Denied):
            return refused
        in_force, requested = refused
        with transaction(self.state.factory) as s:
            found = _Search(self.state, s, requester, purpose, at, in_force, requested)
            records, total, decisions = found.run(query, page, self.max_scan)
        shown = frozenset(r for d in decisions.values() for r in d.allowed)
        record = audit_record(
            self.state.exchange,
            requester=requester,
            purpose=purpose,
            decisions=list(decisions.values()),
            subjects=sorted(decisions),
            fields=shown,
            decision="allow",
        )
        self._append(record, "DCI search", {**detail, "visible": total})
        return Disclosed(records, total)

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
        detail = _detail(context, consent_refs)
        requester = self._requester(client)
        refused = self._screen(requester, purpose, query.entity, at, ("DCI subscribe", detail))
        if isinstance(refused, Denied):
            return refused
        in_force, _ = refused
        record = audit_record(
            self.state.exchange,
            requester=requester,
            purpose=purpose,
            decisions=[],
            subjects=[],
            decision="allow",
            agreements=in_force,
        )
        self._append(record, "DCI subscribe", detail)
        return None

    # ------------------------------------------------------------------ steps

    def _requester(self, client: Client) -> Requester:
        with transaction(self.state.factory) as s:
            found = get_client(s, client.client_id)
        if found is None or not found.active:
            raise AuthenticationFailed(f"client {client.client_id!r} is not active")
        return Requester(found.client_id, found.agency)

    def _screen(
        self,
        requester: Requester,
        purpose: str,
        entity: Entity,
        at: datetime,
        audited_as: tuple[str, Json],
    ) -> Denied | tuple[tuple[Agreement, ...], frozenset[FieldRef]]:
        """Subject-independent checks; a refusal is audited here (as ``audited_as``: action
        and detail) and returned as Denied."""
        agencies = self.state.exchange.policy.agencies()
        requested = frozenset(FieldRef(a, e, f) for a in agencies for e, f in REPRESENTABLE[entity])
        try:
            in_force = screen_request(
                self.state.exchange, requester, purpose, at, requested, [f"dci:{entity.value}"]
            )
        except AccessDenied as e:
            assert e.audit is not None
            self._append(e.audit, *audited_as)
            return Denied(e.denial.rule.value, e.message)
        return in_force, requested

    def _append(self, record: AuditRecord, action: str, detail: Json) -> None:
        self.state.append(replace(record, action=action, status=200, detail=detail))


def _detail(context: RequestContext, consent_refs: Sequence[ConsentRef]) -> Json:
    return {
        "channel": context.channel,
        "sender_id": context.sender_id,
        "message_id": context.message_id,
        "transaction_id": context.transaction_id,
        "reference_id": context.reference_id,
        "correlation_id": context.correlation_id,
        "consent_refs_stated": len(consent_refs),
    }


@dataclass
class _Search:
    """One DCI search: find matches, decide each, build what each decision allows."""

    state: ApiState
    session: Session
    requester: Requester
    purpose: str
    at: datetime
    in_force: tuple[Agreement, ...]
    requested: frozenset[FieldRef]

    def run(
        self, query: SubjectQuery, page: PageRequest, max_scan: int
    ) -> tuple[tuple[PersonView, ...] | tuple[GroupView, ...], int, dict[str, Decision]]:
        """The page of visible records, how many are visible (among the first ``max_scan``
        matches), and the decisions of the persons disclosed on the page."""
        granted = frozenset(r for a in self.in_force for r in a.refs())
        refs, _ = SubjectRepository(self.session).find(
            query, offset=0, limit=max_scan, agencies=scope(granted), count=False
        )
        visible: list[str] = []
        for n in range(0, len(refs), CHUNK):
            visible += self._visible(query.entity, refs[n : n + CHUNK])
        chosen = visible[page.offset : page.offset + page.size]
        if query.entity is Entity.GROUP:
            groups, decisions = self._groups(chosen)
            return tuple(groups), len(visible), decisions
        persons, decisions = self._persons(chosen)
        return tuple(persons[p] for p in chosen if p in persons), len(visible), decisions

    # ------------------------------------------------------------------ deciding

    def _decisions(self, person_ids: Iterable[str]) -> dict[str, Decision]:
        ids = sorted(set(person_ids))
        records = ExchangeRepository(self.session).records_of(ids)
        return decide_each(
            self.session,
            self.state.exchange,
            requester=self.requester,
            purpose=self.purpose,
            records={pid: records.get(pid, []) for pid in ids},
            at=self.at,
            requested=self.requested,
            in_force=self.in_force,
        )

    def _visible(self, entity: Entity, refs: list[str]) -> list[str]:
        if entity is Entity.MEMBER:
            decisions = self._decisions(refs)
            return [r for r in refs if decisions[r].allowed]
        repo = SubjectRepository(self.session)
        homes = repo.households(refs)
        members = {h.id: [pid for _, pid in repo.members(h) if pid] for h in homes}
        decisions = self._decisions(p for ps in members.values() for p in ps)
        return [
            household_ref(h.agency, h.source, h.record_id)
            for h in homes
            if _household_grants(h, [decisions[p] for p in members[h.id]])
        ]

    # ------------------------------------------------------------------ reading

    def _persons(self, person_ids: list[str]) -> tuple[dict[str, PersonView], dict[str, Decision]]:
        decisions = {p: d for p, d in self._decisions(person_ids).items() if d.allowed}
        repo = SubjectRepository(self.session)
        records = repo.person_records(list(decisions))
        every = [r for rs in records.values() for r in rs]
        idents = repo.identifiers([r.id for r in every])
        enrolments = repo.enrolments(every)
        views = {}
        for pid, rows in records.items():
            grants = _grants(decisions[pid].allowed)
            views[pid] = _person_view(pid, rows, grants, idents, enrolments, decisions[pid])
        return views, decisions

    def _groups(self, refs: list[str]) -> tuple[list[GroupView], dict[str, Decision]]:
        repo = SubjectRepository(self.session)
        out: list[GroupView] = []
        disclosed: dict[str, Decision] = {}
        for home in repo.households(refs):
            memberships = repo.members(home)
            persons, decisions = self._persons([pid for _, pid in memberships if pid])
            granted = _household_grants(home, list(decisions.values()))
            members = []
            for m, pid in memberships:
                if not pid or pid not in persons:
                    continue
                own = _household_grants(home, [decisions[pid]])
                related = "relationship" in own
                members.append(
                    MemberView(
                        persons[pid],
                        m.relationship if related else None,
                        m.start_date if related else None,
                    )
                )
            disclosed.update(decisions)
            out.append(
                GroupView(
                    ref=household_ref(home.agency, home.source, home.record_id),
                    address=address_view(home) if "address" in granted else None,
                    registered_on=home.registered_on if "registered_on" in granted else None,
                    size=home.size if "size" in granted else None,
                    members=tuple(members),
                    updated_on=home.source_updated_on,
                )
            )
        return out, disclosed


def scope(granted: frozenset[FieldRef]) -> MatchScope:
    """Whose data each query attribute may match, given the refs the agreements in force grant
    (the row filter and consent still apply to every subject found)."""

    def agencies(grants: dict[Attribute, tuple[str, str]]) -> dict[Attribute, frozenset[str]]:
        return {
            attribute: frozenset(r.agency for r in granted if (r.entity, r.field) == grant)
            for attribute, grant in grants.items()
        }

    return MatchScope(
        person=agencies(QUERY_GRANTS),
        household=agencies(HOUSEHOLD_QUERY_GRANTS),
        households=frozenset(r.agency for r in granted if r.entity == "household"),
    )


def _household_grants(home: HouseholdRow, decisions: Sequence[Decision]) -> set[str]:
    """Household fields of ``home`` that some decision allows (from the household's agency)."""
    return {
        r.field
        for d in decisions
        for r in d.allowed
        if r.entity == "household" and r.agency == home.agency
    }


def _grants(allowed: frozenset[FieldRef]) -> Grants:
    """For each DCI person field (and each enrolment field), the agencies allowing it."""
    out: dict[str, set[str]] = {}
    for r in allowed:
        if r.entity == "person":
            for name in PERSON_GRANTS.get(r.field, ()):
                out.setdefault(name, set()).add(r.agency)
        elif r.entity == "benefit_enrolment":
            out.setdefault(f"enrolment.{r.field}", set()).add(r.agency)
    return {k: frozenset(v) for k, v in out.items()}


def _allowed_rows(rows: list[PersonRecordRow], grants: Grants, name: str) -> list[PersonRecordRow]:
    agencies = grants.get(name, frozenset())
    return [r for r in rows if r.agency in agencies]


def _enrolment(row: BenefitEnrolmentRow, grants: Grants) -> EnrolmentView | None:
    def allowed(name: str) -> bool:
        return row.agency in grants.get(f"enrolment.{name}", frozenset())

    if not allowed("programme_code"):
        return None  # a DCI enrolment is named by its programme
    return EnrolmentView(
        programme_code=row.programme_code,
        programme_name=row.programme_name if allowed("programme_name") else None,
        status=row.status if allowed("status") else None,
        start_date=row.start_date if allowed("start_date") else None,
        end_date=row.end_date if allowed("end_date") else None,
        monthly_amount=row.monthly_amount if allowed("monthly_amount") else None,
        currency=row.currency if allowed("currency") else None,
    )


def _person_view(
    pid: str,
    rows: list[PersonRecordRow],
    grants: Grants,
    idents: dict[int, list[PersonIdentifierRow]],
    enrolments: dict[int, list[BenefitEnrolmentRow]],
    decision: Decision,
) -> PersonView:
    def value(name: str) -> Any:
        """From the most recent record of an agency allowed to give it that has one."""
        found = (getattr(r, name) for r in _allowed_rows(rows, grants, name))
        return next((v for v in found if v is not None), None)

    identifiers: list[IdentifierView] = []
    for row in _allowed_rows(rows, grants, "identifiers"):
        for i in idents[row.id]:
            view = IdentifierView(i.scheme, i.value)
            if view not in identifiers:
                identifiers.append(view)
    benefits = [e for row in rows for e in (_enrolment(x, grants) for x in enrolments[row.id]) if e]
    addresses = (address_view(r) for r in _allowed_rows(rows, grants, "address"))
    seen = {r.agency for r in decision.allowed}
    updated: list[date] = [
        r.source_updated_on for r in rows if r.agency in seen and r.source_updated_on
    ]
    return PersonView(
        ref=pid,
        given_names=value("given_names"),
        family_name=value("family_name"),
        second_family_name=value("second_family_name"),
        birth_date=value("birth_date"),
        sex=value("sex"),
        identifiers=tuple(identifiers),
        phone=value("phone"),
        email=value("email"),
        address=next((a for a in addresses if a is not None), None),
        enrolments=tuple(benefits),
        updated_on=max(updated) if updated else None,
    )
