"""Callback addresses: only what a sender registered, nothing a message merely names (pure)."""

from __future__ import annotations

import pytest

from nexo.dci.sender import callback_allowed, check_callback, check_sender_id
from nexo.errors import UsageError

REGISTERED = ["https://spmis.example.org/dci/callback", "http://127.0.0.1:8081/"]


@pytest.mark.parametrize(
    "uri",
    [
        "https://spmis.example.org/dci/callback",
        "https://SPMIS.example.org:443/dci/callback/on-search",
        "https://spmis.example.org/dci/callback/on-search?batch=1",
        "http://127.0.0.1:8081/anything",
    ],
)
def test_registered_addresses_and_below(uri: str) -> None:
    assert callback_allowed(REGISTERED, uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://spmis.example.org/dci/callbackX",  # a sibling, not below
        "https://spmis.example.org/dci/callback/../../admin",
        "https://spmis.example.org/dci/callback/%2e%2e/admin",
        "http://spmis.example.org/dci/callback",  # another scheme
        "https://spmis.example.org:8443/dci/callback",  # another port
        "https://spmis.example.org.evil.net/dci/callback",
        "https://evil.net@spmis.example.org/dci/callback",  # user info
        "https://spmis.example.org/dci/callback#frag",
        "http://127.0.0.1:8082/",
        "http://[::1]:8081/",
        "http://localhost:8081/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:8081/",
        "https://spmis.example.org\\@evil.net/dci/callback",
        "https://spmís.example.org/dci/callback",
        "",
    ],
)
def test_anything_else_is_refused(uri: str) -> None:
    assert not callback_allowed(REGISTERED, uri)


def test_registration_checks() -> None:
    assert check_sender_id("spmis.example.org") == "spmis.example.org"
    for bad in ("", "a b", "x" * 100, "-leading"):
        with pytest.raises(UsageError):
            check_sender_id(bad)
    for bad in ("spmis.example.org/cb", "ftp://x.org/", "https://u:p@x.org/"):
        with pytest.raises(UsageError):
            check_callback(bad)
