"""Build a benchmark data set in PostgreSQL through the real storage code.

    python -m benchmarks.dataset --postgres-url URL --tenant T --users N \\
        --records-per-user K --heavy-user-records M --master-key-file F

Every record goes through :meth:`SendLogRepository.insert_many` (sealed by
:class:`RecordSealer`, blind-indexed, data keys per month), spread evenly over the last
13 months so the tenant has 13 key epochs; all channels and statuses; message bodies,
provider answers and recipients come from the masking corpus (``tests/corpus``: seven
languages, real provider formats), about a third of the sends by registered template.
The heavy user is ``usr_heavy``, the others ``usr_0000``, ``usr_0001`` and so on.

The master key used is written to ``F`` in the format ``COMMLOG_MASTER_KEY_FILE`` reads,
so ``commlog run`` can serve the data set; an existing ``F`` is reused. The database in
``URL`` is created when it does not exist and migrated to the head.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring, new_master_key_entry, parse_master_keys
from compliance.records.repository import SendLogRepository
from compliance.transactions import commit
from policies.channels import Channel, DeliveryStatus
from policies.providers import reduced_or_none
from policies.records import SendRecord
from policies.templates import TemplateVersion, render, stored_parameters
from service.persistence.database import create_database_config, upgrade_database
from tests.corpus.harness import Entry, load_corpus

HEAVY_USER = "usr_heavy"
MONTHS = 13
BATCH_SIZE = 2_000
PROTOTYPES = 4_096
TEMPLATED_SHARE = 0.35
MASTER_KEY_ID = "bench-1"
ACTOR = "benchmarks.dataset"
_STATUSES = (
    [DeliveryStatus.DELIVERED] * 6
    + [DeliveryStatus.SENT] * 2
    + [DeliveryStatus.FAILED, DeliveryStatus.PENDING]
)
_PROVIDERS = {
    Channel.SMS: ("aliyun", "twilio"),
    Channel.EMAIL: ("ses", "sendgrid"),
    Channel.PUSH: ("fcm", "apns"),
}


@dataclass(frozen=True, slots=True)
class Prototype:
    """The parts of a record that do not depend on who sent it or when."""

    channel: Channel
    provider: str
    template_id: str | None
    version: TemplateVersion | None
    content: str | None
    template_params: str | None
    recipient: str
    status: DeliveryStatus
    error: str | None
    response: str | None
    body: str | None = None
    classes: dict[str, str] | None = None
    values: dict[str, str] | None = None
    varied: tuple[str, ...] = ()
    """Parameters whose digits change from record to record (codes, account and phone
    numbers), so no two records share a body a cache could answer from."""


def user_ids(users: int) -> list[str]:
    return [f"usr_{index:04d}" for index in range(users)]


def owners(users: int, per_user: int, heavy: int, rng: random.Random) -> list[str]:
    """Who sent each record, shuffled so every batch writes several users."""
    sent_by = [HEAVY_USER] * heavy + user_ids(users) * per_user
    rng.shuffle(sent_by)
    return sent_by


def read_or_write_master_key(path: Path) -> MasterKeyring:
    """The key file's keyring; a new one (owner-only file) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_master_key_entry(MASTER_KEY_ID) + "\n")
    return parse_master_keys(path.read_text(encoding="utf-8"), source=str(path))


async def ensure_database(url: str) -> None:
    """Create the database of ``url`` unless it exists (the role needs CREATEDB)."""
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


def _corpus_recipients(corpus: list[Entry]) -> dict[Channel, list[str]]:
    found: dict[Channel, list[str]] = {channel: [] for channel in Channel}
    for entry in corpus:
        if entry.kind == "recipient":
            found[Channel(entry.channel)].append(entry.text)
    return found


