"""Rows of any status in a bare export-request queue (the ``queue_db`` fixture's)."""

from __future__ import annotations

import psycopg


def add_request(url: str, status: str, bundle_path: str | None) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO ocomms_export.export_requests (status, bundle_path) VALUES (%s, %s)",
            (status, bundle_path),
        )
