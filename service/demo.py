"""Demo data for ``make run``: a tenant whose send log looks like a real one.

Half of the demo sends are rendered from registered templates whose parameters carry a
privacy class (``policies.templates``), half are free text as a sender without templates
records it; provider answers are in the providers' real formats and are reduced to their
allow-lists as on ingest (``policies.providers``). So the demo shows both masking paths.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import SendLogRepository
from compliance.transactions import commit
from policies.channels import Channel, DeliveryStatus
from policies.providers import reduced_or_none
from policies.records import SendRecord
from policies.templates import TemplateVersion, stored_parameters
from service.logs.service import new_log_id

DEMO_TENANT = "tnt_demo"
DEMO_USER = "usr_demo"
OTHER_USER = "usr_colleague"
OTHER_TENANT = "tnt_elsewhere"
DEMO_ACTOR = "demo-seed"


@dataclass(frozen=True, slots=True)
class DemoTemplate:
    template_id: str
    channel: Channel
    provider: str
    body: str
    parameters: dict[str, str]
    content_retention_days: int | None = None


TEMPLATES = (
    DemoTemplate(
        "SMS_164561229",
        Channel.SMS,
        "aliyun",
        "【示例银行】您的验证码是${code},5分钟内有效,请勿告诉他人。",
        {"code": "secret"},
        content_retention_days=1,
    ),
    DemoTemplate(
        "tpl_card_charge",
        Channel.SMS,
        "aliyun",
        "【示例银行】您尾号${last4}的信用卡于${time}消费${amount}元,如非本人操作请致电95588。",
        {"last4": "public", "time": "public", "amount": "public"},
    ),
    DemoTemplate(
        "tpl_appointment",
        Channel.SMS,
        "twilio",
        "Hi ${name}, your appointment at ${clinic} is on ${date} at ${time}. "
        "Reply STOP to opt out.",
        {"name": "personal:name", "clinic": "public", "date": "public", "time": "public"},
    ),
    DemoTemplate(
        "tpl_password_reset",
        Channel.EMAIL,
        "ses",
        "Hello ${name}, reset your password within 30 minutes: ${link}",
        {"name": "personal:name", "link": "secret"},
    ),
    DemoTemplate(
        "tpl_statement",
        Channel.EMAIL,
        "sendgrid",
        "Your statement for account ${account} is ready: EUR ${amount} due on ${due}.",
        {"account": "personal:number", "amount": "public", "due": "public"},
    ),
    DemoTemplate(
        "tpl_push_login",
        Channel.PUSH,
        "fcm",
        "New sign-in from ${device}. Your one-time code is ${code}.",
        {"device": "public", "code": "secret"},
    ),
)

_FREE_TEXT: dict[Channel, list[tuple[str, str, str]]] = {
    Channel.SMS: [
        ("tpl_login_code", "aliyun", "您的验证码是{code},5分钟内有效。"),
        ("tpl_login_code_en", "twilio", "Your sign-in code is {code}. It expires in 5 minutes."),
        (
            "tpl_card_charge_cn",
            "aliyun",
            "您尾号{last4}的银行卡消费128.00元,如非本人操作请致电95588。",
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
    ],
    Channel.PUSH: [
        (
            "tpl_push_transfer",
            "apns",
            "Transfer of 2,500.00 to account ending in {last4} completed.",
        ),
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
_NAMES = ["Li Wei", "María García", "John Smith", "Anna Müller", "佐藤花子"]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _recipient(channel: Channel, rng: random.Random) -> str:
    if channel is Channel.SMS:
        # Half stored as the seed shows them (a bare Chinese mobile: 138****8000), half
        # with their country code.
        prefix, digits = rng.choice([("138", 8), ("+86138", 8), ("+4477009", 5)])
        return prefix + _digits(rng, digits)
    if channel is Channel.EMAIL:
        local = rng.choice(["li.wei", "maria.garcia", "j.smith", "anna"])
        return local + "@" + rng.choice(["gmail.com", "qq.com", "zhangwei-family.cn"])
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _provider_answers(
    provider: str, status: DeliveryStatus, rng: random.Random
) -> tuple[str | None, str | None]:
    """(error, response) as the provider sent them; reduced like an ingested outcome."""
    if status is DeliveryStatus.PENDING:
        return None, None
    failed = status is DeliveryStatus.FAILED
    error: object = None
    response: object
    if provider == "aliyun":
        response = {
            "Code": "isv.BUSINESS_LIMIT_CONTROL" if failed else "OK",
            "Message": "触发小时级流控Permits:5" if failed else "OK",
            "BizId": f"{_digits(rng, 16)}^0",
            "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
        }
        error = "发送超时 (provider timeout after 30 s)" if failed else None
    elif provider == "twilio":
        response = {
            "sid": "SM" + "".join(rng.choice("0123456789abcdef") for _ in range(32)),
            "status": "undelivered" if failed else "delivered",
            "error_code": 30007 if failed else None,
            "error_message": "Message filtered" if failed else None,
            "num_segments": "1",
            "to": "+447700900123",
            "body": "Hi, your appointment is on Friday.",
        }
    elif provider in ("ses", "sendgrid"):
        response = [
            {
                "email": "li.wei@gmail.com",
                "timestamp": 1764230400 + rng.randint(0, 86_400),
                "event": "bounce" if failed else "delivered",
                "sg_event_id": "".join(rng.choice("abcdefXYZ0123") for _ in range(22)),
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "ip": "168.1.1.1",
                "reason": "550 5.1.1 The email account does not exist" if failed else None,
            }
        ]
        provider = "sendgrid"
    else:
        response = (
            {
                "error": {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "UNREGISTERED",
                        }
                    ],
                }
            }
            if failed
            else {"name": f"projects/demo-bank/messages/0:{_digits(rng, 16)}%31bd1c9631bd1c96"}
        )
    text = json.dumps(response, ensure_ascii=False)
    return reduced_or_none(error if isinstance(error, str) else None, provider), reduced_or_none(
        text, provider
    )


def _times(rng: random.Random, now: datetime) -> tuple[datetime, datetime]:
    created_at = now - timedelta(minutes=rng.randint(1, 60 * 24 * 40))
    return created_at, created_at + timedelta(seconds=rng.randint(1, 90))


def _values(template: DemoTemplate, rng: random.Random) -> dict[str, str]:
    pool = {
        "code": _digits(rng, 6),
        "last4": _digits(rng, 4),
        "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "amount": f"{rng.randint(1, 30000)}.{_digits(rng, 2)}",
        "name": rng.choice(_NAMES),
        "clinic": "Riverside Clinic",
        "date": f"2026-12-{rng.randint(1, 28):02d}",
        "link": "https://bank.example/reset/"
        + "".join(rng.choice("abcdefXYZ0123") for _ in range(32)),
        "account": "DE89" + _digits(rng, 18),
        "due": f"2026-12-{rng.randint(1, 28):02d}",
        "device": rng.choice(["Chrome on Linux", "Safari on iPhone"]),
    }
    return {name: pool[name] for name in template.parameters}


def _record(
    rng: random.Random,
    tenant_id: str,
    user_id: str,
    now: datetime,
    versions: dict[str, TemplateVersion],
) -> SendRecord:
    status = rng.choice(_STATUSES)
    created_at, sent_at = _times(rng, now)
    demo = rng.choice(TEMPLATES) if versions and rng.random() < 0.5 else None
    version = None if demo is None else versions.get(demo.template_id)
    if demo is not None and version is not None:
        channel, provider, template_id = demo.channel, demo.provider, demo.template_id
        stored = stored_parameters(version.parameters, _values(demo, rng))
        content: str | None = None
        template_params: str | None = stored.to_json()
    else:
        channel = rng.choice(list(Channel))
        template_id, provider, text = rng.choice(_FREE_TEXT[channel])
        content = text.format(
            code=_digits(rng, 6),
            last4=_digits(rng, 4),
            card="6222" + _digits(rng, 15),
            email="support@bank.example",
            token="".join(rng.choice("abcdef0123456789") for _ in range(32)),
        )
        template_params, version = None, None
    error, response = _provider_answers(provider, status, rng)
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
        error=error,
        response=response,
        created_at=created_at,
        sent_at=sent_at if status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED) else None,
        updated_at=sent_at if status is not DeliveryStatus.PENDING else created_at,
        template_version=None if version is None else version.version,
        template_params=template_params,
        content_erase_after=None if version is None else version.content_erase_after(created_at),
        template=version,
    )


def demo_records(
    now: datetime | None = None, versions: dict[str, TemplateVersion] | None = None
) -> list[SendRecord]:
    """A deterministic demo data set: two users of one tenant, and another tenant.

    With ``versions`` (the demo tenant's registered templates by id) about half of the
    demo tenant's sends are templated; without, every send is free text."""
    rng = random.Random(20260415)  # noqa: S311 - demo data, not a secret
    moment = now or datetime.now(UTC)
    mine = versions or {}
    records = [_record(rng, DEMO_TENANT, DEMO_USER, moment, mine) for _ in range(57)]
    records += [_record(rng, DEMO_TENANT, OTHER_USER, moment, mine) for _ in range(12)]
    records += [_record(rng, OTHER_TENANT, DEMO_USER, moment, {}) for _ in range(8)]
    return records


async def seed_demo(database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring) -> int:
    """Register the demo templates and insert the demo records unless the demo tenant has
    some; return how many records were added."""
    async with database.get_session() as session:
        keys = KeyStore(session, master_keys, UnwrappedKeyCache())
        repository = SendLogRepository(session=session, keys=keys)
        await repository.begin_write()
        if await repository.tenant_has_records(DEMO_TENANT):
            return 0
        now = datetime.now(UTC)
        versions: dict[str, TemplateVersion] = {}
        for demo in TEMPLATES:
            version, _ = await repository.templates.put(
                DEMO_TENANT,
                demo.template_id,
                channel=demo.channel,
                body=demo.body,
                parameters=demo.parameters,
                content_retention_days=demo.content_retention_days,
                created_by=DEMO_ACTOR,
                now=now,
            )
            versions[demo.template_id] = version
        records = demo_records(now, versions)
        await repository.insert_many(records)
        await commit(session, operation="demo_seed")
    return len(records)
