"""The seam between the DCI layer and Nexo's exchange layer (clients, policy, consent, audit).

The DCI layer speaks the standard (envelopes, signatures, queries, callbacks); it decides nothing
about who may see what. Two ports, bound by the application that mounts the DCI router:

- :class:`Authenticator` turns the request's bearer token into the calling :class:`Client`;
- :class:`Disclosure` answers a search for a client and purpose, applying agreements, consent,
  minimisation and audit, and returns only what may be disclosed (or a :class:`Denied` naming
  the missing rule).

Whatever :meth:`Disclosure.search` returns is mapped to DCI records field by field; nothing else
about a person or household ever reaches a DCI message. Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from nexo.dci.criteria import SubjectQuery
from nexo.errors import NexoError

# --------------------------------------------------------------------------- authentication


@dataclass(frozen=True, slots=True)
class Client:
    """An authenticated machine client of the exchange layer.

    ``default_purpose`` is used for DCI requests that state no purpose (neither ``authorize`` nor
    ``consent``); a client without one must state it.
    """

    client_id: str
    default_purpose: str | None = None


class AuthenticationFailed(NexoError):
    """The bearer token is missing, malformed, expired, revoked or not Nexo's."""

    code = "authentication-failed"


class Authenticator(Protocol):
    def authenticate(self, bearer_token: str | None) -> Client:
        """The client the token was issued to; raises :class:`AuthenticationFailed` otherwise.

        ``bearer_token`` is the credential after ``Authorization: Bearer`` (None when the header
        is absent or not a bearer credential). Must not be slow: it runs on every request.
        """
        ...


# --------------------------------------------------------------------------- what is asked


@dataclass(frozen=True, slots=True)
class ConsentRef:
    """A DCI ``consent`` statement of the requester: the consent it says it holds.

    The exchange layer decides what it is worth (e.g. look it up in the consent registry); the
    DCI layer only passes it on.
    """

    purpose_code: str | None = None
    purpose_text: str | None = None
    ref_uri: str | None = None
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Page ``number`` (from 1) of ``size`` records."""

    number: int
    size: int

    def __post_init__(self) -> None:
        if self.number < 1 or self.size < 1:
            raise ValueError("page number and size start at 1")

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a request came from, for the audit trail (no personal data)."""

    sender_id: str
    message_id: str
    transaction_id: str
    reference_id: str
    correlation_id: str
    channel: str = "dci"


# --------------------------------------------------------------------------- what is disclosed


@dataclass(frozen=True, slots=True)
class IdentifierView:
    scheme: str  # canonical scheme (cl-run, kr-rrn, de-steuer-id, agency, other)
    value: str


@dataclass(frozen=True, slots=True)
class AddressView:
    line: str | None = None
    locality: str | None = None
    postcode: str | None = None
    region: str | None = None
    admin_area_code: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    programme_code: str
    programme_name: str | None = None
    status: str | None = None  # active | suspended | ended
    start_date: date | None = None
    end_date: date | None = None
    monthly_amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PersonView:
    """A person, minimised: every field the policy does not allow is None or empty.

    ``ref`` is a stable, opaque subject reference chosen by the exchange layer (Nexo's master
    person id, or a pseudonym of it); DCI returns it as the member identifier and accepts it
    back in queries (:attr:`Attribute.SUBJECT`).
    """

    ref: str
    given_names: str | None = None
    family_name: str | None = None
    second_family_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # female | male | other | unknown
    identifiers: tuple[IdentifierView, ...] = ()
    phone: str | None = None
    email: str | None = None
    address: AddressView | None = None
    enrolments: tuple[EnrolmentView, ...] = ()
    updated_on: date | None = None


@dataclass(frozen=True, slots=True)
class MemberView:
    """A person in a household; ``relationship`` to the head (head, spouse, child...)."""

    person: PersonView
    relationship: str | None = None
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class GroupView:
    """A household, minimised; ``members`` holds only members the policy lets the client see."""

    ref: str
    address: AddressView | None = None
    registered_on: date | None = None
    size: int | None = None
    members: tuple[MemberView, ...] = ()
    updated_on: date | None = None


@dataclass(frozen=True, slots=True)
class Disclosed:
    """One page of what may be disclosed, and how many records in all the client may see."""

    records: tuple[PersonView, ...] | tuple[GroupView, ...]
    total_count: int


@dataclass(frozen=True, slots=True)
class Denied:
    """The request is refused; ``rule`` names what was missing (e.g. ``agreement``, ``purpose``,
    ``consent``), ``message`` says it in words. Never depends on whether a subject exists."""

    rule: str
    message: str


class Disclosure(Protocol):
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
        """Run ``query`` for ``client`` and ``purpose`` at time ``at``; audit; return one page.

        Contract (the DCI layer relies on it and discloses nothing else):

        - records are minimised to the fields the agreement (and consent) allow for this client
          and purpose; a field not allowed is None / empty in the views;
        - a subject outside the client's agreements (row filters, missing consent) is left out
          as if it did not exist, and is not counted in ``total_count``;
        - :class:`Denied` is only for refusals that do not depend on any subject (no agreement
          for this client and purpose, purpose unknown, outside the validity window...);
        - the request is audited, allowed or denied, before this returns; if the audit write
          fails this raises and nothing is disclosed.
        """
        ...

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
        """May ``client`` subscribe to events matching ``query`` for ``purpose``? Audited.

        None when some agreement could allow disclosures for this client and purpose (each
        later notification still goes through :meth:`search`-like filtering).
        """
        ...
