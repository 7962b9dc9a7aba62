"""A machine without PostgreSQL: the embedded server from the pip package carries an export."""

from __future__ import annotations

import psycopg
import pytest

from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data

from ..support.exports import export, read_manifest

pytestmark = pytest.mark.postgres  # starts an embedded PostgreSQL


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    monkeypatch.setenv(servers.STATE_DIR_ENV, str(tmp_path / "state"))
    url = servers.embedded_server_url()
    try:
        yield url
    finally:
        servers.stop_embedded_server()


def test_an_export_runs_on_the_embedded_server(embedded, tmp_path):
    assert "127.0.0.1" not in embedded  # a unix socket of our own, not the machine's server
    url = servers.create_database(embedded, "ocomms_embedded")
    with psycopg.connect(url) as conn:
        ddl.create_schema(conn)
        sample = sample_data.seed(conn)
    outcome = export(url, sample.orgs["Acme"], sample.owners["Acme"][0], tmp_path / "out")
    assert outcome.success, outcome.reason
    assert read_manifest(outcome.bundle_path)["tables"]["messages"]["rows"] > 0
    servers.drop_database(embedded, "ocomms_embedded")
