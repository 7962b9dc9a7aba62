"""The demo's own database on a rerun, and what the demo records and prints about it.

The demo's database has a fixed name (``ocomms_demo``); these tests give ``prepare_database``
a name of their own on the test server, so that a developer's demo is never touched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from ocomms_pipeline.cli.main import main
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.requests.queue import Finish
from ocomms_pipeline.sandbox import servers
from ocomms_pipeline.sandbox.demo import prepare_database
from ocomms_pipeline.sandbox.environment import DemoPaths, DemoRecord, redacted_url
from ocomms_pipeline.status import RequestStatus


@pytest.fixture
def demo_name(admin_url, monkeypatch) -> Iterator[str]:
    """A demo database name of this test's own, on the test server, dropped afterwards."""
    monkeypatch.delenv("OCOMMS_DATABASE_URL", raising=False)
    monkeypatch.setenv(servers.ADMIN_URL_ENV, admin_url)
    name = f"ocomms_demo_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        yield name
    finally:
        servers.drop_database(admin_url, name)


def _rows(url: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT {request_queue.COLUMNS} FROM {request_queue.TABLE} ORDER BY created_at, id"
        ).fetchall()
    return [dict(zip(request_queue.COLUMNS.split(", "), row, strict=True)) for row in rows]


def test_a_rerun_recreates_the_sample_and_keeps_the_queued_requests(demo_name, capsys):
    url, sample = prepare_database(demo_name)
    assert sample is not None and capsys.readouterr().out == ""
    org, owner = sample.orgs["Acme"], sample.owners["Acme"][0]
    with psycopg.connect(url, autocommit=True) as conn:
        pending = request_queue.enqueue(conn, org, owner)
        running = request_queue.enqueue(conn, org, owner)
        done = request_queue.enqueue(conn, sample.orgs["Globex"], sample.owners["Globex"][0])
        request_queue.mark_running(conn, running, "run-1", datetime.now(UTC))
        request_queue.mark_running(conn, done, "run-2", None)
        end = Finish(RequestStatus.FAILED, reason="the run failed")
        assert request_queue.finish(conn, done, end, from_=RequestStatus.RUNNING)
        conn.execute("UPDATE organizations SET name = name || ' (edited)'")  # since the seeding
    before = _rows(url)
    assert [row["id"] for row in before] == [pending, running, done]

    again, resampled = prepare_database(demo_name)
    assert again == url and resampled == sample
    assert capsys.readouterr().out.splitlines() == [
        f"the demo database {demo_name} existed: recreated with fresh sample data,"
        " its 3 export requests kept (2 pending or running)"
    ]
    assert _rows(url) == before
    with psycopg.connect(url) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM organizations")}
    assert names == set(sample.orgs)
    with psycopg.connect(url, autocommit=True) as conn:
        assert request_queue.enqueue(conn, org, owner) not in {pending, running, done}


def test_a_rerun_over_a_database_without_requests_says_so(demo_name, capsys):
    url, _ = prepare_database(demo_name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {request_queue.SCHEMA} CASCADE")
    capsys.readouterr()
    prepare_database(demo_name)
    assert capsys.readouterr().out == (
        f"the demo database {demo_name} existed: recreated with fresh sample data"
        " (it held no export requests)\n"
    )


def test_urls_are_printed_and_recorded_without_their_password():
    url = "postgresql://exporter:s3cret@db.internal:5433/ocomms?sslmode=require"
    assert redacted_url(url) == "postgresql://exporter:***@db.internal:5433/ocomms?sslmode=require"
    assert (
        redacted_url("postgresql://root@127.0.0.1:5432/x") == "postgresql://root@127.0.0.1:5432/x"
    )
    socket = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert "***" not in redacted_url(socket) and "host=%2Ftmp%2Fpg" in redacted_url(socket)
    record = DemoRecord.of(url, seeded=True)
    assert "s3cret" not in record.database_url
    assert record.connect_url({}) == record.database_url
    assert record.connect_url({"OCOMMS_DATABASE_URL": url}) == url
    other = "postgresql://exporter:s3cret@db.internal:5433/production"
    assert record.connect_url({"OCOMMS_DATABASE_URL": other}) == record.database_url


def test_ui_refuses_a_database_the_demo_did_not_seed(tmp_path, monkeypatch, capsys):
    """An existing ocomms install the demo only read: its queue is not the demo's to run."""
    monkeypatch.setenv(servers.STATE_DIR_ENV, str(tmp_path))
    record = DemoRecord.of("postgresql://exporter@db.internal/ocomms", seeded=False)
    record.save(DemoPaths.current())
    assert main(["ui", "--port", "0"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("error: the demo read an existing ocomms database; `ui` opens only")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json"]
