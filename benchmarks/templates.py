"""What showing a templated send costs, against masking the same message as free text.

For a few typical templates, in one process, the median over many repeats of:

1. ``render_disclosed`` (the template rendered with secrets hidden and personal values
   masked by kind) from the stored parameters;
2. ``disclose`` of a templated record: decoding the stored parameters' JSON, then 1;
3. ``mask_content`` on the same message rendered in full (what a free-text send costs);
4. ``disclose`` of the free-text record holding that message.

Run with ``.venv/bin/python -m benchmarks.templates``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from msgspec.structs import replace

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import disclose
from policies.masking import mask_content
from policies.records import SendRecord
from policies.templates import (
    TemplateVersion,
    render,
    render_disclosed,
    stored_parameters,
)

TEMPLATES: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "login code (zh, 3 parameters)": (
        "【招商银行】${name}您好，您的验证码为${code}，${minutes}分钟内有效，请勿泄露。",
        {"name": "personal:name", "code": "secret", "minutes": "public"},
        {"name": "王芳", "code": "482913", "minutes": "5"},
    ),
    "card statement (en, 8 parameters)": (
        "Dear ${name}, your card ending ${card} was charged ${amount} at ${merchant} on "
        "${date}. Statement sent to ${email}; delivery to ${address}. Reset your PIN: "
        "${reset_link}",
        {
            "name": "personal:name",
            "card": "personal:number",
            "amount": "public",
            "merchant": "public",
            "date": "public",
            "email": "personal:email",
            "address": "personal:address",
            "reset_link": "secret",
        },
        {
            "name": "Margaret Okafor",
            "card": "4539 1488 0343 6467",
            "amount": "£1,249.00",
            "merchant": "John Lewis Oxford Street",
            "date": "2026-10-08",
            "email": "margaret.okafor@outlook.com",
            "address": "Flat 4, 27 Chalcot Road, London NW1 8LH, United Kingdom",
            "reset_link": "https://bank.example.co.uk/pin/reset?t=eyJhbGciOiJIUzI1NiJ9.kQ2",
        },
    ),
    "delivery notice (ja, 5 parameters)": (
        "${name}様、ご注文${order}は${date}に${address}へお届けします。お問い合わせ: ${phone}",
        {
            "name": "personal:name",
            "order": "personal:number",
            "date": "public",
            "address": "personal:address",
            "phone": "personal:phone",
        },
        {
            "name": "佐藤花子",
            "order": "112-4839201-7731004",
            "date": "2026年11月30日",
            "address": "東京都千代田区丸の内1-1-1 パレスビル5階",
            "phone": "+81 90-1234-5678",
        },
    ),
}


def _median_microseconds(call: Callable[[], object], repeats: int, number: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            call()
        timings.append((time.perf_counter() - started) / number)
    return statistics.median(timings) * 1e6


def _record(**fields: object) -> SendRecord:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    base = SendRecord(
        id="log_0123456789abcdef01234567",
        tenant_id="tnt_bench",
        user_id="usr_bench",
        channel=Channel.SMS,
        provider="aliyun",
        template_id="tpl_bench",
        recipient="+8613812348000",
        content=None,
        status=DeliveryStatus.DELIVERED,
        error=None,
        response=None,
        created_at=now,
        sent_at=now,
        updated_at=now,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--number", type=int, default=2000)
    options = parser.parse_args()
    print(
        "| template | chars | render_disclosed µs | disclose (templated) µs "
        "| mask_content µs | disclose (free text) µs |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, (body, classes, values) in TEMPLATES.items():
        stored = stored_parameters(classes, values)
        text = render(body, values)
        template = TemplateVersion(
            tenant_id="tnt_bench",
            template_id="tpl_bench",
            version=1,
            channel=Channel.SMS,
            body=body,
            parameters=classes,
            content_retention_days=None,
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            created_by="svc_bench",
        )
        templated = _record(template_version=1, template_params=stored.to_json(), template=template)
        free_text = _record(content=text)
        measured = [
            _median_microseconds(
                lambda b=body, c=classes, s=stored: render_disclosed(b, c, s),
                options.repeats,
                options.number,
            ),
            _median_microseconds(lambda r=templated: disclose(r), options.repeats, options.number),
            _median_microseconds(lambda t=text: mask_content(t), options.repeats, options.number),
            _median_microseconds(lambda r=free_text: disclose(r), options.repeats, options.number),
        ]
        cells = " | ".join(f"{value:.1f}" for value in measured)
        print(f"| {name} | {len(text)} | {cells} |")


if __name__ == "__main__":
    main()
