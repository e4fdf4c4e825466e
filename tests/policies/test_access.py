"""Ownership: who may list and record send records."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policies.access import (
    Forbidden,
    OwnerScope,
    Principal,
    Role,
    TenantScope,
    parse_roles,
    scope_for_own_logs,
    scope_for_recording,
)

ids = st.text(min_size=1, max_size=20)


def _principal(*roles: Role, tenant: str = "tnt_a", user: str = "usr_a") -> Principal:
    return Principal(tenant_id=tenant, user_id=user, roles=frozenset(roles))


def test_a_user_lists_their_own_records_in_their_own_tenant() -> None:
    assert scope_for_own_logs(_principal(Role.USER), None) == OwnerScope(
        tenant_id="tnt_a", user_id="usr_a"
    )


def test_naming_ones_own_user_id_is_the_same_as_naming_none() -> None:
    assert scope_for_own_logs(_principal(Role.USER), "usr_a") == scope_for_own_logs(
        _principal(Role.USER), None
    )


def test_other_users_logs_are_forbidden() -> None:
    decision = scope_for_own_logs(_principal(Role.USER), "usr_b")
    assert isinstance(decision, Forbidden)
    assert "usr_b" not in decision.reason


def test_ingest_only_tokens_cannot_read() -> None:
    assert isinstance(scope_for_own_logs(_principal(Role.INGEST), None), Forbidden)


def test_only_ingest_tokens_record_sends() -> None:
    assert scope_for_recording(_principal(Role.INGEST)) == TenantScope(tenant_id="tnt_a")
    assert isinstance(scope_for_recording(_principal(Role.USER)), Forbidden)
    assert isinstance(scope_for_recording(_principal(Role.COMPLIANCE_OFFICER)), Forbidden)


def test_roles_default_to_user_and_unknown_names_are_dropped() -> None:
    assert parse_roles(None) == {Role.USER}
    assert parse_roles([]) == frozenset()
    assert parse_roles(["root", "ingest"]) == {Role.INGEST}


@given(
    tenant=ids, user=ids, requested=st.one_of(st.none(), ids), extra=st.sets(st.sampled_from(Role))
)
def test_a_granted_scope_is_always_the_callers_own_tenant_and_user(
    tenant: str, user: str, requested: str | None, extra: set[Role]
) -> None:
    decision = scope_for_own_logs(
        Principal(tenant_id=tenant, user_id=user, roles=frozenset(extra)), requested
    )
    if isinstance(decision, OwnerScope):
        assert decision == OwnerScope(tenant_id=tenant, user_id=user)
        assert Role.USER in extra
        assert requested in (None, user)
