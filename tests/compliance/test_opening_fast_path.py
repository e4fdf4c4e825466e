"""The masked read's fast path (``sealing._opened_shown``) agrees with the checked path.

Pages and masked exports open almost every row in one pass that declines anything out of
the ordinary; the checked path (``RecordSealer._open``) then reads the row and reports
what is wrong. For rows built from the masking corpus (seven languages, real provider
payloads, recipients of every channel) and then damaged the ways stored rows can be
(a flipped bit, an envelope from another column or row, a forged key id or header, a
destroyed key, a key not looked up, erased columns, another rules version), the fast
path either declines the row or returns exactly what the checked path returns; and it
never declines an intact row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.encryption.envelope import readers
from compliance.encryption.keystore import DataKey
from compliance.records.repository import _plain_values
from compliance.records.sealing import (
    FIELD_COLUMNS,
    SEALED_COLUMNS,
    SHOWN_COLUMNS,
    Opening,
    RecordSealer,
    WriteKeys,
    _KeyNotLookedUp,
    _opened_shown,
    sealed_columns,
)
from policies.channels import Channel, DeliveryStatus
from policies.disclosure import RULES_VERSION
from policies.records import SendRecord
from tests.corpus.harness import load_corpus

CORPUS = load_corpus()
BODIES = [entry.text for entry in CORPUS if entry.kind == "body"]
RECIPIENTS = [(entry.channel, entry.text) for entry in CORPUS if entry.kind == "recipient"]
ANSWERS = [(entry.provider, entry.field, entry.text) for entry in CORPUS if entry.kind == "payload"]
_AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
RECIPIENT_KEY = DataKey(key_id=11, epoch="2026-11", aead=AESGCM(os.urandom(32)))
CONTENT_KEY = DataKey(key_id=12, epoch="2026-11", aead=AESGCM(os.urandom(32)))
OTHER_KEY = DataKey(key_id=13, epoch="2026-10", aead=AESGCM(os.urandom(32)))


@st.composite
def records(draw: st.DrawFn) -> SendRecord:
    channel, recipient = draw(st.sampled_from(RECIPIENTS))
    provider, field, answer = draw(st.sampled_from(ANSWERS))
    created = _AT + timedelta(microseconds=draw(st.integers(0, 10**9)))
    return SendRecord(
        id=f"log_{draw(st.integers(0, 10**12)):024x}",
        tenant_id=draw(st.sampled_from(["tnt_a", "tnt_中文", 'tnt_"q"'])),
        user_id="usr_1",
        channel=Channel(channel),
        provider=provider,
        template_id=None,
        recipient=recipient,
        content=draw(st.sampled_from(BODIES)),
        status=draw(st.sampled_from(list(DeliveryStatus))),
        error=answer if field == "error" else None,
        response=answer if field == "response" else None,
        created_at=created,
        sent_at=draw(st.none() | st.just(created + timedelta(seconds=2))),
        updated_at=created + timedelta(seconds=3),
    )


def _row(record: SendRecord) -> dict[str, Any]:
    """The row the masked read's query returns for ``record`` written now."""
    columns = sealed_columns(record, WriteKeys(RECIPIENT_KEY, CONTENT_KEY, b"i" * 32))
    row: dict[str, Any] = {**_plain_values(record), **columns}
    # What repository._projection leaves out of a current row for a masked read.
    for column in FIELD_COLUMNS:
        if column not in SHOWN_COLUMNS:
            row[column] = None
    return row


def _flip(envelope: bytes, at: int) -> bytes:
    if not envelope:
        return b"\x01"
    at %= len(envelope)
    return envelope[:at] + bytes([envelope[at] ^ 0x01]) + envelope[at + 1 :]


Damage = Callable[[dict[str, Any], dict[int, DataKey | None]], None]


