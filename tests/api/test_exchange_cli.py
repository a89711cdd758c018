"""The exchange commands as an operator uses them: real processes on a small store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest
from exchange_world import build_world

from cli_process import nexo
from nexo.auth.keys import keystore
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("cli") / "home"
    engine = make_engine(f"sqlite:///{folder / 'nexo.db'}")
    upgrade(engine)
    world = build_world(session_factory(engine))
    engine.dispose()
    return folder, world.pid


def test_policy_check(tmp_path: Path) -> None:
    ok = nexo("policy", "check", home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "6 agreements, 5 purposes; policy version sha256:" in ok.stdout
    bad = tmp_path / "bad"
    (bad / "agreements").mkdir(parents=True)
    (bad / "purposes.yaml").write_text("nexo_purposes: 1\nversion: '1'\npurposes: []\n")
    (bad / "agreements" / "a.yaml").write_text("nexo_agreement: 1\nid: Bad Id\n")
    result = nexo("policy", "check", str(bad), home=tmp_path)
    assert result.returncode == 1
    assert "purposes.yaml: line 3: purposes:" in result.stderr
    assert "a.yaml: line 2: id:" in result.stderr


def test_clients_tokens_consent_and_audit(home: tuple[Path, dict[str, str]]) -> None:
    folder, pid = home
    added = nexo(
        "clients",
        "add",
        "pes-app",
        "--agency",
        "employment",
        "--scope",
        "persons:read",
        home=folder,
    )
    assert added.returncode == 0, added.stderr
    assert "client secret (shown once):" in added.stdout
    token = nexo("clients", "token", "pes-app", "--ttl", "30d", home=folder)
    assert token.returncode == 0, token.stderr
    claims = jwt.decode(
        token.stdout.strip(),
        keystore(folder).token_key.public_key(),
        algorithms=["EdDSA"],
        audience="nexo-api",
    )
    assert claims["sub"] == "pes-app" and claims["exp"] - claims["iat"] == 30 * 86400
    bad_ttl = nexo("clients", "token", "pes-app", "--ttl", "forever", home=folder)
    assert bad_ttl.returncode == 2 and "is not a duration" in bad_ttl.stderr
    listed = nexo("clients", "list", home=folder)
    assert "pes-app" in listed.stdout and "employment" in listed.stdout
    dci = nexo("clients", "add", "sp-mis", "--agency", "social",
               "--default-purpose", "case-management", home=folder)  # fmt: skip
    assert dci.returncode == 0, dci.stderr
    assert "case-management" in nexo("clients", "list", home=folder).stdout
    unknown = nexo("clients", "add", "sp-x", "--agency", "social",
                   "--default-purpose", "curiosity", home=folder)  # fmt: skip
    assert unknown.returncode == 2 and "not in the purpose catalogue" in unknown.stderr
    assert "benefit-eligibility" in unknown.stderr  # it lists the purposes to choose from
    disabled = nexo("clients", "disable", "pes-app", home=folder)
    assert disabled.returncode == 0 and "disabled" in nexo("clients", "list", home=folder).stdout
    user = nexo(
        "users",
        "add",
        "maria",
        "--role",
        "caseworker",
        "--role",
        "steward",
        "--agency",
        "social",
        home=folder,
    )
    assert user.returncode == 0 and "caseworker, steward" in user.stdout, user.stderr
    bad_role = nexo("users", "add", "pedro", "--role", "king", home=folder)
    assert bad_role.returncode == 2

    person = pid["both"]
    granted = nexo(
        "consent",
        "grant",
        person,
        "--purpose",
        "activation-support",
        "--recipient",
        "employment",
        "--notice",
        "v2",
        "--channel",
        "portal",
        home=folder,
    )
    assert granted.returncode == 0, granted.stderr
    shown = nexo("consent", "show", person, home=folder)
    assert "activation-support" in shown.stdout and "granted" in shown.stdout
    explain = nexo(
        "policy",
        "explain",
        "--agency",
        "employment",
        "--purpose",
        "activation-support",
        "--person",
        person,
        home=folder,
    )
    assert explain.returncode == 0, explain.stderr
    assert (
        "decision: allow" in explain.stdout and "social:answer.receives_benefit" in explain.stdout
    )
    refused = nexo(
        "policy",
        "explain",
        "--agency",
        "employment",
        "--purpose",
        "activation-support",
        "--person",
        pid["social_only"],
        home=folder,
    )
    assert "row_filter.known_to" in refused.stdout

    subject = nexo("audit", "subject", person, home=folder)
    assert subject.returncode == 0, subject.stderr
    assert "consent.granted" in subject.stdout and "policy.explained" in subject.stdout
    note = folder / "checkpoint.note"
    signed = nexo("audit", "checkpoint", home=folder)
    assert signed.returncode == 0 and signed.stdout.startswith("nexo.audit.log\n")
    note.write_text(signed.stdout)
    verified = nexo("audit", "verify", "--checkpoint", str(note), home=folder)
    assert verified.returncode == 0 and "entries verified" in verified.stdout, verified.stderr
    proof = nexo("audit", "proof", "inclusion", "1", home=folder)
    assert proof.returncode == 0 and "verifies" in proof.stdout, proof.stderr
    consistency = nexo("audit", "proof", "consistency", "1", "3", home=folder)
    assert consistency.returncode == 0 and "verifies" in consistency.stdout

    engine = make_engine(f"sqlite:///{folder / 'nexo.db'}")
    with transaction(session_factory(engine)) as s:
        from sqlalchemy import text

        s.execute(
            text("UPDATE audit_entry SET body = replace(body, 'cli', 'nobody') WHERE idx = 2")
        )
    engine.dispose()
    tampered = nexo("audit", "verify", "--checkpoint", str(note), home=folder)
    assert tampered.returncode == 1
    assert "entry 2 was changed" in tampered.stderr and "first bad entry: 2" in tampered.stderr


def test_serve_answers_over_http_and_a_request_can_be_replayed(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    engine = make_engine(f"sqlite:///{folder / 'nexo.db'}")
    upgrade(engine)
    pid = build_world(session_factory(engine)).pid["both"]
    engine.dispose()
    assert nexo("clients", "add", "soc-app", "--agency", "social", home=folder).returncode == 0
    token = nexo("clients", "token", "soc-app", "--ttl", "1h", home=folder).stdout.strip()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEXO_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "nexo", "serve", "--port", str(port)],
        env={**environ, "NEXO_HOME": str(folder)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        request = urllib.request.Request(
            f"{base}/v1/persons/{pid}?purpose=benefit-eligibility",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            entry = r.headers["Nexo-Audit-Entry"]
            records = json.load(r)["records"]
        assert records["employment"]["job_seeker_registration"][0]["status"] == "active"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/v1/persons/{pid}?purpose=case-management", timeout=10)
        assert refused.value.code == 401
        assert refused.value.headers["content-type"] == "application/problem+json"
        refused.value.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    replay = nexo("audit", "replay", entry, "--person", pid, home=folder)
    assert replay.returncode == 0, replay.stderr
    assert "replayed decision: allow" in replay.stdout and "consistent" in replay.stdout
