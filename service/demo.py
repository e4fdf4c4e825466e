"""Demo data for ``make run``: a tenant whose send log looks like a real one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import SendLogRepository
from compliance.transactions import commit
from policies.channels import Channel, DeliveryStatus
from policies.records import SendRecord
from service.logs.service import new_log_id

DEMO_TENANT = "tnt_demo"
DEMO_USER = "usr_demo"
OTHER_USER = "usr_colleague"
OTHER_TENANT = "tnt_elsewhere"

_TEMPLATES: dict[Channel, list[tuple[str, str, str]]] = {
    Channel.SMS: [
        ("tpl_login_code", "aliyun", "您的验证码是{code},5分钟内有效。"),
        ("tpl_login_code_en", "twilio", "Your sign-in code is {code}. It expires in 5 minutes."),
        (
            "tpl_card_charge",
            "aliyun",
            "您尾号{card}的银行卡消费128.00元,如非本人操作请致电{phone}。",
        ),
        (
            "tpl_appointment",
            "twilio",
            "Reminder: appointment on 12/03 at 09:30. Reply STOP to opt out.",
        ),
    ],
    Channel.EMAIL: [
        (
            "tpl_password_reset",
            "ses",
            "Reset your password: https://bank.example/reset?token={token}",
        ),
        (
            "tpl_statement",
            "sendgrid",
            "Your statement for account {card} is ready. Questions? {email}",
        ),
        ("tpl_welcome", "ses", "Welcome to Example Bank. Your customer number is {code}."),
    ],
    Channel.PUSH: [
        ("tpl_push_login", "fcm", "New sign-in from Chrome on Linux. Code {code}."),
        ("tpl_push_transfer", "apns", "Transfer of 2,500.00 to account {card} completed."),
    ],
}
_STATUSES = [
    DeliveryStatus.DELIVERED,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.SENT,
    DeliveryStatus.PENDING,
    DeliveryStatus.FAILED,
]


def _recipient(channel: Channel, rng: random.Random) -> str:
    if channel is Channel.SMS:
        return "+86138" + "".join(rng.choice("0123456789") for _ in range(8))
    if channel is Channel.EMAIL:
        return rng.choice(["li.wei", "maria.garcia", "j.smith", "anna"]) + "@example.com"
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _record(rng: random.Random, tenant_id: str, user_id: str, now: datetime) -> SendRecord:
    channel = rng.choice(list(Channel))
    template_id, provider, text = rng.choice(_TEMPLATES[channel])
    content = text.format(
        code=rng.randint(100000, 999999),
        card="6222" + "".join(rng.choice("0123456789") for _ in range(15)),
        phone="+8613812348000",
        email="support@bank.example",
        token="".join(rng.choice("abcdef0123456789") for _ in range(32)),
    )
    status = rng.choice(_STATUSES)
    created_at = now - timedelta(minutes=rng.randint(1, 60 * 24 * 40))
    sent_at = created_at + timedelta(seconds=rng.randint(1, 90))
    return SendRecord(
        id=new_log_id(),
        tenant_id=tenant_id,
        user_id=user_id,
        channel=channel,
        provider=provider,
        template_id=template_id,
        recipient=_recipient(channel, rng),
        content=content,
        status=status,
        error="发送超时 (provider timeout after 30 s)" if status is DeliveryStatus.FAILED else None,
        response=(
            '{"provider_message_id": "' + new_log_id()[4:] + '", "code": "OK"}'
            if status is not DeliveryStatus.PENDING
            else None
        ),
        created_at=created_at,
        sent_at=sent_at if status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED) else None,
        updated_at=sent_at if status is not DeliveryStatus.PENDING else created_at,
    )


def demo_records(now: datetime | None = None) -> list[SendRecord]:
    """A deterministic demo data set: two users of one tenant, and another tenant."""
    rng = random.Random(20260415)  # noqa: S311 - demo data, not a secret
    moment = now or datetime.now(UTC)
    records = [_record(rng, DEMO_TENANT, DEMO_USER, moment) for _ in range(57)]
    records += [_record(rng, DEMO_TENANT, OTHER_USER, moment) for _ in range(12)]
    records += [_record(rng, OTHER_TENANT, DEMO_USER, moment) for _ in range(8)]
    return records


async def seed_demo(database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring) -> int:
    """Insert the demo records unless the demo tenant has some; return how many were added."""
    async with database.get_session() as session:
        keys = KeyStore(session, master_keys, UnwrappedKeyCache())
        repository = SendLogRepository(session=session, keys=keys)
        await repository.begin_write()
        if await repository.tenant_has_records(DEMO_TENANT):
            return 0
        records = demo_records()
        await repository.insert_many(records)
        await commit(session, operation="demo_seed")
    return len(records)
