"""The application factory and the plugin that wires commlog into Litestar."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.middleware import DefineMiddleware
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol

from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.masking_lane import MaskingLane
from compliance.templates.repository import TemplateCache
from service.auth import BearerTokenMiddleware, TokenCodec
from service.bodies import StrictBodyPlugin
from service.compliance.audit import AuditEventController
from service.compliance.exports import ComplianceExportController
from service.compliance.holds import ComplianceController
from service.compliance.processing_record import ProcessingRecordController
from service.compliance.subject_requests import SubjectRequestController
from service.dependencies import DEPENDENCIES
from service.errors import EXCEPTION_HANDLERS
from service.guards import unambiguous_query
from service.health import HealthController
from service.logging import RequestLogMiddleware, configure_logging
from service.logs.controller import CommunicationLogController
from service.openapi import openapi_config, swagger_ui_file, use_struct_schema_plugin
from service.persistence.database import DatabaseTimeouts, create_database_config
from service.readiness import Readiness
from service.settings import Settings, load_settings
from service.templates.controller import TemplateController

if TYPE_CHECKING:
    from click import Group

logger = logging.getLogger("commlog.app")
MAX_REQUEST_BODY_BYTES = 256 * 1024
UNAUTHENTICATED_PATHS = ["^/health/", "^/schema"]


class CommlogPlugin(InitPluginProtocol, CLIPluginProtocol):
    """Wires settings, database, authentication, error envelopes, OpenAPI and the CLI."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = create_database_config(
            settings.database_url,
            DatabaseTimeouts(
                connect=settings.db_connect_timeout,
                pool=settings.db_pool_timeout,
                statement=settings.db_statement_timeout,
            ),
        )
        self.tokens = TokenCodec(settings)
        self.key_cache = UnwrappedKeyCache()
        # Template versions are immutable: read once per application (one database).
        self.template_cache = TemplateCache()
        self.key_gate = MasterKeyGate()
        # Large masking jobs (list pages, export chunks) share one worker thread.
        self.masking_lane = MaskingLane()
        self.readiness = Readiness(
            self.database,
            settings.master_keys,
            self.key_cache,
            self.key_gate,
            settings.database_url,
        )

    async def check_master_keys(self) -> None:
        """Raise :class:`MasterKeyError` unless the master keys open the stored data keys;
        a database that cannot be reached raises too (the CLI says so in one line)."""
        async with self.database.get_session() as session:
            keys = KeyStore(session, self.settings.master_keys, self.key_cache)
            await keys.verify_master_keys()

    async def verify_master_keys(self) -> None:
        """Raise :class:`MasterKeyError` unless the master keys open the stored data keys.

        An unreachable or unmigrated database leaves them unverified (logged); the
        service's requests then get 503 until the background verification succeeds.
        """
        await self.readiness.verify_once()

    async def _close_connections(self) -> None:
        """Shutdown hook, after the background verification stopped: advanced-alchemy
        disposes the engine before the shutdown hooks run, so a connection opened in
        between would outlive the app."""
        await self.database.get_engine().dispose()

    def on_cli_init(self, cli: Group) -> None:
        from service.cli import register_commands

        register_commands(cli)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.state = State(
            {
                "settings": self.settings,
                "tokens": self.tokens,
                "database": self.database,
                "key_cache": self.key_cache,
                "template_cache": self.template_cache,
                "masking_lane": self.masking_lane,
                "key_gate": self.key_gate,
                "readiness": self.readiness,
            }
        )
        app_config.plugins.extend([SQLAlchemyPlugin(config=self.database), StrictBodyPlugin()])
        # A wrong master key stops start-up; an unreachable database does not (the
        # gate stays closed and verification retries in the background).
        app_config.on_startup.append(self.readiness.start)
        app_config.on_shutdown.append(self.readiness.stop)
        app_config.on_shutdown.append(self._close_connections)
        app_config.route_handlers.extend(
            [
                CommunicationLogController,
                ComplianceController,
                ComplianceExportController,
                SubjectRequestController,
                ProcessingRecordController,
                AuditEventController,
                TemplateController,
                HealthController,
                swagger_ui_file,
            ]
        )
        app_config.middleware.insert(
            0,
            DefineMiddleware(
                BearerTokenMiddleware, codec=self.tokens, exclude=UNAUTHENTICATED_PATHS
            ),
        )
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.dependencies.update(DEPENDENCIES)
        app_config.guards.append(unambiguous_query)
        app_config.cache_control = CacheControlHeader(no_store=True)
        app_config.openapi_config = openapi_config()
        use_struct_schema_plugin(app_config.plugins, self.settings.text_limits)
        # Logging is configured by service.logging (JSON lines on stderr), not by
        # Litestar's queue-listener configuration; unexpected errors are logged by
        # service.errors.handle_unexpected, without their message.
        app_config.logging_config = None
        return app_config


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the service. Without ``settings`` they are read from the environment."""
    configure_logging()
    # The body limit is a constructor argument: Litestar 2.25 reads it from there, not
    # from the AppConfig a plugin's on_app_init returns.
    app = Litestar(
        plugins=[CommlogPlugin(settings or load_settings())],
        request_max_body_size=MAX_REQUEST_BODY_BYTES,
    )
    # Outside the router, unlike Litestar's middleware (which run once a route matched):
    # the access line and the request id must cover 404s and 405s too.
    app.asgi_handler = RequestLogMiddleware(app.asgi_handler)
    return app
