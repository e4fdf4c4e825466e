"""The retention rules: the windows, when each stage is due, and the policy file."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.channels import Channel
from policies.retention import (
    DEFAULT_POLICY,
    DEFAULT_RULES,
    DEFAULT_WINDOWS,
    STAGE_ORDER,
    PolicyError,
    RetentionPolicy,
    RetentionWindows,
    Stage,
    cutoff,
    due_stages,
    load_policy,
    month_bounds,
    month_wholly_past,
    next_daily_run,
    parse_daily_time,
    parse_policy,
)

SOURCE = "/etc/commlog/retention.toml"
MICROSECOND = timedelta(microseconds=1)
FIELDS = {
    Stage.CONTENT: "content_days",
    Stage.RECIPIENT: "recipient_days",
    Stage.RECORD: "record_days",
}


def days(content: int, recipient: int, record: int) -> RetentionWindows:
    return RetentionWindows(
        content=timedelta(days=content),
        recipient=timedelta(days=recipient),
        record=timedelta(days=record),
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def policy_error(text: str) -> str:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source=SOURCE)
    message = str(raised.value)
    assert "\n" not in message
    assert SOURCE in message
    return message


# --- Defaults ----------------------------------------------------------------------------------


def test_default_rules_cover_every_stage_in_stage_order() -> None:
    assert tuple(rule.stage for rule in DEFAULT_RULES) == STAGE_ORDER
    assert STAGE_ORDER == (Stage.CONTENT, Stage.RECIPIENT, Stage.RECORD)


def test_default_windows_are_30_180_and_400_days() -> None:
    assert [rule.default_days for rule in DEFAULT_RULES] == [30, 180, 400]
    assert days(30, 180, 400) == DEFAULT_WINDOWS
    for rule in DEFAULT_RULES:
        assert DEFAULT_WINDOWS.window(rule.stage) == timedelta(days=rule.default_days)


@pytest.mark.parametrize(
    ("stage", "citations"),
    [
        (Stage.CONTENT, ["2002/58/EC Art. 6(1)", "GDPR Art. 5(1)(e)", "PIPL Art. 19"]),
        (
            Stage.RECIPIENT,
            [
                "GDPR Art. 6(1)(f)",
                "delivery disputes",
                "fraud investigation",
                "opt-out",
                "15 U.S.C. 7704(a)(4)",
                "GDPR Art. 5(1)(e)",
                "PIPL Art. 19",
            ],
        ),
        (Stage.RECORD, ["Twilio", "CAN-SPAM", "GDPR Art. 17(3)(e)"]),
    ],
)
def test_every_default_rule_states_its_legal_basis(stage: Stage, citations: list[str]) -> None:
    (rule,) = [rule for rule in DEFAULT_RULES if rule.stage is stage]
    assert "\n" not in rule.legal_basis
    for citation in citations:
        assert citation in rule.legal_basis


def test_the_recipient_window_does_not_claim_the_billing_basis() -> None:
    """Tenants do not bill recipients: ePrivacy Art. 6(2) (billing) is named only as not
    being the basis."""
    (rule,) = [rule for rule in DEFAULT_RULES if rule.stage is Stage.RECIPIENT]
    assert "challenged" not in rule.legal_basis
    assert "Art. 6(2) is not the basis" in rule.legal_basis


def test_default_policy_uses_the_default_windows_for_every_tenant_and_channel() -> None:
    for channel in Channel:
        assert DEFAULT_POLICY.windows_for("tnt_any", channel) == DEFAULT_WINDOWS
    assert load_policy(None) is DEFAULT_POLICY


# --- Windows -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "recipient", "record", "rule"),
    [
        (timedelta(0), timedelta(days=1), timedelta(days=2), "positive whole number of days"),
        (timedelta(days=-1), timedelta(days=1), timedelta(days=2), "positive whole number"),
        (timedelta(days=1, hours=1), timedelta(days=2), timedelta(days=3), "whole number"),
        (timedelta(days=1), timedelta(days=2), timedelta(days=2, microseconds=1), "whole number"),
        (timedelta(days=3), timedelta(days=2), timedelta(days=4), "must not exceed recipient"),
        (timedelta(days=1), timedelta(days=5), timedelta(days=4), "must not exceed record"),
    ],
)
def test_windows_must_be_positive_whole_days_in_stage_order(
    content: timedelta, recipient: timedelta, record: timedelta, rule: str
) -> None:
    with pytest.raises(PolicyError, match=re.escape(rule)):
        RetentionWindows(content=content, recipient=recipient, record=record)


def test_equal_windows_are_allowed() -> None:
    assert days(7, 7, 7).window(Stage.RECORD) == timedelta(days=7)


# --- Due stages --------------------------------------------------------------------------------


def test_a_record_exactly_at_its_window_edge_is_due_and_one_microsecond_before_is_not() -> None:
    created = utc(2026, 1, 10, 12, 30)
    edge = created + timedelta(days=30)
    assert due_stages(DEFAULT_WINDOWS, created, edge) == {Stage.CONTENT}
    assert due_stages(DEFAULT_WINDOWS, created, edge - MICROSECOND) == frozenset()
    assert due_stages(DEFAULT_WINDOWS, created, created + timedelta(days=180)) == {
        Stage.CONTENT,
        Stage.RECIPIENT,
    }
    assert due_stages(DEFAULT_WINDOWS, created, created + timedelta(days=400)) == set(STAGE_ORDER)
    assert due_stages(DEFAULT_WINDOWS, created, created + timedelta(days=400) - MICROSECOND) == {
        Stage.CONTENT,
        Stage.RECIPIENT,
    }


def test_a_window_counted_from_a_leap_day_ends_on_the_thirtieth_of_march() -> None:
    created = utc(2028, 2, 29, 8)
    assert created + timedelta(days=30) == utc(2028, 3, 30, 8)
    assert due_stages(DEFAULT_WINDOWS, created, utc(2028, 3, 30, 8)) == {Stage.CONTENT}
    assert due_stages(DEFAULT_WINDOWS, created, utc(2028, 3, 30, 7, 59)) == frozenset()
    assert cutoff(DEFAULT_WINDOWS, Stage.CONTENT, utc(2028, 3, 30, 8)) == created


def test_times_with_an_offset_are_compared_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    # 2026-03-01 07:00 +08:00 is 2026-02-28 23:00 UTC: due at 2026-03-30 23:00 UTC.
    created = datetime(2026, 3, 1, 7, tzinfo=shanghai)
    assert due_stages(DEFAULT_WINDOWS, created, utc(2026, 3, 30, 23)) == {Stage.CONTENT}
    assert due_stages(DEFAULT_WINDOWS, created, utc(2026, 3, 30, 22, 59)) == frozenset()
    assert due_stages(DEFAULT_WINDOWS, created, datetime(2026, 3, 31, 7, tzinfo=shanghai)) == {
        Stage.CONTENT
    }
    when = cutoff(DEFAULT_WINDOWS, Stage.CONTENT, datetime(2026, 3, 31, 7, tzinfo=shanghai))
    assert when == utc(2026, 2, 28, 23)
    assert when.utcoffset() == timedelta(0)


def test_a_daylight_saving_change_does_not_shift_the_edge() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    created = datetime(2026, 3, 1, 12, tzinfo=berlin)  # 11:00 UTC, winter time
    windows = days(30, 30, 30)
    # 30 days later in UTC is 2026-03-31 11:00 UTC, which is 13:00 summer time in Berlin.
    assert due_stages(windows, created, datetime(2026, 3, 31, 13, tzinfo=berlin)) == set(
        STAGE_ORDER
    )
    assert due_stages(windows, created, datetime(2026, 3, 31, 12, 59, tzinfo=berlin)) == set()


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        due_stages(DEFAULT_WINDOWS, datetime(2026, 1, 1), utc(2026, 1, 1))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        due_stages(DEFAULT_WINDOWS, utc(2026, 1, 1), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        cutoff(DEFAULT_WINDOWS, Stage.CONTENT, datetime(2026, 1, 1))


def test_cutoff_is_now_minus_the_stage_window_in_utc() -> None:
    now = utc(2026, 6, 1)
    assert cutoff(DEFAULT_WINDOWS, Stage.CONTENT, now) == utc(2026, 5, 2)
    assert cutoff(DEFAULT_WINDOWS, Stage.RECIPIENT, now) == now - timedelta(days=180)
    assert cutoff(DEFAULT_WINDOWS, Stage.RECORD, now) == now - timedelta(days=400)


# --- Months and the daily run ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "start", "end"),
    [
        ("2026-04", utc(2026, 4, 1), utc(2026, 5, 1)),
        ("2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2028-02", utc(2028, 2, 1), utc(2028, 3, 1)),
        ("2026-01", utc(2026, 1, 1), utc(2026, 2, 1)),
    ],
)
def test_month_bounds_are_the_utc_month_with_an_exclusive_end(
    epoch: str, start: datetime, end: datetime
) -> None:
    assert month_bounds(epoch) == (start, end)


@pytest.mark.parametrize("epoch", ["2026-4", "2026-13", "2026-00", "26-04", "2026-04-01", "", "*"])
def test_month_bounds_rejects_anything_but_a_yyyy_mm_month(epoch: str) -> None:
    with pytest.raises(ValueError, match="epoch"):
        month_bounds(epoch)


def test_a_month_is_wholly_past_only_once_its_end_plus_the_window_has_passed() -> None:
    window = timedelta(days=30)
    edge = utc(2026, 5, 1) + window
    assert month_wholly_past("2026-04", window, edge)
    assert month_wholly_past("2026-04", window, edge + MICROSECOND)
    assert not month_wholly_past("2026-04", window, edge - MICROSECOND)
    # The month's last record is due before the month is wholly past, never after.
    last_record = utc(2026, 5, 1) - MICROSECOND
    assert due_stages(days(30, 30, 30), last_record, edge - MICROSECOND) == set(STAGE_ORDER)


def test_december_is_wholly_past_counting_from_the_first_of_january() -> None:
    window = timedelta(days=400)
    assert month_wholly_past("2025-12", window, utc(2026, 1, 1) + window)
    assert not month_wholly_past("2025-12", window, utc(2026, 1, 1) + window - MICROSECOND)


def test_month_wholly_past_compares_now_in_utc() -> None:
    window = timedelta(days=1)
    # 2026-05-02 07:59 +08:00 is 2026-05-01 23:59 UTC: not yet.
    shanghai = timezone(timedelta(hours=8))
    assert not month_wholly_past("2026-04", window, datetime(2026, 5, 2, 7, 59, tzinfo=shanghai))
    assert month_wholly_past("2026-04", window, datetime(2026, 5, 2, 8, tzinfo=shanghai))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 4, 10, 2, 59), utc(2026, 4, 10, 3)),
        (utc(2026, 4, 10, 3), utc(2026, 4, 11, 3)),
        (utc(2026, 4, 10, 3, 0, 0, 1), utc(2026, 4, 11, 3)),
        (utc(2026, 12, 31, 23), utc(2027, 1, 1, 3)),
        (utc(2028, 2, 28, 4), utc(2028, 2, 29, 3)),
        # 10:30 at +08:00 is 02:30 UTC: today's run is still ahead.
        (datetime(2026, 4, 10, 10, 30, tzinfo=timezone(timedelta(hours=8))), utc(2026, 4, 10, 3)),
    ],
)
def test_the_next_daily_run_is_strictly_after_now_at_the_utc_time(
    now: datetime, expected: datetime
) -> None:
    run = next_daily_run(now, time(3, 0))
    assert run == expected
    assert run > now
    assert run.utcoffset() == timedelta(0)


def test_next_daily_run_rejects_naive_now_and_non_utc_times() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        next_daily_run(datetime(2026, 1, 1), time(3))
    with pytest.raises(ValueError, match="UTC"):
        next_daily_run(utc(2026, 1, 1), time(3, tzinfo=timezone(timedelta(hours=1))))
    assert next_daily_run(utc(2026, 1, 1), time(3, tzinfo=UTC)) == utc(2026, 1, 1, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("03:00", time(3, 0)), ("3:05", time(3, 5)), ("00:00", time(0)), ("23:59", time(23, 59))],
)
def test_daily_time_is_read_as_hours_and_minutes(text: str, expected: time) -> None:
    assert parse_daily_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "3:60", "3", "3:5", "03:00:00", "", "three", "１:00"])
def test_an_invalid_daily_time_names_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match="COMMLOG_RETENTION_AT") as raised:
        parse_daily_time(text)
    assert "\n" not in str(raised.value)


# --- The policy file ---------------------------------------------------------------------------

FULL_POLICY = """
[default]
content_days = 20
record_days = 365

