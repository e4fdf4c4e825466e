"""The versioned binary envelope every encrypted field is stored in.

Layout (format 1)::

    0      1                9                      21
    +------+----------------+----------------------+---------------------------+
    | 0x01 | key id (u64 BE)| nonce (96 bits)      | ciphertext ‖ GCM tag (16) |
    +------+----------------+----------------------+---------------------------+

AES-256-GCM with a random nonce per value. The associated data binds the tenant, the
record and the column, so a ciphertext copied into another row, column or tenant fails to
authenticate instead of decrypting to someone else's data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Mapping, Sequence

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_V1 = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">BQ")
OVERHEAD = _HEADER.size + NONCE_BYTES + TAG_BYTES
_NONCE_END = _HEADER.size + NONCE_BYTES
BLIND_INDEX_BYTES = 8
MAX_KEY_ID = 2**63 - 1


class EnvelopeError(Exception):
    """An envelope that cannot be opened. The message names no data and no key material."""


def field_context(tenant_id: str, record_id: str, column: str) -> bytes:
    """Associated data for one field: unambiguous (a JSON array,
    ``["commlog/field/v1", tenant_id, record_id, column]``), never stored."""
    return column_context(row_context(tenant_id, record_id), column)


def row_context(tenant_id: str, record_id: str) -> bytes:
    """What :func:`field_context` begins with for every column of one row, so a reader
    opening several fields of a row encodes the row once (:func:`column_context`)."""
    return msgspec.json.encode(["commlog/field/v1", tenant_id, record_id])[:-1]


def column_context(row: bytes, column: str) -> bytes:
    """:func:`field_context` from :func:`row_context` and a column name (a plain ASCII
    name without quotes or backslashes, which JSON writes as it is)."""
    return row + b',"' + column.encode("ascii") + b'"]'


def seal(aead: AESGCM, key_id: int, plaintext: str, context: bytes) -> bytes:
    """Encrypt ``plaintext`` under the data key ``key_id``."""
    nonce = os.urandom(NONCE_BYTES)
    header = _HEADER.pack(FORMAT_V1, key_id)
    return header + nonce + aead.encrypt(nonce, plaintext.encode("utf-8"), header + context)


def key_id_of(envelope: bytes) -> int:
    """The data key an envelope was sealed with (readable without any key)."""
    if len(envelope) < OVERHEAD:
        raise EnvelopeError("envelope is truncated")
    version, key_id = _HEADER.unpack_from(envelope)
    if version != FORMAT_V1:
        raise EnvelopeError(f"unknown envelope format {version}")
    if key_id > MAX_KEY_ID:  # key ids are signed 64-bit in the database: this one is forged
        raise EnvelopeError("envelope names an impossible key id")
    return int(key_id)


def open_envelope(aead: AESGCM, envelope: bytes, context: bytes) -> str:
    """Decrypt and authenticate; any tampering, or the wrong row/column/tenant, fails."""
    key_id_of(envelope)  # validates the header
    return open_checked_envelope(aead, envelope, context)


def open_checked_envelope(aead: AESGCM, envelope: bytes, context: bytes) -> str:
    """:func:`open_envelope` for an envelope whose header :func:`key_id_of` accepted."""
    try:
        plaintext = aead.decrypt(
            envelope[_HEADER.size : _NONCE_END],
            envelope[_NONCE_END:],
            envelope[: _HEADER.size] + context,
        )
        return plaintext.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise EnvelopeError("authentication failed") from None


def readers(aeads: Mapping[int, AESGCM]) -> dict[bytes, AESGCM]:
    """``aeads`` by the header an envelope sealed under each key begins with, for
    :func:`opened_or_none`."""
    return {_HEADER.pack(FORMAT_V1, key_id): aead for key_id, aead in aeads.items()}


def opened_or_none(
    by_header: Mapping[bytes, AESGCM],
    envelopes: Sequence[bytes | None],
    context: bytes,
    suffixes: Sequence[bytes],
) -> list[str | None] | None:
    """The plaintexts of a row's ``envelopes`` (``None`` where there is none), each opened
    with ``context`` and its column's suffix (:func:`column_context`), when every one is
    well formed, begins with a header of ``by_header`` (:func:`readers`) and opens under
    its key; otherwise ``None``, with nothing said: for a reader's fast path, which then
    reads the row the checked way (:func:`key_id_of`, :func:`open_checked_envelope`) to
    find out what is wrong."""
    opened: list[str | None] = []
    for envelope, suffix in zip(envelopes, suffixes, strict=True):
        if envelope is None:
            opened.append(None)
            continue
        header = envelope[: _HEADER.size]
        aead = by_header.get(header)
        if aead is None or len(envelope) < OVERHEAD:
            return None
        try:
            opened.append(
                aead.decrypt(
                    envelope[_HEADER.size : _NONCE_END],
                    envelope[_NONCE_END:],
                    header + context + suffix,
                ).decode("utf-8")
            )
        except (InvalidTag, UnicodeDecodeError):
            return None
    return opened


def blind_index(index_key: bytes, channel: str, normalized_recipient: str) -> bytes:
    """Keyed, truncated HMAC-SHA256 of a normalised recipient (exact-match lookups only).

    It reveals which records share a recipient (equality) and nothing else; truncation to
    64 bits means rare false matches, which lookups remove by decrypting and comparing.
    """
    return recipient_digest(index_key, channel, normalized_recipient)[:BLIND_INDEX_BYTES]


def recipient_digest(index_key: bytes, channel: str, normalized_recipient: str) -> bytes:
    """The full keyed HMAC-SHA256 whose first :data:`BLIND_INDEX_BYTES` bytes are the blind
    index. A data-subject request keeps it instead of the recipient, to confirm a
    candidate row by decrypting it and comparing digests (no truncation collisions)."""
    message = msgspec.json.encode(["commlog/blind-index/v1", channel, normalized_recipient])
    return hmac.new(index_key, message, hashlib.sha256).digest()


IDEMPOTENCY_DIGEST_PREFIX = "h1:"
"""Marks a stored ``Idempotency-Key`` digest (format 1); a legacy row holds the key itself."""
_IDEMPOTENCY_KEY_INFO = b"commlog/idempotency-key/v1"
_IDEMPOTENCY_DIGEST_LENGTH = len(IDEMPOTENCY_DIGEST_PREFIX) + 2 * hashlib.sha256().digest_size


def idempotency_key_secret(index_key: bytes) -> bytes:
    """The tenant's idempotency-key secret, derived from its blind-index key (HKDF-SHA256,
    RFC 5869, with its own label), so the two keyed hashes never share a key and
    destroying the index key (tenant shredding) makes both useless."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_IDEMPOTENCY_KEY_INFO).derive(
        index_key
    )


def idempotency_digest(secret: bytes, key: str) -> str:
    """``h1:`` + hex HMAC-SHA256 of an ``Idempotency-Key``: what is stored instead of it.

    A retry finds its first request by computing the same digest; the key itself, which
    a client may have built from an order number or a person's id, is never stored.
    """
    return IDEMPOTENCY_DIGEST_PREFIX + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def is_idempotency_digest(value: str) -> bool:
    """Whether a stored ``idempotency_key`` is a digest rather than a legacy plaintext key."""
    return (
        len(value) == _IDEMPOTENCY_DIGEST_LENGTH
        and value.startswith(IDEMPOTENCY_DIGEST_PREFIX)
        and all(c in "0123456789abcdef" for c in value[len(IDEMPOTENCY_DIGEST_PREFIX) :])
    )
