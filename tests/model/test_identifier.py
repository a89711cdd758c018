from __future__ import annotations

import pytest

from nexo.model.identifier import (
    IdentifierScheme,
    format_run,
    is_valid_identifier,
    luhn_valid,
    normalise_identifier,
    run_check_digit,
)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("12.345.678-5", True),
        ("12345678-5", True),
        ("12.345.678-4", False),
        ("11.111.111-1", True),
        ("7.654.321-6", True),  # 7654321: 1*2+2*3+3*4+4*5+5*6+6*7+7*2 = 126 → 11-5 = 6
        ("15.468.832-3", True),
        ("10.000.013-K", True),
        ("10.000.013-k", True),  # lower-case K is accepted
        ("", False),
        ("K", False),
    ],
)
def test_chile_run(value: str, valid: bool) -> None:
    assert is_valid_identifier(IdentifierScheme.CL_RUN, value) is valid


def test_run_check_digit_k_and_zero() -> None:
    assert run_check_digit("10000013") == "K"
    assert format_run("12345678" + run_check_digit("12345678")) == "12.345.678-5"
    assert normalise_identifier(IdentifierScheme.CL_RUN, "12.345.678-k") == "12345678K"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("86095742719", True),  # the example number of the German tax administration
        ("86095742718", False),  # wrong check digit
        ("06095742719", False),  # may not start with 0
        ("12345678901", False),  # no repeated digit
        ("86 095 742 719", True),
    ],
)
def test_german_steuer_id(value: str, valid: bool) -> None:
    assert is_valid_identifier(IdentifierScheme.DE_STEUER_ID, value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [("850304-2220194", True), ("8503042220195", False), ("850304222019", False)],
)
def test_korea_rrn(value: str, valid: bool) -> None:
    assert is_valid_identifier(IdentifierScheme.KR_RRN, value) is valid


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
