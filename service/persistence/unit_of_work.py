"""When a request's transaction ends: committed by the handler, before its answer exists.

A write handler calls :func:`commit` before it builds its response, so a 2xx is only ever
sent for a write the database confirmed; a commit the database does not confirm becomes a
503 with ``Retry-After``. What is still open when the response starts is rolled back by
:func:`rollback_before_send`, never committed: a write nobody committed is a bug, logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import (
    SESSION_SCOPE_KEY,
    SESSION_TERMINUS_ASGI_EVENTS,
)
from litestar.constants import HTTP_RESPONSE_START

from compliance.transactions import NOT_CONFIRMED, CommitFailed, Session, write_pending
from compliance.transactions import commit as commit_transaction
from service.errors import ServiceUnavailable

if TYPE_CHECKING:
    from litestar.types import Message, Scope
    from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("commlog.storage")
COMMIT_RETRY_AFTER_SECONDS = 5


async def commit(session: Session, *, operation: str) -> None:
    """Commit the request's transaction, or answer 503 (nothing stored; retry)."""
    try:
        await commit_transaction(session, operation=operation)
    except CommitFailed:
        raise ServiceUnavailable(NOT_CONFIRMED, retry_after=COMMIT_RETRY_AFTER_SECONDS) from None


def _route(scope: Scope) -> str:
    template = scope.get("path_template")
    method = scope.get("method", "")
    return f"{method} {template}" if template else f"{method} (unrouted)"


def rollback_before_send(
    session_scope_key: str = SESSION_SCOPE_KEY,
) -> Callable[[Message, Scope], Coroutine[Any, Any, None]]:
    """advanced-alchemy's ``before_send_handler``: end the request's session, committing
    nothing. Reads simply end their transaction; a write still uncommitted when a success
    is about to be sent is logged as the bug it is, and discarded."""

    async def handler(message: Message, scope: Scope) -> None:
        session = cast("AsyncSession | None", get_aa_scope_state(scope, session_scope_key))
        if session is None:
            return
        try:
            if message["type"] == HTTP_RESPONSE_START:
                status = message["status"]
                if status < 400 and write_pending(session):
                    logger.error(
                        "uncommitted write discarded on %s (status %d): the handler did not commit",
                        _route(scope),
                        status,
                    )
                await session.rollback()
        except Exception as exc:
            logger.warning("session rollback failed: %s", type(exc).__name__)
        finally:
            if message["type"] in SESSION_TERMINUS_ASGI_EVENTS:
                try:
                    await session.close()
                except Exception as exc:
                    logger.warning("session close failed: %s", type(exc).__name__)
                delete_aa_scope_state(scope, session_scope_key)

    return handler


__all__ = ["commit", "rollback_before_send"]
