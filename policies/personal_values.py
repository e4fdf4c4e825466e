"""How a ``personal`` template parameter is shown: one masking rule per kind of value.

A template declares what each personal value is (``personal:name``, ``personal:number``,
``personal:address``, ``personal:email``, ``personal:phone``, or plain ``personal``), so
the rule does not have to guess from the text: a name keeps its initial, a number its
last four, an address its city. Data protection by default (GDPR Art. 25(2)),
pseudonymisation (GDPR Art. 32(1)(a)), de-identification (PIPL Art. 51, Art. 73(3)).

Every function is pure and total.
"""

from __future__ import annotations

import enum
import re

from policies.masking import mask_email, mask_phone

TEXT_MASK = "***"
"""What a plain ``personal`` value shows, and an address whose city was not found."""
HIDDEN = "*"


class PersonalKind(enum.StrEnum):
    """Which masking rule a ``personal`` value gets (see :func:`mask_personal`)."""

    NAME = "name"
    NUMBER = "number"
    ADDRESS = "address"
    EMAIL = "email"
    PHONE = "phone"
    TEXT = "text"
    """Plain ``personal``: nothing of the value is shown."""


def mask_personal(kind: PersonalKind, value: str) -> str:
    """Mask a ``personal`` value by its kind (GDPR Art. 25(2), Art. 32(1)(a); PIPL Art. 51):

    - ``name``: the first character and ``**`` (``张伟`` → ``张**``, ``Alice Smith`` →
      ``A**``): enough to tell two people apart in a support case, always two stars so the
      length is hidden. An empty value stays empty.
    - ``number`` (account, policy, card, order numbers): letters and digits become ``*``;
      separators (anything else) stay where they are. When the value has at least 8
      letters and digits, its last 4 stay (``6222 0212 3456 7890`` →
      ``**** **** **** 7890``, the PCI DSS v4.0 Req. 3.4.1 display limit); shorter numbers
      are hidden entirely (``AB-1234`` → ``**-****``).
    - ``address``: the city only (:func:`city_of`), ``***`` when none is found.
    - ``email``: :func:`policies.masking.mask_email`, as recipients are shown.
    - ``phone``: :func:`policies.masking.mask_phone`, as recipients are shown.
    - ``text`` (plain ``personal``): ``***``.
    """
    if kind is PersonalKind.NAME:
        stripped = value.strip()
        return f"{stripped[0]}**" if stripped else ""
    if kind is PersonalKind.NUMBER:
        return _mask_number(value)
    if kind is PersonalKind.ADDRESS:
        city = city_of(value)
        return TEXT_MASK if city is None else city
    if kind is PersonalKind.EMAIL:
        return mask_email(value)
    if kind is PersonalKind.PHONE:
        return mask_phone(value)
    return TEXT_MASK


_NUMBER_MIN_FOR_TAIL = 8
_NUMBER_TAIL = 4


def _mask_number(value: str) -> str:
    alphanumerics = sum(1 for char in value if char.isalnum())
    keep = _NUMBER_TAIL if alphanumerics >= _NUMBER_MIN_FOR_TAIL else 0
    hide = alphanumerics - keep
    out: list[str] = []
    for char in value:
        if char.isalnum() and hide > 0:
            out.append(HIDDEN)
            hide -= 1
        else:
            out.append(char)
    return "".join(out)


