"""The one place request bodies are decoded: strictly, from the raw bytes, with limits.

Litestar's default path decodes JSON into Python values and then converts them leniently
(an integer becomes a datetime, the last of two equal keys wins), and lets
``UnicodeDecodeError`` and ``RecursionError`` escape as 500s. Every body here is a
:class:`~service.schemas.RequestBody`; :class:`StrictBodyPlugin` makes Litestar hand its
bytes to :class:`StrictJSONBody`, which

- answers 415 unless the body is ``application/json`` (UTF-8);
- decodes the bytes straight into the struct with ``strict=True`` (no type coercion);
- refuses invalid UTF-8 and nesting deeper than the struct with a 400, never a trace;
- refuses an object that names a key twice (bodies are at most 256 KiB and already
  validated when this linear scan runs);
- refuses times outside :mod:`policies.instants`' range, whichever field holds them.

The size limit is Litestar's ``request_max_body_size`` (set on the app, see
``service.app``), enforced while the bytes are read, before any of this runs.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Generator
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import msgspec
import msgspec.inspect
from litestar.dto import AbstractDTO, DTOConfig, DTOFieldDefinition
from litestar.exceptions import HTTPException
from litestar.openapi.spec import Reference, Schema
from litestar.plugins import SerializationPlugin
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.typing import FieldDefinition

from policies.identifiers import (
    IDENTIFIER_PATTERN,
    IDENTIFIER_RULE,
    NO_NUL_PATTERN,
    NO_NUL_RULE,
    PROVIDER_PATTERN,
    PROVIDER_RULE,
    TEMPLATE_ID_PATTERN,
    TEMPLATE_ID_RULE,
)
from policies.instants import RANGE_TEXT, accepted_instant
from service.errors import BadRequest, without_values
from service.schemas import RequestBody

JSON_MEDIA_TYPE = "application/json"
NOT_JSON = "body is not valid JSON/UTF-8"
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_AT_PATH = re.compile(r" - at `\$\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<key>.*)`$", re.DOTALL)
BodyT = TypeVar("BodyT", bound=RequestBody)


class UnsupportedMediaType(HTTPException):
    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE


def require_json(content_type: tuple[str, dict[str, str]]) -> None:
    """415 unless the request says its body is JSON in UTF-8 (RFC 8259 allows no other)."""
    media_type, options = content_type
    charset = options.get("charset", "utf-8").lower()
    if media_type.lower() != JSON_MEDIA_TYPE or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("body must be application/json (UTF-8)")


_RULES = {
    IDENTIFIER_PATTERN: IDENTIFIER_RULE,
    NO_NUL_PATTERN: NO_NUL_RULE,
    TEMPLATE_ID_PATTERN: TEMPLATE_ID_RULE,
    PROVIDER_PATTERN: PROVIDER_RULE,
}


@functools.cache
def _pattern_rules(body_type: type[RequestBody]) -> dict[str, str]:
    """Field name -> the rule its pattern states, for fields constrained by a pattern."""
    rules: dict[str, str] = {}
    info = msgspec.inspect.type_info(body_type)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        options = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else ()
        for option in (field.type, *options):
            # A type with a description or examples comes wrapped in its metadata.
            candidate = option.type if isinstance(option, msgspec.inspect.Metadata) else option
            if isinstance(candidate, msgspec.inspect.StrType) and candidate.pattern in _RULES:
                rules[field.encode_name] = _RULES[candidate.pattern]
    return rules


def _describe(error: msgspec.ValidationError, body_type: type[RequestBody]) -> str:
    """Name the field that failed and the rule it broke, never the value sent."""
    message = str(error)
    unknown = _UNKNOWN_FIELD.match(message)
    if unknown:
        key = unknown["key"]
        named = f"'{key}'" if _SAFE_KEY.fullmatch(key) else "a field"
        return f"invalid request: body has {named}, which is not a field of this request"
    located = _AT_PATH.search(message)
    field = located["field"] if located else None
    reason = without_values(message[: located.start()] if located else message)
    if "matching regex" in reason and field in _pattern_rules(body_type):
        reason = _pattern_rules(body_type)[field]
    if field is None:
        if reason.startswith("Expected `object`"):
            return "invalid request: the body must be a JSON object"
        return f"invalid request: {reason}"
    return f"invalid request: '{field}': {reason}"


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            named = f"'{key}'" if _SAFE_KEY.fullmatch(key) else "a key"
            raise BadRequest(f"invalid request: body names {named} more than once")
        seen.add(key)
    return dict(pairs)


def decode_body(raw: bytes, body_type: type[BodyT]) -> BodyT:
    """Decode ``raw`` into ``body_type`` or raise :class:`BadRequest` naming the problem."""
    try:
        body = msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        _refuse_invalid_json(raw)  # a type error at the root may hide malformed JSON
        raise BadRequest(_describe(exc, body_type)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        _refuse_invalid_json(raw)
        raise BadRequest(f"{NOT_JSON}: the JSON is malformed") from None  # pragma: no cover
    # The body decoded into a flat struct, so this second pass is shallow and linear.
    try:
        json.loads(raw, object_pairs_hook=_refuse_repeated_keys)
    except (ValueError, RecursionError):  # pragma: no cover - msgspec accepted it already
        raise BadRequest(f"{NOT_JSON}: the JSON is malformed") from None
    for field in msgspec.structs.fields(body_type):
        value = getattr(body, field.name)
        if isinstance(value, datetime) and accepted_instant(value) is None:
            raise BadRequest(f"invalid request: '{field.encode_name}' must be {RANGE_TEXT}")
    return body


def _refuse_invalid_json(raw: bytes) -> None:
    """400 naming the defect when ``raw`` is not JSON at all (only on the error path)."""
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise BadRequest(f"{NOT_JSON}: the JSON is malformed") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{NOT_JSON}: a string is not valid UTF-8") from None
    except RecursionError:
        raise BadRequest(f"{NOT_JSON}: it is nested too deeply") from None


class StrictJSONBody(AbstractDTO[BodyT]):
    """Litestar's hook for a handler's ``data``: decoded by :func:`decode_body`."""

    config: ClassVar[DTOConfig] = DTOConfig()

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """No transfer models: the struct is decoded as it is."""

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        """The struct's own schema, exactly as without this decoder."""
        schema: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(
                cls.model_type, kwarg_definition=field_definition.kwarg_definition
            )
        )
        return schema

    def decode_bytes(self, value: bytes) -> Any:
        require_json(self.asgi_connection.content_type)  # type: ignore[attr-defined]
        return decode_body(value, self.model_type)

    def decode_builtins(self, value: dict[str, Any]) -> Any:  # pragma: no cover - JSON only
        raise UnsupportedMediaType("body must be application/json (UTF-8)")


class StrictBodyPlugin(SerializationPlugin):
    """Routes every ``data: RequestBody`` parameter through :class:`StrictJSONBody`."""

    def supports_type(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_subclass_of(RequestBody)

    def create_dto_for_type(self, field_definition: FieldDefinition) -> type[AbstractDTO[Any]]:
        dto: type[AbstractDTO[Any]] = StrictJSONBody[field_definition.annotation]  # type: ignore[name-defined]
        return dto
