"""Master keys (key-encryption keys): they wrap tenant data keys and nothing else.

A keyring has one primary key, which wraps new data keys, and any number of older keys
that still unwrap what they wrapped (Tink's keyset model). Rotation is: add a new key in
front, run ``commlog keys rotate-master`` to re-wrap every data key, then remove the old
key from the configuration.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NONCE = 12
_SIGNED = b"commlog signature\x00"


class MasterKeyError(Exception):
    """A master key problem, said in one line that names the key id and never the key."""


class MasterKeyMissing(MasterKeyError):
    pass


class MasterKeyMismatch(MasterKeyError):
    pass


@dataclass(frozen=True)
class MasterKeyring:
    """The configured master keys; the first one is the primary."""

    primary_id: str
    _keys: Mapping[str, AESGCM] = field(repr=False)

    def __repr__(self) -> str:
        return f"MasterKeyring(primary={self.primary_id!r}, keys={sorted(self._keys)!r})"

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """Encrypt a data key under the primary master key."""
        nonce = os.urandom(_NONCE)
        return self.primary_id, nonce + self._keys[self.primary_id].encrypt(
            nonce, data_key, context
        )

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a data key wrapped by master key ``key_id``."""
        aead = self._keys.get(key_id)
        if aead is None:
            raise MasterKeyMissing(
                f"master key '{key_id}' is not configured (COMMLOG_MASTER_KEYS or "
                "COMMLOG_MASTER_KEY_FILE): data keys it wrapped cannot be opened"
            )
        try:
            return aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], context)
        except InvalidTag:
            raise MasterKeyMismatch(
                f"master key '{key_id}' does not match the data keys it is said to have wrapped"
            ) from None

    def sign(self, statement: bytes) -> str:
        """A signature of ``statement`` by the primary master key: AES-GCM over no plaintext
        with ``statement`` as associated data (GMAC), as ``key-id:base64(nonce+tag)``.

        Audit chain heads and checkpoints are signed so that whoever can write the database
        but does not hold the master key cannot rewrite the trail unnoticed."""
        nonce = os.urandom(_NONCE)
        tag = self._keys[self.primary_id].encrypt(nonce, b"", _SIGNED + statement)
        return f"{self.primary_id}:{base64.b64encode(nonce + tag).decode()}"

    def verify(self, signature: str, statement: bytes) -> bool:
        """Whether ``signature`` (from :meth:`sign`) covers ``statement``. A signature by a
        master key that is not configured raises :class:`MasterKeyMissing`."""
        key_id, _, encoded = signature.partition(":")
        aead = self._keys.get(key_id)
        if aead is None:
            raise MasterKeyMissing(
                f"master key '{key_id}' is not configured: what it signed cannot be checked"
            )
        try:
            raw = base64.b64decode(encoded, validate=True)
            aead.decrypt(raw[:_NONCE], raw[_NONCE:], _SIGNED + statement)
        except (binascii.Error, ValueError, InvalidTag):
            return False
        return True

    def signed_by(self, signature: str) -> str:
        """The master key id a signature names."""
        return signature.partition(":")[0]


def parse_master_keys(spec: str, *, source: str) -> MasterKeyring:
    """Parse ``kid:base64key[,kid:base64key…]`` (commas or new lines); first is primary."""
    keys: dict[str, AESGCM] = {}
    entries = [part.strip() for part in re.split(r"[,\n]", spec) if part.strip()]
    entries = [entry for entry in entries if not entry.startswith("#")]
    if not entries:
        raise MasterKeyError(f"{source} holds no master key")
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not KEY_ID_PATTERN.fullmatch(key_id):
            raise MasterKeyError(
                f"{source}: entry {position} must be 'key-id:base64-key' "
                "(key id of letters, digits, '.', '_' or '-')"
            )
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError(f"{source}: master key '{key_id}' is not valid base64") from None
        if len(raw) != MASTER_KEY_BYTES:
            raise MasterKeyError(
                f"{source}: master key '{key_id}' must be {MASTER_KEY_BYTES} bytes (AES-256)"
            )
        if key_id in keys:
            raise MasterKeyError(f"{source}: master key '{key_id}' is listed twice")
        keys[key_id] = AESGCM(raw)
    return MasterKeyring(primary_id=next(iter(keys)), _keys=keys)


def new_master_key_entry(key_id: str) -> str:
    """A fresh ``kid:base64key`` line (development key files, operators' rotation)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode()}"


def development_master_keys(var_dir: Path) -> str:
    """The development key file's content, generated once with owner-only permissions."""
    path = var_dir / "master-keys"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    var_dir.mkdir(parents=True, exist_ok=True)
    content = "# commlog development master keys: first line is the primary\n"
    content += new_master_key_entry("dev-1") + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return content