[tenants.tnt_bank]
content_days = 14
recipient_days = 90

[tenants.tnt_bank.channels.email]
content_days = 7

[tenants.tnt_bank.channels.sms]
record_days = 730

[tenants.tnt_shop]
"""


def test_a_full_policy_merges_channel_over_tenant_over_default_over_built_in() -> None:
    policy = parse_policy(FULL_POLICY, source=SOURCE)
    assert policy.default == days(20, 180, 365)
    assert policy.tenants == {"tnt_bank": days(14, 90, 365), "tnt_shop": days(20, 180, 365)}
    assert policy.channels == {
        ("tnt_bank", Channel.EMAIL): days(7, 90, 365),
        ("tnt_bank", Channel.SMS): days(14, 90, 730),
    }
    assert policy.windows_for("tnt_bank", Channel.EMAIL) == days(7, 90, 365)
    assert policy.windows_for("tnt_bank", Channel.SMS) == days(14, 90, 730)
    assert policy.windows_for("tnt_bank", Channel.PUSH) == days(14, 90, 365)
    assert policy.windows_for("tnt_shop", Channel.EMAIL) == days(20, 180, 365)
    assert policy.windows_for("tnt_unknown", Channel.PUSH) == days(20, 180, 365)


def test_an_empty_policy_is_the_default_policy() -> None:
    assert parse_policy("", source=SOURCE) == DEFAULT_POLICY
    assert parse_policy("[default]\n[tenants]\n", source=SOURCE) == DEFAULT_POLICY


def test_longest_is_the_largest_window_of_a_stage_over_the_tenants_channels() -> None:
    policy = parse_policy(FULL_POLICY, source=SOURCE)
    assert policy.longest("tnt_bank", Stage.CONTENT) == timedelta(days=14)
    assert policy.longest("tnt_bank", Stage.RECIPIENT) == timedelta(days=90)
    assert policy.longest("tnt_bank", Stage.RECORD) == timedelta(days=730)
    assert policy.longest("tnt_unknown", Stage.RECORD) == timedelta(days=365)
    longer_channel = parse_policy(
        "[tenants.t]\ncontent_days = 10\n[tenants.t.channels.push]\ncontent_days = 60\n",
        source=SOURCE,
    )
    assert longer_channel.longest("t", Stage.CONTENT) == timedelta(days=60)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[defaults]\n", ["top level", "'defaults'", "unknown"]),
        ("content_days = 3\n", ["top level", "'content_days'", "unknown"]),
        ("default = 3\n", ["default", "must be a table"]),
        ("tenants = 3\n", ["tenants", "must be a table"]),
        ("[[tenants]]\n", ["tenants", "must be a table"]),
        ("[default]\ncontent_day = 3\n", ["default", "'content_day'", "unknown key"]),
        ("[tenants.tnt_bank]\nrecords = 3\n", ["tenant 'tnt_bank'", "'records'", "unknown key"]),
        (
            "[tenants.tnt_bank.channels.email]\nchannels = 3\n",
            ["tenant 'tnt_bank' channel 'email'", "'channels'", "unknown key"],
        ),
        (
            "[tenants.tnt_bank.channels.fax]\n",
            ["tenant 'tnt_bank'", "unknown channel 'fax'", "sms, email, push"],
        ),
        (
            "[tenants.tnt_bank.channels.Email]\n",
            ["tenant 'tnt_bank'", "unknown channel 'Email'"],
        ),
        ("[tenants.tnt_bank]\nchannels = 3\n", ["tenant 'tnt_bank'", "channels", "table"]),
        ("[tenants.tnt_bank.channels]\nsms = 3\n", ["tenant 'tnt_bank' channel 'sms'", "table"]),
        ("[tenants]\ntnt_bank = 3\n", ["tenant 'tnt_bank'", "must be a table"]),
        ('[tenants.""]\n', ["tenant ''", "non-empty"]),
        ("[default]\ncontent_days = true\n", ["default", "content_days", "integer", "bool"]),
        ("[default]\ncontent_days = 30.0\n", ["default", "content_days", "integer", "float"]),
        ('[default]\nrecord_days = "400"\n', ["default", "record_days", "integer", "str"]),
        ("[default]\nrecord_days = 2026-01-01\n", ["default", "record_days", "integer"]),
        ("[default]\ncontent_days = 0\n", ["default", "content_days (0)", "between 1 and 36500"]),
        ("[default]\ncontent_days = -7\n", ["default", "content_days (-7)", "between 1 and 36500"]),
        (
            "[tenants.tnt_bank]\nrecord_days = 36501\n",
            ["tenant 'tnt_bank'", "record_days (36501)", "between 1 and 36500"],
        ),
        (
            "[tenants.tnt_bank.channels.push]\nrecipient_days = 0\n",
            ["tenant 'tnt_bank' channel 'push'", "recipient_days (0)", "between 1 and 36500"],
        ),
        (
            "[default]\ncontent_days = 200\n",
            ["default", "content_days (200) must not exceed recipient_days (180"],
        ),
        (
            "[tenants.tnt_bank]\nrecord_days = 100\n",
            ["tenant 'tnt_bank'", "recipient_days (180", "must not exceed record_days (100)"],
        ),
        (
            "[tenants.tnt_bank]\nrecipient_days = 90\n"
            "[tenants.tnt_bank.channels.email]\ncontent_days = 200\n",
            [
                "tenant 'tnt_bank' channel 'email'",
                "content_days (200) must not exceed recipient_days (90",
                "inherited from tenant 'tnt_bank'",
            ],
        ),
        ("[default\n", ["not valid TOML", "line 1"]),
        ("[default]\ncontent_days = 1\ncontent_days = 2\n", ["not valid TOML"]),
    ],
)
def test_every_invalid_policy_fails_with_one_line_naming_place_field_and_rule(
    text: str, names: list[str]
) -> None:
    message = policy_error(text)
    for name in names:
        assert name in message


def test_the_error_message_matches_the_documented_example() -> None:
    message = policy_error(
        "[tenants.tnt_bank]\nrecipient_days = 180\n"
        "[tenants.tnt_bank.channels.email]\ncontent_days = 200\n"
    )
    assert message == (
        f"retention policy {SOURCE}: tenant 'tnt_bank' channel 'email': "
        "content_days (200) must not exceed recipient_days (180, inherited from tenant 'tnt_bank')"
    )


def test_a_tenant_id_with_a_line_break_still_gives_a_one_line_message() -> None:
    message = policy_error('[tenants."tnt\\nbank"]\ncontent_days = 0\n')
    assert "tenant 'tnt\\nbank'" in message


def test_load_policy_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "retention.toml"
    path.write_text(FULL_POLICY, encoding="utf-8")
    assert load_policy(str(path)) == parse_policy(FULL_POLICY, source="elsewhere")


def test_load_policy_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(PolicyError, match="cannot read") as raised:
        load_policy(missing)
    assert missing in str(raised.value)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path))


def test_load_policy_names_the_file_that_is_not_utf8_or_not_valid(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[default]\ncontent_days = 1 # \xff\n")
    with pytest.raises(PolicyError, match="not UTF-8") as raised:
        load_policy(str(binary))
    assert str(binary) in str(raised.value)
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("[default]\ncontent_days = 0\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="content_days") as raised:
        load_policy(str(invalid))
    assert str(invalid) in str(raised.value)


# --- The policy as data ------------------------------------------------------------------------


def test_a_policy_copies_its_mappings_and_does_not_allow_changes() -> None:
    tenants = {"t": days(1, 2, 3)}
    policy = RetentionPolicy(default=DEFAULT_WINDOWS, tenants=tenants, channels={})
    tenants["u"] = days(1, 2, 3)
    assert "u" not in policy.tenants
    with pytest.raises(TypeError):
        policy.tenants["u"] = days(1, 2, 3)  # type: ignore[index]


def test_a_policy_rejects_empty_tenant_ids_and_unknown_channels() -> None:
    with pytest.raises(PolicyError, match="non-empty"):
        RetentionPolicy(default=DEFAULT_WINDOWS, tenants={"": DEFAULT_WINDOWS}, channels={})
    with pytest.raises(PolicyError, match="unknown channel 'fax'"):
        RetentionPolicy(
            default=DEFAULT_WINDOWS,
            tenants={},
            channels={("t", "fax"): DEFAULT_WINDOWS},  # type: ignore[dict-item]
        )


def test_describe_states_every_window_in_days_as_json() -> None:
    described = parse_policy(FULL_POLICY, source=SOURCE).describe()
    assert json.loads(json.dumps(described)) == described
    assert described == {
        "default": {"content_days": 20, "recipient_days": 180, "record_days": 365},
        "tenants": {
            "tnt_bank": {"content_days": 14, "recipient_days": 90, "record_days": 365},
            "tnt_shop": {"content_days": 20, "recipient_days": 180, "record_days": 365},
        },
        "channels": {
            "tnt_bank": {
                "email": {"content_days": 7, "recipient_days": 90, "record_days": 365},
                "sms": {"content_days": 14, "recipient_days": 90, "record_days": 730},
            }
        },
        "reveal": {"default": False, "tenants": {}},
    }


def test_the_digest_is_stable_and_independent_of_the_order_things_were_written() -> None:
    policy = parse_policy(FULL_POLICY, source=SOURCE)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", policy.digest())
    assert policy.digest() == parse_policy(FULL_POLICY, source="another source").digest()
    reordered = RetentionPolicy(
        default=policy.default,
        tenants=dict(reversed(list(policy.tenants.items()))),
        channels=dict(reversed(list(policy.channels.items()))),
    )
    assert reordered.digest() == policy.digest()
    assert DEFAULT_POLICY.digest() == parse_policy("", source=SOURCE).digest()


def test_the_digest_is_the_sha256_of_the_sorted_compact_json_of_the_description() -> None:
    policy = parse_policy(FULL_POLICY, source=SOURCE)
    canonical = json.dumps(policy.describe(), sort_keys=True, separators=(",", ":"))
    assert policy.digest() == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize("field", ["content_days", "recipient_days", "record_days"])
@pytest.mark.parametrize(
    "table", ["default", "tenants.tnt_bank", "tenants.tnt_bank.channels.email"]
)
def test_the_digest_changes_when_any_window_changes(table: str, field: str) -> None:
    base = {"content_days": 10, "recipient_days": 20, "record_days": 30}
    tables = ["default", "tenants.tnt_bank", "tenants.tnt_bank.channels.email"]

    def render(changed: bool) -> str:
        lines = []
        for name in tables:
            lines.append(f"[{name}]")
            for key, value in base.items():
                lines.append(
                    f"{key} = {value + (1 if changed and name == table and key == field else 0)}"
                )
        return "\n".join(lines)

    assert (
        parse_policy(render(False), source=SOURCE).digest()
        != parse_policy(render(True), source=SOURCE).digest()
    )


def test_the_digest_changes_when_an_override_moves_to_another_tenant() -> None:
    first = parse_policy("[tenants.a]\ncontent_days = 7\n", source=SOURCE)
    second = parse_policy("[tenants.b]\ncontent_days = 7\n", source=SOURCE)
    assert first.digest() != second.digest()


# --- Invariants --------------------------------------------------------------------------------

window_days = st.integers(min_value=1, max_value=36500)
ordered_days = st.tuples(window_days, window_days, window_days).map(sorted)
valid_windows = ordered_days.map(lambda triple: days(*triple))

ZONES: list[tzinfo] = [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]
ZONES += [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
moments = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(ZONES),
)
offsets = st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=40000))


@given(valid_windows, moments, moments)
def test_due_stages_are_upward_closed_in_stage_order(
    windows: RetentionWindows, created_at: datetime, now: datetime
) -> None:
    due = due_stages(windows, created_at, now)
    for position, stage in enumerate(STAGE_ORDER):
        if stage in due:
            assert set(STAGE_ORDER[:position]) <= due


@given(valid_windows, moments, offsets)
def test_a_stage_is_due_exactly_when_created_at_is_at_or_before_its_cutoff(
    windows: RetentionWindows, created_at: datetime, age: timedelta
) -> None:
    now = created_at + age
    due = due_stages(windows, created_at, now)
    for stage in STAGE_ORDER:
        assert (stage in due) == (created_at <= cutoff(windows, stage, now))


@given(valid_windows, moments)
def test_every_stage_falls_due_exactly_at_its_edge(
    windows: RetentionWindows, created_at: datetime
) -> None:
    for stage in STAGE_ORDER:
        edge = created_at.astimezone(UTC) + windows.window(stage)
        assert stage in due_stages(windows, created_at, edge)
        assert stage not in due_stages(windows, created_at, edge - MICROSECOND)


@given(valid_windows, moments, st.lists(offsets, min_size=2, max_size=12))
def test_a_stage_becomes_due_once_and_stays_due_as_time_passes(
    windows: RetentionWindows, created_at: datetime, ages: list[timedelta]
) -> None:
    nows = [created_at.astimezone(UTC) + age for age in sorted(ages)]
    history = [due_stages(windows, created_at, now) for now in nows]
    for earlier, later in itertools.pairwise(history):
        assert earlier <= later
    for stage in STAGE_ORDER:
        flags = [stage in due for due in history]
        switches = sum(1 for before, after in itertools.pairwise(flags) if before != after)
        assert switches <= 1


tenant_ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=10
)


@st.composite
def child_days(draw: st.DrawFn, parent: tuple[int, int, int]) -> tuple[int, int, int]:
    """Windows that inherit some of ``parent``'s values, still in order."""
    own = draw(ordered_days)
    inherit = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    merged = tuple(p if keep else o for p, o, keep in zip(parent, own, inherit, strict=True))
    if not merged[0] <= merged[1] <= merged[2]:
        return (own[0], own[1], own[2])
    return (merged[0], merged[1], merged[2])


