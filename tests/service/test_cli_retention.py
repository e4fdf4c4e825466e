"""``commlog holds …`` and ``commlog retention …`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from compliance.encryption.master import new_master_key_entry
from compliance.retention.lock import run_lock
from service.persistence.database import create_engine
from tests.conftest import TEST_JWT_SECRET
from tests.factories import in_days, run_commlog

KEYS = new_master_key_entry("m1")


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


def _commlog(
    database_url: str, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_commlog(
        *args,
        var_dir=tmp_path,
        database_url=database_url,
        **{"COMMLOG_MASTER_KEYS": KEYS, **env},
    )


def test_holds_and_a_dry_run_then_a_real_run(database_url: str, tmp_path: Path) -> None:
    assert _commlog(database_url, tmp_path, "demo", "seed").returncode == 0
    added = _commlog(
        database_url,
        tmp_path,
        "holds",
        "add",
        "--tenant",
        "tnt_demo",
        "--scope",
        "user",
        "--user",
        "usr_demo",
        "--reason",
        "litigation 17",
        "--review-by",
        in_days(30),
    )
    assert added.returncode == 0, added.stderr
    hold_id = added.stdout.strip()
    assert hold_id.startswith("hold_")
    listed = _commlog(database_url, tmp_path, "holds", "list", "--tenant", "tnt_demo")
    assert listed.stdout.splitlines()[0].startswith(
        hold_id + "  active  scope=user user=usr_demo  review-by "
    )

    preview = _commlog(
        database_url, tmp_path, "retention", "run", "--dry-run", "--as-of", "2029-01-01T00:00Z"
    )
    assert preview.returncode == 0, preview.stderr
    assert "dry run (nothing changed)" in preview.stdout
    elsewhere = "tnt_elsewhere: 0 would be contents erased, 0 would be recipients erased"
    assert f"{elsewhere}, 8 would be deleted" in preview.stdout
    assert "12 would be deleted" in preview.stdout  # usr_colleague's; usr_demo is held

    refused = _commlog(database_url, tmp_path, "retention", "run", "--as-of", "2029-01-01T00:00Z")
    assert refused.returncode == 2
    assert "--dry-run" in refused.stderr

    run = _commlog(database_url, tmp_path, "retention", "run", "--batch-size", "3")
    assert run.returncode == 0, run.stderr
    assert ", succeeded" in run.stdout.splitlines()[0]
    runs = _commlog(database_url, tmp_path, "retention", "runs")
    lines = runs.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "succeeded (dry run)" in lines[1]

    released = _commlog(database_url, tmp_path, "holds", "release", hold_id)
    assert released.stdout.strip() == f"released {hold_id}"
    twice = _commlog(database_url, tmp_path, "holds", "release", hold_id)
    assert twice.returncode == 1  # the operation failed; 2 is for a wrong command line
    assert "already released" in twice.stderr

    whole = _commlog(
        database_url,
        tmp_path,
        "holds",
        "add",
        "--tenant",
        "tnt_demo",
        "--scope",
        "tenant",
        "--reason",
        "regulator's inquiry",
        "--expires",
        in_days(90),
    )
    assert whole.returncode == 0, whole.stderr
    listed = _commlog(database_url, tmp_path, "holds", "list", "--tenant", "tnt_demo")
    assert f"{whole.stdout.strip()}  active  scope=tenant  review-by -  expires " in listed.stdout


def test_holds_are_placed_changed_reviewed_and_bounded_from_the_cli(
    database_url: str, tmp_path: Path
) -> None:
    """The CLI applies the API's rules: the same bounds (with COMMLOG_HOLD_MAX_DAYS), the
    same scopes, the same change rules, and the review list."""
    base = ("holds", "add", "--tenant", "tnt_cli", "--reason", "case 9")
    too_far = _commlog(
        database_url,
        tmp_path,
        *base,
        "--scope",
        "tenant",
        "--review-by",
        in_days(11),
        COMMLOG_HOLD_MAX_DAYS="10",
    )
    assert too_far.returncode == 2
    assert too_far.stderr.splitlines() == [
        "commlog: --review-by must be within 10 days (the configured maximum)"
    ]
    added = _commlog(
        database_url,
        tmp_path,
        *base,
        "--scope",
        "recipient",
        "--user",
        "usr_a",
        "--recipient",
        "+8613812348000",
        "--review-by",
        in_days(5),
        "--created-before",
        "2026-06-01T00:00Z",
    )
    assert added.returncode == 0, added.stderr
    hold_id = added.stdout.strip()

    review = _commlog(database_url, tmp_path, "holds", "review", "--tenant", "tnt_cli")
    assert review.returncode == 0, review.stderr
    (line,) = review.stdout.splitlines()
    assert line.startswith(
        f"{hold_id}  active  scope=recipient user=usr_a recipient=+8613******000 (sms)  review-by "
    )
    assert "created-before 2026-06-01T00:00Z" in line
    assert "12348000" not in review.stdout

    changed = _commlog(
        database_url,
        tmp_path,
        "holds",
        "change",
        hold_id,
        "--review-by",
        in_days(60),
        "--reason",
        "case 9, amended",
    )
    assert changed.returncode == 0, changed.stderr
    assert "reason: case 9, amended" in changed.stdout
    assert "changed by " in changed.stdout
    later = _commlog(
        database_url, tmp_path, "holds", "review", "--tenant", "tnt_cli", "--within-days", "7"
    )
    assert later.stdout == ""

    cleared = _commlog(database_url, tmp_path, "holds", "change", hold_id, "--clear-review-by")
    assert cleared.returncode == 1
    assert cleared.stderr.splitlines() == [
        "commlog: a hold needs --expires or --review-by (or both)"
    ]
    assert _commlog(database_url, tmp_path, "holds", "release", hold_id).returncode == 0
    after = _commlog(database_url, tmp_path, "holds", "change", hold_id, "--reason", "x")
    assert after.returncode == 1
    assert after.stderr.splitlines() == ["commlog: this legal hold was released"]
    listed = _commlog(database_url, tmp_path, "holds", "list", "--tenant", "tnt_cli")
    assert listed.stdout.startswith(f"{hold_id}  released  scope=recipient")

    async def events() -> list[tuple[str, str, str, str]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT action, actor, actor_kind, actor_origin FROM audit_events "
                        "WHERE tenant_id = 'tnt_cli' ORDER BY sequence"
                    )
                )
                return [(r[0], r[1], r[2], r[3]) for r in rows]
        finally:
            await engine.dispose()

    recorded = asyncio.run(events())
    assert [row[0] for row in recorded] == [
        "legal_hold.placed",
        "legal_hold.changed",
        "legal_hold.released",
    ]
    assert {row[2] for row in recorded} == {"cli"}
    assert all(set(json.loads(row[3])) == {"os_user", "host"} for row in recorded)


def test_a_second_run_exits_with_its_own_code_while_the_lock_is_held(
    database_url: str, tmp_path: Path
) -> None:
    async def hold_lock_while(command: list[str]) -> subprocess.CompletedProcess[str]:
        engine = create_engine(database_url)
        try:
            async with run_lock(engine, async_sessionmaker(engine), "run_elsewhere"):
                return await asyncio.to_thread(_commlog, database_url, tmp_path, *command)
        finally:
            await engine.dispose()

    locked = asyncio.run(hold_lock_while(["retention", "run"]))
    assert locked.returncode == 3
    assert "another retention run is in progress" in locked.stderr
    assert "nothing was done" in locked.stderr
    after = _commlog(database_url, tmp_path, "retention", "run")
    assert after.returncode == 0, after.stderr


def test_an_invalid_policy_file_stops_the_cli_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "retention.toml"
    policy.write_text("[tenants.tnt_bank]\ncontent_days = 200\nrecipient_days = 100\n")
    result = _commlog(
        database_url, tmp_path, "retention", "run", COMMLOG_RETENTION_POLICY_FILE=str(policy)
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "tnt_bank" in lines[0]
    assert "content_days" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_scheduler_sleeps_until_the_daily_time_then_runs(
    database_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, time

    from service.app import create_app
    from service.compliance.retention_cli import schedule_forever
    from service.settings import Settings
    from tests.conftest import TEST_MASTER_KEYS

    settings = Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=TEST_MASTER_KEYS,
        retention_at=time(3, 0),
    )
    app = create_app(settings)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> list[str]:
        from compliance.retention.runs import list_runs

        try:
            await schedule_forever(app, "scheduler", runs=1, sleep=fake_sleep)
            async with app.state["database"].get_session() as session:
                runs, _ = await list_runs(session, limit=10)
            return [run.actor for run in runs]
        finally:
            await app.state["database"].get_engine().dispose()

    actors = asyncio.run(scenario())
    assert actors == ["scheduler"]
    (seconds,) = slept
    assert 0 < seconds <= 24 * 3600
    wake = datetime.now(UTC).timestamp() + seconds
    assert datetime.fromtimestamp(wake, UTC).strftime("%H:%M") in ("03:00", "02:59")


def test_a_recipient_hold_on_a_number_without_country_code_is_refused_never_echoed(
    database_url: str, tmp_path: Path
) -> None:
    refused = _commlog(
        database_url,
        tmp_path,
        *("holds", "add", "--tenant", "tnt_cli", "--reason", "case 9", "--scope", "recipient"),
        *("--recipient", "138 1234 8004", "--channel", "sms", "--review-by", in_days(30)),
    )
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "country code" in refused.stderr
    assert "1234" not in refused.stderr + refused.stdout


def test_a_recipient_hold_from_the_cli_stores_every_form_with_the_country_code(
    database_url: str, tmp_path: Path
) -> None:
    added = _commlog(
        database_url,
        tmp_path,
        *("holds", "add", "--tenant", "tnt_cli", "--reason", "case 9", "--scope", "recipient"),
        *("--recipient", "+86 138 1234 8004", "--channel", "sms", "--review-by", in_days(30)),
    )
    assert added.returncode == 0, added.stderr
    hold_id = added.stdout.strip()

    async def forms() -> set[str]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT form FROM legal_hold_recipient_forms WHERE hold_id = :id"),
                    {"id": hold_id},
                )
                return {row[0] for row in rows}
        finally:
            await engine.dispose()

    assert asyncio.run(forms()) == {"e164", "international_00"}
