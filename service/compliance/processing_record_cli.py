"""``commlog processing-record``: a tenant's record of processing (GDPR Art. 30)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import msgspec
from litestar import Litestar

from policies.identifiers import identifier_problem
from policies.processing_record import ProcessingRecord, render_text
from service.cli import EXIT_USAGE, _fail, _run_async
from service.compliance.processing_record import processing_record


@click.command(name="processing-record")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "text"]),
    default="text",
    show_default=True,
)
def processing_record_command(app: Litestar, tenant_id: str, output_format: str) -> None:
    """Print the tenant's GDPR Art. 30 record, built from the live configuration."""
    problem = identifier_problem(tenant_id)
    if problem is not None:
        _fail(f"--tenant {problem}", code=EXIT_USAGE)

    async def operation() -> ProcessingRecord:
        async with app.state["database"].get_session() as session:
            return await processing_record(
                session, app.state["settings"], tenant_id, datetime.now(UTC)
            )

    record = _run_async(app, operation(), verify_keys=False)
    if output_format == "json":
        click.echo(msgspec.json.format(msgspec.json.encode(record), indent=2).decode())
    else:
        click.echo(render_text(record), nl=False)