@st.composite
def damages(draw: st.DrawFn) -> tuple[str, Damage]:
    column = draw(st.sampled_from(SHOWN_COLUMNS))
    other = draw(st.sampled_from(SEALED_COLUMNS))
    at = draw(st.integers(0, 400))
    version = draw(st.sampled_from([None, 0, RULES_VERSION + 1]))

    def flip(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        if row[column] is not None:
            row[column] = _flip(row[column], at)

    def moved(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        row[column] = row[other]

    def erased(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        row[column] = None

    def truncated(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        if row[column] is not None:
            row[column] = row[column][: at % 40]

    def destroyed(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        keys[draw_key] = None

    def not_looked_up(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        keys.pop(draw_key, None)

    def other_key(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        if row[column] is not None:  # names a key of the tenant it was not sealed with
            envelope = row[column]
            row[column] = envelope[:1] + OTHER_KEY.key_id.to_bytes(8, "big") + envelope[9:]

    def forged_format(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        if row[column] is not None:
            row[column] = b"\x02" + row[column][1:]

    def other_rules(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        row["shown_version"] = version

    def other_row(row: dict[str, Any], keys: dict[int, DataKey | None]) -> None:
        row["id"] = row["id"] + "0"

    draw_key = draw(st.sampled_from([RECIPIENT_KEY.key_id, CONTENT_KEY.key_id]))
    chosen = draw(
        st.sampled_from(
            [
                flip,
                moved,
                erased,
                truncated,
                destroyed,
                not_looked_up,
                other_key,
                forged_format,
                other_rules,
                other_row,
            ]
        )
    )
    return chosen.__name__, chosen


def _checked(
    row: dict[str, Any], keys: dict[int, DataKey | None], looked_up: set[int]
) -> SendRecord | None:
    """What the checked path returns (``None``: it would look a key up first)."""
    sealer = RecordSealer(keys=None)  # type: ignore[arg-type]  # opens with `keys` given
    try:
        return sealer._open(row, keys, Opening.SHOWN, looked_up)
    except _KeyNotLookedUp:  # open_rows looks the key up and comes back
        return None


def _live(keys: dict[int, DataKey | None]) -> dict[bytes, AESGCM]:
    return readers({key_id: key.aead for key_id, key in keys.items() if key is not None})


def _all_keys() -> dict[int, DataKey | None]:
    return {key.key_id: key for key in (RECIPIENT_KEY, CONTENT_KEY, OTHER_KEY)}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=records())
def test_an_intact_row_takes_the_fast_path_and_reads_as_checked(record: SendRecord) -> None:
    row = _row(record)
    keys = _all_keys()
    fast = _opened_shown(row, _live(keys))
    assert fast is not None
    assert fast == _checked(row, keys, set(keys))
    assert fast.view is not None
    assert fast.view_version == RULES_VERSION


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=records(), damage=st.lists(damages(), min_size=1, max_size=3))
def test_a_damaged_row_is_declined_or_read_exactly_as_checked(
    record: SendRecord, damage: list[tuple[str, Damage]]
) -> None:
    row = _row(record)
    keys = _all_keys()
    for _, harm in damage:
        harm(row, keys)
    looked_up = set(keys)
    fast = _opened_shown(row, _live(keys))
    if fast is not None:
        assert fast == _checked(row, keys, looked_up), [name for name, _ in damage]
        assert not fast.unreadable


def test_each_kind_of_damage_is_declined() -> None:
    record = SendRecord(
        id="log_0000000000000000000000aa",
        tenant_id="tnt_a",
        user_id="usr_1",
        channel=Channel.SMS,
        provider="twilio",
        template_id=None,
        recipient="+8613912345678",
        content="您的验证码是482913",
        status=DeliveryStatus.FAILED,
        error="30003 Unreachable destination handset",
        response='{"sid": "SM1"}',
        created_at=_AT,
        sent_at=_AT,
        updated_at=_AT,
    )
    intact = _row(record)
    for column in SHOWN_COLUMNS:
        assert intact[column] is not None
        other = "shown_content" if column != "shown_content" else "error"
        changes = (
            {column: _flip(intact[column], 30)},
            {column: intact[other]},
            {column: intact[column][:20]},
            {column: b"\x02" + intact[column][1:]},
            {"id": intact["id"] + "0"},
        )
        cases = [({**intact, **change}, _all_keys()) for change in changes]
        key_id = RECIPIENT_KEY.key_id if column == "shown_recipient" else CONTENT_KEY.key_id
        destroyed = _all_keys()
        destroyed[key_id] = None
        missing = _all_keys()
        del missing[key_id]
        cases += [(dict(intact), destroyed), (dict(intact), missing)]
        for row, keys in cases:
            assert _opened_shown(row, _live(keys)) is None
    for version in (None, 0, RULES_VERSION + 1):
        assert _opened_shown({**intact, "shown_version": version}, _live(_all_keys())) is None
    no_views = {**intact, "shown_recipient": None, "shown_content": None}
    assert _opened_shown(no_views, _live(_all_keys())) is None
