"""Fixtures that give tests real PostgreSQL databases holding the ocomms schema.

Every database is created for the test that asks for it and dropped afterwards, so tests can
write freely and run in parallel (the name carries the process id and a random part). The
server comes from servers.admin_server_url(): an explicit URL, a local server, or the
embedded one, so the suite needs no setup on a machine without PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data
from ocomms_pipeline.sandbox.samples.data import SampleData

_database_numbers = itertools.count()


@dataclass(frozen=True)
class DatabaseHandle:
    """A test database: where it is, its name (for dropping) and what was seeded into it."""

    url: str
    name: str
    sample: SampleData | None


MakeDatabase = Callable[..., DatabaseHandle]


@pytest.fixture(scope="session")
def admin_url() -> str:
    return servers.admin_server_url()


def _unique_name() -> str:
    return f"ocomms_test_{os.getpid()}_{next(_database_numbers)}_{secrets.token_hex(3)}"


def _build(admin_url: str, name: str, seed: bool) -> DatabaseHandle:
    url = servers.create_database(admin_url, name)
    with psycopg.connect(url) as conn:
        ddl.create_schema(conn)
        sample = sample_data.seed(conn) if seed else None
    return DatabaseHandle(url=url, name=name, sample=sample)


@pytest.fixture
def make_database(admin_url: str) -> Iterator[MakeDatabase]:
    """A factory of fresh databases, all dropped when the test ends.

    Names are recorded before creation so that a database whose schema or seed failed half
    way is dropped too.
    """
    names: list[str] = []

    def make(seed: bool = True) -> DatabaseHandle:
        names.append(_unique_name())
        return _build(admin_url, names[-1], seed)

    yield make
    for name in names:
        servers.drop_database(admin_url, name)


@pytest.fixture(scope="module")
def seeded_db(admin_url: str) -> Iterator[DatabaseHandle]:
    """One seeded database shared by a module's tests, which must only read it."""
    name = _unique_name()
    try:
        yield _build(admin_url, name, seed=True)
    finally:
        servers.drop_database(admin_url, name)


@pytest.fixture
def queue_db(make_database):
    """A database holding only a bare export request queue: the columns retention reads."""
    db = make_database(seed=False)
    with psycopg.connect(db.url) as conn:
        conn.execute("CREATE SCHEMA ocomms_export")
        conn.execute(
            "CREATE TABLE ocomms_export.export_requests (id serial PRIMARY KEY,"
            " status text NOT NULL, bundle_path text)"
        )
    return db


# Fixtures that reach PostgreSQL (and with it, in these tests, a Dagster instance): a test
# that asks for one is marked `postgres`, so `./run test -m "not postgres"` runs the rest.
_SERVICE_FIXTURES = {"admin_url", "make_database", "seeded_db", "queue_db"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
