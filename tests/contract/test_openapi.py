"""The OpenAPI document says what the service does, and its docs page works offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from policies.text_limits import TextLimits
from service.app import create_app
from service.settings import Settings

OPERATION_IDS = {
    ("get", "/communication/logs"): "listCommunicationLogs",
    ("post", "/communication/logs"): "recordCommunicationLog",
    ("post", "/communication/logs/{log_id}/status"): "recordDeliveryOutcome",
    ("post", "/compliance/legal-holds"): "placeLegalHold",
    ("get", "/compliance/legal-holds"): "listLegalHolds",
    ("delete", "/compliance/legal-holds/{hold_id}"): "releaseLegalHold",
    ("patch", "/compliance/legal-holds/{hold_id}"): "changeLegalHold",
    ("get", "/compliance/retention-runs"): "listRetentionRuns",
    ("get", "/compliance/exports/communication-logs"): "exportCommunicationLogs",
    ("post", "/compliance/subject-requests"): "createSubjectRequest",
    ("get", "/compliance/subject-requests"): "listSubjectRequests",
    ("get", "/compliance/subject-requests/{request_id}"): "getSubjectRequest",
    ("post", "/compliance/subject-requests/{request_id}/run"): "runSubjectRequest",
    ("get", "/compliance/subject-requests/{request_id}/records"): "getSubjectRequestRecords",
    ("get", "/compliance/processing-record"): "getProcessingRecord",
    ("get", "/compliance/audit-events"): "listAuditEvents",
    ("get", "/compliance/audit-events/{event_id}"): "getAuditEvent",
    ("put", "/templates/{template_id}"): "putTemplate",
    ("get", "/templates"): "listTemplates",
    ("get", "/templates/{template_id}"): "getTemplate",
    ("get", "/health/live"): "getLiveness",
    ("get", "/health/ready"): "getReadiness",
}
BODYLESS_POSTS = {("post", "/compliance/subject-requests/{request_id}/run")}
BODY_OPERATIONS = [
    key for key in OPERATION_IDS if key[0] in ("post", "put", "patch") and key not in BODYLESS_POSTS
]
DATABASE_OPERATIONS = [key for key in OPERATION_IDS if key != ("get", "/health/live")]
SIMPLE_RESPONSE = {"$ref": "#/components/schemas/SimpleResponse"}


@pytest.fixture
async def document(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


async def test_every_operation_has_the_id_a_generated_client_would_want(
    document: dict[str, Any],
) -> None:
    ids = {key: operation["operationId"] for key, operation in _operations(document).items()}
    assert ids == OPERATION_IDS


async def test_query_filters_have_no_default_and_enums_keep_none(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "default" not in schemas["DeliveryStatus"]
    assert "default" not in schemas["Channel"]
    parameters = _operations(document)[("get", "/communication/logs")]["parameters"]
    for parameter in parameters:
        if parameter["name"] in {"user_id", "channel", "status"}:
            assert "default" not in parameter["schema"], parameter["name"]
    # The request body's own default is still documented, on its field.
    status = schemas["RecordSendRequest"]["properties"]["status"]
    assert status == {
        "allOf": [{"$ref": "#/components/schemas/DeliveryStatus"}],
        "default": "pending",
    }


async def test_request_bodies_forbid_unknown_fields_as_the_server_does(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    for name in ("RecordSendRequest", "StatusUpdateRequest", "LegalHoldRequest", "TemplateRequest"):
        assert schemas[name]["additionalProperties"] is False, name


async def test_every_error_is_documented_as_a_simple_response_with_the_seeds_example(
    document: dict[str, Any],
) -> None:
    for key, operation in _operations(document).items():
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            media = response["content"]["application/json"]
            assert media["schema"] == SIMPLE_RESPONSE, (key, status)
            (example,) = media["examples"].values()
            assert example["value"]["code"] == int(status)
            assert example["value"]["timestamp"] == "2026-04-15T10:00:00Z"
    assert "examples" not in document["components"]["schemas"]["SimpleResponse"]


async def test_503_413_and_415_are_documented_where_they_can_happen(
    document: dict[str, Any],
) -> None:
    operations = _operations(document)
    for key in DATABASE_OPERATIONS:
        assert "503" in operations[key]["responses"], key
    for key in BODY_OPERATIONS:
        assert {"413", "415"} <= set(operations[key]["responses"]), key
    release = operations[("delete", "/compliance/legal-holds/{hold_id}")]["responses"]
    assert release["400"]["content"]["application/json"]["schema"] == SIMPLE_RESPONSE
    assert "405" in document["info"]["description"]


async def test_timestamps_are_date_times_and_channel_and_status_are_enums(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    record = schemas["CommunicationLogResponse"]["properties"]
    for name in ("created_at", "updated_at"):
        assert record[name]["format"] == "date-time"
    assert record["sent_at"]["oneOf"][0]["format"] == "date-time"
    assert schemas["SimpleResponse"]["properties"]["timestamp"]["format"] == "date-time"
    assert record["channel"] == {"$ref": "#/components/schemas/Channel"}
    assert record["status"] == {"$ref": "#/components/schemas/DeliveryStatus"}
    assert record["id"]["examples"] == ["log_abc123"]
    assert record["recipient"]["oneOf"][0]["examples"] == ["138****8000"]


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_docs_page_loads_every_asset_from_the_service_itself(
    client: AsyncTestClient[Litestar], page: str
) -> None:
    html = await client.get(page)
    assert html.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    assert len(urls) >= 4  # the bundle, the preset, the stylesheet, the icon
    expected_types = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".png": "image/png",
    }
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex(".") :]
        media_type, *parameters = asset.headers["content-type"].split(";")
        assert media_type == expected_types[suffix], url
        assert len(parameters) == len(set(parameters)) <= 1, url  # one charset, never two
        assert len(asset.content) > 0


async def test_only_the_swagger_ui_files_are_served_from_the_static_path(
    client: AsyncTestClient[Litestar],
) -> None:
    from service.openapi import SWAGGER_UI_PATH

    for name in ("README.md", "LICENSE", "..%2F..%2Fopenapi.py", "nothing.js"):
        response = await client.get(f"{SWAGGER_UI_PATH}/{name}")
        assert response.status_code == 404, name


def test_free_text_fields_document_the_configured_limits_not_the_ceilings(
    tmp_path: Path,
) -> None:
    settings = Settings(
        jwt_secret="openapi-" + "t" * 40,
        var_dir=tmp_path,
        text_limits=TextLimits(content_chars=1_000, provider_text_chars=300),
    )
    schemas = create_app(settings).openapi_schema.to_schema()["components"]["schemas"]

    def limits(schema: dict[str, Any]) -> set[int]:
        found = {schema["maxLength"]} if "maxLength" in schema else set()
        for branch in schema.get("oneOf", []):
            found |= limits(branch)
        return found

    assert limits(schemas["RecordSendRequest"]["properties"]["content"]) == {1_000}
    for field in ("error", "response"):
        assert limits(schemas["StatusUpdateRequest"]["properties"][field]) == {300}
