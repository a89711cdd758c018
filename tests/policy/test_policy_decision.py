"""The pure policy decision: deny by default, every refusal names its rule, and the
property that released fields are within agreement ∩ consent ∩ request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nexo.policy.consent import NO_CONSENT, ConsentState, ConsentStatus
from nexo.policy.decision import Requester, Rule, Subject, decide
from nexo.policy.domain import Agreement, AgreementSet, PurposeCatalogue
from nexo.policy.fields import ANSWERS, ENTITY_FIELDS, FieldRef
from nexo.policy.loader import load_policy

IN = datetime(2026, 6, 30, 12, tzinfo=UTC)
SOCIAL = Requester("soc", "social")
EMPLOYMENT = Requester("pes", "employment")
BOTH = Subject("p1", frozenset({"social", "employment"}))
GRANTED = {("activation-support", "employment"): ConsentState(ConsentStatus.GRANTED)}


def test_allowed_fields_are_exactly_the_agreements_grants() -> None:
    policy = load_policy()
    d = decide(
        policy, requester=SOCIAL, purpose="benefit-eligibility", subject=BOTH, consent={}, at=IN
    )
    assert {str(r) for r in d.allowed} == {
        "employment:job_seeker_registration.status",
        "employment:job_seeker_registration.start_date",
        "employment:job_seeker_registration.end_date",
        "employment:answer.is_registered_job_seeker",
        "employment:answer.employed_on",
        "employment:answer.monthly_income_above",
    }
    assert d.effect == "allow" and d.agreement_keys == ("sp-means-test-employment@v2",)
    assert d.legal_bases == ("legal_obligation",) and d.policy_version == policy.version


def test_the_older_version_applies_in_its_own_window() -> None:
    d = decide(
        load_policy(),
        requester=SOCIAL,
        purpose="benefit-eligibility",
        subject=BOTH,
        consent={},
        at=datetime(2025, 6, 1, tzinfo=UTC),
    )
    assert d.agreement_keys == ("sp-means-test-employment@v1",)
    assert {r.field for r in d.allowed} == {"is_registered_job_seeker", "employed_on"}


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    policy = load_policy()
    v2 = next(a for a in policy.agreements if a.key == "sp-means-test-employment@v2")
    assert v2.valid_until is not None
    at_start = decide(
        policy,
        requester=SOCIAL,
        purpose="benefit-eligibility",
        subject=BOTH,
        consent={},
        at=v2.valid_from,
    )
    assert "sp-means-test-employment@v2" in at_start.agreement_keys
    at_end = decide(
        policy,
        requester=SOCIAL,
        purpose="benefit-eligibility",
        subject=BOTH,
        consent={},
        at=v2.valid_until,
    )
    assert at_end.effect == "deny"
    assert at_end.denials[0].rule is Rule.NOT_IN_FORCE
    assert "sp-means-test-employment@v2 valid from 2026-01-01T00:00:00-03:00" in (
        at_end.denials[0].message
    )


def test_every_refusal_names_the_missing_rule() -> None:
    policy = load_policy()
    cases = [
        (SOCIAL, "no-such-purpose", BOTH, {}, Rule.PURPOSE_UNKNOWN, "not in the purpose catalogue"),
        (Requester("t", "tax"), "case-management", BOTH, {}, Rule.NO_AGREEMENT, "'tax'"),
        (SOCIAL, "fraud-detection", BOTH, {}, Rule.PURPOSE_NOT_AGREED, "fraud-detection"),
        (
            SOCIAL,
            "benefit-eligibility",
            Subject("p2", frozenset({"employment"})),
            {},
            Rule.ROW_FILTER,
            "covers only persons known to social",
        ),
        (EMPLOYMENT, "activation-support", BOTH, {}, Rule.CONSENT, "consent is none"),
    ]
    for requester, purpose, subject, consent, rule, text in cases:
        d = decide(
            policy, requester=requester, purpose=purpose, subject=subject, consent=consent, at=IN
        )
        assert d.effect == "deny" and not d.allowed
        assert d.denials[0].rule is rule and text in d.denials[0].message, d.denials


def test_consent_and_objection() -> None:
    policy = load_policy()
    granted = decide(
        policy,
        requester=EMPLOYMENT,
        purpose="activation-support",
        subject=BOTH,
        consent=GRANTED,
        at=IN,
    )
    assert granted.effect == "allow" and granted.legal_bases == ("consent",)
    withdrawn = {
        ("activation-support", "employment"): ConsentState(ConsentStatus.WITHDRAWN, since=IN)
    }
    d = decide(
        policy,
        requester=EMPLOYMENT,
        purpose="activation-support",
        subject=BOTH,
        consent=withdrawn,
        at=IN,
    )
    assert d.effect == "deny" and "consent is withdrawn since" in d.denials[0].message
    # public task: an objection stops the identity check; legal obligation ignores it
    objected = {
        ("identity-verification", "employment"): ConsentState(objection=True),
        ("benefit-eligibility", "social"): ConsentState(objection=True),
    }
    d = decide(
        policy,
        requester=EMPLOYMENT,
        purpose="identity-verification",
        subject=BOTH,
        consent=objected,
        at=IN,
    )
    assert d.effect == "deny" and d.denials[0].rule is Rule.OBJECTION
    d = decide(
        policy,
        requester=SOCIAL,
        purpose="benefit-eligibility",
        subject=BOTH,
        consent=objected,
        at=IN,
    )
    assert d.effect == "allow"


def test_request_narrows_and_withheld_fields_are_named() -> None:
    asked = frozenset(
        {
            FieldRef("employment", "job_seeker_registration", "status"),
            FieldRef("employment", "employment_episode", "monthly_wage"),
        }
    )
    d = decide(
        load_policy(),
        requester=SOCIAL,
        purpose="benefit-eligibility",
        subject=BOTH,
        consent={},
        at=IN,
        requested=asked,
    )
    assert {str(r) for r in d.allowed} == {"employment:job_seeker_registration.status"}
    assert {str(r) for r in d.withheld} == {"employment:employment_episode.monthly_wage"}
    assert d.effect == "partial" and d.denials[-1].rule is Rule.FIELD


def test_decision_is_pure_and_time_must_be_aware() -> None:
    policy = load_policy()
    args = dict(requester=SOCIAL, purpose="benefit-eligibility", subject=BOTH, consent={}, at=IN)
    assert decide(policy, **args) == decide(policy, **args)  # type: ignore[arg-type]
    try:
        decide(policy, **{**args, "at": datetime(2026, 6, 30)})  # type: ignore[arg-type]
    except ValueError as e:
        assert "aware" in str(e)
    else:
        raise AssertionError("a naive time was accepted")


# ---------------------------------------------------------------- the property

AGENCIES = ["social", "employment", "tax"]
PURPOSES = ["p-one", "p-two"]
REFS = sorted(
    [FieldRef(a, e, f) for a in AGENCIES for e, fs in ENTITY_FIELDS.items() for f in fs[:3]]
    + [FieldRef(a, "answer", q) for a in AGENCIES for q in ANSWERS]
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def agreements(draw: st.DrawFn, n: int) -> Agreement:
    provider, recipient = draw(st.sampled_from(AGENCIES)), draw(st.sampled_from(AGENCIES))
    refs = draw(st.lists(st.sampled_from([r for r in REFS if r.agency == provider]), min_size=1))
    grants: dict[str, list[str]] = {}
    for r in refs:
        if r.entity != "answer":
            grants.setdefault(r.entity, []).append(r.field)
    answers = sorted({r.field for r in refs if r.entity == "answer"})
    if not grants and not answers:
        answers = ["employed_on"]
    start = T0 + timedelta(days=draw(st.integers(0, 60)))
    basis = draw(st.sampled_from(["consent", "public_task", "legal_obligation"]))
    return Agreement.model_validate(
        {
            "nexo_agreement": 1,
            "id": f"a{n}",
            "version": 1,
            "title": "t",
            "parties": {"provider": provider, "recipient": recipient},
            "accountable": "x",
            "purpose": draw(st.sampled_from(PURPOSES)),
            "legal_basis": basis,
            "valid_from": start,
            "valid_until": start + timedelta(days=draw(st.integers(1, 90))),
            "consent_required": basis == "consent" or draw(st.booleans()),
            "retention": "P1Y",
            "row_filter": {
                "known_to": draw(
                    st.lists(st.sampled_from(["recipient", "provider", *AGENCIES]), max_size=2)
                )
            },
            "grants": [{"entity": e, "fields": sorted(set(fs))} for e, fs in grants.items()],
            "answers": answers,
        }
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[AgreementSet, dict[str, object]]:
    n = draw(st.integers(0, 5))
    policy = AgreementSet(
        catalogue=PurposeCatalogue(
            nexo_purposes=1,
            version="1",
            purposes=[{"id": p, "title": p} for p in PURPOSES],  # type: ignore[misc]
        ),
        agreements=tuple(draw(agreements(i)) for i in range(n)),
    )
    consent = {
        (p, a): ConsentState(
            draw(st.sampled_from(list(ConsentStatus))), objection=draw(st.booleans())
        )
        for p in PURPOSES
        for a in AGENCIES
        if draw(st.booleans())
    }
    requested = draw(st.none() | st.frozensets(st.sampled_from(REFS)))
    args = {
        "requester": Requester("c", draw(st.sampled_from(AGENCIES))),
        "purpose": draw(st.sampled_from([*PURPOSES, "unknown"])),
        "subject": Subject("p", frozenset(draw(st.lists(st.sampled_from(AGENCIES))))),
        "consent": consent,
        "at": T0 + timedelta(days=draw(st.integers(0, 160)), hours=draw(st.integers(0, 23))),
        "requested": requested,
    }
    return policy, args


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_released_fields_are_within_agreement_consent_and_request(
    case: tuple[AgreementSet, dict[str, object]],
) -> None:
    policy, args = case
    d = decide(policy, **args)  # type: ignore[arg-type]
    requester: Requester = args["requester"]  # type: ignore[assignment]
    subject: Subject = args["subject"]  # type: ignore[assignment]
    at: datetime = args["at"]  # type: ignore[assignment]
    requested = args["requested"]
    consent: dict[tuple[str, str], ConsentState] = args["consent"]  # type: ignore[assignment]
    for ref in d.allowed:
        assert requested is None or ref in requested  # type: ignore[operator]
        witnesses = [
            a
            for a in policy.agreements
            if a.parties.recipient == requester.agency
            and a.purpose == args["purpose"]
            and a.valid_from <= at
            and (a.valid_until is None or at < a.valid_until)
            and a.known_to() <= subject.known_to
            and (
                not a.consent_required
                or consent.get((a.purpose, requester.agency), NO_CONSENT).granted
            )
            and not (
                a.honours_objection
                and consent.get((a.purpose, requester.agency), NO_CONSENT).objection
            )
            and ref in a.refs()
        ]
        assert witnesses, f"{ref} released without an agreement that allows it"
    if not d.allowed:
        assert d.denials or not policy.agreements or requested == frozenset()
