"""Small factories: a caller with tokens for its roles, and sends recorded through the API."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from compliance.encryption.master import MasterKeyring
from policies.audit_chain import Actor, ActorKind
from policies.records import SendRecord
from service.auth import TokenCodec

_counter = itertools.count(1)

TEST_ACTOR = Actor(id="test", kind=ActorKind.CLI, origin={"os_user": "tester", "host": "testhost"})
"""Who the audit trail names for what a test does directly (key operations)."""
SMS_RECIPIENT = "+8613812348000"
EMAIL_RECIPIENT = "alice@example.com"
PUSH_RECIPIENT = "abcd1234efgh5678ijkl9012mnop3456"


def send_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /communication/logs`` body; overrides replace or add fields."""
    body: dict[str, Any] = {
        "user_id": "usr_alice",
        "channel": "sms",
        "recipient": SMS_RECIPIENT,
        "content": "您的验证码是123456",
        "template_id": "tpl_abc123",
        "provider": "aliyun",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def in_days(days: float) -> str:
    """An RFC 3339 time ``days`` from now (negative: in the past)."""
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.isoformat().replace("+00:00", "Z")


def hold_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /compliance/legal-holds`` body (the whole tenant, reviewed in 30
    days); overrides replace or add fields, ``...`` removes one."""
    body: dict[str, Any] = {
        "reason": "litigation 2026-117",
        "scope": "tenant",
        "review_by": in_days(30),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


@dataclass
class Caller:
    """Talks to the app as users and sending services of one tenant."""

    client: AsyncTestClient[Litestar]
    tokens: TokenCodec
    tenant_id: str
    _cache: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    def token(self, user_id: str = "usr_alice", *roles: str, tenant_id: str | None = None) -> str:
        return self.tokens.issue(
            tenant_id=tenant_id or self.tenant_id, user_id=user_id, roles=list(roles or ("user",))
        )

    def auth(
        self, user_id: str = "usr_alice", *roles: str, tenant_id: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, *roles, tenant_id=tenant_id)}"}

    async def list_logs(self, as_user: str = "usr_alice", **params: Any) -> Response:
        return await self.client.get(
            "/communication/logs", params=params, headers=self.auth(as_user)
        )

    async def record(self, *, idempotency_key: str | None = None, **overrides: Any) -> Response:
        headers = self.auth("svc_sender", "ingest")
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self.client.post(
            "/communication/logs", json=send_body(**overrides), headers=headers
        )

    async def create(self, **overrides: Any) -> dict[str, Any]:
        """Record a send and return the stored (masked) record; fails loudly otherwise."""
        response = await self.record(**overrides)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def set_status(self, log_id: str, **body: Any) -> Response:
        return await self.client.post(
            f"/communication/logs/{log_id}/status",
            json=body,
            headers=self.auth("svc_sender", "ingest"),
        )


def unique_suffix() -> int:
    return next(_counter)


COMMLOG = str(Path(sys.executable).parent / "commlog")


def run_commlog(
    *args: str, var_dir: Path, database_url: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the ``commlog`` console script as an operator would, in a clean environment."""
    from tests.conftest import TEST_JWT_SECRET

    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMMLOG_")},
        "COMMLOG_VAR_DIR": str(var_dir),
        "COMMLOG_DATABASE_URL": database_url,
        "COMMLOG_JWT_SECRET": TEST_JWT_SECRET,
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own console script
        [COMMLOG, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    """A real ``commlog run`` in a process group of its own; ``err`` is its stderr once
    it stopped (when captured)."""

    base_url: str
    process: subprocess.Popen[str]
    err: str = ""


@contextmanager
def served_commlog(
    tmp_path: Path, *run_args: str, capture_stderr: bool = False, start_seconds: float = 180
) -> Iterator[Served]:
    """Migrate a SQLite file, serve it with ``commlog run`` on a free port, wait until
    ``/health/live`` answers (a loaded CI machine starts slowly), stop the whole process
    group afterwards (with ``--wc``, uvicorn serves from child processes)."""
    from tests.conftest import TEST_JWT_SECRET

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    upgrade = run_commlog(
        "database", "upgrade", "--no-prompt", var_dir=tmp_path, database_url=database_url
    )
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COMMLOG_", "UVICORN_"))},
        "COMMLOG_VAR_DIR": str(tmp_path),
        "COMMLOG_DATABASE_URL": database_url,
        "COMMLOG_JWT_SECRET": TEST_JWT_SECRET,
    }
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [COMMLOG, "run", "--host", "127.0.0.1", "--port", str(port), *run_args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture_stderr else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    served = Served(base_url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                httpx.get(f"{served.base_url}/health/live", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, "commlog run exited"
                assert time.monotonic() < deadline, "commlog run did not start"
                time.sleep(0.2)
        yield served
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        served.err = err or ""


# --- Templates ---------------------------------------------------------------------------

LOGIN_TEMPLATE: dict[str, Any] = {
    "channel": "sms",
    "body": "【招商银行】${name}您好，您的验证码为${code}，${minutes}分钟内有效，请勿泄露。",
    "parameters": {"name": "personal:name", "code": "secret", "minutes": "public"},
}


async def put_template(
    caller: Caller, template_id: str = "tpl_login", **overrides: Any
) -> Response:
    """``PUT /templates/{template_id}`` as a sending service; overrides replace fields."""
    body = {**LOGIN_TEMPLATE, **overrides}
    return await caller.client.put(
        f"/templates/{template_id}",
        json={k: v for k, v in body.items() if v is not ...},
        headers=caller.auth("svc_sender", "ingest"),
    )


def templated_send(
    template_id: str = "tpl_login", params: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Overrides for :meth:`Caller.record` that send ``params`` instead of content."""
    return {
        "content": ...,
        "template_id": template_id,
        "template_params": params or {"name": "王芳", "code": "482913", "minutes": "5"},
        **overrides,
    }


async def idempotency_digests(
    engine: AsyncEngine, master_keys: MasterKeyring, tenant_id: str, keys: Iterable[str]
) -> dict[str, str]:
    """Each ``Idempotency-Key`` of ``keys`` as ``tenant_id``'s rows store it (its digest)."""
    from compliance.encryption.envelope import idempotency_digest, idempotency_key_secret
    from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache

    async with AsyncSession(engine) as session:
        index = await KeyStore(session, master_keys, UnwrappedKeyCache()).blind_index_key(tenant_id)
        await session.rollback()
    assert index is not None
    secret = idempotency_key_secret(index.secret)
    return {key: idempotency_digest(secret, key) for key in keys}


async def store_records(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, records: Sequence[SendRecord]
) -> None:
    """Write ``records`` through the storage code (sealed, blind-indexed, with their masked
    views) in one committed transaction."""
    from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
    from compliance.records.repository import SendLogRepository
    from compliance.transactions import begin_write, commit

    async with database.get_session() as session:
        await begin_write(session)
        keys = KeyStore(session, master_keys, UnwrappedKeyCache())
        await SendLogRepository(session=session, keys=keys).insert_many(records)
        await commit(session, operation="test_store")
