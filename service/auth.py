"""Bearer-token authentication: a JWT in, a :class:`~policies.access.Principal` out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp

from policies.access import Principal, parse_roles
from service.errors import Unauthenticated
from service.settings import Settings

HS256 = "HS256"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
MAX_CLAIM_LENGTH = 128
LEEWAY_SECONDS = 30


class TokenCodec:
    """Verifies incoming tokens and, where an HS256 secret is configured, issues them."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._public_key = settings.jwt_public_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience

    def issue(
        self,
        *,
        tenant_id: str,
        user_id: str,
        roles: Sequence[str],
        ttl_seconds: int = 3600,
        now: int | None = None,
    ) -> str:
        """Sign a token for the configured HS256 secret (development and tests)."""
        if self._secret is None:
            raise Unauthenticated(
                "no HS256 secret is configured: tokens come from the identity provider"
            )
        issued = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "sub": user_id,
            "tenant_id": tenant_id,
            "roles": list(roles),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
        }
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm=HS256)

    def _key_for(self, algorithm: str) -> str:
        if algorithm == HS256 and self._secret is not None:
            return self._secret
        if algorithm in ASYMMETRIC_ALGORITHMS and self._public_key is not None:
            return self._public_key
        raise Unauthenticated("token is signed with an algorithm this service does not accept")

    def verify(self, token: str) -> Principal:
        """Check signature, expiry and claims; any failure is :class:`Unauthenticated`."""
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if not isinstance(algorithm, str):
                raise Unauthenticated("token is malformed")
            claims = jwt.decode(
                token,
                self._key_for(algorithm),
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_SECONDS,
                # PyJWT's default stays: a token that names an audience is refused unless
                # it is the configured one, so tokens meant for other services never pass.
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token is not valid yet") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("token signature is invalid") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise Unauthenticated("token was issued for another service") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the '{exc.claim}' claim") from None
        except jwt.PyJWTError:
            raise Unauthenticated("token is malformed") from None
        return _principal_from(claims)


def _claim_text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CLAIM_LENGTH:
        raise Unauthenticated(f"token lacks a valid '{name}' claim")
    return value


def _principal_from(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles")
    if roles is not None and (
        not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)
    ):
        raise Unauthenticated("token's 'roles' claim must be a list of strings")
    return Principal(
        tenant_id=_claim_text(claims, "tenant_id"),
        user_id=_claim_text(claims, "sub"),
        roles=parse_roles(roles),
    )


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Authenticates every request outside the excluded paths before it is parsed."""

    def __init__(self, app: ASGIApp, codec: TokenCodec, exclude: list[str]) -> None:
        super().__init__(app, exclude=exclude)
        self._codec = codec

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            raise Unauthenticated("missing bearer token", invalid_token=False)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "authorization header must be 'Bearer <token>'", invalid_token=False
            )
        principal = self._codec.verify(token.strip())
        return AuthenticationResult(user=principal, auth=None)
