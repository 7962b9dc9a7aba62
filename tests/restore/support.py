"""Helpers of the restore tests: bundles made by the real export, databases to restore into.

``fingerprint`` reads every ocomms table's full contents, so "nothing changed" is checked on
the data itself, not on row counts.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import psycopg
from psycopg import sql

from ocomms_pipeline.sandbox import servers

from ..support.exports import export, read_table

OPERATOR = "operator:restore-test"


def fingerprint(url: str) -> dict[str, tuple[int, str | None]]:
    """Per table of the database (ocomms's or not): rows and an md5 of all of them."""
    result = {}
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        for (name,) in names:
            query = sql.SQL(
                "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"
            ).format(sql.Identifier(name))
            count, digest = conn.execute(query).fetchone()
            result[name] = (count, digest)
    return result


def copy_database(admin_url: str, source_name: str, name: str) -> str:
    """A copy of a database (no one may be connected to the source while it is taken)."""
    servers.drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source_name)
            )
        )
    return servers.database_url(admin_url, name)


def export_bundle(url: str, organization_id: str, root: Path) -> Path:
    outcome = export(url, organization_id, OPERATOR, root)
    assert outcome.success, outcome.reason
    assert outcome.bundle_path is not None
    return outcome.bundle_path


def differing_files(first: Path, second: Path) -> list[str]:
    """Table files whose bytes differ between two bundles (the manifests always differ)."""
    names = sorted(p.name for p in first.glob("*.json") if p.name != "manifest.json")
    assert names == sorted(p.name for p in second.glob("*.json") if p.name != "manifest.json")
    return [n for n in names if not filecmp.cmp(first / n, second / n, shallow=False)]


def assert_only_withheld_rows_missing(first: Path, second: Path, withheld: set[str]) -> None:
    """Withheld tables may lose rows, never gain or change one; every other file is identical."""
    differing = set(differing_files(first, second))
    assert differing <= {f"{t}.json" for t in withheld}
    for name in withheld:
        before, after = read_table(first, name), read_table(second, name)
        assert all(row in before for row in after)
