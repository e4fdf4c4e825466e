"""The application factory and the plugin that wires commlog into Litestar."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol
from sqlalchemy.exc import DBAPIError

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyError
from service.auth import BearerTokenMiddleware, TokenCodec
from service.dependencies import DEPENDENCIES
from service.errors import EXCEPTION_HANDLERS
from service.health import HealthController
from service.logs.controller import CommunicationLogController
from service.openapi import openapi_config, swagger_ui_file, use_struct_schema_plugin
from service.persistence.database import create_database_config
from service.retention.controller import ComplianceController
from service.settings import Settings, load_settings

if TYPE_CHECKING:
    from click import Group

logger = logging.getLogger("commlog.app")
MAX_REQUEST_BODY_BYTES = 256 * 1024
UNAUTHENTICATED_PATHS = ["^/health/", "^/schema"]


class CommlogPlugin(InitPluginProtocol, CLIPluginProtocol):
    """Wires settings, database, authentication, error envelopes, OpenAPI and the CLI."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = create_database_config(settings.database_url)
        self.tokens = TokenCodec(settings)
        self.key_cache = UnwrappedKeyCache()

    async def verify_master_keys(self) -> None:
        """Raise :class:`MasterKeyError` unless the master keys open the stored data keys."""
        try:
            async with self.database.get_session() as session:
                keys = KeyStore(session, self.settings.master_keys, self.key_cache)
                await keys.verify_master_keys()
        except (DBAPIError, OSError) as exc:
            # Not migrated yet, or unreachable: readiness reports it; requests will fail.
            logger.warning(
                "master keys not verified: database unavailable (%s)", type(exc).__name__
            )

    async def _refuse_wrong_master_keys(self) -> None:
        """Start-up hook: never serve with master keys that cannot open the data keys."""
        try:
            await self.verify_master_keys()
        except MasterKeyError as exc:
            logger.critical("%s", exc)
            raise

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
            }
        )
        app_config.plugins.append(SQLAlchemyPlugin(config=self.database))
        app_config.on_startup.append(self._refuse_wrong_master_keys)
        app_config.route_handlers.extend(
            [
                CommunicationLogController,
                ComplianceController,
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
        app_config.cache_control = CacheControlHeader(no_store=True)
        app_config.request_max_body_size = MAX_REQUEST_BODY_BYTES
        app_config.openapi_config = openapi_config()
        use_struct_schema_plugin(app_config.plugins)
        app_config.logging_config = LoggingConfig(
            configure_root_logger=False,
            loggers={
                "commlog": {"level": "INFO", "handlers": ["queue_listener"], "propagate": True},
                **{name: {"level": "WARNING", "propagate": True} for name in PARAMETER_LOGGERS},
            },
            log_exceptions="never",
        )
        return app_config


# Loggers that print SQL with its parameters at DEBUG level: parameters are recipients and
# content, so these never log below WARNING, whatever the root level is.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")


def silence_parameter_loggers() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the service. Without ``settings`` they are read from the environment."""
    silence_parameter_loggers()
    return Litestar(plugins=[CommlogPlugin(settings or load_settings())])
