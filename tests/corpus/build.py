"""Build ``tests/corpus/corpus.jsonl``: the annotated corpus the masking targets are
measured on. Run ``python -m tests.corpus.build`` after changing a template or a shape;
the output is committed, and the same seed gives the same file.

Every line is one entry (see :mod:`tests.corpus.harness` for the format):

- ``body``: a message rendered from one of :data:`tests.corpus.templates.TEMPLATES` with
  seeded realistic values; it carries its template form (body with ``${name}``
  placeholders, the class of every parameter, the values) and ``text`` is exactly that
  template rendered;
- ``payload``: a provider's error or response (:mod:`tests.corpus.payloads`);
- ``recipient``: a phone number in E.164, an e-mail address or a push token.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from random import Random
from typing import Any

import phonenumbers

from tests.corpus import payloads, shapes
from tests.corpus.shapes import KINDS, Value, email_hidden_parts, phone_hidden_part, pick
from tests.corpus.templates import TEMPLATES, MessageTemplate

SEED = 20261128
CORPUS = Path(__file__).with_name("corpus.jsonl")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")


def render(body: str, values: dict[str, str]) -> str:
    """``body`` with every ``${name}`` replaced by its value (what a provider sends)."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def _annotations(pairs: list[tuple[str, str]], text: str) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for value, category in pairs:
        if not value or (value, category) in seen:
            continue
        if value not in text:
            raise AssertionError(f"annotation not in its text ({category})")
        seen.add((value, category))
        out.append({"value": value, "category": category})
    return out


def body_entries(rng: Random) -> list[dict[str, Any]]:
    entries = []
    for template in TEMPLATES:
        names = PLACEHOLDER.findall(template.body)
        for number in range(1, template.renders + 1):
            entries.append(_body_entry(rng, template, names, number))
    return entries


def _body_entry(
    rng: Random, template: MessageTemplate, names: list[str], number: int
) -> dict[str, Any]:
    values: dict[str, str] = {}
    classes: dict[str, str] = {}
    hide: list[tuple[str, str]] = []
    keep: list[tuple[str, str]] = list(template.keep)
    for name in dict.fromkeys(names):
        kind = template.kinds.get(name, name)
        parameter_class, generator = KINDS[kind]
        value: Value = generator(rng, template.lang)
        if "${" in value.text:
            raise AssertionError("a value must not look like a placeholder")
        values[name] = value.text
        classes[name] = parameter_class
        hide += value.hide
        keep += value.keep
    text = render(template.body, values)
    return {
        "id": f"body-{template.id}-{number}",
        "kind": "body",
        "lang": template.lang,
        "sector": template.sector,
        "channel": template.channel,
        "text": text,
        "template": {
            "id": template.id,
            "body": template.body,
            "parameters": classes,
            "values": values,
        },
        "hide": _annotations(hide, text),
        "keep": _annotations(keep, text),
    }


def payload_entries(rng: Random) -> list[dict[str, Any]]:
    entries = []
    for builder, count in payloads.BUILDERS:
        for number in range(1, count + 1):
            payload = builder(rng, number)
            entry: dict[str, Any] = {
                "id": f"payload-{builder.__name__.replace('_', '-')}-{number}",
                "kind": "payload",
                "lang": payload.lang,
                "sector": "provider",
                "channel": payload.channel,
                "provider": payload.provider,
                "status": payload.status,
                "field": payload.stored_as,
                "text": payload.text,
                "hide": _annotations(payload.hide, payload.text),
                "keep": _annotations(payload.keep, payload.text),
            }
            entries.append(entry)
    return entries


PHONE_REGIONS = [
    ("CN", "zh"),
    ("CN", "zh"),
    ("HK", "zh"),
    ("TW", "zh"),
    ("SG", "en"),
    ("JP", "ja"),
    ("KR", "ko"),
    ("IN", "en"),
    ("US", "en"),
    ("CA", "en"),
    ("GB", "en"),
    ("IE", "en"),
    ("DE", "de"),
    ("AT", "de"),
    ("CH", "de"),
    ("FR", "fr"),
    ("BE", "fr"),
    ("ES", "es"),
    ("MX", "es"),
    ("AR", "es"),
    ("BR", "en"),
    ("IT", "en"),
    ("NL", "en"),
    ("AU", "en"),
    ("NZ", "en"),
    ("ZA", "en"),
    ("NG", "en"),
    ("AE", "en"),
    ("TR", "en"),
    ("ID", "en"),
    ("TH", "en"),
    ("VN", "en"),
    ("PH", "en"),
    ("MY", "en"),
    ("SE", "en"),
]