# --- Addresses: the city, by heuristic ---------------------------------------------------
#
# Chinese and Japanese addresses run from large to small with no separators: the city is
# the shortest leading run of Han/kana characters ending in a city, prefecture or district
# suffix. '道' is recognised only in 北海道: elsewhere in Chinese it ends a street (大道).
# A run ending in a residential-compound word (小区, 社区, 园区) is a building, not a city.
_HAN_KANA = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CITY = re.compile(rf"[{_HAN_KANA}]*?(?:北海道|[市州区區都府県县縣])")
_CJK_NOT_CITY = ("小区", "小區", "社区", "社區", "园区", "園區")
# Korean addresses: words separated by spaces; the first word ending in 시 (city) or 도
# (province) is shown, with nothing after it.
_HANGUL_CITY = re.compile(r"(?<![\uac00-\ud7af])[\uac00-\ud7af]+[시도](?![\uac00-\ud7af])")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CJK_OR_HANGUL = re.compile(rf"[{_HAN_KANA}\uac00-\ud7af]")
# Latin-script addresses run from small to large, comma-separated: the city is the last
# part with no digits once postcodes are removed, skipping states and countries.
_POSTCODE = re.compile(
    r"\b(?:\d{5,}(?:-\d{3,4})?|\d{3}-\d{4}|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b", re.IGNORECASE
)
_STATE_CODE = re.compile(r"[A-Z]{2}")
_MAX_CITY_CHARS = 48
_COUNTRIES = frozenset(
    name.casefold()
    for name in (
        *("usa", "us", "u.s.", "u.s.a.", "united states", "united states of america", "uk"),
        *("u.k.", "united kingdom", "great britain", "england", "scotland", "wales"),
        *("northern ireland", "ireland", "germany", "deutschland", "spain", "españa"),
        *("espana", "france", "japan", "nippon", "korea", "south korea", "republic of korea"),
        *("china", "prc", "p.r. china", "people's republic of china", "india", "bharat"),
        *("italy", "italia", "canada", "australia", "new zealand", "mexico", "méxico"),
        *("brazil", "brasil", "argentina", "chile", "colombia", "peru", "perú", "portugal"),
        *("netherlands", "the netherlands", "nederland", "belgium", "belgique", "belgië"),
        *("switzerland", "schweiz", "suisse", "svizzera", "austria", "österreich"),
        *("sweden", "sverige", "norway", "norge", "denmark", "danmark", "finland", "suomi"),
        *("poland", "polska", "singapore", "hong kong", "taiwan", "malaysia", "philippines"),
        *("indonesia", "thailand", "vietnam", "viet nam", "south africa", "nigeria", "kenya"),
        *("egypt", "turkey", "türkiye", "greece", "czechia", "czech republic", "hungary"),
        *("romania", "russia", "ukraine", "israel", "uae", "united arab emirates"),
        *("saudi arabia", "luxembourg"),
    )
)


def city_of(address: str) -> str | None:
    """The city an address names, or ``None`` when none is found. A heuristic, documented
    in ``docs/compliance/templates.md``; what it returns never holds a digit.

    1. Chinese/Japanese: the shortest run of Han or kana characters ending in 市, 州, 区
       (區), 县 (縣), 都, 府, 県 or 北海道, the first such run in the text, unless it ends
       in 小区/社区/园区 (``北京市朝阳区建国路88号`` → ``北京市``; ``東京都千代田区`` →
       ``東京都``).
    2. Korean: the first word ending in 시 or 도 (``서울특별시 강남구 …`` → ``서울특별시``).
    3. Latin script: split at commas and line breaks; from the last part backwards, drop
       postcodes (5+ digits, ``123-4567``, UK ``SW1A 2AA``) from every part but the first,
       skip parts without a letter, parts still holding a digit, two-letter state codes and country
       names; the first part left is the city (``1600 Amphitheatre Parkway, Mountain View,
       CA 94043, USA`` → ``Mountain View``; ``Unter den Linden 77, 10117 Berlin`` →
       ``Berlin``). A part longer than 48 characters is not a city. The first part (the
       street, or a name) is never the city, and no part holding ``@`` is: a value without
       a comma, or one naming a person or an address, shows nothing.
    """
    for match in _CJK_CITY.finditer(address):
        found = match.group()
        if not found.endswith(_CJK_NOT_CITY) and len(found) <= _MAX_CITY_CHARS:
            return found
    if _HANGUL.search(address):
        korean = _HANGUL_CITY.search(address)
        if korean is not None:
            return korean.group()
    parts = re.split(r"[,\n\r，、]", address)
    # The first part of a Latin-script address is its street, or a name: never shown
    # (``Zhang Wei, Flat 3`` and a value without a comma show nothing).
    for index in range(len(parts) - 1, 0, -1):
        part = _POSTCODE.sub(" ", parts[index])
        part = " ".join(part.split()).strip(" .;:-")
        if "@" in part:
            continue
        if any(char.isdigit() for char in part) or len(part) > _MAX_CITY_CHARS:
            continue
        if not any(char.isalpha() for char in part):
            continue
        if _CJK_OR_HANGUL.search(part):
            continue  # its rule above found no city in it
        if _STATE_CODE.fullmatch(part) or part.casefold() in _COUNTRIES:
            continue
        return part
    return None
