"""Realistic values of every shape the corpus needs, each with what of it must stay hidden.

A generator returns a :class:`Value`: the text that goes into a message, the parts of it
that must not be readable (``hide``) and the parts a person needs readable (``keep``).
Identifiers that the rules show partly (last 4 of a number, first character of a name)
hide only the part that must not be shown. Everything is drawn from one seeded
``random.Random`` so the corpus is the same on every run of ``build.py``.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

ALNUM_UPPER = string.ascii_uppercase + string.digits
URLSAFE = string.ascii_letters + string.digits + "-_"
# Letters people do not confuse (no O/0, I/1): what code generators use.
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_ALNUM = CODE_LETTERS + "23456789"


@dataclass(frozen=True)
class Value:
    text: str
    hide: list[tuple[str, str]] = field(default_factory=list)
    keep: list[tuple[str, str]] = field(default_factory=list)


Generator = Callable[[Random, str], Value]


def digits(rng: Random, n: int, *, first_nonzero: bool = False) -> str:
    out = "".join(rng.choice(string.digits) for _ in range(n))
    if first_nonzero and out[0] == "0":
        out = rng.choice("123456789") + out[1:]
    return out


def pick(rng: Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def head_without_last(value: str, shown: int = 4) -> str:
    """``value`` without its last ``shown`` letters and digits (and the separators
    between them): the part a last-4 rule must hide."""
    seen = 0
    for index in range(len(value) - 1, -1, -1):
        if value[index].isalnum():
            seen += 1
            if seen == shown:
                return value[:index].rstrip(" -./")
    return value


def digits_span(value: str, start: int, end: int) -> str:
    """The substring of ``value`` from its ``start``-th to its ``end``-th digit."""
    positions = [i for i, char in enumerate(value) if char.isdigit()]
    return value[positions[start] : positions[end - 1] + 1]


def phone_hidden_part(value: str, national_digits: int | None = None) -> str:
    """The digits of a phone number every rule must hide: the (up to) 4 digits just
    before its last 4 (``138 1234 8000`` → ``1234``). ``national_digits`` counts the
    digits of the national number when ``value`` also holds a country code."""
    count = sum(char.isdigit() for char in value)
    national = national_digits or count
    width = min(4, national - 4)
    return digits_span(value, count - 4 - width, count - 4)


# --- names, places -------------------------------------------------------------------

NAMES: dict[str, list[str]] = {
    "zh": [
        "张伟",
        "王芳",
        "李娜",
        "刘洋",
        "陈静",
        "杨磊",
        "赵敏",
        "黄晓明",
        "周杰",
        "吴婷婷",
        "徐志强",
        "孙丽",
        "马超",
        "朱红梅",
        "胡建国",
        "郭晓燕",
        "林佳怡",
        "何俊",
    ],
    "en": [
        "Emily Carter",
        "James O'Connor",
        "Priya Sharma",
        "Michael Johnson",
        "Sarah Thompson",
        "David Nguyen",
        "Olivia Brown",
        "Rahul Verma",
        "Hannah Wright",
        "Daniel Evans",
        "Aisha Khan",
        "Thomas Hughes",
        "Chloe Martin",
        "Ananya Iyer",
    ],
    "ja": [
        "佐藤 健",
        "鈴木 花子",
        "高橋 翔太",
        "田中 美咲",
        "伊藤 大輔",
        "渡辺 由美",
        "山本 拓海",
        "中村 さくら",
        "小林 誠",
        "加藤 真由美",
        "吉田 蓮",
        "山田 優子",
    ],
    "ko": [
        "김민준",
        "이서연",
        "박지훈",
        "최수아",
        "정우진",
        "강하은",
        "조현우",
        "윤지민",
        "장서준",
        "임예은",
        "한도윤",
        "오지유",
    ],
    "de": [
        "Lukas Müller",
        "Anna Schmidt",
        "Jonas Schneider",
        "Lea Fischer",
        "Felix Weber",
        "Sophie Wagner",
        "Maximilian Becker",
        "Marie Hoffmann",
        "Paul Schäfer",
        "Laura Koch",
        "Jürgen Braun",
        "Katrin Zimmermann",
    ],
    "es": [
        "María García",
        "José Martínez",
        "Lucía Fernández",
        "Javier López",
        "Carmen Sánchez",
        "Alejandro Pérez",
        "Laura Gómez",
        "Pablo Ruiz",
        "Elena Díaz",
        "Sergio Moreno",
        "Isabel Jiménez",
        "Andrés Navarro",
    ],
    "fr": [
        "Camille Dubois",
        "Louis Martin",
        "Léa Bernard",
        "Hugo Petit",
        "Chloé Durand",
        "Lucas Leroy",
        "Manon Moreau",
        "Théo Girard",
        "Inès Lefèvre",
        "Antoine Roux",
        "Élodie Fournier",
        "Mathieu Lambert",
    ],
}

CITIES: dict[str, list[str]] = {
    "zh": ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京"],
    "en": ["London", "Manchester", "Leeds", "Seattle", "Austin", "Boston", "Mumbai", "Pune"],
    "ja": ["東京", "大阪", "名古屋", "福岡", "札幌", "横浜"],
    "ko": ["서울", "부산", "인천", "대구", "광주", "대전"],
    "de": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt", "Stuttgart", "Leipzig"],
    "es": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Zaragoza"],
    "fr": ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux"],
}

STREETS: dict[str, list[str]] = {
    "zh": ["浦东新区世纪大道88号", "天河区体育西路191号", "朝阳区建国路77号", "西湖区文三路259号"],
    "en": ["221B Baker Street", "14 Kingsway Road", "742 Evergreen Terrace", "9 Mill Lane"],
    "de": ["Friedrichstraße 43", "Leopoldstraße 12", "Hauptstraße 7a", "Schillerweg 3"],
}


def name(rng: Random, lang: str) -> Value:
    full = rng.choice(NAMES[lang])
    return Value(full, hide=[(full[1:], "personal.name")])


def family_name(rng: Random, lang: str) -> Value:
    """The family name alone (as in 张女士, Sr. García, Frau Schmidt)."""
    full = rng.choice(NAMES[lang])
    if lang in ("zh",):
        family = full[0] if len(full) <= 3 else full[:2]
        return Value(family)
    if lang == "ko":
        return Value(full[0])
    if lang == "ja":
        return Value(full.split()[0])
    return Value(full.split()[-1], hide=[(full.split()[-1][1:], "personal.name")])


def address(rng: Random, lang: str) -> Value:
    city = rng.choice(CITIES[lang])
    street = rng.choice(STREETS[lang])
    if lang == "zh":
        return Value(f"{city}市{street}", hide=[(street, "personal.address")])
    return Value(f"{street}, {city}", hide=[(street, "personal.address")])


def city(rng: Random, lang: str) -> Value:
    return Value(rng.choice(CITIES[lang]))


# --- credentials ---------------------------------------------------------------------


def code_digits(rng: Random, lang: str) -> Value:
    code = digits(rng, rng.choice([4, 6, 6, 6, 8]))
    return Value(code, hide=[(code, "credential.code_digits")])


def code_letters(rng: Random, lang: str) -> Value:
    shape = rng.choice(["mixed6", "mixed6", "abc-123", "mixed8", "lower6"])
    if shape == "abc-123":
        code = f"{pick(rng, CODE_LETTERS, 3)}-{digits(rng, 3)}"
    elif shape == "lower6":
        code = pick(rng, CODE_ALNUM, 6).lower()
    else:
        length = 8 if shape == "mixed8" else 6
        while True:
            code = pick(rng, CODE_ALNUM, length)
            if any(c.isalpha() for c in code) and any(c.isdigit() for c in code):
                break
    return Value(code, hide=[(code, "credential.code_letters")])


def booking_reference(rng: Random, lang: str) -> Value:
    """An airline PNR (``2C2ZRJ``): whoever has it and the name can change the booking."""
    while True:
        code = pick(rng, CODE_ALNUM, 6)
        if any(c.isalpha() for c in code):
            return Value(code, hide=[(code, "credential.code_letters")])


def split_code(rng: Random, lang: str) -> Value:
    raw = digits(rng, 6)
    shape = rng.choice(["3-3", "3 3", "spaced", "2-2-2", "3.3"])
    if shape == "3-3":
        code = f"{raw[:3]}-{raw[3:]}"
    elif shape == "3 3":
        code = f"{raw[:3]} {raw[3:]}"
    elif shape == "spaced":
        code = " ".join(raw)
    elif shape == "2-2-2":
        code = f"{raw[:2]}-{raw[2:4]}-{raw[4:]}"
    else:
        code = f"{raw[:3]}.{raw[3:]}"
    return Value(code, hide=[(code, "credential.split_code")])


SHORT_HOSTS = {
    "zh": ["t.cn", "t.cn", "url.cn", "dwz.cn"],
    "ja": ["bit.ly", "amzn.asia", "t.co"],
    "ko": ["han.gl", "me2.kr", "bit.ly"],
}


def short_link(rng: Random, lang: str) -> Value:
    host = rng.choice(SHORT_HOSTS.get(lang, ["bit.ly", "tinyurl.com", "is.gd", "amzn.to"]))
    key = pick(rng, string.ascii_letters + string.digits, rng.choice([6, 7, 8]))
    while not (any(c.isdigit() for c in key) and any(c.isalpha() for c in key)):
        key = pick(rng, string.ascii_letters + string.digits, 7)
    scheme = rng.choice(["", "https://", "https://"])
    return Value(f"{scheme}{host}/{key}", hide=[(key, "credential.short_link")])


MAGIC_HOSTS = [
    "app.kontora.io",
    "login.lumenbank.de",
    "id.paygrove.com",
    "auth.nimbusdesk.app",
    "my.vitalclinic.es",
    "compte.mutuelle-horizon.fr",
    "account.sakura-pay.jp",
    "secure.hanbit-card.co.kr",
    "passport.yunqi-cloud.cn",
]


def magic_link(rng: Random, lang: str) -> Value:
    host = rng.choice(MAGIC_HOSTS)
    token = pick(rng, URLSAFE, rng.choice([32, 40, 43]))
    shape = rng.choice(["path", "path", "query", "fragment", "path-deep"])
    if shape == "path":
        url = f"https://{host}/login/magic/{token}"
    elif shape == "path-deep":
        url = f"https://{host}/auth/v2/verify/{token}/confirm"
    elif shape == "query":
        url = f"https://{host}/reset-password?token={token}"
    else:
        url = f"https://{host}/welcome#access_token={token}"
    return Value(url, hide=[(token, "credential.magic_link")])


def temp_password(rng: Random, lang: str) -> Value:
    chars = string.ascii_letters + string.digits + "#!%&*+?@"
    while True:
        password = pick(rng, chars, rng.choice([8, 10, 12]))
        if (
            any(c.isdigit() for c in password)
            and any(c.isupper() for c in password)
            and any(c.islower() for c in password)
        ):
            return Value(password, hide=[(password, "credential.temp_password")])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: Random, lang: str) -> Value:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {
        "sub": f"usr_{pick(rng, string.ascii_lowercase + string.digits, 10)}",
        "iat": 1790000000 + rng.randrange(10_000_000),
        "exp": 1800000000 + rng.randrange(10_000_000),
        "scope": rng.choice(["invite", "reset", "login"]),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(bytes(rng.randrange(256) for _ in range(32)))
    token = f"{header}.{payload}.{signature}"
    return Value(token, hide=[(token, "credential.jwt")])


def api_key(rng: Random, lang: str) -> Value:
    kind = rng.choice(
        ["sk_live", "sk_live", "sk_live", "rk_live", "aws", "github", "sendgrid", "slack"]
    )
    if kind in ("sk_live", "rk_live"):
        secret = pick(rng, string.ascii_letters + string.digits, 24)
        key = f"{kind}_{secret}"
    elif kind == "aws":
        secret = pick(rng, ALNUM_UPPER, 16)
        key = f"AKIA{secret}"
    elif kind == "github":
        secret = pick(rng, string.ascii_letters + string.digits, 36)
        key = f"ghp_{secret}"
    elif kind == "sendgrid":
        secret = f"{pick(rng, URLSAFE, 22)}.{pick(rng, URLSAFE, 43)}"
        key = f"SG.{secret}"
    else:
        secret = f"{digits(rng, 12)}-{digits(rng, 13)}-{pick(rng, string.ascii_letters, 24)}"
        key = f"xoxb-{secret}"
    return Value(key, hide=[(secret, "credential.api_key")])


def cvv(rng: Random, lang: str) -> Value:
    value = digits(rng, 3)
    return Value(value, hide=[(value, "credential.cvv")])


def recovery_code(rng: Random, lang: str) -> Value:
    shape = rng.choice(["4-4-4", "5-5", "hex"])
    if shape == "4-4-4":
        code = "-".join(pick(rng, CODE_ALNUM, 4) for _ in range(3))
    elif shape == "5-5":
        code = "-".join(pick(rng, string.ascii_lowercase + string.digits, 5) for _ in range(2))
    else:
        code = pick(rng, "0123456789abcdef", 10)
    return Value(code, hide=[(code, "credential.recovery_code")])


def gift_code(rng: Random, lang: str) -> Value:
    code = "-".join(pick(rng, CODE_ALNUM, 4) for _ in range(4))
    return Value(code, hide=[(code, "credential.gift_code")])


# --- identifiers ---------------------------------------------------------------------


def _identifier(value: str, category: str) -> Value:
    return Value(value, hide=[(head_without_last(value), category)])


def cn_id(rng: Random, lang: str) -> Value:
    region = rng.choice(["110105", "310115", "440106", "330106", "510107", "420106"])
    birth = f"{rng.randrange(1955, 2005)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    body = region + birth + digits(rng, 3)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return _identifier(body + check, "identifier.cn_id")


def us_ssn(rng: Random, lang: str) -> Value:
    area = rng.randrange(1, 899)
    while area == 666:
        area = rng.randrange(1, 899)
    ssn = f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
    return _identifier(ssn, "identifier.us_ssn")


def uk_nino(rng: Random, lang: str) -> Value:
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    numbers = digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.6:
        nino = f"{first}{second} {numbers[:2]} {numbers[2:4]} {numbers[4:]} {suffix}"
    else:
        nino = f"{first}{second}{numbers}{suffix}"
    return _identifier(nino, "identifier.uk_nino")


def de_tax_id(rng: Random, lang: str) -> Value:
    raw = digits(rng, 11, first_nonzero=True)
    tax_id = f"{raw[:2]} {raw[2:5]} {raw[5:8]} {raw[8:]}" if rng.random() < 0.5 else raw
    return _identifier(tax_id, "identifier.de_tax_id")


def de_passport(rng: Random, lang: str) -> Value:
    chars = "CFGHJKLMNPRTVWXYZ0123456789"
    number = rng.choice("CFGHJK") + pick(rng, chars, 8)
    return _identifier(number, "identifier.de_passport")


def es_dni(rng: Random, lang: str) -> Value:
    number = rng.randrange(10_000_000, 99_999_999)
    letter = "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]
    if rng.random() < 0.2:
        nie_prefix = rng.choice("XYZ")
        body = rng.randrange(1_000_000, 9_999_999)
        letter = "TRWAGMYFPDXBNJZSQVHLCKE"[int(f"{'XYZ'.index(nie_prefix)}{body}") % 23]
        return _identifier(f"{nie_prefix}{body}{letter}", "identifier.es_dni")
    return _identifier(f"{number}{letter}", "identifier.es_dni")


def fr_nir(rng: Random, lang: str) -> Value:
    sex = rng.choice("12")
    year = f"{rng.randrange(50, 100):02d}"
    month = f"{rng.randrange(1, 13):02d}"
    dept = f"{rng.choice([75, 69, 13, 31, 44, 59, 33]):02d}"
    commune = digits(rng, 3)
    order = digits(rng, 3)
    base = int(sex + year + month + dept + commune + order)
    key = 97 - base % 97
    nir = f"{sex} {year} {month} {dept} {commune} {order} {key:02d}"
    if rng.random() < 0.3:
        nir = nir.replace(" ", "")
    return _identifier(nir, "identifier.fr_nir")


def jp_my_number(rng: Random, lang: str) -> Value:
    base = digits(rng, 11)
    total = 0
    for n in range(1, 12):
        p = int(base[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    number = base + str(check)
    if rng.random() < 0.6:
        number = f"{number[:4]} {number[4:8]} {number[8:]}"
    return _identifier(number, "identifier.jp_my_number")


def kr_rrn(rng: Random, lang: str) -> Value:
    birth = f"{rng.randrange(50, 100):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    rest = rng.choice("1234") + digits(rng, 6)
    return _identifier(f"{birth}-{rest}", "identifier.kr_rrn")


def in_aadhaar(rng: Random, lang: str) -> Value:
    raw = rng.choice("23456789") + digits(rng, 11)
    number = f"{raw[:4]} {raw[4:8]} {raw[8:]}" if rng.random() < 0.7 else raw
    return _identifier(number, "identifier.in_aadhaar")


def in_pan(rng: Random, lang: str) -> Value:
    pan = (
        pick(rng, string.ascii_uppercase, 3)
        + rng.choice("PCHFAT")
        + rng.choice(string.ascii_uppercase)
        + digits(rng, 4)
        + rng.choice(string.ascii_uppercase)
    )
    return _identifier(pan, "identifier.in_pan")


def passport(rng: Random, lang: str) -> Value:
    shapes = {
        "zh": lambda: "E" + digits(rng, 8),
        "en": lambda: digits(rng, 9, first_nonzero=True),
        "ja": lambda: rng.choice(["TK", "TR", "MZ"]) + digits(rng, 7),
        "ko": lambda: "M" + digits(rng, 8),
        "es": lambda: pick(rng, string.ascii_uppercase, 3) + digits(rng, 6),
        "fr": lambda: digits(rng, 2) + pick(rng, string.ascii_uppercase, 2) + digits(rng, 5),
        "de": lambda: rng.choice("CFGHJK") + pick(rng, "CFGHJKLMNPRTVWXYZ0123456789", 8),
    }
    return _identifier(shapes[lang](), "identifier.passport")


def _iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def iban(rng: Random, lang: str) -> Value:
    country = {"de": "DE", "es": "ES", "fr": "FR", "en": "GB"}.get(lang, "DE")
    if country == "DE":
        bban = digits(rng, 8) + digits(rng, 10)
    elif country == "ES":
        bban = digits(rng, 20)
    elif country == "FR":
        bban = digits(rng, 10) + pick(rng, ALNUM_UPPER, 11) + digits(rng, 2)
    else:
        bban = rng.choice(["NWBK", "BARC", "HBUK", "LOYD"]) + digits(rng, 14)
    compact = country + _iban_check(country, bban) + bban
    value = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    if rng.random() < 0.3:
        value = compact
    return _identifier(value, "identifier.iban")


def _luhn_complete(partial: str) -> str:
    total = 0
    for index, char in enumerate(reversed(partial)):
        d = int(char)
        if index % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return partial + str((10 - total % 10) % 10)


def card(rng: Random, lang: str) -> Value:
    if lang == "zh" and rng.random() < 0.6:
        number = _luhn_complete("622202" + digits(rng, 12))
    else:
        prefix = rng.choice(["4", "51", "53", "4539", "3589"])
        number = _luhn_complete(prefix + digits(rng, 15 - len(prefix)))
    if len(number) == 16 and rng.random() < 0.6:
        number = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return _identifier(number, "identifier.card")


def phone_national(rng: Random, lang: str) -> Value:
    shapes = {
        "zh": lambda: f"1{rng.choice('3589')}{digits(rng, 1)} {digits(rng, 4)} {digits(rng, 4)}",
        "en": lambda: rng.choice(
            [
                f"07{digits(rng, 3)} {digits(rng, 6)}",
                f"{digits(rng, 3, first_nonzero=True)}-{digits(rng, 3)}-{digits(rng, 4)}",
            ]
        ),
        "ja": lambda: f"0{rng.choice('789')}0-{digits(rng, 4)}-{digits(rng, 4)}",
        "ko": lambda: f"010-{digits(rng, 4)}-{digits(rng, 4)}",
        "de": lambda: f"01{rng.choice(['51', '52', '60', '70', '76'])} {digits(rng, 8)}",
        "es": lambda: f"6{digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)}",
        "fr": lambda: "0" + rng.choice("67") + " " + " ".join(digits(rng, 2) for _ in range(4)),
    }
    number = shapes[lang]()
    return Value(number, hide=[(phone_hidden_part(number), "identifier.phone_national")])


PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "yahoo.co.jp",
        "gmx.de",
        "web.de",
    }
)

EMAIL_LOCALS: dict[str, list[str]] = {
    "zh": ["张伟", "wang.fang", "李娜1988", "liuyang_sh", "陈静", "zhao.min"],
    "en": ["emily.carter", "j.oconnor", "priya.sharma91", "mike_j", "hannah.w"],
    "ja": ["sato.ken", "はなこ", "takahashi_s", "美咲.tanaka", "d.ito"],
    "ko": ["minjun.kim", "서연", "jihoon_park", "수아.choi"],
    "de": ["lukas.mueller", "a.schmidt", "jonas.schneider", "lea_fischer"],
    "es": ["maria.garcia", "jose.martinez", "lucia_fdez", "j.lopez"],
    "fr": ["camille.dubois", "l.martin", "lea.bernard", "hugo_petit"],
}
PRIVATE_DOMAINS: dict[str, list[str]] = {
    "zh": ["zhangwei-family.cn", "yunqi-cloud.cn", "huaxin-tech.com.cn"],
    "en": ["carter-family.org", "oconnor.ie", "brightpath-consulting.co.uk"],
    "ja": ["tanaka-ke.jp", "sakura-shoji.co.jp"],
    "ko": ["kimfamily.kr", "hanbit-soft.co.kr"],
    "de": ["mueller-familie.de", "schmidt-kanzlei.de", "weber-gmbh.de"],
    "es": ["garcia-familia.es", "talleres-ruiz.es"],
    "fr": ["famille-dubois.fr", "cabinet-martin.fr"],
}
PUBLIC_BY_LANG = {
    "zh": ["qq.com", "163.com", "126.com"],
    "en": ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"],
    "ja": ["yahoo.co.jp", "gmail.com", "icloud.com"],
    "ko": ["naver.com", "gmail.com"],
    "de": ["gmx.de", "web.de", "gmail.com"],
    "es": ["gmail.com", "hotmail.com", "outlook.com"],
    "fr": ["gmail.com", "hotmail.com", "outlook.com"],
}


def email_hidden_parts(address: str, category: str = "identifier.email") -> list[tuple[str, str]]:
    """Everything but the first character of the local part, and of the domain's first
    label unless the domain is a large public mailbox provider."""
    local, domain = address.split("@")
    hidden = [(local[1:] if len(local) > 1 else local, category)]
    if domain not in PUBLIC_MAIL_DOMAINS:
        label = domain.split(".")[0]
        hidden.append((label[1:], category))
    return hidden


def email(rng: Random, lang: str) -> Value:
    local = rng.choice(EMAIL_LOCALS[lang])
    if rng.random() < 0.5:
        domain = rng.choice(PRIVATE_DOMAINS[lang])
    else:
        domain = rng.choice(PUBLIC_BY_LANG[lang])
    address = f"{local}@{domain}"
    return Value(address, hide=email_hidden_parts(address))


def upi(rng: Random, lang: str) -> Value:
    handle = rng.choice(["okhdfcbank", "oksbi", "ybl", "paytm", "okicici", "axl"])
    local = rng.choice(
        [
            f"{rng.choice(['ramesh', 'priya', 'arjun', 'neha', 'vikram'])}.{pick(rng, 'kmsvr', 1)}",
            digits(rng, 10, first_nonzero=True),
            f"{rng.choice(['anita', 'rohit'])}{digits(rng, 2)}",
        ]
    )
    return Value(f"{local}@{handle}", hide=[(local[1:], "identifier.upi")])


# --- what must stay readable ---------------------------------------------------------

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}


def date(rng: Random, lang: str) -> Value:
    y, m, d = rng.choice([2025, 2026, 2026, 2026, 2027]), rng.randrange(1, 13), rng.randrange(1, 29)
    formats = {
        "zh": [f"{y}-{m:02d}-{d:02d}", f"{y}年{m}月{d}日"],
        "en": [
            f"{d:02d}/{m:02d}/{y}",
            f"{MONTHS['en'][m - 1]} {d}, {y}",
            f"{d} {MONTHS['en'][m - 1][:3]} {y}",
            f"{y}-{m:02d}-{d:02d}",
        ],
        "ja": [f"{y}年{m}月{d}日", f"{y}/{m:02d}/{d:02d}"],
        "ko": [f"{y}년 {m}월 {d}일", f"{y}.{m:02d}.{d:02d}", f"{y}-{m:02d}-{d:02d}"],
        "de": [f"{d:02d}.{m:02d}.{y}", f"{d}. {MONTHS['de'][m - 1]} {y}"],
        "es": [f"{d:02d}/{m:02d}/{y}", f"{d} de {MONTHS['es'][m - 1]} de {y}"],
        "fr": [f"{d:02d}/{m:02d}/{y}", f"{d} {MONTHS['fr'][m - 1]} {y}"],
    }
    text = rng.choice(formats[lang])
    return Value(text, keep=[(text, "keep.date")])


def time_of_day(rng: Random, lang: str) -> Value:
    text = f"{rng.randrange(6, 23):02d}:{rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50, 55]):02d}"
    return Value(text, keep=[(text, "keep.time")])


def _grouped(whole: int, separator: str) -> str:
    return f"{whole:,}".replace(",", separator)


def amount(rng: Random, lang: str) -> Value:
    whole = rng.choice(
        [rng.randrange(10, 999), rng.randrange(1000, 99_999), rng.randrange(1000, 9999)]
    )
    cents = rng.randrange(0, 100)
    grouped = rng.random() < 0.5
    if lang in ("zh", "en"):
        number = (_grouped(whole, ",") if grouped else str(whole)) + f".{cents:02d}"
        if lang == "en":
            number = rng.choice(["£", "$", "Rs. ", "€"]) + number
    elif lang == "ja":
        number = _grouped(whole, ",") if grouped else str(whole)
    elif lang == "ko":
        number = _grouped(whole * 10, ",") if grouped else str(whole * 10)
    elif lang in ("de", "es"):
        number = (_grouped(whole, ".") if grouped else str(whole)) + f",{cents:02d}"
    else:
        number = (_grouped(whole, "\u202f") if grouped else str(whole)) + f",{cents:02d}"
    return Value(number, keep=[(number, "keep.amount")])


def last4(rng: Random, lang: str) -> Value:
    text = digits(rng, 4)
    return Value(text, keep=[(text, "keep.last4")])


FLIGHTS = ["BA", "LH", "CA", "MU", "CZ", "NH", "JL", "KE", "OZ", "IB", "AF", "UA", "VY", "U2"]


def flight(rng: Random, lang: str) -> Value:
    airline = rng.choice(FLIGHTS)
    number = rng.choice([f"{rng.randrange(1, 999):04d}", str(rng.randrange(1, 9999))])
    text = f"{airline}{number}"
    return Value(text, keep=[(text, "keep.flight_train")])


def train(rng: Random, lang: str) -> Value:
    shapes = {
        "zh": lambda: f"{rng.choice('GDKZT')}{rng.randrange(1, 9999)}",
        "ja": lambda: (
            f"{rng.choice(['のぞみ', 'ひかり', 'はやぶさ', 'こだま'])}{rng.randrange(1, 400)}号"
        ),
        "ko": lambda: f"KTX {rng.randrange(1, 999)}",
        "de": lambda: f"{rng.choice(['ICE', 'IC', 'RE'])} {rng.randrange(1, 9999)}",
        "es": lambda: f"AVE {rng.randrange(1000, 9999):05d}",
        "fr": lambda: f"TGV INOUI {rng.randrange(1000, 9999)}",
        "en": lambda: (
            f"Avanti {rng.randrange(1, 9)}{pick(rng, 'ABCDEFGHJ', 1)}{rng.randrange(10, 99)}"
        ),
    }
    text = shapes[lang]()
    return Value(text, keep=[(text, "keep.flight_train")])


def order_number(rng: Random, lang: str) -> Value:
    return Value(
        rng.choice(
            [
                digits(rng, 12, first_nonzero=True),
                f"{pick(rng, 'ABCDEFGHJKLMNPQRSTUVWXYZ', 2)}{digits(rng, 8)}",
            ]
        )
    )


def waybill(rng: Random, lang: str) -> Value:
    prefix = {"zh": "SF", "ja": "", "ko": "", "de": "JJD", "es": "ES", "fr": "6A"}.get(lang, "1Z")
    return Value(prefix + digits(rng, 12))


def minutes(rng: Random, lang: str) -> Value:
    return Value(str(rng.choice([5, 10, 15, 30])))


def seat(rng: Random, lang: str) -> Value:
    return Value(f"{rng.randrange(1, 16):02d}车{rng.randrange(1, 20):02d}{rng.choice('ABCDF')}号")


def product(rng: Random, lang: str) -> Value:
    products = {
        "zh": ["小米手环8", "华为MatePad", "九阳豆浆机", "三只松鼠坚果礼盒"],
        "en": ["Kindle Paperwhite", "AirPods Pro", "Dyson V8", "LEGO Technic 42151"],
        "ja": ["ニンテンドースイッチ", "無印良品 収納ケース", "ユニクロ ダウンジャケット"],
        "ko": ["갤럭시 버즈2", "다이슨 에어랩", "LG 그램 16"],
        "de": ["Bosch Akkuschrauber", "Tchibo Kaffeemaschine", "Adidas Ultraboost"],
        "es": ["Zara abrigo de lana", "Cafetera Nespresso", "Auriculares Sony WH-1000XM5"],
        "fr": ["Machine à café Krups", "Sac Longchamp", "Aspirateur Rowenta"],
    }
    return Value(rng.choice(products[lang]))


KINDS: dict[str, tuple[str, Generator]] = {
    # credentials: never stored on the template path
    "code": ("secret", code_digits),
    "code_letters": ("secret", code_letters),
    "pnr": ("secret", booking_reference),
    "split_code": ("secret", split_code),
    "short_link": ("secret", short_link),
    "magic_link": ("secret", magic_link),
    "temp_password": ("secret", temp_password),
    "jwt": ("secret", jwt),
    "api_key": ("secret", api_key),
    "cvv": ("secret", cvv),
    "recovery_code": ("secret", recovery_code),
    "gift_code": ("secret", gift_code),
    # identifiers and other personal data
    "name": ("personal:name", name),
    "family_name": ("personal:name", family_name),
    "address": ("personal:address", address),
    "cn_id": ("personal:number", cn_id),
    "us_ssn": ("personal:number", us_ssn),
    "uk_nino": ("personal:number", uk_nino),
    "de_tax_id": ("personal:number", de_tax_id),
    "de_passport": ("personal:number", de_passport),
    "es_dni": ("personal:number", es_dni),
    "fr_nir": ("personal:number", fr_nir),
    "jp_my_number": ("personal:number", jp_my_number),
    "kr_rrn": ("personal:number", kr_rrn),
    "in_aadhaar": ("personal:number", in_aadhaar),
    "in_pan": ("personal:number", in_pan),
    "passport": ("personal:number", passport),
    "iban": ("personal:number", iban),
    "card": ("personal:number", card),
    "phone": ("personal:phone", phone_national),
    "email": ("personal:email", email),
    "upi": ("personal", upi),
    # what a person needs to read
    "date": ("public", date),
    "time": ("public", time_of_day),
    "amount": ("public", amount),
    "last4": ("public", last4),
    "flight": ("public", flight),
    "train": ("public", train),
    "order": ("public", order_number),
    "waybill": ("public", waybill),
    "minutes": ("public", minutes),
    "seat": ("public", seat),
    "product": ("public", product),
    "city": ("public", city),
}
