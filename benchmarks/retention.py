"""Retention at scale on PostgreSQL: purge throughput, and what a reader feels meanwhile.

Builds a scratch database with

- 1,000,000 records of tenant ``tnt_purge`` past the 400-day ``record`` window (deleted),
- 200,000 past the 180-day ``recipient`` window (recipient erased),
- 200,000 past the 30-day ``content`` window (content erased),
- 5,000 recent records of ``usr_reader`` in ``tnt_reader``, which a reader pages through
  over HTTP against a real ``commlog run`` server the whole time,

then measures the reader's latency without a purge, runs the retention job while the
reader keeps reading, and reports rows per second per stage and the reader's p50/p99 in
both phases. Run with ``make bench-retention``; takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from msgspec.structs import replace
from sqlalchemy.engine import make_url

from benchmarks.crypto import scratch_postgres
from compliance.encryption.keystore import KeyPurpose, KeyStore, UnwrappedKeyCache, epoch_of
from compliance.encryption.master import new_master_key_entry, parse_master_keys
from compliance.records.repository import SendLogRepository
from compliance.retention.job import RunOptions, run_retention
from policies.retention import DEFAULT_POLICY
from service.auth import TokenCodec
from service.demo import demo_records
from service.persistence.database import create_database_config, upgrade_database
from service.settings import Settings

PORT = 8765
SECRET = "bench-secret-" + "b" * 40
POPULATIONS = {"record": (1_000_000, 450), "recipient": (200_000, 200), "content": (200_000, 60)}
READER_TENANT, READER_USER = "tnt_reader", "usr_reader"
BASELINE_SECONDS = 30
WARM_UP_SECONDS = 8


async def _populate(url: str, master_entry: str) -> None:
    """Bulk-load with COPY: sealed columns get envelope-sized random bytes (retention never
    decrypts what it erases), key ids point at real month keys so keys can be retired."""
    master = parse_master_keys(master_entry, source="bench")
    database = create_database_config(url)
    now = datetime.now(UTC)
    key_ids: dict[tuple[str, str], int] = {}
    async with database.get_session() as session:
        keys = KeyStore(session, master, UnwrappedKeyCache())
        for _, days in POPULATIONS.values():
            for offset in range(0, 40):
                epoch = epoch_of(now - timedelta(days=days + offset))
                for purpose in (KeyPurpose.RECIPIENT, KeyPurpose.CONTENT):
                    key = await keys.writing_key("tnt_purge", purpose, epoch)
                    assert key is not None
                    key_ids[(purpose.value, epoch)] = key.key_id
        repository = SendLogRepository(session=session, keys=keys)
        pool = demo_records(now)
        recent = [
            replace(
                pool[index % len(pool)],
                id=f"log_reader{index:014d}",
                tenant_id=READER_TENANT,
                user_id=READER_USER,
            )
            for index in range(5_000)
        ]
        await repository.insert_many(recent)
        await session.commit()
    await database.get_engine().dispose()

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    columns = [
        "id",
        "tenant_id",
        "user_id",
        "channel",
        "provider",
        "template_id",
        "status",
        "created_at",
        "sent_at",
        "updated_at",
        "recipient",
        "recipient_index",
        "content",
        "error",
        "response",
        "recipient_key_id",
        "content_key_id",
    ]
    counter = 0
    for _, (count, days) in POPULATIONS.items():
        rows = []
        for index in range(count):
            created = now - timedelta(days=days + index % 40, seconds=index % 86_400)
            epoch = epoch_of(created)
            counter += 1
            rows.append(
                (
                    f"log_bench{counter:015d}",
                    "tnt_purge",
                    f"usr_{index % 5000}",
                    ("sms", "email", "push")[index % 3],
                    "aliyun",
                    "tpl_login_code",
                    "delivered",
                    created,
                    created,
                    created,
                    os.urandom(51),
                    os.urandom(8),
                    os.urandom(75),
                    None,
                    os.urandom(60),
                    key_ids[("recipient", epoch)],
                    key_ids[("content", epoch)],
                )
            )
            if len(rows) == 50_000:
                await connection.copy_records_to_table(
                    "communication_logs", records=rows, columns=columns
                )
                rows = []
        if rows:
            await connection.copy_records_to_table(
                "communication_logs", records=rows, columns=columns
            )
    await connection.execute("ANALYZE communication_logs")
    await connection.close()


def _read_until(token: str, stop: Any, out: Any) -> None:
    """In its own process (no shared GIL with the job): page through one user's log over
    HTTP, one request at a time, and send back (monotonic time, milliseconds) samples."""
    headers = {"Authorization": f"Bearer {token}"}
    samples: list[tuple[float, float]] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=30) as c:
        page = 0
        deadline = time.monotonic() + 3_600  # bounded, whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            page = page % 50 + 1
            started = time.perf_counter()
            response = c.get("/communication/logs", params={"page": page, "page_size": 20})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"reader got {response.status_code}")
            samples.append((time.monotonic(), elapsed))
    out.put(samples)


class Reader:
    """The reader process and the samples it took."""

    def __init__(self, token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.queue: Any = context.Queue()
        self.process = context.Process(target=_read_until, args=(token, self.stop, self.queue))
        self.samples: list[tuple[float, float]] = []

    def start(self) -> None:
        self.process.start()

    def finish(self) -> None:
        self.stop.set()
        self.samples = self.queue.get(timeout=120)
        self.process.join(timeout=60)

    def window(self, start: float, end: float) -> list[float]:
        return sorted(ms for at, ms in self.samples if start <= at <= end)


def _percentiles(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"{statistics.median(samples):.2f} / {p99:.2f} ms ({len(samples)} requests)"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://commlog:commlog@127.0.0.1:5432/commlog_test",
    )
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--pause-ms", type=float, default=0.0, help="rest between batches")
    args = parser.parse_args()
    master_entry = new_master_key_entry("bench")
    async with scratch_postgres(args.postgres_url) as url:
        await asyncio.to_thread(upgrade_database, url)
        loading = time.perf_counter()
        await _populate(url, master_entry)
        print(
            f"loaded {sum(c for c, _ in POPULATIONS.values()):,} records in "
            f"{time.perf_counter() - loading:.0f} s",
            flush=True,
        )

        settings = Settings(jwt_secret=SECRET)
        token = TokenCodec(settings).issue(
            tenant_id=READER_TENANT, user_id=READER_USER, roles=["user"], ttl_seconds=7200
        )
        with tempfile.TemporaryDirectory() as var_dir:
            env = {
                **os.environ,
                "COMMLOG_ENV": "production",
                "COMMLOG_DATABASE_URL": url,
                "COMMLOG_JWT_SECRET": SECRET,
                "COMMLOG_MASTER_KEYS": master_entry,
                "COMMLOG_VAR_DIR": var_dir,
            }
            server = subprocess.Popen(  # noqa: S603, ASYNC220 - started once, before timing
                [str(Path(sys.executable).parent / "commlog"), "run", "--port", str(PORT)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                async with httpx.AsyncClient() as probe:
                    for _ in range(100):
                        try:
                            ready = await probe.get(f"http://127.0.0.1:{PORT}/health/ready")
                            if ready.status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await asyncio.sleep(0.2)
                reader = Reader(token)
                reader.start()
                await asyncio.sleep(WARM_UP_SECONDS)  # process start, imports, connections
                baseline_start = time.monotonic()
                await asyncio.sleep(BASELINE_SECONDS)
                baseline_end = time.monotonic()

                database = create_database_config(url)
                purge_start = time.monotonic()
                report = await run_retention(
                    database.get_engine(),
                    parse_master_keys(master_entry, source="bench"),
                    UnwrappedKeyCache(),
                    DEFAULT_POLICY,
                    RunOptions(
                        actor="bench",
                        tenant_id="tnt_purge",
                        batch_size=args.batch_size,
                        pause_seconds=args.pause_ms / 1000,
                    ),
                )
                purge_end = time.monotonic()
                await database.get_engine().dispose()
                reader.finish()
            finally:
                server.terminate()
                server.wait(timeout=30)

    counts = report.counts["tnt_purge"]
    print()
    print(f"batch size {args.batch_size}, pause {args.pause_ms:g} ms between batches")
    print("| stage | rows | seconds | rows/s |")
    print("|---|---|---|---|")
    for stage in ("record", "recipient", "content"):
        seconds = report.seconds.get(stage, 0.0)
        rate = counts[stage] / seconds if seconds else 0
        print(f"| {stage} | {counts[stage]:,} | {seconds:.1f} | {rate:,.0f} |")
    print(
        f"| keys retired | {len(report.keys_destroyed)} | {report.seconds.get('keys', 0):.1f} | |"
    )
    erased = report.erased_ids.get("tnt_purge", {})
    print()
    print("| stage | ids in the audit digest |")
    print("|---|---|")
    for stage in ("record", "recipient", "content"):
        print(f"| {stage} | {erased.get(stage, {}).get('ids', 0):,} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the benchmark process (loader and job): {peak:.0f} MB")
    print()
    print("| reader (GET /communication/logs, page_size 20) | p50 / p99 |")
    print("|---|---|")
    quiet = _percentiles(reader.window(baseline_start, baseline_end))
    busy = _percentiles(reader.window(purge_start, purge_end))
    print(f"| without a purge ({BASELINE_SECONDS} s) | {quiet} |")
    print(f"| during the purge ({purge_end - purge_start:.0f} s) | {busy} |")


if __name__ == "__main__":
    asyncio.run(main())
