"""Retention keeps the bundles that open export requests point at: what the queue protects."""

from __future__ import annotations

import psycopg
import pytest

from ocomms_pipeline.requests import queue as request_queue

from ..support.bare_queue import add_request


def test_protected_bundles_are_those_of_open_requests(queue_db, admin_url):
    assert request_queue.protected_bundles(admin_url) == set()  # no queue yet: nothing protected
    for status, path in [
        ("pending", "/mnt/a/org1/ocomms-export-2026-01-01T00-00-00Z"),
        ("running", "/srv/exports/org2/ocomms-export-2026-01-02T00-00-00Z.zip"),
        ("completed", "/srv/exports/org3/ocomms-export-2026-01-03T00-00-00Z"),
        ("failed", "/srv/exports/org4/ocomms-export-2026-01-04T00-00-00Z"),
        ("pending", None),
    ]:
        add_request(queue_db.url, status, path)
    assert request_queue.protected_bundles(queue_db.url) == {
        ("org1", "ocomms-export-2026-01-01T00-00-00Z"),
        ("org2", "ocomms-export-2026-01-02T00-00-00Z"),
    }
    with pytest.raises(psycopg.OperationalError):
        request_queue.protected_bundles("postgresql://nobody@127.0.0.1:1/ocomms")
