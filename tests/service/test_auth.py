"""Bearer tokens: what makes a caller, and every way a token is refused."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from policies.access import Role
from service.app import create_app
from service.auth import TokenCodec
from service.errors import Unauthenticated
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET
from tests.factories import Caller


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "usr_alice",
        "tenant_id": "tnt_a",
        "roles": ["user"],
        # A day: parametrized claims are built when the suite is collected, which can be
        # many minutes before the test runs.
        "exp": now + 86_400,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _codec(**settings: object) -> TokenCodec:
    return TokenCodec(Settings(jwt_secret=TEST_JWT_SECRET, **settings))  # type: ignore[arg-type]


def test_a_valid_token_becomes_a_principal_of_its_tenant_and_user() -> None:
    principal = _codec().verify(jwt.encode(_claims(roles=["user", "ingest"]), TEST_JWT_SECRET))
    assert principal.tenant_id == "tnt_a"
    assert principal.user_id == "usr_alice"
    assert principal.roles == {Role.USER, Role.INGEST}


def test_a_token_without_roles_is_an_ordinary_user() -> None:
    principal = _codec().verify(jwt.encode(_claims(roles=None), TEST_JWT_SECRET))
    assert principal.roles == {Role.USER}


def test_unknown_roles_are_ignored_not_trusted() -> None:
    principal = _codec().verify(jwt.encode(_claims(roles=["admin", "ingest"]), TEST_JWT_SECRET))
    assert principal.roles == {Role.INGEST}


@pytest.mark.parametrize(
    ("claims", "secret", "message"),
    [
        (_claims(exp=int(time.time()) - 120), TEST_JWT_SECRET, "expired"),
        (_claims(nbf=int(time.time()) + 86_400), TEST_JWT_SECRET, "not valid yet"),
        (_claims(), "another-secret-" + "y" * 40, "signature"),
        (_claims(tenant_id=None), TEST_JWT_SECRET, "tenant_id"),
        (_claims(tenant_id=""), TEST_JWT_SECRET, "tenant_id"),
        (_claims(sub=None), TEST_JWT_SECRET, "sub"),
        (_claims(exp=None), TEST_JWT_SECRET, "exp"),
        (_claims(roles="user"), TEST_JWT_SECRET, "roles"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(
    claims: dict[str, object], secret: str, message: str
) -> None:
    token = jwt.encode(claims, secret)
    with pytest.raises(Unauthenticated, match=message):
        _codec().verify(token)


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(_claims(), key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        _codec().verify(token)


def test_a_token_for_another_audience_is_refused_even_without_one_configured() -> None:
    with pytest.raises(Unauthenticated, match="another service"):
        _codec().verify(jwt.encode(_claims(aud="billing-service"), TEST_JWT_SECRET))


def test_issuer_and_audience_are_checked_when_configured() -> None:
    codec = _codec(jwt_issuer="https://idp.example", jwt_audience="commlog")
    good = jwt.encode(_claims(iss="https://idp.example", aud="commlog"), TEST_JWT_SECRET)
    assert codec.verify(good).user_id == "usr_alice"
    for bad in (
        _claims(iss="https://evil.example", aud="commlog"),
        _claims(iss="https://idp.example", aud="other"),
    ):
        with pytest.raises(Unauthenticated, match="another service"):
            codec.verify(jwt.encode(bad, TEST_JWT_SECRET))
    with pytest.raises(Unauthenticated):
        codec.verify(jwt.encode(_claims(), TEST_JWT_SECRET))


@pytest.mark.parametrize("kind", ["RS256", "ES256"])
def test_tokens_from_an_identity_provider_verify_with_its_public_key(
    tmp_path: Path, kind: str
) -> None:
    private_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    codec = TokenCodec(Settings(jwt_public_key=public_pem.decode()))
    token = jwt.encode(_claims(), private_key, algorithm=kind)
    assert codec.verify(token).tenant_id == "tnt_a"
    # The public key must never double as an HMAC secret (algorithm confusion).
    with pytest.raises(Unauthenticated):
        codec.verify(jwt.encode(_claims(), TEST_JWT_SECRET))
    with pytest.raises(Unauthenticated, match="no HS256 secret"):
        codec.issue(tenant_id="t", user_id="u", roles=["user"])


async def test_an_expired_token_is_401_through_the_api(caller: Caller) -> None:
    token = caller.tokens.issue(
        tenant_id=caller.tenant_id, user_id="u", roles=["user"], now=int(time.time()) - 7200
    )
    response = await caller.client.get(
        "/communication/logs", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "message": "token has expired",
        "timestamp": response.json()["timestamp"],
    }


async def test_a_token_signed_for_another_deployment_is_401(settings: Settings) -> None:
    other = TokenCodec(Settings(jwt_secret="another-deployment-" + "z" * 40))
    token = other.issue(tenant_id="t", user_id="u", roles=["user"])
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get(
            "/communication/logs", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401


def _private_key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _public_pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    "time_claims",
    [
        {"exp": str(int(time.time()) + 86_400)},
        {"exp": 1e30},
        {"exp": float("inf")},
        {"exp": True},
        {"exp": int(time.time()) + 86_400, "nbf": str(int(time.time()) - 10)},
        {"exp": int(time.time()) + 86_400, "iat": str(int(time.time()))},
        {"exp": int(time.time()) + 86_400, "iat": -1},
        {"exp": int(time.time()) + 86_400, "nbf": [int(time.time())]},
    ],
    ids=[
        "exp-string",
        "exp-1e30",
        "exp-infinity",
        "exp-true",
        "nbf-string",
        "iat-string",
        "iat-negative",
        "nbf-list",
    ],
)
def test_time_claims_must_be_numeric_dates(time_claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        _codec().verify(jwt.encode(_claims(**time_claims), TEST_JWT_SECRET))


@pytest.mark.parametrize(
    "exp",
    [str(int(time.time()) + 86_400), 1e30, 253_402_300_800],
    ids=["numeric-string", "1e30", "after-year-9999"],
)
def test_an_exp_that_pyjwt_would_coerce_is_refused_as_not_a_numeric_date(exp: object) -> None:
    with pytest.raises(Unauthenticated) as raised:
        _codec().verify(jwt.encode(_claims(exp=exp), TEST_JWT_SECRET))
    assert str(raised.value) == "token's 'exp' claim must be a NumericDate (seconds since 1970)"


def test_float_numeric_dates_are_accepted() -> None:
    now = time.time()
    token = jwt.encode(_claims(iat=now, nbf=now - 1.5, exp=now + 300.25), TEST_JWT_SECRET)
    assert _codec().verify(token).user_id == "usr_alice"


def test_a_token_may_live_no_longer_than_the_configured_maximum() -> None:
    now = int(time.time())
    codec = _codec(jwt_max_lifetime=3600)
    assert codec.verify(jwt.encode(_claims(iat=now, exp=now + 3600), TEST_JWT_SECRET))
    for claims in (
        _claims(iat=now, exp=now + 3601),
        _claims(exp=now + 7200),  # no iat: counted from now
        _claims(iat=now - 7000, exp=now + 300),  # issued long ago, valid a little longer
    ):
        with pytest.raises(Unauthenticated, match="token lifetime exceeds the 3600 seconds"):
            codec.verify(jwt.encode(claims, TEST_JWT_SECRET))


def test_the_default_maximum_lifetime_is_one_day() -> None:
    now = int(time.time())
    assert _codec().verify(jwt.encode(_claims(iat=now, exp=now + 86400), TEST_JWT_SECRET))
    with pytest.raises(Unauthenticated, match="lifetime"):
        _codec().verify(jwt.encode(_claims(iat=now, exp=now + 86401), TEST_JWT_SECRET))


@pytest.mark.parametrize("kind", ["RS256", "ES256"])
def test_an_identity_providers_long_lived_or_string_dated_token_is_refused(kind: str) -> None:
    private_key = _private_key(kind)
    codec = TokenCodec(
        Settings(
            jwt_public_key=_public_pem(private_key),
            jwt_issuer="https://idp.example",
            jwt_audience="commlog",
            jwt_max_lifetime=900,
        )
    )
    now = int(time.time())
    base = {"iss": "https://idp.example", "aud": "commlog", "iat": now}
    good = jwt.encode(_claims(**base, exp=now + 900), private_key, algorithm=kind)
    assert codec.verify(good).tenant_id == "tnt_a"
    year = jwt.encode(_claims(**base, exp=now + 365 * 86400), private_key, algorithm=kind)
    with pytest.raises(Unauthenticated, match="lifetime exceeds"):
        codec.verify(year)
    text = jwt.encode(_claims(**base, exp=str(now + 600)), private_key, algorithm=kind)
    with pytest.raises(Unauthenticated, match="NumericDate"):
        codec.verify(text)


def test_the_codec_does_not_issue_tokens_beyond_the_maximum_lifetime() -> None:
    codec = _codec(jwt_max_lifetime=600)
    token = codec.issue(tenant_id="t", user_id="u", roles=["user"], ttl_seconds=600)
    assert codec.verify(token).user_id == "u"
    with pytest.raises(ValueError, match="at most 600 seconds"):
        codec.issue(tenant_id="t", user_id="u", roles=["user"], ttl_seconds=601)


async def test_a_long_lived_token_is_401_through_the_api(caller: Caller) -> None:
    now = int(time.time())
    token = jwt.encode(
        _claims(tenant_id=caller.tenant_id, iat=now, exp=now + 30 * 86400), TEST_JWT_SECRET
    )
    response = await caller.client.get(
        "/communication/logs", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["message"] == (
        "token lifetime exceeds the 86400 seconds this service accepts"
    )


@pytest.mark.parametrize(
    "authorization", [None, "Basic dXNlcjpwYXNz", "Bearer ", "token-without-scheme"]
)
async def test_a_request_without_a_bearer_token_is_challenged_without_an_error_code(
    client: AsyncTestClient[Litestar], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get("/communication/logs", headers=headers)
    assert response.status_code == 401
    # RFC 6750, section 3.1: no error code when the request carried no bearer token at all.
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="commlog"'


async def test_a_malformed_or_expired_bearer_token_is_challenged_as_invalid_token(
    caller: Caller,
) -> None:
    expired = caller.tokens.issue(
        tenant_id=caller.tenant_id, user_id="u", roles=["user"], now=int(time.time()) - 7200
    )
    for token in ("not-a-jwt", expired):
        response = await caller.client.get(
            "/communication/logs", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="commlog", error="invalid_token"'
        )


async def test_answers_other_than_401_carry_no_bearer_challenge(caller: Caller) -> None:
    response = await caller.list_logs(user_id="usr_someone_else")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers


async def test_two_authorization_headers_are_401_whatever_their_order(caller: Caller) -> None:
    officer, user = caller.token("officer", "compliance_officer"), caller.token("usr_alice")
    for first, second in ((officer, user), (user, officer)):
        response = await caller.client.get(
            "/compliance/legal-holds",
            headers=[("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {second}")],
        )
        assert response.status_code == 401, response.text
        assert response.json()["message"] == "send exactly one Authorization header"