@st.composite
def policies_with_layers(
    draw: st.DrawFn,
) -> tuple[
    tuple[int, int, int],
    dict[str, tuple[int, int, int]],
    dict[tuple[str, Channel], tuple[int, int, int]],
]:
    built_in = (30, 180, 400)
    default = draw(child_days(built_in))
    tenants: dict[str, tuple[int, int, int]] = {}
    channels: dict[tuple[str, Channel], tuple[int, int, int]] = {}
    for tenant_id in draw(st.lists(tenant_ids, max_size=4, unique=True)):
        tenants[tenant_id] = draw(child_days(default))
        for channel in draw(st.sets(st.sampled_from(list(Channel)))):
            channels[(tenant_id, channel)] = draw(child_days(tenants[tenant_id]))
    return default, tenants, channels


def render_table(header: str, values: tuple[int, int, int], parent: tuple[int, int, int]) -> str:
    """A TOML table that writes only the values that differ from what it inherits."""
    lines = [header]
    for name, value, inherited in zip(FIELDS.values(), values, parent, strict=True):
        if value != inherited:
            lines.append(f"{name} = {value}")
    return "\n".join(lines)


def toml_key(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@given(policies_with_layers())
def test_a_rendered_policy_parses_back_to_the_same_windows(
    layers: tuple[
        tuple[int, int, int],
        dict[str, tuple[int, int, int]],
        dict[tuple[str, Channel], tuple[int, int, int]],
    ],
) -> None:
    default, tenants, channels = layers
    parts = [render_table("[default]", default, (30, 180, 400))]
    for tenant_id, values in tenants.items():
        parts.append(render_table(f"[tenants.{toml_key(tenant_id)}]", values, default))
    for (tenant_id, channel), values in channels.items():
        header = f"[tenants.{toml_key(tenant_id)}.channels.{channel.value}]"
        parts.append(render_table(header, values, tenants[tenant_id]))
    parsed = parse_policy("\n\n".join(parts) + "\n", source=SOURCE)
    expected = RetentionPolicy(
        default=days(*default),
        tenants={tenant_id: days(*values) for tenant_id, values in tenants.items()},
        channels={key: days(*values) for key, values in channels.items()},
    )
    assert parsed == expected
    assert parsed.digest() == expected.digest()
    for tenant_id in tenants:
        for channel in Channel:
            values = channels.get((tenant_id, channel), tenants[tenant_id])
            assert parsed.windows_for(tenant_id, channel) == days(*values)


# --- Reveal -----------------------------------------------------------------------------------


def test_no_tenant_may_reveal_unless_the_policy_says_so() -> None:
    assert not DEFAULT_POLICY.reveal_allowed("tnt_bank")
    assert not parse_policy(FULL_POLICY, source=SOURCE).reveal_allowed("tnt_bank")


def test_a_tenant_may_reveal_when_its_table_or_the_default_allows_it() -> None:
    policy = parse_policy(
        "[default]\nreveal = true\n[tenants.tnt_a]\nreveal = false\n[tenants.tnt_b]\n"
        "content_days = 10\n[tenants.tnt_c]\nreveal = true\n",
        source=SOURCE,
    )
    assert policy.reveal_allowed("tnt_unlisted")
    assert not policy.reveal_allowed("tnt_a")
    assert policy.reveal_allowed("tnt_b")  # inherits [default]
    assert policy.reveal_allowed("tnt_c")
    only_one = parse_policy("[tenants.tnt_c]\nreveal = true\n", source=SOURCE)
    assert only_one.reveal_allowed("tnt_c")
    assert not only_one.reveal_allowed("tnt_other")


def test_reveal_is_stated_in_the_description_and_changes_the_digest() -> None:
    allowed = parse_policy("[tenants.tnt_c]\nreveal = true\n", source=SOURCE)
    assert allowed.describe()["reveal"] == {"default": False, "tenants": {"tnt_c": True}}
    denied = parse_policy("[tenants.tnt_c]\nreveal = false\n", source=SOURCE)
    assert allowed.digest() != denied.digest()
    # false is the default: nothing differs from it, so nothing is listed
    assert denied.describe()["reveal"] == {"default": False, "tenants": {}}


@pytest.mark.parametrize("value", ['"yes"', "1", "0", "[true]"])
@pytest.mark.parametrize("table", ["default", "tenants.tnt_a"])
def test_a_reveal_that_is_not_a_boolean_is_rejected_naming_its_table(
    table: str, value: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(f"[{table}]\nreveal = {value}\n", source=SOURCE)
    message = str(raised.value)
    assert "reveal must be true or false" in message
    assert ("default" if table == "default" else "tenant 'tnt_a'") in message


def test_reveal_is_not_a_channel_setting() -> None:
    with pytest.raises(PolicyError, match="unknown key 'reveal'"):
        parse_policy("[tenants.tnt_a.channels.sms]\nreveal = true\n", source=SOURCE)


def test_an_unknown_key_next_to_reveal_is_still_rejected() -> None:
    with pytest.raises(PolicyError, match=r"unknown key 'reveals'.*reveal"):
        parse_policy("[default]\nreveals = true\n", source=SOURCE)