def _mobile(rng: Random, region: str) -> tuple[str, int]:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"no example mobile number for {region}")
    national = str(example.national_number)
    while True:
        keep = max(2, len(national) - 6)
        candidate = national[:keep] + shapes.digits(rng, len(national) - keep)
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            return f"+{example.country_code}{candidate}", len(candidate)


RECIPIENT_EMAILS = [
    ("zh", "张伟@zhangwei-family.cn"),
    ("zh", "wang.fang1990@qq.com"),
    ("zh", "李娜@163.com"),
    ("zh", "liu.yang@huaxin-tech.com.cn"),
    ("zh", "陈静@yunqi-cloud.cn"),
    ("en", "emily.carter@gmail.com"),
    ("en", "j.oconnor@oconnor.ie"),
    ("en", "priya.sharma91@outlook.com"),
    ("en", "hannah@carter-family.org"),
    ("en", "d.nguyen@brightpath-consulting.co.uk"),
    ("ja", "はなこ@tanaka-ke.jp"),
    ("ja", "sato.ken@yahoo.co.jp"),
    ("ja", "美咲.tanaka@icloud.com"),
    ("ko", "서연@kimfamily.kr"),
    ("ko", "minjun.kim@naver.com"),
    ("de", "lukas.mueller@gmx.de"),
    ("de", "a.schmidt@schmidt-kanzlei.de"),
    ("de", "jürgen.braun@mueller-familie.de"),
    ("es", "maria.garcia@gmail.com"),
    ("es", "pablo@talleres-ruiz.es"),
    ("fr", "camille.dubois@famille-dubois.fr"),
    ("fr", "léa.bernard@hotmail.com"),
]


def recipient_entries(rng: Random) -> list[dict[str, Any]]:
    entries = []
    for number, (region, lang) in enumerate(PHONE_REGIONS, start=1):
        phone, national = _mobile(rng, region)
        entries.append(
            _recipient(
                f"recipient-sms-{region.lower()}-{number}",
                lang,
                "sms",
                phone,
                [(phone_hidden_part(phone, national), "identifier.phone")],
            )
        )
    for number, (lang, address) in enumerate(RECIPIENT_EMAILS, start=1):
        entries.append(
            _recipient(
                f"recipient-email-{number}", lang, "email", address, email_hidden_parts(address)
            )
        )
    for number in range(1, 13):
        kind = ("fcm", "apns", "webpush")[number % 3]
        if kind == "fcm":
            token = f"{pick(rng, shapes.URLSAFE, 22)}:APA91b{pick(rng, shapes.URLSAFE, 134)}"
        elif kind == "apns":
            token = pick(rng, "0123456789abcdef", 64)
        else:
            key = f"{pick(rng, shapes.URLSAFE, 22)}:APA91b{pick(rng, shapes.URLSAFE, 120)}"
            token = f"https://fcm.googleapis.com/fcm/send/{key}"
        hidden = token[4:-4] if kind != "webpush" else token.rsplit("/", 1)[1][:-4]
        entries.append(
            _recipient(
                f"recipient-push-{kind}-{number}",
                "en",
                "push",
                token,
                [(hidden, "identifier.push_token")],
            )
        )
    return entries


def _recipient(
    entry_id: str, lang: str, channel: str, value: str, hide: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "id": entry_id,
        "kind": "recipient",
        "lang": lang,
        "sector": "recipient",
        "channel": channel,
        "text": value,
        "hide": _annotations(hide, value),
        "keep": [],
    }


def build() -> list[dict[str, Any]]:
    rng = Random(SEED)
    return [*body_entries(rng), *payload_entries(rng), *recipient_entries(rng)]


def main() -> None:
    entries = build()
    ids = [entry["id"] for entry in entries]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate entry ids")
    with CORPUS.open("w", encoding="utf-8") as out:
        for entry in entries:
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    sys.stdout.write(f"wrote {len(entries)} entries to {CORPUS.name}: {counts}\n")


if __name__ == "__main__":
    main()
