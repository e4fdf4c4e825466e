"""Probes for orchestrators: no authentication, honest about the database."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.factories import Caller


async def test_liveness_is_200_without_a_token(caller: Caller) -> None:
    response = await caller.client.get("/health/live")
    assert response.status_code == 200
    assert response.json()["code"] == 200


async def test_readiness_is_200_when_the_database_answers(caller: Caller) -> None:
    response = await caller.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["message"] == "ready"


async def test_readiness_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = Settings(
        database_url="postgresql+asyncpg://nobody:x@127.0.0.1:1/none",
        jwt_secret="s" * 40,
        var_dir=tmp_path,
    )
    async with AsyncTestClient(app=create_app(unreachable)) as client:
        response = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert response.status_code == 503
    assert response.json() == {
        "code": 503,
        "message": "database unreachable",
        "timestamp": response.json()["timestamp"],
    }
    assert live.status_code == 200


async def test_the_openapi_schema_documents_the_seed_and_bearer_auth(caller: Caller) -> None:
    schema = (await caller.client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/communication/logs"]["get"]
    assert "仅返回本人的发送记录" in operation["description"]
    assert {"200", "400", "401", "403", "500"} <= set(operation["responses"])
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"user_id", "channel", "status", "page", "page_size"} <= names
    scheme = schema["components"]["securitySchemes"]["BearerToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert {"BearerToken": []} in operation["security"]
    fields = schema["components"]["schemas"]["CommunicationLogResponse"]["properties"]
    assert len(fields) == 14
