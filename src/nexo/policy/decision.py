"""The policy decision: a pure function of agreements, client, purpose, subject, consent, time.

``decide`` has no side effects and reads nothing but its arguments, so any past decision can be
replayed from the policy version, the consent history and the time recorded in the audit trail.
Deny by default: a field is allowed only when an agreement in force grants it to the client's
agency for the stated purpose, the subject passes the agreement's row filter, and the consent or
objection rules of the agreement hold. Every refusal names the rule that was missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from nexo.policy.consent import NO_CONSENT, ConsentView
from nexo.policy.domain import Agreement, AgreementSet
from nexo.policy.fields import FieldRef


class Rule(StrEnum):
    PURPOSE_UNKNOWN = "purpose.unknown"
    NO_AGREEMENT = "agreement.missing"
    PURPOSE_NOT_AGREED = "agreement.purpose"
    NOT_IN_FORCE = "agreement.window"
    ROW_FILTER = "row_filter.known_to"
    CONSENT = "consent.required"
    OBJECTION = "objection.recorded"
    FIELD = "field.not_granted"
    SUBJECT_UNKNOWN = "subject.unknown"


#: rules whose failure depends on the subject: telling them would tell that the subject exists
SUBJECT_RULES = frozenset({Rule.ROW_FILTER, Rule.CONSENT, Rule.OBJECTION, Rule.SUBJECT_UNKNOWN})


@dataclass(frozen=True, slots=True)
class Requester:
    client_id: str
    agency: str


@dataclass(frozen=True, slots=True)
class Subject:
    """A master-person-index person and the agencies that hold a record of them."""

    person_id: str
    known_to: frozenset[str]


@dataclass(frozen=True, slots=True)
class Denial:
    rule: Rule
    message: str
    agreement: str | None = None


@dataclass(frozen=True)
class Decision:
    policy_version: str
    requester: Requester
    purpose: str
    person_id: str | None
    at: datetime
    allowed: frozenset[FieldRef] = frozenset()
    withheld: frozenset[FieldRef] = frozenset()
    agreements: tuple[Agreement, ...] = ()
    denials: tuple[Denial, ...] = field(default_factory=tuple)

    @property
    def effect(self) -> str:
        if not self.allowed:
            return "deny"
        return "partial" if self.withheld else "allow"

    @property
    def legal_bases(self) -> tuple[str, ...]:
        return tuple(sorted({a.legal_basis.value for a in self.agreements}))

    @property
    def agreement_keys(self) -> tuple[str, ...]:
        return tuple(sorted(a.key for a in self.agreements))

    @property
    def accountable(self) -> tuple[str, ...]:
        return tuple(sorted({a.accountable for a in self.agreements}))

    def first_denial(self) -> Denial | None:
        return self.denials[0] if self.denials else None


def _fmt(at: datetime | None) -> str:
    return at.isoformat() if at else "open end"


def screen(
    policy: AgreementSet, *, requester: Requester, purpose: str, at: datetime
) -> tuple[tuple[Agreement, ...], Denial | None]:
    """The agreements in force for this client and purpose, or the rule that is missing.

    Needs no subject: it answers whether the client may ask at all.
    """
    if at.tzinfo is None:
        raise ValueError("decisions are taken at an aware time")
    if policy.catalogue.get(purpose) is None:
        known = ", ".join(p.id for p in policy.catalogue.purposes)
        return (), Denial(
            Rule.PURPOSE_UNKNOWN,
            f"purpose {purpose!r} is not in the purpose catalogue "
            f"(version {policy.catalogue.version}); known purposes: {known}",
        )
    mine = policy.for_recipient(requester.agency)
    if not mine:
        return (), Denial(
            Rule.NO_AGREEMENT,
            f"no data-sharing agreement names agency {requester.agency!r} as recipient",
        )
    for_purpose = tuple(a for a in mine if a.purpose == purpose)
    if not for_purpose:
        covered = ", ".join(sorted({a.purpose for a in mine}))
        return (), Denial(
            Rule.PURPOSE_NOT_AGREED,
            f"no agreement lets agency {requester.agency!r} use data for purpose {purpose!r}; "
            f"its agreements cover: {covered}",
        )
    in_force = tuple(a for a in for_purpose if a.in_force(at))
    if not in_force:
        windows = "; ".join(
            f"{a.key} valid from {_fmt(a.valid_from)} until {_fmt(a.valid_until)}"
            for a in for_purpose
        )
        return (), Denial(
            Rule.NOT_IN_FORCE,
            f"no agreement for purpose {purpose!r} is in force at {at.isoformat()}: {windows}",
        )
    return in_force, None


def _subject_denial(
    a: Agreement, subject: Subject, consent: ConsentView, purpose: str
) -> Denial | None:
    missing = a.known_to() - subject.known_to
    if missing:
        return Denial(
            Rule.ROW_FILTER,
            f"agreement {a.key} covers only persons known to {', '.join(sorted(missing))}",
            a.key,
        )
    state = consent.get((purpose, a.parties.recipient), NO_CONSENT)
    if a.consent_required and not state.granted:
        since = f" since {state.since.isoformat()}" if state.since else ""
        return Denial(
            Rule.CONSENT,
            f"agreement {a.key} needs the person's consent for purpose {purpose!r} to "
            f"{a.parties.recipient!r}; consent is {state.status.value}{since}",
            a.key,
        )
    if a.honours_objection and state.objection:
        return Denial(
            Rule.OBJECTION,
            f"the person objected to processing for purpose {purpose!r} by "
            f"{a.parties.recipient!r}, and agreement {a.key} honours objections",
            a.key,
        )
    return None


def decide(
    policy: AgreementSet,
    *,
    requester: Requester,
    purpose: str,
    subject: Subject,
    consent: ConsentView,
    at: datetime,
    requested: frozenset[FieldRef] | None = None,
) -> Decision:
    """What the requester may learn about the subject for the purpose at the time.

    ``requested`` narrows the answer to what was asked for (``None``: everything allowed).
    """
    base = Decision(policy.version, requester, purpose, subject.person_id, at)
    in_force, denial = screen(policy, requester=requester, purpose=purpose, at=at)
    if denial is not None:
        return replace(base, denials=(denial,), withheld=requested or frozenset())
    denials: list[Denial] = []
    passing: list[Agreement] = []
    for a in in_force:
        d = _subject_denial(a, subject, consent, purpose)
        if d is None:
            passing.append(a)
        else:
            denials.append(d)
    granted = frozenset(r for a in passing for r in a.refs())
    allowed = granted if requested is None else granted & requested
    withheld = frozenset() if requested is None else requested - granted
    if passing and withheld:
        shown = ", ".join(str(r) for r in sorted(withheld)[:5])
        more = f" and {len(withheld) - 5} more" if len(withheld) > 5 else ""
        denials.append(
            Denial(
                Rule.FIELD,
                f"no agreement in force grants {shown}{more} to {requester.agency!r} "
                f"for purpose {purpose!r}",
            )
        )
    used = tuple(a for a in passing if a.refs() & allowed)
    return replace(
        base, allowed=allowed, withheld=withheld, agreements=used, denials=tuple(denials)
    )
