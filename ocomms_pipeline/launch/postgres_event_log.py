"""Dagster's PostgreSQL event log, with a pooled connection instead of one per statement.

``PostgresEventLogStorage`` connects through ``NullPool``: every event a run stores opens and
closes PostgreSQL sessions, several per event. A run worker of an export stores a few hundred,
which made a small organization's run several times as long as the same run on a pooled
connection (docs/performance.md). Dagster's webserver pools for the same reason
(``optimize_for_webserver``); this
class does it from the start, so the run workers the daemon launches, the daemon itself and
the CLI hold one connection each (more only while they overlap, up to the overflow) and
recycle it hourly. Rows and tables are the stock class's, read by it as before.

Asked to pool again (the CLI's instance, or the webserver with its statement timeout), it
keeps its engine when the settings are the ones it already has, and otherwise replaces the
engine and closes the old one's connections, which the stock method leaves open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from ocomms_pipeline.launch.pooling import COMMAND_POOL, PoolSettings


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """``PostgresEventLogStorage`` on a pool of one connection, as the webserver runs it."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        self._pool: PoolSettings | None = None
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self.optimize_for_webserver(**COMMAND_POOL.as_arguments())

    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        wanted = PoolSettings(statement_timeout, pool_recycle, max_overflow)
        if wanted == self._pool:
            return
        replaced = self._engine
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)
        self._pool = wanted
        replaced.dispose()

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()
