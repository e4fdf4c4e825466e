"""How much free text one send record may store: bounds that keep every page servable.

Storage limitation (GDPR Art. 5(1)(c), data minimisation; PIPL Art. 6) asks that no more
is kept than the purpose needs, and every stored character is decrypted and masked each
time a page is read. A message body of a few thousand characters is evidence of a send;
a 64 KiB body is a document, and a page of a hundred of them would keep the service busy
for seconds. So each free-text field has a limit, configurable up to a hard ceiling.

Limits count characters (code points), not bytes: masking work grows with characters,
and a limit in bytes would let Latin text store three times as much as Chinese text.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTENT_CEILING_CHARS = 65_536
"""The largest content limit that may be configured."""
PROVIDER_TEXT_CEILING_CHARS = 16_384
"""The largest limit for a provider's error or response text that may be configured."""

DEFAULT_CONTENT_CHARS = 16_384
"""Ten concatenated SMS segments are under 1,600 characters and a push payload is capped
at 4 KB by APNs and FCM; 16,384 characters hold those with room for a transactional
e-mail's text, while a page of 100 such records stays a bounded amount of work."""
DEFAULT_PROVIDER_TEXT_CHARS = 8_192
"""Provider errors and delivery receipts are short JSON or text documents; 8,192
characters hold a full bounce notification or error body."""


class TextLimitError(ValueError):
    """A configured limit outside ``1 … ceiling``. The message names the limit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TextLimits:
    """The most characters each free-text field of a send record may store."""

    content_chars: int = DEFAULT_CONTENT_CHARS
    provider_text_chars: int = DEFAULT_PROVIDER_TEXT_CHARS

    def __post_init__(self) -> None:
        if not 1 <= self.content_chars <= CONTENT_CEILING_CHARS:
            raise TextLimitError(f"the content limit must be 1 to {CONTENT_CEILING_CHARS}")
        if not 1 <= self.provider_text_chars <= PROVIDER_TEXT_CEILING_CHARS:
            raise TextLimitError(
                f"the provider text limit must be 1 to {PROVIDER_TEXT_CEILING_CHARS}"
            )

    def limit_for(self, field: str) -> int:
        """The limit of ``field``: ``content``, or ``error``/``response`` (provider text)."""
        return self.content_chars if field == "content" else self.provider_text_chars

    def first_oversized(self, fields: dict[str, str | None]) -> tuple[str, int] | None:
        """The first field longer than its limit, with that limit; ``None`` when all fit."""
        for name, value in fields.items():
            limit = self.limit_for(name)
            if value is not None and len(value) > limit:
                return name, limit
        return None
