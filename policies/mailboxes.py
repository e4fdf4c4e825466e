"""Which email domains may be shown: large public mailbox providers, and public suffixes.

An address's domain says who the recipient is when it belongs to a family, a small firm
or a clinic (``w***@zhangwei-family.cn``); it says next to nothing when millions of people
use it (``w***@qq.com``). :func:`policies.masking.mask_email` therefore shows a domain in
full only when it is in :data:`PUBLIC_MAILBOX_DOMAINS`, and otherwise only the first
character of its registrable label and its public suffix (data minimisation, GDPR
Art. 5(1)(c), Art. 25; PIPL Art. 51 de-identification).

The public suffix is decided without the Public Suffix List (no download, no network):
the last label, or the last two when the last is a two-letter country code and the one
before it is one of :data:`GENERIC_SECOND_LEVEL_LABELS` (``com.cn``, ``co.uk``,
``co.jp``, ``com.au``, ``ne.jp``, ``or.kr`` …). Where the real list knows a deeper suffix
(``city.chiyoda.tokyo.jp``), this rule masks more than needed, never less: the label it
keeps the first character of is then a label of the suffix, not of the owner.
"""

from __future__ import annotations

PUBLIC_MAILBOX_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Apple, Yahoo, AOL, Proton, Zoho, Fastmail, Tuta, mail.com
        *("gmail.com", "googlemail.com"),
        *("outlook.com", "outlook.de", "outlook.fr", "outlook.es", "outlook.it", "outlook.jp"),
        *("hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es"),
        *("hotmail.it", "live.com", "live.co.uk", "live.fr", "live.de", "live.cn", "msn.com"),
        *("icloud.com", "me.com", "mac.com"),
        *("yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it"),
        *("yahoo.ca", "yahoo.ie", "yahoo.se", "yahoo.co.in", "yahoo.in", "yahoo.com.au"),
        *("yahoo.com.br", "yahoo.com.mx", "yahoo.com.ar", "yahoo.com.hk", "yahoo.com.tw"),
        *("yahoo.com.sg", "yahoo.co.jp", "ymail.com", "rocketmail.com"),
        *("aol.com", "proton.me", "protonmail.com", "pm.me", "zoho.com", "fastmail.com"),
        *("tutanota.com", "tuta.io", "mail.com"),
        # Germany, Austria, Switzerland, France, Italy, Spain, Poland, Czechia, UK
        *("gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.com", "web.de", "t-online.de"),
        *("freenet.de", "posteo.de", "mailbox.org"),
        *("orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net"),
        *("libero.it", "virgilio.it", "telefonica.net", "wp.pl", "o2.pl", "interia.pl"),
        *("onet.pl", "seznam.cz", "btinternet.com", "sky.com"),
        # United States ISPs
        *("comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net"),
        # China
        *("qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net"),
        *("vip.163.com", "188.com", "sina.com", "sina.cn", "sohu.com", "aliyun.com"),
        *("139.com", "189.cn", "wo.cn", "21cn.com", "tom.com"),
        # Korea, Japan, India, Russia, Brazil
        *("naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"),
        *("docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp"),
        *("nifty.com", "biglobe.ne.jp", "ocn.ne.jp", "ybb.ne.jp"),
        *("rediffmail.com", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "yandex.ru"),
        *("yandex.com", "ya.ru", "rambler.ru", "uol.com.br", "bol.com.br", "terra.com.br"),
    }
)
"""Mailbox providers with millions of users each: their domain identifies nobody."""

GENERIC_SECOND_LEVEL_LABELS: frozenset[str] = frozenset(
    {
        *("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "nom"),
        *("ac", "co", "or", "ne", "go", "ad", "ed", "gr", "lg", "re", "pe"),
        *("ltd", "plc", "me", "sch", "nhs", "gob", "gouv", "nic", "web", "firm", "gen"),
        *("ind", "res", "med"),
    }
)
"""Second-level labels under which country codes register names (``com.cn``, ``co.uk``,
``ne.jp``, ``or.kr``, ``gob.es``, ``gouv.fr``)."""


def is_public_mailbox(domain: str) -> bool:
    """Whether ``domain`` (any case) is one of :data:`PUBLIC_MAILBOX_DOMAINS`."""
    return domain.lower() in PUBLIC_MAILBOX_DOMAINS


def public_suffix_length(labels: list[str]) -> int:
    """How many of the trailing ``labels`` of a domain form its public suffix: 1 or 2.

    Two when the last label is a two-letter country code, the one before it is a generic
    second-level label, and a label is left in front of both; one otherwise.
    """
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-1].isascii()
        and labels[-1].isalpha()
        and labels[-2].lower() in GENERIC_SECOND_LEVEL_LABELS
    ):
        return 2
    return 1
