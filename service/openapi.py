"""The OpenAPI document and the docs page, as the service behaves and without the internet.

Litestar generates the document from the handlers and the msgspec structs. Where what it
writes differs from what the service does, it is corrected here, once, by rule:

- a struct with ``forbid_unknown_fields`` says ``additionalProperties: false`` (the server
  answers 400 to an unknown field);
- an enum field's default belongs to that field, not to the shared enum schema (otherwise
  the ``status`` query filter of ``GET /communication/logs`` would show ``pending`` as its
  default and the docs page's "Try it out" would send it);
- ``msgspec.Meta(examples=..., description=...)`` and ``extra_json_schema={"format": ...}``
  are carried into the document (Litestar reads neither).

The docs page loads Swagger UI from this service (``/schema/static``), never from a CDN: a
regulated deployment is often air-gapped. The files are vendored from the npm package
``swagger-ui-dist`` with their licence (``service/static/swagger-ui/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import get
from litestar._openapi.schema_generation.plugins.struct import (
    StructSchemaPlugin as LitestarStructSchemaPlugin,
)
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPIFormat, Reference, Schema, SecurityScheme
from litestar.params import FromPath
from litestar.plugins import OpenAPISchemaPlugin
from litestar.response import File
from litestar.typing import FieldDefinition

from policies.text_limits import TextLimits
from service.schemas import TEXT_LIMIT_KEY

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

OPENAPI_PATH = "/schema"
SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI_DIRECTORY = Path(__file__).parent / "static" / "swagger-ui"
# The version is in the path, so a browser may keep the files as long as it likes.
SWAGGER_UI_PATH = f"{OPENAPI_PATH}/static/swagger-ui-{SWAGGER_UI_VERSION}"


class StructSchemaPlugin(OpenAPISchemaPlugin):
    """msgspec structs as Litestar documents them, corrected as the module docstring says."""

    def __init__(self, text_limits: TextLimits) -> None:
        self._litestar = LitestarStructSchemaPlugin()
        self._text_limits = text_limits

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return self._litestar.is_plugin_supported_field(field_definition)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        enum_defaults = {
            field.encode_name: field.default
            for field in info.fields
            if _enum_of(field.type) is not None and field.default is not msgspec.NODEFAULT
        }
        schema = self._litestar.to_openapi_schema(field_definition, schema_creator)
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if prop is None:
                continue
            if field.encode_name in enum_defaults:
                enum = _enum_of(field.type)
                assert enum is not None
                _clear_enum_default(schema_creator, enum)
                assert schema.properties is not None
                schema.properties[field.encode_name] = _with_default(
                    prop, enum_defaults[field.encode_name]
                )
                continue
            _apply_meta(prop, field, self._text_limits)
        return schema


def use_struct_schema_plugin(plugins: list[Any], text_limits: TextLimits) -> None:
    """Put :class:`StructSchemaPlugin` in the place of Litestar's own, in place: Litestar is
    iterating this list while plugins initialise, so nothing in it may shift."""
    for index, plugin in enumerate(plugins):
        if type(plugin) is LitestarStructSchemaPlugin:
            plugins[index] = StructSchemaPlugin(text_limits)


def _enum_of(field_type: msgspec.inspect.Type) -> type[Any] | None:
    """The enum class of an enum field (optional or not), else None."""
    candidates = (
        field_type.types if isinstance(field_type, msgspec.inspect.UnionType) else (field_type,)
    )
    for candidate in candidates:
        inner = candidate.type if isinstance(candidate, msgspec.inspect.Metadata) else candidate
        if isinstance(inner, msgspec.inspect.EnumType):
            enum_class: type[Any] = inner.cls
            return enum_class
    return None


def _clear_enum_default(schema_creator: SchemaCreator, enum: type[Any]) -> None:
    """Litestar writes a field's default into the shared enum component: take it back out."""
    registered = schema_creator.schema_registry.get_schema_for_field_definition(
        FieldDefinition.from_annotation(enum)
    )
    registered.default = None


def _with_default(prop: Schema | Reference, default: Any) -> Schema:
    value = default.value if hasattr(default, "value") else default
    if isinstance(prop, Reference):
        return Schema(all_of=[prop], default=value)
    prop.default = value
    return prop


def _metadata(field: msgspec.inspect.Field) -> msgspec.inspect.Metadata | None:
    field_type = field.type
    if isinstance(field_type, msgspec.inspect.UnionType):
        for candidate in field_type.types:
            if isinstance(candidate, msgspec.inspect.Metadata):
                return candidate
        return None
    return field_type if isinstance(field_type, msgspec.inspect.Metadata) else None


def _value_schema(prop: Schema | Reference) -> Schema | None:
    """The schema that describes a present value: the property itself, or its non-null branch."""
    if isinstance(prop, Reference):
        return None
    for branch in prop.one_of or []:
        if isinstance(branch, Schema) and branch.type != "null":
            return branch
    return prop


def _apply_meta(
    prop: Schema | Reference, field: msgspec.inspect.Field, text_limits: TextLimits
) -> None:
    """Examples, format and the configured free-text limit from ``msgspec.Meta``, on the
    schema of a present value."""
    meta = _metadata(field)
    target = _value_schema(prop)
    if meta is None or target is None or not meta.extra_json_schema:
        return
    if meta.extra_json_schema.get(TEXT_LIMIT_KEY):
        limit = text_limits.limit_for(field.encode_name)
        target.max_length = limit
        if isinstance(prop, Schema) and prop.max_length is not None:
            prop.max_length = limit
    if examples := meta.extra_json_schema.get("examples"):
        target.examples = list(examples)
        if target is not prop and isinstance(prop, Schema):
            prop.examples = None
    if value_format := meta.extra_json_schema.get("format"):
        target.format = OpenAPIFormat(value_format)


SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@get(
    f"{SWAGGER_UI_PATH}/{{name:str}}",
    include_in_schema=False,
    opt={"exclude_from_auth": True},
    cache_control=CacheControlHeader(max_age=31_536_000, public=True),
    sync_to_thread=False,
)
def swagger_ui_file(name: FromPath[str]) -> File:
    """The Swagger UI files, served next to the document they render; nothing else."""
    media_type = SWAGGER_UI_FILES.get(name)
    if media_type is None:
        raise NotFoundException()
    return File(
        path=SWAGGER_UI_DIRECTORY / name,
        media_type=media_type,
        content_disposition_type="inline",
    )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="commlog",
        version="0.1.0",
        description=(
            "A compliance-grade log of every message a regulated tenant sends. "
            "Recipients and content are always masked before they leave.\n\n"
            "Every error is a `SimpleResponse` `{code, message, timestamp}` with `code` equal "
            "to the HTTP status, including 405 (a method a path does not support; the `Allow` "
            "header lists those it does) and 404 (an unknown path)."
        ),
        path=OPENAPI_PATH,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{SWAGGER_UI_PATH}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_UI_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_UI_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' href='{SWAGGER_UI_PATH}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="JWT with `sub` (user id), `tenant_id`, `roles`, `exp`.",
                )
            }
        ),
    )
