"""The tables of message templates. A version, once written, is never changed.

Template bodies and parameter classes are the tenant's wording, not personal data: they
are stored as text. The values a send fills in live sealed in ``communication_logs``.
"""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class MessageTemplate(DefaultBase):
    """A tenant's template id and the version a send uses now."""

    __tablename__ = "message_templates"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)


class MessageTemplateVersion(DefaultBase):
    """One immutable version: channel, body, parameter classes, content retention."""

    __tablename__ = "message_template_versions"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)
    """Canonical JSON: parameter name → class."""
    content_retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
