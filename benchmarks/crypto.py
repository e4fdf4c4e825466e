"""What encryption at rest costs a page of the seed endpoint.

Measures, for a 100-record page (recipient, content, error and response sealed):

1. opening the 400 envelopes alone (the CPU cost encryption adds);
2. the full repository read (query + count + key look-up + decrypt), as the API does it;
3. the same query and count without decrypting, for comparison.

Run with ``make bench-crypto`` (SQLite, and PostgreSQL when reachable). Prints a Markdown
table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import new_master_key_entry, parse_master_keys
from compliance.records.models import CommunicationLog
from compliance.records.repository import NEWEST_FIRST, SendLogRepository
from compliance.records.sealing import Opening, RecordSealer
from policies.access import OwnerScope
from policies.channels import Channel, DeliveryStatus
from policies.paging import PageRequest
from policies.records import SendRecord
from service.logs.service import new_log_id
from service.persistence.database import create_database_config, upgrade_database

TENANT = "tnt_bench"
USER = "usr_bench"
PAGE = PageRequest(page=1, page_size=100)


def _records(count: int) -> list[SendRecord]:
    now = datetime.now(UTC)
    return [
        SendRecord(
            id=new_log_id(),
            tenant_id=TENANT,
            user_id=USER,
            channel=Channel.SMS,
            provider="aliyun",
            template_id="tpl_login_code",
            recipient=f"+86138{index:08d}",
            content=f"您的验证码是{index % 1_000_000:06d},5分钟内有效。",
            status=DeliveryStatus.FAILED,
            error="发送超时 (provider timeout after 30 s)",
            response='{"request_id": "F655A8D5-B967-440B-8683-DAD6FF8DE990", "code": "OK"}',
            created_at=now - timedelta(seconds=index),
            sent_at=None,
            updated_at=now,
        )
        for index in range(count)
    ]


async def _timed(run: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    for _ in range(5):  # warm caches and the pool
        await run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"| {name} | {statistics.median(samples):.3f} | {p95:.3f} |"


async def bench(database_url: str, repeat: int) -> list[str]:
    await asyncio.to_thread(upgrade_database, database_url)
    master = parse_master_keys(new_master_key_entry("bench"), source="bench")
    cache = UnwrappedKeyCache()
    database = create_database_config(database_url)
    try:
        async with database.get_session() as session:
            repository = SendLogRepository(session=session, keys=KeyStore(session, master, cache))
            await repository.begin_write()
            await repository.insert_many(_records(1_000))
            await session.commit()

        scope = OwnerScope(tenant_id=TENANT, user_id=USER)
        async with database.get_session() as session:
            result = await session.execute(
                select(CommunicationLog.__table__)
                .where(CommunicationLog.tenant_id == TENANT)
                .order_by(*NEWEST_FIRST)
                .limit(100)
            )
            rows = [row._mapping for row in result]
            sealer = RecordSealer(KeyStore(session, master, cache))
            key_ids = {row["content_key_id"] for row in rows} | {
                row["recipient_key_id"] for row in rows
            }
            keys = dict(await sealer.keys.keys_by_id(TENANT, key_ids))

            async def open_page() -> object:
                # The fields themselves, as a reveal or an access file opens them.
                return [sealer._open(row, keys, Opening.FIELDS, key_ids) for row in rows]

            decrypt_only = await _timed(open_page, repeat)
            # A new key store each time, as each request has: it reads its keys once.
            with_key_lookup = await _timed(
                lambda: RecordSealer(KeyStore(session, master, cache)).open_rows(rows), repeat
            )

        async def full_read() -> object:
            async with database.get_session() as session:
                keys = KeyStore(session, master, cache)
                return await SendLogRepository(session=session, keys=keys).page_for_owner(
                    scope, PAGE
                )

        async def plain_read() -> object:
            async with database.get_session() as session:
                owner = (CommunicationLog.tenant_id == TENANT, CommunicationLog.user_id == USER)
                page = await session.execute(
                    select(CommunicationLog.__table__)
                    .where(*owner)
                    .order_by(*NEWEST_FIRST)
                    .limit(100)
                )
                total = await session.scalar(
                    select(func.count()).select_from(CommunicationLog).where(*owner)
                )
                return [row._mapping for row in page], total

        full = await _timed(full_read, repeat)
        plain = await _timed(plain_read, repeat)
    finally:
        await database.get_engine().dispose()
    backend = database.get_engine().dialect.name
    return [
        _row(f"{backend}: open 400 envelopes (100 records × 4 fields)", decrypt_only),
        _row(f"{backend}: the same with the page's key look-up", with_key_lookup),
        _row(f"{backend}: repository page read, decrypted (query + count + keys)", full),
        _row(f"{backend}: the same query + count, not decrypted", plain),
    ]


@asynccontextmanager
async def scratch_postgres(url: str) -> AsyncIterator[str]:
    """A throw-away database next to ``url``, dropped afterwards."""
    parsed = make_url(url)
    name = f"commlog_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="a PostgreSQL URL whose role may create databases (a scratch one is made)",
    )
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    lines = ["| measurement | median ms | p95 ms |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        lines += await bench(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args.repeat)
    if args.postgres_url:
        async with scratch_postgres(args.postgres_url) as url:
            lines += await bench(url, args.repeat)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
