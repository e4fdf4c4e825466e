"""``commlog``: the Litestar CLI with the app preset, plus commlog's own commands."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from typing import TYPE_CHECKING

import click
from litestar.cli._utils import LitestarGroup

from service.settings import ConfigurationError

if TYPE_CHECKING:
    from litestar import Litestar

APP_PATH = "service.app:create_app"
DEVELOPMENT_TOKEN_TTL = 24 * 3600


def _fail(message: str) -> None:
    click.echo(f"commlog: {message}", err=True)
    sys.exit(2)


@click.command(name="token")
@click.option("--tenant", "tenant_id", required=True, help="tenant id (the token's tenant_id)")
@click.option("--user", "user_id", required=True, help="user id (the token's sub)")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["user", "ingest", "compliance_officer"]),
    help="a role; repeat for several (default: user)",
)
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 30 * 24 * 3600))
def token_command(
    app: Litestar, tenant_id: str, user_id: str, roles: tuple[str, ...], ttl: int
) -> None:
    """Print a signed JWT for the configured HS256 secret."""
    from service.auth import TokenCodec
    from service.errors import Unauthenticated

    codec: TokenCodec = app.state["tokens"]
    try:
        token = codec.issue(
            tenant_id=tenant_id, user_id=user_id, roles=list(roles) or ["user"], ttl_seconds=ttl
        )
    except Unauthenticated:
        _fail("cannot sign tokens: only COMMLOG_JWT_PUBLIC_KEY is configured (no HS256 secret)")
    click.echo(token)


@click.group(cls=LitestarGroup, name="demo")
def demo_group() -> None:
    """Demo data for development."""


@click.command(name="seed")
@click.option("--host", default="127.0.0.1", show_default=True, help="host for the printed curl")
@click.option("--port", default=8000, show_default=True, help="port for the printed curl")
def demo_seed_command(app: Litestar, host: str, port: int) -> None:
    """Add the demo tenant's records (once) and print a curl command to read them."""
    from service.demo import DEMO_TENANT, DEMO_USER, seed_demo

    settings = app.state["settings"]
    if not settings.is_development:
        _fail("demo data is only seeded when COMMLOG_ENV=development")
    added = asyncio.run(seed_demo(app.state["database"]))
    click.echo(f"demo: {added} send records added" if added else "demo: demo data already present")
    token = app.state["tokens"].issue(
        tenant_id=DEMO_TENANT, user_id=DEMO_USER, roles=["user"], ttl_seconds=DEVELOPMENT_TOKEN_TTL
    )
    url = f"http://{host}:{port}/communication/logs?page=1&page_size=5"
    click.echo("\nRead the demo user's send log (masked) with:\n")
    click.echo(f"  curl -s -H {shlex.quote('Authorization: Bearer ' + token)} '{url}'\n")


demo_group.add_command(demo_seed_command)  # type: ignore[arg-type]  # rich-click types


def register_commands(cli: click.Group) -> None:
    cli.add_command(token_command)
    cli.add_command(demo_group)


def main() -> None:
    """Entry point of the ``commlog`` console script."""
    os.environ.setdefault("LITESTAR_APP", APP_PATH)
    from litestar.cli.main import litestar_group

    try:
        litestar_group(prog_name="commlog")
    except ConfigurationError as exc:
        _fail(f"configuration error: {exc}")
