"""Ed25519 message signatures, JCS canonical JSON, JWKs (pure)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nexo.dci.keys import create_key, load_keyring, retire, rotate
from nexo.dci.signature import (
    SignatureError,
    canonical_json,
    parse,
    parse_jwks,
    public_jwk,
    sign,
    thumbprint,
    verify,
)
from nexo.errors import UsageError

HEADER = {"message_id": "m", "action": "search", "sender_id": "a.org", "total_count": 1}
MESSAGE = {"transaction_id": "t", "search_request": [{"x": 1.0, "y": "ñ", "z": [True, None]}]}


def test_canonical_json_follows_rfc_8785() -> None:
    # key order by UTF-16 code units, no whitespace, ECMAScript numbers, minimal escapes
    assert canonical_json({"b": 1, "a": [1.0, 1e-7, 1e21, -0.5, "é\n\u2028"]}) == (
        '{"a":[1,1e-7,1e+21,-0.5,"é\\n\u2028"],"b":1}'.encode()
    )
    # UTF-16 order puts U+1F600 (a surrogate pair, D83D...) before U+FB33, unlike code points
    keys = {"\ufb33": 4, "\U0001f600": 3, "\u20ac": 2, "z": 1}
    assert canonical_json(keys) == '{"z":1,"\u20ac":2,"\U0001f600":3,"\ufb33":4}'.encode()
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


def _keys() -> tuple[Ed25519PrivateKey, str, dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    return key, jwk["kid"], {"keys": [jwk]}


def test_sign_and_verify_survives_reserialisation() -> None:
    key, kid, jwks = _keys()
    now = time.time()
    value = sign(HEADER, MESSAGE, key=key, sender_id="a.org", kid=kid, now=now)
    assert value.startswith('Signature: namespace="spdci", kidId="a.org|')
    params = parse(value)
    assert (params.sender_id, params.kid, params.expires - params.created) == ("a.org", kid, 600)
    # the receiver parses JSON sent with other spacing and key order
    header, message = json.loads(json.dumps(HEADER, indent=2)), json.loads(json.dumps(MESSAGE)[::1])
    assert (
        verify(
            value,
            dict(reversed(header.items())),
            message,
            sender_id="a.org",
            keys=parse_jwks(jwks),
            now=now,
        )
        == kid
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda h, m: m["search_request"][0].update(x=2), "does not match"),
        (lambda h, m: h.update(action="subscribe"), "does not match"),
    ],
)
def test_any_change_breaks_the_signature(change: Any, says: str) -> None:
    key, kid, jwks = _keys()
    header, message = json.loads(json.dumps(HEADER)), json.loads(json.dumps(MESSAGE))
    value = sign(header, message, key=key, sender_id="a.org", kid=kid, now=time.time())
    change(header, message)
    with pytest.raises(SignatureError, match=says):
        verify(value, header, message, sender_id="a.org", keys=parse_jwks(jwks), now=time.time())


def test_time_sender_and_key_checks() -> None:
    key, kid, jwks = _keys()
    keys = parse_jwks(jwks)
    now = time.time()
    old = sign(HEADER, MESSAGE, key=key, sender_id="a.org", kid=kid, now=now - 3600)
    with pytest.raises(SignatureError, match="not valid now"):
        verify(old, HEADER, MESSAGE, sender_id="a.org", keys=keys, now=now)
    future = sign(HEADER, MESSAGE, key=key, sender_id="a.org", kid=kid, now=now + 3600)
    with pytest.raises(SignatureError, match="not valid now"):
        verify(future, HEADER, MESSAGE, sender_id="a.org", keys=keys, now=now)
    forever = sign(HEADER, MESSAGE, key=key, sender_id="a.org", kid=kid, now=now, ttl=86400)
    with pytest.raises(SignatureError, match="at most"):
        verify(forever, HEADER, MESSAGE, sender_id="a.org", keys=keys, now=now)
    value = sign(HEADER, MESSAGE, key=key, sender_id="a.org", kid=kid, now=now)
    with pytest.raises(SignatureError, match="another sender"):
        verify(value, HEADER, MESSAGE, sender_id="b.org", keys=keys, now=now)
    with pytest.raises(SignatureError, match="not registered"):
        verify(value, HEADER, MESSAGE, sender_id="a.org", keys={}, now=now)
    for bad in (
        'kidId="a|b"',
        'kidId="a|b|rsa", created="1", expires="2", signature="AA=="',
        "nonsense",
    ):
        with pytest.raises(SignatureError):
            parse(bad)


def test_jwks_accepts_only_public_ed25519_signing_keys() -> None:
    _, kid, jwks = _keys()
    assert list(parse_jwks(jwks)) == [kid]
    jwk = jwks["keys"][0]
    assert thumbprint(jwk) == kid
    for broken, says in (
        ({"keys": [{**jwk, "kty": "RSA"}]}, "not an Ed25519"),
        ({"keys": [{**jwk, "d": "secret"}]}, "private key"),
        ({"keys": [{**jwk, "use": "enc"}]}, "signing key"),
        ({"keys": [{**jwk, "x": "AAAA"}]}, "32-byte"),
        ({"keys": []}, "no keys"),
        ([jwk], "JWKS is"),
    ):
        with pytest.raises(SignatureError, match=says):
            parse_jwks(broken)


def test_nexo_keys_live_in_their_folder_and_rotate(tmp_path: Any) -> None:
    folder = tmp_path / "keys"
    first = load_keyring(folder)
    assert len(first.keys) == 1 and (first.current.path.stat().st_mode & 0o777) == 0o600
    assert load_keyring(folder).current.kid == first.current.kid  # loaded again, not re-created
    ring = rotate(folder)
    assert ring.current.kid != first.current.kid and len(ring.jwks()["keys"]) == 2
    with pytest.raises(UsageError, match="newest key"):
        retire(folder, ring.current.kid)
    assert [k.kid for k in retire(folder, first.current.kid).keys] == [ring.current.kid]
    assert create_key(tmp_path / "other").kid != ring.current.kid
