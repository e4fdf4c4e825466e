"""The worked example of docs/compliance/audit.md is what the code computes, so the
document cannot drift from the chain's definition."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import msgspec
import pytest

from policies.audit_chain import ChainedEvent

DOC = Path(__file__).resolve().parents[2] / "docs" / "compliance" / "audit.md"


def _block(name: str) -> str:
    match = re.search(
        rf"<!-- audit-example:{name} -->\n```[a-z]*\n(.*?)\n```", DOC.read_text("utf-8"), re.S
    )
    assert match is not None, name
    return match.group(1)


def _event(shown: dict[str, object]) -> ChainedEvent:
    fields = {**shown, "occurred_at": datetime.fromisoformat(str(shown["occurred_at"]))}
    return ChainedEvent(**fields)  # type: ignore[arg-type]


def test_the_worked_example_is_the_canonical_encoding_and_hash_of_its_event() -> None:
    shown = msgspec.json.decode(_block("event"))
    event = _event(shown)
    assert event.canonical_bytes().decode() == _block("canonical")
    assert event.computed_hash() == shown["hash"]
    assert hashlib.sha256(_block("canonical").encode()).hexdigest() == shown["hash"]
    assert f"# {shown['hash']}  -" in _block("command")


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_documented_jq_command_recomputes_the_hash(tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text(_block("event"), encoding="utf-8")
    command = _block("command").splitlines()[0]
    result = subprocess.run(  # noqa: S602 - the documented shell command, verbatim
        command, shell=True, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    shown = msgspec.json.decode(_block("event"))
    assert result.stdout.strip() == f"{shown['hash']}  -"
