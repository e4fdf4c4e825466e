"""Masking free text: what a message body, a provider error or a provider response may show.

The rules read a text once, left to right, with one regular expression that finds the
spans worth a decision (links, addresses, phone numbers, tokens, dates, numbers and the
words around them); everything between the spans is kept as it is. Each span is then
decided by its shape and by the nearest keyword before it (:mod:`policies.masking_vocabulary`):
a number after "尾号" is the last four of a card and is kept, the same number after
"验证码" is a code and is hidden. Where nothing decides, the rule leans to hiding: a leak
cannot be taken back, an over-masked digit can be read in the template path.

Pure, total (never raises), idempotent (masking masked text gives it back) and linear
in the length of the text: every repetition that can start at many positions is
anchored by a look-behind at the start of its run or bounded, and context look-ups read
a bounded window.

:mod:`policies.masking` wires the recipient rules in (``mask_phone``, ``mask_email``): a
phone number or an address inside a text is masked the way a recipient is.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from policies import masking_vocabulary as vocabulary

HIDDEN = "*"
TOKEN_MASK = "******"  # noqa: S105 - the mask, not a secret
"""What a credential token becomes (a link key, a password, a JWT): its length is not
shown, and it masks to itself."""

_MAX_SHORT_CODE_DIGITS = 8
"""Numbers up to this long (codes, PINs) are hidden entirely."""
_MIN_REVEALING_DIGITS = 4
"""Numbers with fewer digits than this are kept: they identify nothing."""
_KEPT_TAIL = 4
"""Longer numbers (cards, accounts, phone numbers) keep their last four (PCI DSS v4.0
Req. 3.4.1); that also hides at least half of any phone number of 8 digits or more."""
_KEYWORDS_LOOKED_AT = 8
"""How many keywords before a value (in its sentence) are tried, nearest first."""
_NEAR = 8
"""How close (characters) a keyword must be for the rules that need it right before
the value: last four, amount, order, travel, and codes overriding a kept shape."""
_MAX_LOCAL_PART = 64
"""How many characters before an '@' are taken as a local part (RFC 5321 §4.5.3.1.1)."""

# Characters of an email local part: letters and digits of alphabetic scripts
# (internationalised addresses, RFC 6531), the common ASCII atext signs, and '*'. CJK,
# kana and hangul are left out: Chinese and Japanese text runs into an address with no
# space between (a CJK local part is taken back at the '@': _Masker.cjk_address).
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_LOCAL = rf"(?:[^\W{_CJK}]|[.%+\-*])"
# Characters of a URL scheme (RFC 3986 §3.1), with any decimal digit and '*'.
_SCHEME = r"[A-Za-z\d+.\-*]"
# A URL runs to whitespace, angle brackets, double quotes or CJK/full-width punctuation
# (Chinese text often puts no space after a link).
_URL_END = (
    r"\s<>\"\u2018-\u201f\u2026\u3000-\u303f"
    r"\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
)
_URL_CHAR = rf"[^{_URL_END}]"
_HOST_CHAR = rf"[^{_URL_END}@/?#]"
# Domain labels: letters and digits of alphabetic scripts, '-', and '*' where digits were
# (so an address reads the same once masked). No CJK: a domain must not run on into the
# Chinese text after it ("…@example.com验证码123456"). A "domain" that runs on into
# another '@' is the local part of the next address.
_LABEL = rf"(?:[^\W_{_CJK}]|[*-])++"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})++"
_EMAIL = rf"(?<!{_LOCAL}){_LOCAL}{{1,64}}+@{_DOMAIN}(?!{_LOCAL}*+@)"
# An address, or a UPI id (name@okaxis): a "domain" of one label.
_EMAIL_OR_UPI = (
    rf"(?<!{_LOCAL}){_LOCAL}{{1,64}}+@(?:{_DOMAIN}(?!{_LOCAL}*+@)"
    rf"|[A-Za-z][A-Za-z0-9]{{1,19}}+(?![\w@+%\-*]|\.[\w.%+\-*]))"
)
_DIGIT_RUN = r"(?<![\d*])[\d*]++"
_ALNUM = r"A-Za-z\d*"
_WORD_START = rf"(?<![{_ALNUM}])"
_WORD_END = rf"(?![{_ALNUM}])"
_CLAUSE_END = r"(?=[.,;!?](?![\w*])|[。，、！？」】）)\]]|[ \t]*+(?:\n|\Z))"


def _trie(words: list[str], *, fold_case: bool) -> str:
    """An alternation of ``words`` written as a trie (``验证码|验证`` → ``验证码?``), so
    that the engine tests one literal per branch and prefers the longest word. With
    ``fold_case`` the first letter is a literal in both cases (so a position that
    starts no word is rejected at once) and the others are character classes."""
    root: dict[str, dict[str, object]] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}

    def build(node: dict[str, object], depth: int) -> str:
        branches = []
        for char, child in sorted(node.items()):
            if not char:
                continue
            rest = build(child, depth + 1)  # type: ignore[arg-type]
            upper, lower = char.upper(), char.lower()
            if not fold_case or upper == lower or len(upper) != 1:
                branches.append(re.escape(char) + rest)
            elif depth == 0:
                branches.extend((re.escape(lower) + rest, re.escape(upper) + rest))
            else:
                branches.append(f"[{re.escape(lower)}{re.escape(upper)}]{rest}")
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?" if len(branches) == 1 else f"{body}?"
        return body

    return build(root, 0)  # type: ignore[arg-type]


_CATEGORY_OF: dict[str, str] = {
    word.casefold(): category for category, words in vocabulary.KEYWORDS.items() for word in words
}
_FOLDED_WORDS = [
    word.lower()
    for words in vocabulary.KEYWORDS.values()
    for word in words
    if word not in vocabulary.EXACT_CASE_WORDS
]
# Two tries, not one: each starts with fewer first characters, so the engine skips to
# candidate positions faster and tries fewer branches there (about 3x faster).
_LATIN_KEYWORD = re.compile(
    _trie([word for word in _FOLDED_WORDS if ord(word[0]) < 0x250], fold_case=False)
)
_OTHER_KEYWORD = re.compile(
    _trie([word for word in _FOLDED_WORDS if ord(word[0]) >= 0x250], fold_case=False)
)
_EXACT_KEYWORD = re.compile(_trie(sorted(vocabulary.EXACT_CASE_WORDS), fold_case=False))
_PASSWORD_WORD = _trie(list(vocabulary.KEYWORDS[vocabulary.PASSWORD]), fold_case=True)
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ÿ]")


# After a password word: a connector ("is", ":", "为", "は", "는"…), then the value, a
# run of printable characters up to whitespace or CJK text or punctuation.
_PASSWORD_VALUE = re.compile(
    r"(?P<gap>[ \t]*+(?:\([^)\n]{0,20}\))?[ \t]*+"
    r"(?:(?:[:：=]|(?i:is|ist|lautet|es|est|sera|will be|wird))[ \t]*+[:：]?[ \t]*+"
    r"|(?:为|是|は|：|는|은|이|が)[ \t]*+(?:[:：][ \t]*+)?))"
    r"(?P<value>[!-~]{1,64}+)"
)
_PUNCTUATION_CONNECTOR = re.compile(r"[:：=为是は는은이が]")
_VALUE_TRAILING_PUNCTUATION = ".,;!?)]}'\""
_CONNECTOR_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:is|ist|lautet|es|est)[ ]|[:：][ ]?|为|是|[码碼ド드])\Z"
)
_CONNECTOR = re.compile(
    r"[\s:：=\[(（【「『\"']*+(?:(?i:is|ist|lautet|es|est)|为|是|は|는|은)?[\s:：=\[(（【「『\"']*+"
)
_LOCAL_START = re.compile(_LOCAL)
_KEY_TO_VALUE = re.compile(r"[\"'\\]{1,2}[ ]?:[ ]?[\"'\\]{0,2}")
_ERROR_PATH = re.compile(r"/(?i:errors?|error-codes?|errorcodes?)/\Z")
_ERROR_PATH_LENGTH = len("/error-codes/")
"""How far back _ERROR_PATH looks: a bounded window, so that each digit run of a long
path costs the same (a search from the start of the link made it quadratic)."""
_SPACE = re.compile(r"[ \u00a0\u202f]")
_PLAIN_WORD = re.compile(r"[A-Za-z]?[a-z]+")
# A full stop ends a sentence, but not after a number abbreviation ("passport no. …",
# "Nr. …", "núm. …"): the word before it still names the number after it.
# (The dot first: look-behinds tried at every position would cost more than the rest.)
_SENTENCE_END = re.compile(r"[。！？\n]|[!?] |\.(?<!\b[Nn]o\.)(?<!\bNr\.)(?<!\b[nN]úm\.) ")

_CREDENTIAL_SHAPES = (
    r"eyJ[A-Za-z0-9_-]{6,}+\.[A-Za-z0-9_-]{6,}+(?:\.[A-Za-z0-9_-]*+)?"
    r"|(?:[spr]k_(?:live|test)_[A-Za-z0-9]{8,}+"
    r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}+|github_pat_[A-Za-z0-9_]{20,}+"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}+|AIza[A-Za-z0-9_-]{30,}+"
    r"|SG\.[A-Za-z0-9_-]{16,}+\.[A-Za-z0-9_-]{16,}+)"
)
_DATE = (
    # 2026-10-08, 2026/10/08, 2026.10.08, 2026年10月8日, 2026年, 2026년 10월 8일
    r"(?:19|20)\d\d(?:-[01]?\d-[0-3]?\d|/[01]?\d/[0-3]?\d|\.[01]?\d\.[0-3]?\d"
    r"|[ ]?年(?:[ ]?[01]?\d[ ]?月(?:[ ]?[0-3]?\d[ ]?日)?)?"
    r"|[ ]?년(?:[ ]?[01]?\d[ ]?월(?:[ ]?[0-3]?\d[ ]?일)?)?)"
    # 08.10.2026, 10/08/2026, 08-10-2026
    r"|[0-3]?\d(?:\.[0-3]?\d\.|/[0-3]?\d/|-[0-3]?\d-)(?:19|20)\d\d"
)


def _two_letter_trie(codes: frozenset[str]) -> str:
    """``CA|CZ|MU`` as ``C[AZ]|MU``: one literal test per first letter keeps the scan fast."""
    by_first: dict[str, list[str]] = {}
    for code in sorted(codes):
        by_first.setdefault(code[0], []).append(code[1])
    return "|".join(f"{first}[{''.join(rest)}]" for first, rest in by_first.items())


_AIRLINE = _two_letter_trie(vocabulary.AIRLINE_CODES)
_TRAIN_PREFIX = "|".join(
    re.escape(prefix) for prefix in sorted(vocabulary.TRAIN_PREFIXES, key=len, reverse=True)
)

# Each alternative starts with a cheap test of its first character (a literal or a
# class, or a look-ahead of one class) before any look-behind: most positions of a text
# start nothing, and that is how they are passed over quickly.
_CONTENT = re.compile(
    rf"(?P<url>(?=[\d+.\-*A-Za-z])(?<!{_SCHEME})[\d+.\-*]*+[A-Za-z]{_SCHEME}*+://{_URL_CHAR}*+)"
    rf"|(?P<bare_url>://{_URL_CHAR}*+)"
    rf"|(?P<www>[Ww]{{3}}\.{_HOST_CHAR}++(?!@)(?:[/?#]{_URL_CHAR}*+)?)"
    # An address (or a UPI id, name@okaxis: a "domain" without a dot), and what follows
    # it if it is the host of a URL (user@host/path?query).
    rf"|(?P<email>(?=[^\W{_CJK}]|[.%+\-*]){_EMAIL_OR_UPI}(?:[/?#]{_URL_CHAR}*+)?)"
    # An address whose local part is written in CJK: the part before '@' is taken from
    # the text already read (see _Masker.cjk_address).
    rf"|(?P<cjk_email>@(?<=[{_CJK}]@){_DOMAIN}(?!{_LOCAL}*+@)(?:[/?#]{_URL_CHAR}*+)?)"
    rf"|(?P<host_url>(?=[A-Za-z0-9*\-])(?<![.@*+\-])(?<![^\W{_CJK}])"
    rf"(?:[A-Za-z0-9*\-]++\.)++[A-Za-z]{{2,24}}[/?#]{_URL_CHAR}*+)"
    # Anchored at the start of its token: a key shape repeated inside one long token
    # must not be tried (and scanned to the token's end) at each repetition.
    rf"|(?P<secret>(?=[epragxAS])(?<![A-Za-z0-9_.\-])(?:{_CREDENTIAL_SHAPES}))"
    r"|(?P<bearer>[Bb](?<![A-Za-z][Bb])(?:earer|EARER|asic|ASIC)[ \t]++[A-Za-z0-9._~+/=-]{8,}+)"
    rf"|(?P<password>{_PASSWORD_WORD})"
    r"|(?P<phone>\+[0-9](?:[0-9*]|[ -][0-9]){7,14}"
    r"(?![A-Za-z\d_%+\-*@])(?!\.[A-Za-z\d._%+\-*@:])(?!://))"
    r"|(?P<mobile>1(?<![\d*]1)[3-9][0-9][0-9*]{4}[0-9]{4}(?![\d*]))"
    rf"|(?=[{_ALNUM}]){_WORD_START}(?:"
    rf"(?P<date>(?:{_DATE})(?![0-9]))"
    rf"|(?P<ni>[A-Z]{{2}}[ ]?[0-9]{{2}}[ ]?[0-9]{{2}}[ ]?[0-9]{{2}}[ ]?[A-D]{_WORD_END})"
    rf"|(?P<iban>[A-Z]{{2}}[0-9]{{2}}(?:[ ]?[A-Z0-9*]{{4}}){{2,7}}+"
    rf"(?:[ ]?[A-Z0-9*]{{1,3}})?+{_WORD_END})"
    # Gift-card and recovery codes: three or more groups of 4–5 capitals and digits.
    rf"|(?P<grouped>[A-Z0-9*]{{4,5}}(?:-[A-Z0-9*]{{4,5}}){{2,}}+{_WORD_END})"
    # Capitals only: a code if it stands right after a code word (``code: KXQJZT``).
    rf"|(?P<capitals>[A-Z]{{4,12}}{_WORD_END})"
    # Lowercase letters alone between a connector and the end of a clause
    # (``code is jwculk.``): a code if a code word stands before (see _Masker.lowercase).
    # (Look-behinds of the connectors' last characters: most words fail there at once;
    # no connector after a CJK code word: 验证码kxqjzt.)
    r"|(?P<lowercase>(?:(?<=[ie]s )|(?<=[es]t )|(?<=[:：] )|(?<=[:：为是码碼ド드]))"
    rf"[a-z]{{4,12}}+{_CLAUSE_END})"
    rf"|(?P<flight>(?:{_AIRLINE})[ ]?[0-9]{{1,4}}{_WORD_END})"
    rf"|(?P<train>(?:[GDCZTKYS][0-9]{{1,4}}(?=次|{_WORD_END})"
    rf"|(?:{_TRAIN_PREFIX})[ ]?[0-9]{{1,5}}){_WORD_END})"
    # A token with a digit (or a '*' where one was) and what is joined to it: groups of
    # letters and digits joined by - . _ , ' and digit groups joined by single spaces.
    # Not the start of a host name with a path: that is a link (rules above).
    rf"|(?P<chunk>(?=[A-Za-z]{{0,12}}+(?:[-._][A-Za-z]{{1,12}}+){{0,3}}+[-._]?[\d*])"
    rf"(?![{_ALNUM}\-_]*+(?:\.[A-Za-z0-9\-]++){{0,8}}?\.[A-Za-z]{{2,24}}[/?#])"
    rf"[{_ALNUM}]++(?:[-._][{_ALNUM}]++"
    rf"|[,'][\d*]++(?![A-Za-z])"
    rf"|[ \u00a0\u202f][\d*]++(?![A-Za-z]|[-./:][\d*]|[\w.%+\-*]*+@))*+))"
    rf"|(?P<digits>[\d*](?<![\d*][\d*])[\d*]*+)"
)
_DIGIT_RUNS = re.compile(_DIGIT_RUN)
_ASCII_DIGIT_RUNS = re.compile(r"[\d*]+")
_URL_PART = re.compile(rf"(?P<email>{_EMAIL})|(?P<digits>{_DIGIT_RUN})")
_PATH_START = re.compile(r"[/?#]")
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}'\""

# Shapes of a chunk (a token with digits), tried in order by _mask_chunk.
_NUMERIC = re.compile(r"[\d*]+(?:[-.,' \u00a0\u202f][\d*]+)*")
_AMOUNT = re.compile(
    r"[0-9]{1,3}(?:([,.' \u00a0\u202f])[0-9]{3})(?:\1[0-9]{3})*(?:[.,][0-9]{1,2})?"
    r"|[0-9]+(?:[.,][0-9]{1,2})?"
)
_DECIMAL_AMOUNT = re.compile(
    r"[0-9]{1,3}(?:([,.' \u00a0\u202f])[0-9]{3})(?:\1[0-9]{3})*[.,][0-9]{2}|[0-9]+[.,][0-9]{2}"
)
_CURRENCY = "|".join(
    re.escape(word) for word in sorted(vocabulary.CURRENCY_WORDS, key=len, reverse=True)
)
_CURRENCY_BEFORE = re.compile(
    rf"(?:[{vocabulary.CURRENCY_SIGNS}]|(?<![A-Za-z])(?:{_CURRENCY}))[ \u00a0]?\Z"
)
_CURRENCY_AFTER = re.compile(
    rf"[ \u00a0]?(?:[{vocabulary.CURRENCY_SIGNS}]|(?:{_CURRENCY})(?![A-Za-z]))"
)
_MONTH_NEAR = re.compile(
    "|".join(rf"(?<![A-Za-zÀ-ÿ])(?i:{re.escape(m)})(?![A-Za-zÀ-ÿ])" for m in vocabulary.MONTH_NAMES)
    + r"|[©]|(?i:copyright)|\(c\)"
)
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_SHORT_DATE = re.compile(r"([0-3]?[0-9])([./-])([0-3]?[0-9])\2([0-9]{2})")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SMTP = re.compile(r"[245][0-9]{2} [245]\.[0-9]{1,3}\.[0-9]{1,3}")
_ERROR_PREFIX = re.compile(r"[A-Z]{2,8}:\Z")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_WHOLE_IDENTITY = re.compile(
    r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}"  # US SSN
    r"|[0-9]{6}-[0-9]{7}"  # KR resident registration number
    r"|[0-9]{8}-?[A-Z]|[XYZ]-?[0-9]{7}-?[A-Z]"  # ES DNI, NIE
    r"|[A-Z]{5}[0-9]{4}[A-Z]"  # IN PAN
)
_TOLL_FREE = re.compile(
    r"(?:400|800)[0-9]{7}"  # CN
    r"|1?8(?:00|88|77|66|55|44|33)[0-9]{7}"  # US/CA
    r"|0800[0-9]{6,7}|0808[0-9]{7}|(?:900|800)[0-9]{6}|0805[0-9]{6}"  # UK, DE, FR, ES
    r"|0120[0-9]{6}|0570[0-9]{6}|0800[0-9]{7}"  # JP
    r"|1(?:588|577|544|566|599|600|644|661|670|688|800|899)[0-9]{4}"  # KR
    r"|1800[0-9]{6,7}"  # IN, AU
)
# The same service numbers written with their country's calling code (+86 400…, +1 800…):
# kept only under the calling code of the country that has the shape.
_TOLL_FREE_BY_CALLING_CODE = {
    "86": re.compile(r"(?:400|800)[0-9]{7}"),
    "1": re.compile(r"8(?:00|88|77|66|55|44|33)[0-9]{7}"),
    "44": re.compile(r"800[0-9]{6,7}|808[0-9]{7}"),
    "49": re.compile(r"800[0-9]{6,7}"),
    "33": re.compile(r"80[05][0-9]{6}"),
    "34": re.compile(r"(?:900|800)[0-9]{6}"),
    "81": re.compile(r"(?:120|570)[0-9]{6}|800[0-9]{7}"),
    "82": re.compile(r"1(?:588|577|544|566|599|600|644|661|670|688|800|899)[0-9]{4}"),
    "91": re.compile(r"1800[0-9]{6,7}"),
    "61": re.compile(r"1800[0-9]{6}"),
}
# Mobile numbers in the national formats of the supported languages' countries: CN, UK,
# FR, ES, DE, JP, KR, IN. A number of this shape is a person's even after "call us".
_MOBILE_NUMBER = re.compile(
    r"1[3-9][0-9]{9}|07[0-9]{9}|0[67][0-9]{8}|[67][0-9]{8}|01[5-7][0-9]{8,9}"
    r"|0[789]0[0-9]{8}|01[016789][0-9]{7,8}|[6-9][0-9]{9}"
)
_HOTLINE_GAP = re.compile(
    r"[ \t\u00a0\u3000]*+(?:[:：]|は|(?:on|at|au|al|le|unter|an|über)(?=[ \t]))?"
    r"[ \t\u00a0\u3000:：]*+"
)
_SERVICE_DIGITS = range(3, 13)
# What a one-time code looks like (482913, 482 913), as opposed to a service number with
# its trunk prefix or its groups (0571-88157858, 1588-1234).
_CODE_SHAPED_NUMBER = re.compile(r"[1-9][0-9]{3,7}|[0-9]{3}[ -][0-9]{3}")
_PERSONAL_BEFORE_HOTLINE = re.compile(
    rf"(?:(?<![A-Za-zÀ-ÿ])(?i:{'|'.join(map(re.escape, vocabulary.PERSONAL_BEFORE_HOTLINE))})"
    r"[ \t]*+[:：]?[ \t]*+|(?:紧急|緊急|등록된|비상)[ ]?)\Z"
)
# UK non-geographic numbers as the UK writes them (0345 734 5345, 0300 200 3300, 0844 …):
# 03 numbers are for organisations, 08 numbers are free or business rate. Only in this
# grouping: an 11-digit 03… run may be a Korean landline (031-1234-5678).
_UK_SERVICE_NUMBER = re.compile(r"0(?:3[0-9]{2}|8(?:00|08|4[2-5]|7[0-3]))[ -][0-9]{3}[ -][0-9]{4}")
_GROUPED_CODE = re.compile(r"[A-Za-z0-9*]{4,5}(?:[- ][A-Za-z0-9*]{4,5})+")
_BOOKING_CODE = re.compile(r"[A-Z]{2,4}-[0-9]{3,4}")
_NUMBER_WITH_UNIT = re.compile(r"[0-9]{1,3}[a-z]{1,7}")
# A number the sender already masked down to its last four: ****1234, XX9405 (Indian
# banks write "A/c XX9405").
_STARRED_LAST_FOUR = re.compile(r"[*xX]{2,}[0-9]{4}")
_TOKEN_PIECE = re.compile(r"[A-Za-z\d]+")
_SEGMENT_PIECES = re.compile(r"[-_.~]")
# A short host: one or two labels of 1–5 letters or digits before the top-level domain
# (amzn.asia, me2.kr, s.id). With a single key-shaped path segment it is a short link
# even when its shortener is not in the list: the key is the whole secret.
_SHORT_HOST = re.compile(r"(?:[a-z0-9]{1,5}\.){1,2}[a-z]{2,6}")
_SHORT_LINK_KEY = re.compile(r"[A-Za-z0-9]{4,16}")
_AUTH_PATH_WORDS = frozenset(
    {
        *("login", "signin", "magic", "magic-link", "reset", "password", "verify"),
        *("verification", "confirm", "activate", "activation", "token", "auth", "invite"),
        *("r", "s", "l", "t", "go", "link", "otp", "sso", "session", "unsubscribe", "k"),
    }
)

PhoneMasker = Callable[[str], str]
EmailMasker = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class _Context:
    category: str | None
    gap: str
    keyword: str = ""
    keyword_start: int = 0


_NO_CONTEXT = _Context(None, "")
_HIDING = (vocabulary.CODE, vocabulary.PASSWORD, vocabulary.IDENTITY)
_KEEPING = (vocabulary.ERROR, vocabulary.ORDER, vocabulary.TRAVEL, vocabulary.AMOUNT)
_MIN_IDENTIFIER_DIGITS = 9
"""Phone numbers in national formats have 9 digits or more."""
_MIN_CARD_DIGITS = 13
"""Card numbers (ISO/IEC 7812) have 13 to 19 digits."""
_MIN_LONG_RUN_DIGITS = 15
"""A run this long is a card, an account or an id, whatever word stands before it."""
_MASKED_GROUP = re.compile(r"(?:(?<=[ \u00a0\u202f])|^)\*++(?:[ \u00a0\u202f]|$)")
_CN_IDENTITY = re.compile(r"[0-9*]{17}[0-9Xx*]")
# An Amazon order number (112-4567890-1234567): 17 digits, but no card, id or phone
# is written in these groups.
_MARKETPLACE_ORDER = re.compile(r"[0-9*]{3}-[0-9*]{7}-[0-9*]{7}")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:([,.'])[0-9]{3})(?:\1[0-9]{3})+")


def mask_free_text(text: str, *, mask_phone: PhoneMasker, mask_email: EmailMasker) -> str:
    """``text`` with credentials and identifiers hidden.

    See :func:`policies.masking.mask_content`; ``mask_phone`` and ``mask_email`` are the
    recipient rules, applied to phone numbers and addresses found in the text.
    """
    return _Masker(text, mask_phone, mask_email).run()


class _Masker:
    """One pass over one text. Pieces are collected so that a rule can still change text
    it has passed (a CJK local part is only known to be one at the '@')."""

    def __init__(self, text: str, mask_phone: PhoneMasker, mask_email: EmailMasker) -> None:
        self.text = text
        self.mask_phone = mask_phone
        self.mask_email = mask_email
        self.pieces: list[str] = []
        self._keywords: list[tuple[int, int, str]] | None = None
        self._sentence_starts: list[int] | None = None
        self.keyword_starts: list[int] = []
        self.keyword_ends: list[int] = []

    def run(self) -> str:
        text = self.text
        position = 0
        while True:
            match = _CONTENT.search(text, position)
            if match is None:
                break
            start = match.start()
            self.pieces.append(text[position:start])
            replacement, end = self.decide(match)
            self.pieces.append(replacement)
            position = end
        self.pieces.append(text[position:])
        return "".join(self.pieces)

    def decide(self, match: re.Match[str]) -> tuple[str, int]:
        kind = match.lastgroup
        found = match.group()
        end = match.end()
        if kind == "chunk":
            return self.chunk(match.start(), end), end
        if kind == "digits":
            return _mask_digit_run(found), end
        if kind == "date":
            return found, end
        if kind == "password":
            return self.password(match)
        if kind in ("secret", "bearer"):
            return _mask_secret(found), end
        if kind == "mobile":
            context = self.context_before(match.start())
            if context.category == vocabulary.IDENTITY and len(context.gap) <= _NEAR:
                # A Steuer-ID (11 digits) can look like a Chinese mobile number.
                return _hide_all(found), end
        if kind in ("phone", "mobile"):
            return self.phone(found), end
        if kind == "email":
            if "@" in found and "." not in found[found.index("@") :]:
                local, _, handle = found.partition("@")
                return f"{local[0]}***@{handle}", end
            path = _PATH_START.search(found, found.index("@"))
            if path is None:
                return self.mask_email(found), end
            return self.mask_email(found[: path.start()]) + self.url(found[path.start() :]), end
        if kind == "cjk_email":
            path = _PATH_START.search(found)
            if path is None:
                return self.cjk_address(found), end
            return self.cjk_address(found[: path.start()]) + self.url(found[path.start() :]), end
        if kind == "grouped":
            if any(char.isalpha() for char in found):
                return _hide_all(found), end
            return self.chunk_text(match.start(), found), end
        if kind == "capitals":
            return self.capitals(match.start(), found), end
        if kind == "lowercase":
            return self.lowercase(match.start(), found), end
        if kind in ("flight", "train"):
            return self.travel(match.start(), found, kind), end
        if kind in ("ni", "iban"):
            return self.identifier(match.start(), found, kind), end
        return self.url(found), end

    # --- context ------------------------------------------------------------------

    def context_before(self, start: int) -> _Context:
        """The nearest keyword before ``start``, in the same sentence, that applies to a
        value there. Not a distance in characters: masking shortens the text between a
        word and its value (a link, a token), and masking twice must decide the same."""
        text = self.text
        keywords = self.keywords()
        sentence_start = self.sentence_start(start)
        index = bisect.bisect_right(self.keyword_ends, start)
        for _ in range(_KEYWORDS_LOOKED_AT):
            if index == 0:
                break
            index -= 1
            keyword_start, keyword_end, category = keywords[index]
            if keyword_start < sentence_start:
                break
            gap = text[keyword_end:start]
            keyword = text[keyword_start:keyword_end]
            if _is_quoted_key(text, keyword_start, keyword_end) and not _KEY_TO_VALUE.fullmatch(
                gap
            ):
                # A JSON key ("code": …) names its own value only, not the rest of the object.
                continue
            if category in _HIDING:
                if category == vocabulary.CODE and _is_json_number_key(
                    text, keyword_start, keyword_end, start
                ):
                    return _Context(vocabulary.ERROR, gap, keyword, keyword_start)
                return _Context(category, gap, keyword, keyword_start)
            if len(gap) <= _NEAR:
                return _Context(category, gap, keyword, keyword_start)
            if category == vocabulary.ERROR and len(gap) <= 2 * _NEAR:
                return _Context(category, gap, keyword, keyword_start)
        return _NO_CONTEXT

    def sentence_start(self, position: int) -> int:
        if self._sentence_starts is None:
            self._sentence_starts = [0] + [end.end() for end in _SENTENCE_END.finditer(self.text)]
        starts = self._sentence_starts
        return starts[bisect.bisect_right(starts, position) - 1]

    def code_word_after(self, end: int) -> bool:
        """Whether the next keyword is a code word, in the same sentence, with nothing
        the rules would mask in between ("2C2ZRJ 是您的验证码", "K3J9X2 is your code")."""
        keywords = self.keywords()
        index = bisect.bisect_left(self.keyword_starts, end)
        if index == len(keywords):
            return False
        keyword_start, _, category = keywords[index]
        return (
            category in (vocabulary.CODE, vocabulary.PASSWORD)
            and self.sentence_start(keyword_start) <= end
            and not self.value_between(end, keyword_start)
        )

    def value_between(self, start: int, end: int) -> bool:
        """Whether a span the rules decide stands in ``text[start:end]``. A lowercase
        word is not one (it is a value only as a code word's predicate), and a search
        that ends at ``end`` would see the end of a clause there."""
        match = _CONTENT.search(self.text, start, end)
        while match is not None and match.lastgroup == "lowercase":
            match = _CONTENT.search(self.text, match.end(), end)
        return match is not None

    def keywords(self) -> list[tuple[int, int, str]]:
        """The keywords of the whole text, found once, when the first value needs them."""
        if self._keywords is None:
            self._keywords = _keywords_in(self.text, 0, len(self.text))
            self.keyword_starts = [keyword[0] for keyword in self._keywords]
            self.keyword_ends = [keyword[1] for keyword in self._keywords]
        return self._keywords

    # --- rules --------------------------------------------------------------------

    def chunk(self, start: int, end: int) -> str:
        chunk = self.text[start:end]
        digits = sum(map(str.isdigit, chunk))
        if digits == 0 or (digits < 3 and chunk.isdigit()):
            return chunk
        context = self.context_before(start)
        category = context.category
        if category == vocabulary.HOTLINE and self.is_service_number(chunk, end, context):
            return chunk
        decided = self.by_context(chunk, digits, context)
        if decided is not None:
            return decided
        if self.kept_shape(chunk, start, end, near_code=category == vocabulary.CODE):
            return chunk
        peeled = self.peel(chunk, start, end, context)
        if peeled is not None:
            return peeled
        if HIDDEN * _MIN_REVEALING_DIGITS in chunk:
            return _mask_by_shape(chunk, digits)
        near_code_word = category in (vocabulary.CODE, vocabulary.PASSWORD) or (
            category is None and _is_code_like(chunk) and self.code_word_after(end)
        )
        if near_code_word and (_is_code_like(chunk) or (digits >= 3 and len(context.gap) <= _NEAR)):
            return _hide_all(chunk)
        return _mask_by_shape(chunk, digits)

    def is_service_number(self, chunk: str, end: int, context: _Context) -> bool:
        """A number right after a hotline word is the sender's, unless the word is about
        the person ("te llama al", "your emergency contact"), a code word still waits
        for its value ("code … customer service: 482913", "客服：482913是您的验证码"),
        or the number has a mobile shape."""
        before = self.text[max(0, context.keyword_start - 16) : context.keyword_start]
        if _PERSONAL_BEFORE_HOTLINE.search(before):
            return False
        if not _is_service_number(chunk, context.gap):
            return False
        if _CODE_SHAPED_NUMBER.fullmatch(chunk) and self.code_word_waiting(context.keyword_start):
            return False
        return not self.code_word_after(end)

    def code_word_waiting(self, position: int) -> bool:
        """Whether the keyword before ``position`` is a code word of the same sentence
        with no value after it yet."""
        index = bisect.bisect_left(self.keyword_starts, position) - 1
        if index < 0:
            return False
        _, keyword_end, category = self.keywords()[index]
        return (
            category in (vocabulary.CODE, vocabulary.PASSWORD)
            and self.sentence_start(position) <= keyword_end
            and not self.value_between(keyword_end, position)
        )

    def peel(self, chunk: str, start: int, end: int, context: _Context) -> str | None:
        """Digit groups joined by spaces are read as one number (``0151 23456789``), but
        two numbers may stand side by side: the last four after "尾号" and an amount
        (``끝자리 1234 50000원``). Split those off and decide the rest on its own."""
        first_space = _SPACE.search(chunk)
        if first_space is None:
            return None
        text = self.text
        head = chunk[: first_space.start()]
        rest = first_space.end()
        last_space = list(_SPACE.finditer(chunk))[-1]
        tail = chunk[last_space.end() :]
        amount_after = bool(_AMOUNT.fullmatch(tail) and _CURRENCY_AFTER.match(text, end))
        if context.category == vocabulary.LAST_FOUR and len(head) == _KEPT_TAIL and head.isdigit():
            if _is_unmasked_identifier_shape(chunk) and not amount_after:
                # "ending 4111 1111 1111 1111": a card number follows the word, not
                # its last four: the whole is masked and its own last four are shown.
                return _keep_last_four(chunk)
            return chunk[:rest] + self.chunk(start + rest, end)
        if _YEAR.fullmatch(head) and _MONTH_NEAR.search(text, max(0, start - 16), start):
            # "8 October 2026 10 …": the year, then another number.
            return chunk[:rest] + self.chunk(start + rest, end)
        if amount_after:
            return self.chunk(start, start + last_space.start()) + chunk[last_space.start() :]
        return None

    def by_context(self, chunk: str, digits: int, context: _Context) -> str | None:
        category = context.category
        if category == vocabulary.IDENTITY:
            return _hide_all(chunk) if len(chunk) >= 6 else None
        if category == vocabulary.LAST_FOUR:
            tail = chunk.lstrip("*xX•")
            if len(tail) == _KEPT_TAIL and tail.isdigit():
                return chunk
            return None
        if category in _KEEPING and _is_unmasked_identifier_shape(
            chunk, plain_runs=category in (vocabulary.ERROR, vocabulary.TRAVEL)
        ):
            # Decided before any keep word: "error 4111 1111 1111 1111" is a card
            # number, "order 138 1234 8000" a phone number (masked by their shape).
            return None
        if category in (vocabulary.ORDER, vocabulary.TRAVEL):
            return chunk
        if category == vocabulary.ERROR:
            return chunk
        if category == vocabulary.AMOUNT and _AMOUNT.fullmatch(chunk) and not chunk.isdigit():
            # Amount syntax (1,234 / 12.50); a bare number after an amount word is one
            # only with its currency next to it (kept_shape): "amount 482913" is not.
            return chunk
        # Right after a code word, even a hotline-shaped or number-shaped value is a code.
        if (
            category == vocabulary.CODE
            and len(context.gap) <= _NEAR
            and (digits >= 3 or _is_code_like(chunk))
            and not _YEAR_DATE.fullmatch(chunk)
        ):
            return _hide_all(chunk)
        return None

    def kept_shape(self, chunk: str, start: int, end: int, *, near_code: bool) -> bool:
        """Shapes a person needs to read and no credential takes."""
        text = self.text
        if _UUID.fullmatch(chunk) or _SMTP.fullmatch(chunk):
            return True
        if _NUMERIC.fullmatch(chunk):
            compact = _ASCII_DIGIT_RUNS.findall(chunk)
            number = "".join(compact)
            if (
                _AMOUNT.fullmatch(chunk)
                # a card number is not an amount, whatever stands next to it
                and (len(number) < _MIN_CARD_DIGITS or not _is_identifier_shape(chunk))
                and (
                    _CURRENCY_BEFORE.search(text, max(0, start - 6), start)
                    or _CURRENCY_AFTER.match(text, end)
                )
            ):
                return True
            if _DECIMAL_AMOUNT.fullmatch(chunk):
                return True
            if number in vocabulary.HOTLINES or _UK_SERVICE_NUMBER.fullmatch(chunk):
                return True
            # A toll-free number is written with separators, or long; an 8-digit code
            # that happens to start like a Korean service number (1588…) is still a code,
            # and a US SSN (800-00-0000) is not a Spanish 800/900 number: no Spanish
            # number is grouped 3-2-4.
            if (
                _TOLL_FREE.fullmatch(number)
                and (len(number) >= 10 or number != chunk)
                and not _WHOLE_IDENTITY.fullmatch(chunk)
            ):
                return True
            if _ERROR_PREFIX.search(text, max(0, start - 9), start):
                # MK:0001, not CARD:4111111111111111
                return not _is_unmasked_identifier_shape(chunk, plain_runs=True)
            if _YEAR.fullmatch(chunk) and _MONTH_NEAR.search(
                text, max(0, start - 16), min(len(text), end + 16)
            ):
                return True
            short = _SHORT_DATE.fullmatch(chunk)
            if short and not near_code:
                first, _, second, _ = short.groups()
                if 1 <= int(first) <= 31 and 1 <= int(second) <= 31:
                    return min(int(first), int(second)) <= 12
        return bool(_STARRED_LAST_FOUR.fullmatch(chunk))

    def password(self, match: re.Match[str]) -> tuple[str, int]:
        start = match.start()
        if start and match.group()[0].isascii() and _LATIN_LETTER.match(self.text, start - 1):
            return match.group(), match.end()
        value = _PASSWORD_VALUE.match(self.text, match.end())
        if value is None:
            return match.group(), match.end()
        secret = value.group("value").rstrip(_VALUE_TRAILING_PUNCTUATION)
        if not secret or secret.rstrip(":：").casefold() in _CATEGORY_OF:
            # a keyword is not the password ("password: status: …"); hiding it would
            # change what masking the text again decides after it
            return match.group(), match.end()
        if _PLAIN_WORD.fullmatch(secret) and (
            # "password is about to expire"; after a colon ("初始密码：abcdefgh") any
            # letters are the password, unless they say what it is ("password: reset").
            not _PUNCTUATION_CONNECTOR.search(value.group("gap"))
            or secret.lower() in vocabulary.CODE_STATES
        ):
            return match.group(), match.end()
        return match.group() + value.group("gap") + TOKEN_MASK, value.start("value") + len(secret)

    def phone(self, found: str) -> str:
        number = "".join(char for char in found if char.isdigit())
        for length in (1, 2):
            service = _TOLL_FREE_BY_CALLING_CODE.get(number[:length])
            if service is not None and service.fullmatch(number[length:]):
                return found
        masked = self.mask_phone(found)
        if masked.strip(HIDDEN) == "":
            # Not a known calling code: mask its digits as any other digits, and keep the
            # '+' and separators so the result does not merge with its neighbours.
            return _DIGIT_RUNS.sub(lambda run: _mask_digit_run(run.group()), found)
        return masked

    def travel(self, start: int, found: str, kind: str) -> str:
        if kind == "flight" and found[:2] not in vocabulary.AIRLINE_CODES:
            return self.chunk_text(start, found)
        context = self.context_before(start)
        if context.category in _HIDING and (
            len(context.gap) <= _NEAR or not any(char.isspace() for char in found)
        ):
            return _hide_all(found)
        return found

    def capitals(self, start: int, found: str) -> str:
        """A word in capitals is a code only right after a code word and a connector
        (``:``, ``is``, ``为``, a bracket): ``OTP SENT`` is a sentence."""
        if found.casefold() in _CATEGORY_OF:
            return found
        context = self.context_before(start)
        gap = context.gap
        if (
            context.category in (vocabulary.CODE, vocabulary.PASSWORD)
            and (gap.strip() or not context.keyword.isupper())
            and _CONNECTOR.fullmatch(gap)
        ):
            return _hide_all(found)
        return found

    def lowercase(self, start: int, found: str) -> str:
        """Lowercase letters are a code only as the whole predicate of a code word
        (``verification code is jwculk.``, ``código: qzvbrt``), and not a word that says
        what the code is (``code is invalid.``)."""
        if found in vocabulary.CODE_STATES or not _CONNECTOR_BEFORE.search(
            self.text, max(0, start - 8), start
        ):
            return found
        context = self.context_before(start)
        if context.category == vocabulary.CODE and _CONNECTOR.fullmatch(context.gap):
            return _hide_all(found)
        return found

    def chunk_text(self, start: int, found: str) -> str:
        return self.chunk(start, start + len(found))

    def identifier(self, start: int, found: str, kind: str) -> str:
        if kind == "ni":
            return _hide_all(found)
        context = self.context_before(start)
        # After an identity word anywhere in the sentence, as for any other number
        # there (by_context): masking the kept country and last four again must agree.
        if context.category == vocabulary.IDENTITY or (
            context.category in _HIDING and len(context.gap) <= _NEAR
        ):
            return _hide_all(found)
        if sum(char.isdigit() or char == HIDDEN for char in found) < 8:
            return self.chunk_text(start, found) if " " not in found else _hide_all(found)
        # An IBAN keeps its country and its last four (the account's usual display).
        alnum = [index for index, char in enumerate(found) if char.isalnum() or char == HIDDEN]
        shown = set(alnum[:2]) | set(alnum[-_KEPT_TAIL:])
        return "".join(
            char if index in shown or not (char.isalnum() or char == HIDDEN) else HIDDEN
            for index, char in enumerate(found)
        )

    def cjk_address(self, found: str) -> str:
        """An '@domain' after CJK text: the run of CJK and address characters before it
        is the local part. It was already copied out (as plain text or as masked
        pieces), so it is taken back from the pieces."""
        taken: list[str] = []
        count = 0
        while self.pieces and count < _MAX_LOCAL_PART:
            piece = self.pieces[-1]
            cut = len(piece)
            while cut > 0 and count < _MAX_LOCAL_PART and _is_local_part_char(piece[cut - 1]):
                cut -= 1
                count += 1
            taken.append(piece[cut:])
            if cut > 0:
                self.pieces[-1] = piece[:cut]
                break
            self.pieces.pop()
        local = "".join(reversed(taken))
        if not local:
            return self.url(found)
        masked = self.mask_email(f"{local}@{found[1:]}")
        at_sign = masked.find("@")
        if at_sign == -1:
            return HIDDEN * 4 + found
        if _LOCAL_START.match(local):
            # It starts like an ordinary local part: the address rule reads it the same
            # way when the text is masked again.
            return masked
        return HIDDEN * 4 + masked[at_sign:]

    # --- links --------------------------------------------------------------------

    def url(self, url: str) -> str:
        """Scheme, host and path of ``url``; the path of a short link and high-entropy
        path segments become :data:`TOKEN_MASK`; digits and addresses in what is kept
        are masked; trailing sentence punctuation is kept as it was."""
        kept = url.rstrip(_URL_TRAILING_PUNCTUATION)
        trailing = url[len(kept) :]
        for delimiter in "?#":
            kept = kept.partition(delimiter)[0]
        position = kept.find("://")
        while position != -1:
            authority_start = position + 3
            authority_end = kept.find("/", authority_start)
            if authority_end == -1:
                authority_end = len(kept)
            at = kept.rfind("@", authority_start, authority_end)
            if at != -1:
                kept = kept[:authority_start] + kept[at + 1 :]
            position = kept.find("://", authority_start)
        kept = _mask_path(kept)
        return _URL_PART.sub(self.url_part, kept) + trailing

    def url_part(self, match: re.Match[str]) -> str:
        if match.lastgroup == "email":
            return self.mask_email(match.group())
        start = match.start()
        if len(match.group()) < _MIN_IDENTIFIER_DIGITS and _ERROR_PATH.search(
            match.string, max(0, start - _ERROR_PATH_LENGTH), start
        ):
            return match.group()  # https://www.twilio.com/docs/errors/21211
        return _mask_digit_run(match.group())


_YEAR_DATE = re.compile(r"(?:19|20)[0-9]{2}[-./][01]?[0-9][-./][0-3]?[0-9]")


def _keywords_in(text: str, low: int, high: int) -> list[tuple[int, int, str]]:
    """(start, end, category) of the keywords in ``text[low:high]``, in order; Latin
    words only where they stand as whole words."""
    window = text[low:high]
    folded = window.lower()
    if len(folded) != len(window):
        folded = window
    found = []
    for pattern, source in (
        (_LATIN_KEYWORD, folded),
        (_OTHER_KEYWORD, folded),
        (_EXACT_KEYWORD, window),
    ):
        for match in pattern.finditer(source):
            word = match.group()
            start, end = low + match.start(), low + match.end()
            if (
                word[0].isascii()
                and word[0].isalnum()
                and start > 0
                and _LATIN_LETTER.match(text, start - 1)
            ):
                continue
            if word[-1].isascii() and word[-1].isalnum() and _LATIN_LETTER.match(text, end):
                continue
            category = _CATEGORY_OF.get(word.casefold())
            if category is not None:
                found.append((start, end, category))
    found.sort()
    # One keyword per span: an acronym inside a longer keyword ("code PIN") is not another.
    kept: list[tuple[int, int, str]] = []
    for keyword in found:
        if not kept or keyword[0] >= kept[-1][1]:
            kept.append(keyword)
    return kept


def _is_local_part_char(char: str) -> bool:
    return char.isalnum() or char in "._%+-*"


def _is_quoted_key(text: str, keyword_start: int, keyword_end: int) -> bool:
    return (
        keyword_start > 0
        and text[keyword_start - 1] in "\"'"
        and text[keyword_end : keyword_end + 1] in ('"', "'")
        and text[keyword_end : keyword_end + 1] != ""
    )


def _is_json_number_key(text: str, keyword_start: int, keyword_end: int, start: int) -> bool:
    """``"code": 21211``: a JSON key named code with a bare number is a status or an error
    code (Twilio, Aliyun); ``"code": "123456"`` stays a credential."""
    before = text[keyword_start - 1 : keyword_start] if keyword_start else ""
    gap = text[keyword_end:start]
    return before in ('"', "'") and gap.strip() in (f"{before}:", f"{before} :")


def _is_code_like(chunk: str) -> bool:
    """Letters and digits mixed the way generated codes are, not the way words and
    units are (``2C2ZRJ``, ``JQR-737``, ``C01X00T47``; not ``5min``, ``H264``)."""
    alnum = "".join(_TOKEN_PIECE.findall(chunk))
    if len(alnum) < 4:
        return False
    if alnum.isdigit():
        return True
    if _NUMBER_WITH_UNIT.fullmatch(alnum):
        return False
    return any(char.isdigit() for char in alnum)


def _is_service_number(chunk: str, gap: str) -> bool:
    """After a hotline word: a number the sender gives to be called, not the person's.
    Shaped like a phone or a short code, with nothing but a connector before it, and
    not shaped like a mobile number."""
    if HIDDEN in chunk or not _NUMERIC.fullmatch(chunk) or not _HOTLINE_GAP.fullmatch(gap):
        return False
    number = "".join(_ASCII_DIGIT_RUNS.findall(chunk))
    return len(number) in _SERVICE_DIGITS and not _MOBILE_NUMBER.fullmatch(number)


def _is_identifier_shape(chunk: str, *, plain_runs: bool = False) -> bool:
    """A card, account, national id or phone number by its shape alone, whatever word
    stands before it: an ES/US/KR id, a CN id, a run of 15 digits or more, a
    Luhn-valid card number (13–19 digits), or a phone number (9 digits or more, written
    in groups, with a trunk prefix or shaped like a mobile number). Not a number
    written as an amount (``1,234,567,890``, ``12345678.90``) and not a plain run of
    9–14 digits (an order number such as ``20261008123456``) unless ``plain_runs``
    (after an error or travel word: their codes are short, and a phone number may be
    written without groups: ``error 130 for 4155552671``)."""
    if _WHOLE_IDENTITY.fullmatch(chunk) or _CN_IDENTITY.fullmatch(chunk):
        return True
    if not _NUMERIC.fullmatch(chunk) or _DECIMAL_AMOUNT.fullmatch(chunk):
        return False
    if _THOUSANDS.fullmatch(chunk) or _MARKETPLACE_ORDER.fullmatch(chunk):
        return False
    number = "".join(char for char in chunk if char.isdigit() or char == HIDDEN)
    if len(number) >= _MIN_LONG_RUN_DIGITS:
        return True
    if len(number) < _MIN_IDENTIFIER_DIGITS:
        return False
    return (
        plain_runs
        or number != chunk
        or number[0] in "0*"
        or bool(_MOBILE_NUMBER.fullmatch(number))
        or (len(number) >= _MIN_CARD_DIGITS and _luhn_valid(number))
    )


def _is_unmasked_identifier_shape(chunk: str, *, plain_runs: bool = False) -> bool:
    """:func:`_is_identifier_shape` of ``chunk`` without its groups masked whole: a kept
    number and a value masked after it read as one chunk once masked, and must be
    decided as they were the first time."""
    return _is_identifier_shape(_MASKED_GROUP.sub("", chunk).strip(), plain_runs=plain_runs)


def _luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _transitions(alnum: str) -> int:
    changes = 0
    for previous, char in itertools.pairwise(alnum):
        if previous.isdigit() != char.isdigit():
            changes += 1
    return changes


def _mask_by_shape(chunk: str, digits: int) -> str:
    """A chunk no keyword decided: hide what its shape says it is."""
    if _WHOLE_IDENTITY.fullmatch(chunk) or _IPV4.fullmatch(chunk):
        return _hide_all(chunk)
    if _NUMERIC.fullmatch(chunk):
        return _mask_number(chunk)
    if HIDDEN * _MIN_REVEALING_DIGITS in chunk:
        # Already masked here (a host or a number masked before): read its digits only,
        # so that masking it again changes nothing.
        return _mask_digits_after_letters(chunk)
    alnum = "".join(_TOKEN_PIECE.findall(chunk))
    letters = len(alnum) - digits
    if letters and _GROUPED_CODE.fullmatch(chunk):
        return _hide_all(chunk)
    if _BOOKING_CODE.fullmatch(chunk):
        return _hide_all(chunk)
    if digits >= 2 and letters >= 2:
        upper_only = alnum.upper() == alnum
        if (upper_only and len(alnum) >= 5 and _transitions(alnum) >= 2) or len(alnum) >= 16:
            return _hide_all(chunk)
        if len(alnum) >= 8 and _transitions(alnum) >= 3:
            return _hide_all(chunk)
    return _mask_digits_after_letters(chunk)


def _mask_digits_after_letters(chunk: str) -> str:
    """Letters then a number (``A000000000 0``, ``ES** **** 1332``): the number by the
    number rule; anything else by its digit runs."""
    first = next(index for index, char in enumerate(chunk) if char.isdigit() or char == HIDDEN)
    if _NUMERIC.fullmatch(chunk, first):
        return chunk[:first] + _mask_number(chunk[first:])
    return _ASCII_OR_UNICODE_DIGITS.sub(lambda run: _mask_digit_run(run.group()), chunk)


_ASCII_OR_UNICODE_DIGITS = re.compile(r"[\d*]+")


def _mask_number(chunk: str) -> str:
    """Digit groups read as one number: up to 8 digits all hidden, longer ones keep the
    last four; separators stay where they were."""
    positions = sum(char.isdigit() or char == HIDDEN for char in chunk)
    real = sum(map(str.isdigit, chunk))
    if real < _MIN_REVEALING_DIGITS:
        return chunk
    if real <= _KEPT_TAIL and positions - real >= _MIN_REVEALING_DIGITS:
        # Already masked down to four digits (by this rule, or by the sender).
        return chunk
    keep = 0 if positions <= _MAX_SHORT_CODE_DIGITS else _KEPT_TAIL
    return _hide_digits_but_last(chunk, keep)


def _keep_last_four(number: str) -> str:
    """Every digit hidden but the last four, separators kept."""
    return _hide_digits_but_last(number, _KEPT_TAIL)


def _hide_digits_but_last(text: str, keep: int) -> str:
    """``text`` with every digit (or ``*``) but the last ``keep`` hidden, the rest kept."""
    positions = sum(char.isdigit() or char == HIDDEN for char in text)
    out = []
    seen = 0
    for char in text:
        if char.isdigit() or char == HIDDEN:
            seen += 1
            out.append(char if seen > positions - keep else HIDDEN)
        else:
            out.append(char)
    return "".join(out)


def _hide_all(value: str) -> str:
    """Every letter and digit hidden, separators kept (``JQR-737`` → ``***-***``)."""
    return "".join(HIDDEN if char.isalnum() else char for char in value)


def _mask_secret(found: str) -> str:
    scheme, space, _ = found.partition(" ")
    if space and scheme.lower() in ("bearer", "basic"):
        return f"{scheme} {TOKEN_MASK}"
    scheme, tab, _ = found.partition("\t")
    if tab and scheme.lower() in ("bearer", "basic"):
        return f"{scheme}\t{TOKEN_MASK}"
    return TOKEN_MASK


def _mask_digit_run(run: str) -> str:
    digits = len(run) - run.count(HIDDEN)
    if digits < _MIN_REVEALING_DIGITS:
        return run
    if len(run) <= _MAX_SHORT_CODE_DIGITS:
        return HIDDEN * len(run)
    return HIDDEN * (len(run) - _KEPT_TAIL) + run[-_KEPT_TAIL:]


def _mask_path(url: str) -> str:
    """The path of a short link is its key; other path segments with the entropy of a
    token (or after a login word) are one too."""
    scheme_end = url.find("://")
    host_start = scheme_end + 3 if scheme_end != -1 else 0
    path_start = url.find("/", host_start)
    if path_start == -1:
        return url
    host = url[host_start:path_start].lower()
    host = host.removeprefix("www.")
    path = url[path_start:]
    if host in vocabulary.SHORTENER_HOSTS:
        return url[:path_start] + ("/" + TOKEN_MASK if path.strip("/") else path)
    if _SHORT_HOST.fullmatch(host) and _is_short_link_key(path.strip("/")):
        return url[:path_start] + "/" + TOKEN_MASK
    segments = path.split("/")
    previous = ""
    for index, segment in enumerate(segments):
        if _is_token_segment(segment, previous):
            segments[index] = TOKEN_MASK
        previous = segment.lower()
    return url[:path_start] + "/".join(segments)


def _is_short_link_key(key: str) -> bool:
    """One path segment shaped like a shortener's key: 4–16 letters and digits, with a
    digit and a letter (``4xcuOe``, ``Q8B3BZ``) or both cases inside (``yVwOXMx``)."""
    if not _SHORT_LINK_KEY.fullmatch(key):
        return False
    has_digit = any(char.isdigit() for char in key)
    has_letter = any(char.isalpha() for char in key)
    inner = key[1:]
    mixed_case = any(char.isupper() for char in inner) and any(char.islower() for char in key)
    return (has_digit and has_letter) or mixed_case


def _case_changes(letters: str) -> int:
    return sum(
        previous.isupper() != char.isupper() for previous, char in itertools.pairwise(letters)
    )


def _is_token_segment(segment: str, previous: str) -> bool:
    if len(segment) < 6 or segment == TOKEN_MASK:
        return False
    alnum = "".join(_TOKEN_PIECE.findall(segment))
    if previous in _AUTH_PATH_WORDS and len(alnum) >= 6 and "." not in segment:
        return True
    digits = sum(char.isdigit() for char in alnum)
    letters = len(alnum) - digits
    if len(alnum) >= 20 and digits and letters:
        return True
    if (
        previous
        and digits
        and letters
        and _SHORT_LINK_KEY.fullmatch(segment)
        and (_transitions(segment) >= 2 or not (segment.islower() or segment.isupper()))
    ):
        # A short key below a first segment (/u/7Hq2Kx, /i/x7k2m9): letters and
        # digits mixed the way generated keys are, not the way names are (iphone15,
        # page12). A lone first segment of a long host is a page (docs…/Ab12Cd).
        return True
    if previous and segment.isalpha() and segment.isascii() and _case_changes(segment) >= 4:
        # Letters alone, their case changing the way a generated key's does
        # (/v/AbCdEfGhIjKl), not the way a name's does (iPhone, HelloWorld, YouTube).
        return True
    for piece in _SEGMENT_PIECES.split(segment.replace(HIDDEN, "")):
        piece_digits = sum(char.isdigit() for char in piece)
        piece_letters = sum(map(str.isalpha, piece))
        if (
            len(piece) >= 8
            and piece_digits >= 2
            and piece_letters >= 2
            and (_transitions(piece) >= 2 or not piece.isalnum())
        ):
            return True
    return False
