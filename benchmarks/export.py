"""Export one tenant's whole send log from PostgreSQL: rows per second and peak memory.

``make bench-export`` builds (or reuses) a database of its own with
``BENCH_EXPORT_RECORDS`` records (default 1,000,000) through ``benchmarks.dataset``, then
exports the tenant with the streaming export function in a child process per run, for
CSV and JSONL, masked (the default) and revealed, runs interleaved so machine noise falls
on every case alike. The child writes the exact bytes an officer would receive to
``/dev/null`` (hashing them, as the export does for its audit event) and reports rows,
bytes and the seconds from the first statement to the last byte; the parent reads the
child's peak resident set size from ``wait4``. A child that only imports and connects
gives the floor of that memory.

The data set is reused when its database holds exactly the requested number of records
of the tenant and its master-key file opens the tenant's keys; otherwise it is rebuilt.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from benchmarks import dataset

TENANT = "tnt_bench"
PER_USER = 400
HEAVY_SHARE = 5
"""One fifth of the records belong to ``usr_heavy``, the rest to users of 400 each."""
DEFAULT_RECORDS = 1_000_000
DEFAULT_URL = "postgresql+asyncpg://commlog:commlog@127.0.0.1:5432/commlog_test"


def database_url(base: str, records: int) -> str:
    name = "commlog_bench" if records == DEFAULT_RECORDS else f"commlog_bench_{records}"
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def shape(records: int) -> tuple[int, int, int]:
    """(users, records per user, heavy-user records) adding up to ``records``."""
    users = max(1, (records - records // HEAVY_SHARE) // PER_USER)
    per_user = min(PER_USER, records // users)
    return users, per_user, records - users * per_user


async def _connect(url: str, database: str | None = None) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=database or parsed.database,
    )


async def _present(url: str, records: int, key_file: Path) -> bool:
    """Whether ``url`` already holds the data set, readable with ``key_file``, every record
    with views of the current rules (``policies.disclosure.RULES_VERSION``)."""
    from policies.disclosure import RULES_VERSION

    admin = await _connect(url, "postgres")
    try:
        name = make_url(url).database
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
    finally:
        await admin.close()
    connection = await _connect(url)
    try:
        count, current = await connection.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE shown_version = $2)"
            " FROM communication_logs WHERE tenant_id = $1",
            TENANT,
            RULES_VERSION,
        )
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()
    if count != records or current != records:
        return False
    from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
    from service.persistence.database import create_database_config

    master = dataset.read_or_write_master_key(key_file)
    config = create_database_config(url)
    try:
        async with config.get_session() as session:
            check = await KeyStore(session, master, UnwrappedKeyCache()).verify_master_keys()
            return check.opened > 0 and not check.unreadable
    except Exception:
        return False
    finally:
        await config.get_engine().dispose()


async def _drop(url: str) -> None:
    admin = await _connect(url, "postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


def ensure_dataset(url: str, records: int, key_file: Path) -> dict[str, Any]:
    if key_file.is_file() and asyncio.run(_present(url, records, key_file)):
        print(f"reusing {make_url(url).database}: {records:,} records", file=sys.stderr)
        dataset.prepare(url)  # migrations that came after it was built
        return {"reused": True}
    print(f"building {make_url(url).database}: {records:,} records", file=sys.stderr)
    asyncio.run(_drop(url))
    key_file.unlink(missing_ok=True)
    master = dataset.read_or_write_master_key(key_file)
    dataset.prepare(url)
    users, per_user, heavy = shape(records)
    built, seconds = asyncio.run(
        dataset.build(
            url, tenant_id=TENANT, users=users, per_user=per_user, heavy=heavy, master=master
        )
    )
    return {"reused": False, "records": built, "seconds": seconds}


# -- the child: one export -------------------------------------------------------------


async def _child(
    url: str, key_file: Path, fmt: str, reveal: bool, chunk_rows: int
) -> dict[str, Any]:
    from benchmarks.export_adapter import open_export
    from compliance.encryption.keystore import UnwrappedKeyCache
    from service.persistence.database import create_database_config

    master = dataset.read_or_write_master_key(key_file)
    config = create_database_config(url)
    digest = hashlib.sha256()
    sink = os.open(os.devnull, os.O_WRONLY)
    rows = size = 0
    started = time.perf_counter()
    try:
        if fmt == "ceiling":  # reading the rows and nothing else: the database's share
            rows, size = await _read_only(url, chunk_rows)
        elif fmt == "none":  # the floor: imports, settings, one connection
            async with config.get_session() as session:
                await session.connection()
        else:
            export = open_export(
                config.get_session,
                master,
                UnwrappedKeyCache(),
                tenant_id=TENANT,
                fmt=fmt,
                reveal=reveal,
                chunk_rows=chunk_rows,
            )
            async for chunk in export:
                digest.update(chunk)
                os.write(sink, chunk)
                size += len(chunk)
            rows = export.rows
            if export.sha256 != digest.hexdigest() or not export.finished:
                raise SystemExit("the export's tally does not match the bytes it produced")
    finally:
        os.close(sink)
        await config.get_engine().dispose()
    return {
        "rows": rows,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "sha256": digest.hexdigest(),
    }


async def _read_only(url: str, chunk_rows: int) -> tuple[int, int]:
    """Every row of the tenant in export order through asyncpg's cursor in one REPEATABLE
    READ transaction, ``chunk_rows`` at a time, decoded and dropped: what no export can
    beat (the ceiling the export's rate is compared with)."""
    connection = await _connect(url.replace("postgresql+asyncpg", "postgresql"))
    rows = size = 0
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            cursor = await connection.cursor(
                "SELECT * FROM communication_logs WHERE tenant_id = $1 ORDER BY created_at, id",
                TENANT,
            )
            while chunk := await cursor.fetch(chunk_rows):
                rows += len(chunk)
    finally:
        await connection.close()
    return rows, size


def run_child(url: str, key_file: Path, fmt: str, reveal: bool, chunk_rows: int) -> dict[str, Any]:
    """One export in a fresh interpreter; its peak RSS from the kernel's accounting."""
    command = [sys.executable, "-m", "benchmarks.export", "--child", fmt, "--url", url]
    command += ["--chunk-rows", str(chunk_rows)]
    command += ["--master-key-file", str(key_file)] + (["--reveal"] if reveal else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603 - our own module
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"export child failed ({fmt}, reveal={reveal}): exit {process.returncode}")
    result: dict[str, Any] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help="any database of the server")
    parser.add_argument(
        "--records", type=int, default=int(os.environ.get("BENCH_EXPORT_RECORDS", DEFAULT_RECORDS))
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (median shown)")
    parser.add_argument("--master-key-file", type=Path, default=None)
    parser.add_argument("--chunk-rows", type=int, default=500, help="rows per export chunk")
    parser.add_argument(
        "--cases", default="csv,jsonl,csv-reveal,jsonl-reveal", help="which exports to run"
    )
    parser.add_argument(
        "--child", choices=["csv", "jsonl", "none", "ceiling"], help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--reveal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = asyncio.run(
            _child(args.url, args.master_key_file, args.child, args.reveal, args.chunk_rows)
        )
        print(json.dumps(result))
        return

    url = database_url(args.postgres_url, args.records)
    key_file = args.master_key_file or Path("var/bench") / f"{make_url(url).database}.key"
    built = ensure_dataset(url, args.records, key_file)
    if not built["reused"]:
        rate = built["records"] / built["seconds"]
        print(f"dataset: {built['records']:,} records in {built['seconds']:.1f} s ({rate:,.0f}/s)")

    cases = [
        (name.removesuffix("-reveal"), name.endswith("-reveal")) for name in args.cases.split(",")
    ]
    chunk = args.chunk_rows
    floor = [run_child(url, key_file, "none", False, chunk)["peak_rss_mb"] for _ in range(3)]
    cases.append(("ceiling", False))
    results: dict[tuple[str, bool], list[dict[str, Any]]] = {case: [] for case in cases}
    for run in range(args.runs):
        for fmt, reveal in cases:
            load = os.getloadavg()[0]
            result = run_child(url, key_file, fmt, reveal, chunk)
            result["load"] = load
            if result["rows"] != args.records:
                raise SystemExit(f"exported {result['rows']} rows, expected {args.records}")
            results[(fmt, reveal)].append(result)
            print(
                f"run {run + 1}: {fmt} {'reveal' if reveal else 'masked'}: "
                f"{result['rows'] / result['seconds']:,.0f} rows/s, "
                f"{result['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
            )
    print(
        f"\n{args.records:,} records, {os.cpu_count()} cores, chunks of {chunk} rows, "
        f"median of {args.runs} runs\n"
    )
    ceiling = statistics.median(r["rows"] / r["seconds"] for r in results[("ceiling", False)])
    print(
        "| format | mode | rows/s (median) | min–max | of the read ceiling | seconds "
        "| MB written | peak RSS MB | load at start |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for fmt, reveal in cases:
        runs = results[(fmt, reveal)]
        rates = [r["rows"] / r["seconds"] for r in runs]
        mode = "read only" if fmt == "ceiling" else "reveal" if reveal else "masked"
        print(
            f"| {fmt} | {mode} | {statistics.median(rates):,.0f} "
            f"| {min(rates):,.0f}–{max(rates):,.0f} "
            f"| {statistics.median(rates) / ceiling:.0%} "
            f"| {statistics.median(r['seconds'] for r in runs):.1f} "
            f"| {statistics.median(r['bytes'] for r in runs) / 1e6:,.0f} "
            f"| {statistics.median(r['peak_rss_mb'] for r in runs):.0f} "
            f"| {statistics.median(r['load'] for r in runs):.1f} |"
        )
    print(f"| (imports and one connection only) | | | | | | | {statistics.median(floor):.0f} | |")


if __name__ == "__main__":
    main()
