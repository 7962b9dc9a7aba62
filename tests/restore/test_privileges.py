"""A restore needs no superuser: a plain role with the grants docs/restore.md lists is enough.

The role may not disable triggers or foreign keys (only a superuser or the tables' owner
could), so a passing restore shows that the rows satisfy every constraint in the order they
go in, replies to messages included. The role is cluster-wide, so it is dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ocomms_pipeline.restore import restore_bundle

from .support import assert_only_withheld_rows_missing, copy_database, export_bundle

GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT DELETE ON notifications TO {role}",
    "GRANT TEMPORARY ON DATABASE {database} TO {role}",
)


@pytest.fixture
def restore_role(admin_url: str) -> Iterator[str]:
    role = f"ocomms_restorer_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _grant(url: str, database: str, role: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        for grant in GRANTS:
            conn.execute(
                sql.SQL(grant).format(role=sql.Identifier(role), database=sql.Identifier(database))
            )
        superuser = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role]
        ).fetchone()[0]
    assert superuser is False
    return make_conninfo(url, user=role)


def _revoke(url: str, database: str, role: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )


def test_a_plain_role_restores_after_the_organization_was_deleted(
    admin_url, make_database, restore_role: str, tmp_path: Path
):
    source = make_database()
    organization = source.sample.orgs[source.sample.main_org]
    first = export_bundle(source.url, organization, tmp_path / "first")
    copy = make_database(seed=False)
    url = copy_database(admin_url, source.name, copy.name)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM organizations WHERE id = %s", [organization])
    restorer = _grant(url, copy.name, restore_role)
    try:
        report = restore_bundle(first, restorer)
    finally:
        _revoke(url, copy.name, restore_role)
    assert report.restored_rows > 0
    assert any(t.replaced for t in report.tables)  # the deletion's leftovers, via DELETE
    second = export_bundle(url, organization, tmp_path / "second")
    assert_only_withheld_rows_missing(first, second, {"invitations", "guest_invites"})
