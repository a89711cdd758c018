"""``nexo dci`` as an operator uses it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cli_process import nexo
from nexo.dci.signature import public_jwk


def test_register_list_and_remove_a_sender(tmp_path: Path) -> None:
    jwk = public_jwk(Ed25519PrivateKey.generate().public_key())
    keys = tmp_path / "spmis.jwks.json"
    keys.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    added = nexo(
        "dci",
        "senders",
        "add",
        "spmis.example.org",
        "--client",
        "social-mis",
        "--callback",
        "https://spmis.example.org/dci",
        "--jwks",
        str(keys),
        home=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "registered" in added.stdout and "signature required" in added.stdout
    listed = nexo("dci", "senders", "list", "--json", home=tmp_path)
    assert json.loads(listed.stdout) == [
        {
            "sender_id": "spmis.example.org",
            "client_id": "social-mis",
            "signature": "required",
            "callbacks": ["https://spmis.example.org/dci"],
            "key_ids": [jwk["kid"]],
            "active": True,
        }
    ]
    assert nexo("dci", "senders", "remove", "spmis.example.org", home=tmp_path).returncode == 0
    gone = nexo("dci", "senders", "remove", "spmis.example.org", home=tmp_path)
    assert gone.returncode == 1 and "no DCI sender" in gone.stderr
    deliveries = nexo("dci", "deliveries", "--state", "failed", home=tmp_path)
    assert deliveries.returncode == 0, deliveries.stderr


def test_bad_registrations_are_one_line_usage_errors(tmp_path: Path) -> None:
    private = {**public_jwk(Ed25519PrivateKey.generate().public_key()), "d": "c2VjcmV0"}
    leaked = tmp_path / "private.json"
    leaked.write_text(json.dumps({"keys": [private]}), encoding="utf-8")
    for args, says in (
        (["--callback", "ftp://x.org/"], "not an absolute http(s) URL"),
        ([], "no keys were given"),
        (["--jwks", str(leaked)], "private key"),
        (["--jwks", str(tmp_path / "missing.json")], "cannot read"),
    ):
        result = nexo(
            "dci", "senders", "add", "x.example.org", "--client", "c", *args, home=tmp_path
        )
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and says in lines[0], (
            args,
            result.stderr,
        )


def test_signing_keys_show_and_rotate(tmp_path: Path) -> None:
    shown = nexo("dci", "keys", "show", home=tmp_path)
    first = json.loads(shown.stdout)["keys"]
    assert [k["kty"] for k in first] == ["OKP"] and "d" not in first[0]
    assert list((tmp_path / "keys" / "dci").glob("ed25519-*.pem"))
    rotated = nexo("dci", "keys", "rotate", home=tmp_path)
    assert rotated.returncode == 0 and "2 key(s) published" in rotated.stdout
    retired = nexo("dci", "keys", "retire", first[0]["kid"], home=tmp_path)
    assert retired.returncode == 0 and "1 key(s) published" in retired.stdout
