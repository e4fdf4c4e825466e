"""The digest of erased ids is defined independently of how the ids arrive or spill."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from compliance.retention.digest import ErasedIds, ids_digest

IDS = st.lists(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FFF), min_size=1, max_size=12),
    max_size=60,
)


def test_the_digest_is_sha256_over_the_sorted_ids_each_followed_by_a_new_line() -> None:
    ids = ["log_b", "log_a", "log_ab"]
    assert ids_digest(ids) == hashlib.sha256(b"log_a\nlog_ab\nlog_b\n").hexdigest()
    assert ids_digest([]) == hashlib.sha256(b"").hexdigest()


@given(batches=st.lists(IDS, max_size=6), spill_after=st.integers(min_value=1, max_value=20))
def test_batches_spilled_to_disk_give_the_digest_of_all_ids_sorted(
    batches: list[list[str]], spill_after: int
) -> None:
    collected = ErasedIds(spill_after=spill_after)
    try:
        for batch in batches:
            collected.add(batch)
        everything = [item for batch in batches for item in batch]
        assert collected.summary() == {"ids": len(everything), "ids_sha256": ids_digest(everything)}
    finally:
        collected.close()
