"""Wire formats of the template endpoints (msgspec structs, strict request bodies)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from policies.channels import Channel
from policies.identifiers import NO_NUL_PATTERN
from policies.retention import MAX_WINDOW_DAYS
from policies.templates import CLASS_NAMES, MAX_BODY_CHARS, MAX_PARAMETERS, TemplateVersion
from service.schemas import PageInfo, RequestBody, Timestamp, rfc3339

_CLASSES_TEXT = ", ".join(f"`{name}`" for name in CLASS_NAMES)

TemplateBody = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        pattern=NO_NUL_PATTERN,
        description="The message with `${name}` placeholders (Aliyun's syntax).",
        examples=["【招商银行】${name}您好,您的验证码为${code},${minutes}分钟内有效。"],
    ),
]
ParameterClasses = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=64)], Annotated[str, msgspec.Meta(max_length=32)]],
    msgspec.Meta(
        max_length=MAX_PARAMETERS,
        description=(
            "Each placeholder's class, by parameter name (a letter or `_`, then up to 63 "
            f"letters, digits or `_`), at most {MAX_PARAMETERS}. Classes: {_CLASSES_TEXT}. "
            "Every placeholder must be "
            "declared and every declared parameter used (else 400 naming them)."
        ),
        examples=[{"name": "personal:name", "code": "secret", "minutes": "public"}],
    ),
]
RetentionDays = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_WINDOW_DAYS,
        description=(
            "Erase the parameters of sends from this template this many days after the "
            "send, if sooner than the tenant's content retention for the channel (it may "
            "not be longer: 400)."
        ),
    ),
]


class TemplateRequest(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PUT /templates/{template_id}``: the template as it should be now."""

    channel: Channel
    body: TemplateBody
    parameters: ParameterClasses
    content_retention_days: RetentionDays | None = None


class TemplateResponse(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a template."""

    template_id: str
    version: int
    channel: Channel
    body: str
    parameters: dict[str, str]
    content_retention_days: int | None
    created_at: Timestamp
    created_by: str

    @classmethod
    def of(cls, template: TemplateVersion) -> TemplateResponse:
        return cls(
            template_id=template.template_id,
            version=template.version,
            channel=template.channel,
            body=template.body,
            parameters=dict(template.parameters),
            content_retention_days=template.content_retention_days,
            created_at=rfc3339(template.created_at),
            created_by=template.created_by,
        )


class TemplateEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    data: TemplateResponse


class TemplateListResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    items: list[TemplateResponse]
    total: int
    pagination: PageInfo
