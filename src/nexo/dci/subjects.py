"""Reading subjects from the canonical store as views, and minimising views to a field set.

Building blocks for a :class:`~nexo.dci.ports.Disclosure` binding (the tests' binding uses
them): :func:`read_page` finds one page of subjects and reads them whole; :func:`minimise` keeps
only the fields a policy allows. Neither decides anything about who may see what.

Field names for :func:`minimise`: the :class:`PersonView` attributes (``given_names``,
``family_name``, ``second_family_name``, ``birth_date``, ``sex``, ``identifiers``, ``phone``,
``email``, ``address``, ``enrolments``, ``updated_on``), ``relationship`` and
``membership_start`` for household members, and ``household.address``,
``household.registered_on``, ``household.size``, ``household.members``,
``household.updated_on`` for households.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy.orm import Session

from nexo.dci.criteria import Entity, SubjectQuery
from nexo.dci.ports import (
    AddressView,
    Disclosed,
    EnrolmentView,
    GroupView,
    IdentifierView,
    MemberView,
    PageRequest,
    PersonView,
)
from nexo.dci.subject_repository import SubjectRepository, household_ref
from nexo.store.tables import HouseholdRow, PersonRecordRow

PERSON_FIELDS = frozenset(
    {"given_names", "family_name", "second_family_name", "birth_date", "sex", "identifiers",
     "phone", "email", "address", "enrolments", "updated_on"}
)  # fmt: skip
MEMBER_FIELDS = frozenset({"relationship", "membership_start"})
HOUSEHOLD_FIELDS = frozenset(
    {"household.address", "household.registered_on", "household.size", "household.members",
     "household.updated_on"}
)  # fmt: skip
ALL_FIELDS = PERSON_FIELDS | MEMBER_FIELDS | HOUSEHOLD_FIELDS


def address_view(row: PersonRecordRow | HouseholdRow) -> AddressView | None:
    view = AddressView(
        line=row.address_line,
        locality=row.locality,
        postcode=row.postcode,
        region=row.region,
        admin_area_code=row.admin_area_code,
        country=getattr(row, "country", None),
    )
    return view if any(getattr(view, f) for f in view.__slots__) else None


def person_views(repo: SubjectRepository, person_ids: list[str]) -> dict[str, PersonView]:
    """Whole views of persons: demographics from their most recently updated record,
    identifiers and enrolments from all their records."""
    records = repo.person_records(person_ids)
    every = [r for rs in records.values() for r in rs]
    idents = repo.identifiers([r.id for r in every])
    enrolments = repo.enrolments(every)
    out: dict[str, PersonView] = {}
    for pid, rows in records.items():
        if not rows:
            continue
        best = rows[0]
        seen: set[tuple[str, str]] = set()
        identifiers = []
        for r in rows:
            for i in idents[r.id]:
                if (i.scheme, i.value) not in seen:
                    seen.add((i.scheme, i.value))
                    identifiers.append(IdentifierView(i.scheme, i.value))
        benefits = [
            EnrolmentView(
                programme_code=e.programme_code,
                programme_name=e.programme_name,
                status=e.status,
                start_date=e.start_date,
                end_date=e.end_date,
                monthly_amount=e.monthly_amount,
                currency=e.currency,
            )
            for r in rows
            for e in enrolments[r.id]
        ]
        updated = [r.source_updated_on for r in rows if r.source_updated_on]
        out[pid] = PersonView(
            ref=pid,
            given_names=best.given_names,
            family_name=best.family_name,
            second_family_name=best.second_family_name,
            birth_date=best.birth_date,
            sex=best.sex,
            identifiers=tuple(identifiers),
            phone=best.phone,
            email=best.email,
            address=address_view(best),
            enrolments=tuple(benefits),
            updated_on=max(updated) if updated else None,
        )
    return out


def group_views(repo: SubjectRepository, refs: list[str]) -> list[GroupView]:
    out = []
    for household in repo.households(refs):
        memberships = repo.members(household)
        persons = person_views(repo, [pid for _, pid in memberships if pid])
        members = tuple(
            MemberView(persons[pid], m.relationship, m.start_date)
            for m, pid in memberships
            if pid and pid in persons
        )
        updated: list[date] = [d for d in (household.source_updated_on,) if d]
        out.append(
            GroupView(
                ref=household_ref(household.agency, household.source, household.record_id),
                address=address_view(household),
                registered_on=household.registered_on,
                size=household.size,
                members=members,
                updated_on=max(updated) if updated else None,
            )
        )
    return out


def read_page(session: Session, *, query: SubjectQuery, page: PageRequest) -> Disclosed:
    """One page of subjects matching ``query``, whole (not minimised), and the total count."""
    repo = SubjectRepository(session)
    refs, counted = repo.find(query, offset=page.offset, limit=page.size)
    total = counted or 0
    if query.entity is Entity.GROUP:
        return Disclosed(tuple(group_views(repo, refs)), total)
    views = person_views(repo, refs)
    return Disclosed(tuple(views[r] for r in refs if r in views), total)


def _person(view: PersonView, fields: frozenset[str]) -> PersonView:
    cleared = {
        f: (() if f in ("identifiers", "enrolments") else None) for f in PERSON_FIELDS - fields
    }
    return replace(view, **cleared)  # type: ignore[arg-type]


def minimise(view: PersonView | GroupView, fields: frozenset[str]) -> PersonView | GroupView:
    """``view`` with every field outside ``fields`` emptied (the ref always stays)."""
    if isinstance(view, PersonView):
        return _person(view, fields)
    members = tuple(
        MemberView(
            _person(m.person, fields),
            m.relationship if "relationship" in fields else None,
            m.start_date if "membership_start" in fields else None,
        )
        for m in view.members
    )
    return GroupView(
        ref=view.ref,
        address=view.address if "household.address" in fields else None,
        registered_on=view.registered_on if "household.registered_on" in fields else None,
        size=view.size if "household.size" in fields else None,
        members=members if "household.members" in fields else (),
        updated_on=view.updated_on if "household.updated_on" in fields else None,
    )