def _recipient(channel: Channel, rng: random.Random, corpus: dict[Channel, list[str]]) -> str:
    if rng.random() < 0.5 and corpus[channel]:
        return rng.choice(corpus[channel])
    if channel is Channel.SMS:
        return rng.choice(["+86138", "+4477009", "+1415555", "+8190"]) + "".join(
            rng.choice("0123456789") for _ in range(7)
        )
    if channel is Channel.EMAIL:
        local = rng.choice(["li.wei", "maria.garcia", "j.smith", "anna.mueller", "sato.hanako"])
        return f"{local}{rng.randint(1, 999)}@" + rng.choice(
            ["gmail.com", "qq.com", "163.com", "web.de", "example.co.jp"]
        )
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _answers(
    provider: str, status: DeliveryStatus, payloads: list[Entry], rng: random.Random
) -> tuple[str | None, str | None]:
    """(error, response) in the provider's real format, reduced as on ingest."""
    if status is DeliveryStatus.PENDING:
        return None, None
    mine = [entry for entry in payloads if entry.provider == provider] or payloads
    failed = status is DeliveryStatus.FAILED
    errors = [entry for entry in mine if entry.field == "error"]
    responses = [entry for entry in mine if entry.field == "response"]
    error = rng.choice(errors).text if failed and errors else None
    response = rng.choice(responses).text if responses else None
    return reduced_or_none(error, provider), reduced_or_none(response, provider)


def prototypes(
    corpus: list[Entry], versions: dict[str, TemplateVersion], rng: random.Random
) -> list[Prototype]:
    """A pool of realistic send bodies; records pick from it (building one per record
    would measure the generator, not the storage path)."""
    bodies = [entry for entry in corpus if entry.kind == "body"]
    payloads = [entry for entry in corpus if entry.kind == "payload"]
    recipients = _corpus_recipients(corpus)
    pool = []
    for _ in range(PROTOTYPES):
        entry = rng.choice(bodies)
        channel = Channel(entry.channel)
        status = rng.choice(_STATUSES)
        provider = rng.choice(_PROVIDERS[channel])
        version = None
        content: str | None = entry.text
        params = None
        if entry.template is not None and rng.random() < TEMPLATED_SHARE:
            version = versions.get(entry.template.id)
            if version is not None:
                params = stored_parameters(version.parameters, entry.template.values).to_json()
                content = None
        error, response = _answers(provider, status, payloads, rng)
        template = entry.template
        varied = (
            ()
            if template is None
            else tuple(
                name
                for name, klass in template.parameters.items()
                if klass != "public" and any(c.isdigit() for c in template.values.get(name, ""))
            )
        )
        pool.append(
            Prototype(
                channel=channel,
                provider=provider,
                template_id=None if version is None else version.template_id,
                version=version,
                content=content,
                template_params=params,
                recipient=_recipient(channel, rng, recipients),
                status=status,
                error=error,
                response=response,
                body=None if template is None else template.body,
                classes=None if template is None else dict(template.parameters),
                values=None if template is None else dict(template.values),
                varied=varied,
            )
        )
    return pool


_DIGIT_TABLES = [
    str.maketrans("0123456789", "".join(random.Random(n).sample("0123456789", 10)))
    for n in range(97)
]


def _varied(proto: Prototype, rng: random.Random) -> tuple[str | None, str | None]:
    """(content, template_params) of one record: the prototype's, with new digits in its
    varied parameters."""
    if not proto.varied or proto.body is None or proto.values is None or proto.classes is None:
        return proto.content, proto.template_params
    table = _DIGIT_TABLES[rng.randrange(len(_DIGIT_TABLES))]
    values = {
        name: value.translate(table) if name in proto.varied else value
        for name, value in proto.values.items()
    }
    if proto.template_params is not None:
        return None, stored_parameters(proto.classes, values).to_json()
    return render(proto.body, values), None


def record_of(
    proto: Prototype,
    rng: random.Random,
    *,
    record_id: str,
    tenant_id: str,
    user_id: str,
    created_at: datetime,
) -> SendRecord:
    content, template_params = _varied(proto, rng)
    done = proto.status is not DeliveryStatus.PENDING
    sent_at = created_at + timedelta(seconds=3) if done else None
    version = proto.version
    return SendRecord(
        id=record_id,
        tenant_id=tenant_id,
        user_id=user_id,
        channel=proto.channel,
        provider=proto.provider,
        template_id=proto.template_id,
        recipient=proto.recipient,
        content=content,
        status=proto.status,
        error=proto.error,
        response=proto.response,
        created_at=created_at,
        sent_at=sent_at if proto.status is not DeliveryStatus.FAILED else None,
        updated_at=sent_at or created_at,
        template_version=None if version is None else version.version,
        template_params=template_params,
        content_erase_after=None if version is None else version.content_erase_after(created_at),
    )


