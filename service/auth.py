"""Bearer-token authentication: a JWT in, a :class:`~policies.access.Principal` out."""

from __future__ import annotations

import math
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
from policies.identifiers import is_identifier
from service.errors import Unauthenticated
from service.settings import Settings

HS256 = "HS256"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
MAX_CLAIM_LENGTH = 128
LEEWAY_SECONDS = 30
TIME_CLAIMS = ("exp", "nbf", "iat")
# RFC 7519 NumericDate: seconds since the epoch as a JSON number. 9999-12-31T23:59:59Z
# bounds what any real identity provider writes; beyond it a "date" is an attack.
LATEST_NUMERIC_DATE = 253_402_300_799


class TokenCodec:
    """Verifies incoming tokens and, where an HS256 secret is configured, issues them."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._public_key = settings.jwt_public_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._max_lifetime = settings.jwt_max_lifetime

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
        if ttl_seconds > self._max_lifetime:
            raise ValueError(
                f"a token may live at most {self._max_lifetime} seconds (COMMLOG_JWT_MAX_LIFETIME)"
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
            raise Unauthenticated("token has expired", expired=True) from None
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
        self._check_lifetime(claims)
        return _principal_from(claims)

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """``exp``, ``nbf`` and ``iat`` are NumericDates, and the token lives no longer
        than configured: PyJWT alone takes ``"exp": "99999999999"`` or ``1e30``, which make
        a stolen token a credential for ever."""
        for name in TIME_CLAIMS:
            if name in claims:
                _numeric_date(claims, name)
        issued = _numeric_date(claims, "iat") if "iat" in claims else time.time()
        if _numeric_date(claims, "exp") - issued > self._max_lifetime:
            raise Unauthenticated(
                f"token lifetime exceeds the {self._max_lifetime} seconds this service accepts"
            )


def _numeric_date(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= LATEST_NUMERIC_DATE
    ):
        raise Unauthenticated(f"token's '{name}' claim must be a NumericDate (seconds since 1970)")
    return float(value)


def _claim_text(claims: dict[str, Any], name: str) -> str:
    """An identifier claim (``policies.identifiers``): no NUL, control character or blank."""
    value = claims.get(name)
    if not isinstance(value, str) or not is_identifier(value) or len(value) > MAX_CLAIM_LENGTH:
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
        # Repeated headers may arrive separately or joined with commas (RFC 9110 §5.3); a
        # token never holds a comma. Which one counts would depend on who reads them (a
        # gateway may take the last): refuse rather than pick.
        headers = [
            value
            for joined in connection.headers.getall("authorization", [])
            for value in joined.split(",")
        ]
        if len(headers) > 1:
            raise Unauthenticated("send exactly one Authorization header", invalid_token=False)
        header = headers[0] if headers else None
        if not header:
            raise Unauthenticated("missing bearer token", invalid_token=False)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "authorization header must be 'Bearer <token>'", invalid_token=False
            )
        principal = self._codec.verify(token.strip())
        return AuthenticationResult(user=principal, auth=None)
