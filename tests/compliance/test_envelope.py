"""The envelope: round trips, tamper detection, and what binds a ciphertext to its place."""

from __future__ import annotations

import os

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given
from hypothesis import strategies as st

from compliance.encryption.envelope import (
    FORMAT_V1,
    OVERHEAD,
    EnvelopeError,
    blind_index,
    column_context,
    field_context,
    key_id_of,
    open_envelope,
    row_context,
    seal,
)
from compliance.records.sealing import SEALED_COLUMNS

AEAD = AESGCM(AESGCM.generate_key(256))
CONTEXT = field_context("tnt_a", "log_1", "content")


@given(text=st.text(max_size=2_000))
@example(text="")
@example(text="您的验证码是123456")
@example(text="é" * 32_768)  # 64 KiB of UTF-8
@example(text="x" * 65_536)
def test_any_unicode_text_round_trips(text: str) -> None:
    envelope = seal(AEAD, 7, text, CONTEXT)
    assert key_id_of(envelope) == 7
    assert open_envelope(AEAD, envelope, CONTEXT) == text
    assert len(envelope) == OVERHEAD + len(text.encode())


def test_the_envelope_starts_with_its_format_and_key_id() -> None:
    envelope = seal(AEAD, 2**40 + 3, "x", CONTEXT)
    assert envelope[0] == FORMAT_V1
    assert key_id_of(envelope) == 2**40 + 3


def test_the_same_value_never_encrypts_the_same_way_twice() -> None:
    assert seal(AEAD, 1, "same", CONTEXT) != seal(AEAD, 1, "same", CONTEXT)


@given(position=st.integers(min_value=0, max_value=OVERHEAD + 4), bit=st.integers(0, 7))
def test_any_flipped_bit_is_detected(position: int, bit: int) -> None:
    envelope = bytearray(seal(AEAD, 1, "hello", CONTEXT))
    envelope[position] ^= 1 << bit
    with pytest.raises(EnvelopeError):
        open_envelope(AEAD, bytes(envelope), CONTEXT)


@pytest.mark.parametrize(
    "elsewhere",
    [
        field_context("tnt_a", "log_2", "content"),  # another row
        field_context("tnt_a", "log_1", "error"),  # another column
        field_context("tnt_b", "log_1", "content"),  # another tenant
    ],
)
def test_a_ciphertext_moved_elsewhere_does_not_open(elsewhere: bytes) -> None:
    envelope = seal(AEAD, 1, "secret", CONTEXT)
    with pytest.raises(EnvelopeError, match="authentication failed"):
        open_envelope(AEAD, envelope, elsewhere)


def test_the_wrong_key_does_not_open() -> None:
    envelope = seal(AEAD, 1, "secret", CONTEXT)
    with pytest.raises(EnvelopeError):
        open_envelope(AESGCM(AESGCM.generate_key(256)), envelope, CONTEXT)


@pytest.mark.parametrize("envelope", [b"", b"\x01", b"\x02" + bytes(40), os.urandom(10)])
def test_truncated_or_unknown_envelopes_are_refused_without_data(envelope: bytes) -> None:
    with pytest.raises(EnvelopeError) as raised:
        key_id_of(envelope)
    assert envelope.hex() not in str(raised.value) or not envelope


def test_context_fields_cannot_be_shifted_into_each_other() -> None:
    assert field_context("a|b", "c", "d") != field_context("a", "b|c", "d")
    assert field_context("ab", "c", "d") != field_context("a", "bc", "d")


def test_blind_index_is_keyed_truncated_and_exact() -> None:
    key = os.urandom(32)
    first = blind_index(key, "sms", "8613812348000")
    assert len(first) == 8
    assert blind_index(key, "sms", "8613812348000") == first
    assert blind_index(key, "sms", "8613812348001") != first
    assert blind_index(key, "email", "8613812348000") != first
    assert blind_index(os.urandom(32), "sms", "8613812348000") != first


@given(
    tenant_id=st.text(max_size=60),
    record_id=st.text(max_size=60),
    column=st.sampled_from([*SEALED_COLUMNS, "shown_recipient/v1", "shown_content/v1"]),
)
def test_a_rows_context_with_a_column_is_the_fields_context(
    tenant_id: str, record_id: str, column: str
) -> None:
    row = row_context(tenant_id, record_id)
    expected = msgspec.json.encode(["commlog/field/v1", tenant_id, record_id, column])
    assert column_context(row, column) == field_context(tenant_id, record_id, column) == expected
