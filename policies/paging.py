"""Page arithmetic for the seed's ``PageInfo``: one definition of what a page is."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
"""Beyond any real log (100 million records at the largest page size), and small enough
that the offset stays a 64-bit integer in every database."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRequest:
    """A 1-based page of ``page_size`` items."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page must be between 1 and {MAX_PAGE}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        """How many items precede this page."""
        return (self.page - 1) * self.page_size


@dataclass(frozen=True, slots=True, kw_only=True)
class PageInfo:
    """Where a page stands in the whole result (the seed's ``PageInfo``)."""

    page: int
    page_size: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool


def page_info(request: PageRequest, total: int) -> PageInfo:
    """Describe ``request`` within a result of ``total`` items.

    ``total_pages`` is ``ceil(total / page_size)`` (0 for an empty result). A page past
    the end is still described truthfully: it has a previous page and no next one.
    """
    if total < 0:
        raise ValueError("total cannot be negative")
    total_pages = -(-total // request.page_size)
    return PageInfo(
        page=request.page,
        page_size=request.page_size,
        total=total,
        total_pages=total_pages,
        has_next=request.page < total_pages,
        has_prev=request.page > 1,
    )
