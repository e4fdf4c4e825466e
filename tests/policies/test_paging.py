"""Page arithmetic: pages partition the result, and PageInfo tells the truth."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.paging import MAX_PAGE_SIZE, PageRequest, page_info

sizes = st.integers(min_value=1, max_value=MAX_PAGE_SIZE)


@given(total=st.integers(min_value=0, max_value=5_000), page_size=sizes)
def test_pages_partition_the_result_set(total: int, page_size: int) -> None:
    items = list(range(total))
    pages = page_info(PageRequest(page=1, page_size=page_size), total).total_pages
    collected: list[int] = []
    for number in range(1, pages + 1):
        request = PageRequest(page=number, page_size=page_size)
        chunk = items[request.offset : request.offset + page_size]
        assert chunk, "no page up to total_pages is empty"
        collected += chunk
    assert collected == items
    beyond = PageRequest(page=pages + 1, page_size=page_size)
    assert items[beyond.offset : beyond.offset + page_size] == []


@given(total=st.integers(min_value=0, max_value=5_000), page_size=sizes, page=st.integers(1, 200))
def test_page_info_is_consistent(total: int, page_size: int, page: int) -> None:
    info = page_info(PageRequest(page=page, page_size=page_size), total)
    assert info.total_pages == -(-total // page_size)
    assert (info.total_pages - 1) * page_size < total <= info.total_pages * page_size or total == 0
    assert info.has_prev == (page > 1)
    assert info.has_next == (page < info.total_pages)


@pytest.mark.parametrize(("page", "page_size"), [(0, 20), (-1, 20), (1, 0), (1, 101)])
def test_out_of_range_requests_are_refused(page: int, page_size: int) -> None:
    with pytest.raises(ValueError, match="page"):
        PageRequest(page=page, page_size=page_size)