async def register_templates(
    repository: SendLogRepository, tenant_id: str, corpus: list[Entry], now: datetime
) -> dict[str, TemplateVersion]:
    versions: dict[str, TemplateVersion] = {}
    for entry in corpus:
        template = entry.template
        if entry.kind != "body" or template is None or template.id in versions:
            continue
        version, _ = await repository.templates.put(
            tenant_id,
            template.id,
            channel=Channel(entry.channel),
            body=template.body,
            parameters=template.parameters,
            content_retention_days=None,
            created_by=ACTOR,
            now=now,
        )
        versions[template.id] = version
    return versions


async def build(
    url: str,
    *,
    tenant_id: str,
    users: int,
    per_user: int,
    heavy: int,
    master: MasterKeyring,
    batch_size: int = BATCH_SIZE,
    seed: int = 20261207,
    progress: bool = True,
) -> tuple[int, float]:
    """Insert the data set into a migrated database (:func:`prepare`); returns (records,
    seconds spent inserting)."""
    database = create_database_config(url)
    rng = random.Random(f"{seed}:{tenant_id}")
    now = datetime.now(UTC).replace(microsecond=0)
    month = now.year * 12 + now.month - 1 - (MONTHS - 1)  # the first of MONTHS months
    start = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
    span = (now - start).total_seconds()
    corpus = load_corpus()
    cache = UnwrappedKeyCache()
    async with database.get_session() as session:
        repository = SendLogRepository(session=session, keys=KeyStore(session, master, cache))
        await repository.begin_write()
        versions = await register_templates(repository, tenant_id, corpus, now)
        await commit(session, operation="dataset_templates")
    pool = prototypes(corpus, versions, rng)
    total = users * per_user + heavy
    started = time.perf_counter()
    batch: list[SendRecord] = []
    done = 0
    async with database.get_session() as session:
        repository = SendLogRepository(session=session, keys=KeyStore(session, master, cache))
        for index, user_id in enumerate(owners(users, per_user, heavy, rng)):
            created = now - timedelta(seconds=span * (total - index) / total)
            batch.append(
                record_of(
                    pool[rng.randrange(PROTOTYPES)],
                    rng,
                    record_id=f"log_{rng.getrandbits(96):024x}",
                    tenant_id=tenant_id,
                    user_id=user_id,
                    created_at=created,
                )
            )
            if len(batch) == batch_size or index == total - 1:
                await repository.begin_write()
                await repository.insert_many(batch)
                await commit(session, operation="dataset_batch")
                done += len(batch)
                batch = []
                if progress and done % (batch_size * 25) == 0:
                    rate = done / (time.perf_counter() - started)
                    print(f"  {done:,} / {total:,} records, {rate:,.0f}/s", file=sys.stderr)
    seconds = time.perf_counter() - started
    await database.get_engine().dispose()
    return done, seconds


def prepare(url: str) -> None:
    """Create the database unless it exists and migrate it (outside any event loop)."""
    asyncio.run(ensure_database(url))
    upgrade_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres-url", required=True, help="postgresql+asyncpg://… URL")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--users", type=int, required=True, help="typical users usr_0000…")
    parser.add_argument("--records-per-user", type=int, required=True)
    parser.add_argument("--heavy-user-records", type=int, default=0, help="records of usr_heavy")
    parser.add_argument("--master-key-file", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args()
    master = read_or_write_master_key(args.master_key_file)
    prepare(args.postgres_url)
    records, seconds = asyncio.run(
        build(
            args.postgres_url,
            tenant_id=args.tenant,
            users=args.users,
            per_user=args.records_per_user,
            heavy=args.heavy_user_records,
            master=master,
            batch_size=args.batch_size,
        )
    )
    print(
        json.dumps(
            {
                "records": records,
                "seconds": round(seconds, 2),
                "per_second": round(records / seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
