"""Export, restore, export again: the table files come back byte for byte.

Only the tables whose required columns the export withholds (invitations, whose id is the
accept-link token, and guest invites, whose token is the link) cannot come back; the restore
reports their rows, and the second export holds none of them and nothing else new.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from ocomms_pipeline import catalog
from ocomms_pipeline.restore import restore_bundle

from .support import (
    assert_only_withheld_rows_missing,
    copy_database,
    export_bundle,
    fingerprint,
)

WITHHELD = {"invitations", "guest_invites"}


def _withheld(report) -> set[str]:
    return {t.table for t in report.tables if t.not_restored}


def test_round_trip_into_a_fresh_database_is_byte_identical(make_database, tmp_path: Path):
    source = make_database()
    organization = source.sample.orgs[source.sample.main_org]
    first = export_bundle(source.url, organization, tmp_path / "first")
    target = make_database(seed=False)

    report = restore_bundle(first, target.url)

    assert _withheld(report) == WITHHELD
    manifest_rows = {t.table: t.bundle_rows for t in report.tables}
    assert all(t.restored == t.bundle_rows for t in report.tables if t.table not in WITHHELD)
    assert report.restored_rows == sum(
        n for name, n in manifest_rows.items() if name not in WITHHELD
    )
    assert len(report.users_created) == manifest_rows[catalog.USERS_TABLE]
    second = export_bundle(target.url, organization, tmp_path / "second")
    assert_only_withheld_rows_missing(first, second, WITHHELD)


def test_round_trip_of_a_zip_archive(make_database, tmp_path: Path):
    source = make_database()
    organization = source.sample.orgs["Globex"]
    first = export_bundle(source.url, organization, tmp_path / "first")
    target = make_database(seed=False)

    restore_bundle(first.with_name(first.name + ".zip"), target.url, scratch=tmp_path)

    second = export_bundle(target.url, organization, tmp_path / "second")
    assert_only_withheld_rows_missing(first, second, WITHHELD)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("ocomms-restore-")]


def test_round_trip_after_deleting_the_organization(admin_url, make_database, tmp_path: Path):
    source = make_database()
    sample = source.sample
    organization = sample.orgs[sample.main_org]
    first = export_bundle(source.url, organization, tmp_path / "first")
    copy = make_database(seed=False)  # a name the fixture drops; replaced by the copy
    url = copy_database(admin_url, source.name, copy.name)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM organizations WHERE id = %s", [organization])
    others_before = {k: v for k, v in fingerprint(url).items()}

    report = restore_bundle(first, url)

    by_table = {t.table: t for t in report.tables}
    assert by_table[catalog.USERS_TABLE].restored == 0  # every user outlived the deletion
    assert by_table[catalog.USERS_TABLE].kept == by_table[catalog.USERS_TABLE].bundle_rows
    assert report.users_created == []
    second = export_bundle(url, organization, tmp_path / "second")
    assert_only_withheld_rows_missing(first, second, WITHHELD)
    for shared_org in ("Globex", "Initech"):
        again = export_bundle(url, sample.orgs[shared_org], tmp_path / f"{shared_org}-after")
        before = export_bundle(source.url, sample.orgs[shared_org], tmp_path / shared_org)
        assert_only_withheld_rows_missing(before, again, set())
    after = fingerprint(url)
    for name in ("users", "profiles", "user_statuses"):
        assert after[name] == others_before[name]  # kept exactly as the target had them


def test_users_the_target_has_keep_their_own_rows(make_database, tmp_path: Path):
    source = make_database()
    organization = source.sample.orgs[source.sample.main_org]
    first = export_bundle(source.url, organization, tmp_path / "first")
    target = make_database(seed=False)
    alice = source.sample.users["alice"]
    with psycopg.connect(source.url) as src, psycopg.connect(target.url) as dst:
        row = src.execute("SELECT id, email FROM users WHERE id = %s", [alice]).fetchone()
        dst.execute(
            "INSERT INTO users (id, name, email, email_verified, created_at, updated_at) "
            "VALUES (%s, 'Alice Elsewhere', %s, true, now(), now())",
            row,
        )

    report = restore_bundle(first, target.url)

    assert alice not in report.users_created
    with psycopg.connect(target.url) as conn:
        name = conn.execute("SELECT name FROM users WHERE id = %s", [alice]).fetchone()[0]
        profiles = conn.execute("SELECT count(*) FROM profiles WHERE user_id = %s", [alice])
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    assert name == "Alice Elsewhere"
    assert profiles.fetchone()[0] == 0  # her profile stays the target's (none), not the bundle's
    assert accounts == 0  # no credentials come back
