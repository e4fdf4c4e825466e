"""Master keys: parsing, wrapping, and one clear line naming the key id on failure."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from compliance.encryption.master import (
    MasterKeyError,
    MasterKeyMismatch,
    MasterKeyMissing,
    development_master_keys,
    new_master_key_entry,
    parse_master_keys,
)


def test_the_first_key_is_primary_and_older_keys_still_unwrap() -> None:
    old_entry = new_master_key_entry("k1")
    key_id, wrapped = parse_master_keys(old_entry, source="test").wrap(b"d" * 32, b"ctx")
    both = parse_master_keys(new_master_key_entry("k2") + "," + old_entry, source="test")
    assert both.primary_id == "k2"
    assert key_id == "k1"
    assert both.unwrap("k1", wrapped, b"ctx") == b"d" * 32
    assert both.wrap(b"d" * 32, b"ctx")[0] == "k2"
    with pytest.raises(MasterKeyMismatch):
        both.unwrap("k1", wrapped, b"another context")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "holds no master key"),
        ("nocolon", "entry 1"),
        ("k1:not-base64!", "'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "'k1' must be 32 bytes"),
        ("bad id:" + base64.b64encode(os.urandom(32)).decode(), "entry 1"),
    ],
)
def test_bad_key_specs_fail_with_one_line_naming_the_key(spec: str, fragment: str) -> None:
    with pytest.raises(MasterKeyError) as raised:
        parse_master_keys(spec, source="COMMLOG_MASTER_KEYS")
    message = str(raised.value)
    assert fragment in message
    assert "COMMLOG_MASTER_KEYS" in message
    assert "\n" not in message


def test_a_duplicated_key_id_is_refused() -> None:
    entry = new_master_key_entry("k1")
    with pytest.raises(MasterKeyError, match="listed twice"):
        parse_master_keys(f"{entry},{entry}", source="x")


def test_missing_and_wrong_master_keys_name_the_key_id_but_never_the_key() -> None:
    entry = new_master_key_entry("k1")
    ring = parse_master_keys(entry, source="x")
    _, wrapped = ring.wrap(b"k" * 32, b"ctx")
    other = parse_master_keys(new_master_key_entry("k1"), source="x")
    with pytest.raises(MasterKeyMismatch) as mismatch:
        other.unwrap("k1", wrapped, b"ctx")
    with pytest.raises(MasterKeyMissing) as missing:
        ring.unwrap("k0", wrapped, b"ctx")
    for raised in (mismatch, missing):
        message = str(raised.value)
        assert "'k1'" in message or "'k0'" in message
        assert entry.split(":", 1)[1] not in message
        assert "\n" not in message


def test_the_keyring_never_prints_key_material() -> None:
    entry = new_master_key_entry("k1")
    ring = parse_master_keys(entry, source="x")
    assert entry.split(":", 1)[1] not in repr(ring)
    assert "k1" in repr(ring)


def test_development_keys_are_generated_once_and_private(tmp_path: Path) -> None:
    first = development_master_keys(tmp_path)
    assert development_master_keys(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "master-keys").stat().st_mode) == 0o600
    assert parse_master_keys(first, source="file").primary_id == "dev-1"


def test_comments_and_newlines_are_allowed_in_key_files() -> None:
    spec = "# rotated 2026-11\n" + new_master_key_entry("new") + "\n" + new_master_key_entry("old")
    assert parse_master_keys(spec, source="file").key_ids == ["new", "old"]
