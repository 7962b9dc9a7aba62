"""Refusals: decided before any row is kept, one line of reason, and the target unchanged."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ocomms_pipeline.restore import RestoreRefused, restore_bundle

from .support import fingerprint


def _refused(bundle: Path, url: str) -> str:
    before = fingerprint(url)
    with pytest.raises(RestoreRefused) as refusal:
        restore_bundle(bundle, url)
    assert fingerprint(url) == before
    reason = str(refusal.value)
    assert "\n" not in reason
    return reason


def test_an_organization_that_exists_is_refused(seeded_db, main_bundle, make_database):
    target = make_database()  # the same sample: the organization is there
    assert "already exists in the target" in _refused(main_bundle, target.url)


def test_a_row_whose_key_the_target_holds_is_refused(seeded_db, main_bundle, make_database):
    target = make_database()
    sample = target.sample
    organization = sample.orgs[sample.main_org]
    with psycopg.connect(target.url) as conn:
        channel = conn.execute(
            "SELECT id FROM channels WHERE organization_id = %s LIMIT 1", [organization]
        ).fetchone()[0]
        conn.execute("DELETE FROM organizations WHERE id = %s", [organization])
        conn.execute(  # the channel's id now belongs to another organization
            "INSERT INTO channels (id, organization_id, name, slug, created_at, updated_at) "
            "VALUES (%s, %s, 'taken', 'taken-slug', now(), now())",
            [channel, sample.orgs["Globex"]],
        )
    reason = _refused(main_bundle, target.url)
    assert reason == f"channels: a row with id {channel} already exists in the target"


def test_a_new_user_whose_email_is_taken_is_refused(seeded_db, main_bundle, make_database):
    target = make_database(seed=False)
    alice = seeded_db.sample.users["alice"]
    with psycopg.connect(seeded_db.url) as src, psycopg.connect(target.url) as dst:
        email = src.execute("SELECT email FROM users WHERE id = %s", [alice]).fetchone()[0]
        dst.execute(
            "INSERT INTO users (id, name, email, email_verified, created_at, updated_at) "
            "VALUES ('someone-else-entirely-01', 'Other', %s, true, now(), now())",
            [email],
        )
    reason = _refused(main_bundle, target.url)
    assert reason == f"users: (email) = ({email}) already belongs to another row in the target"


def test_a_target_lacking_a_bundle_column_is_refused(main_bundle, make_database):
    target = make_database(seed=False)
    with psycopg.connect(target.url) as conn:
        conn.execute("ALTER TABLE profiles DROP COLUMN bio")
    assert _refused(main_bundle, target.url) == "the target's profiles lacks column(s) bio"


def test_a_target_requiring_an_unknown_column_is_refused(main_bundle, make_database):
    target = make_database(seed=False)
    with psycopg.connect(target.url) as conn:
        conn.execute("ALTER TABLE messages ADD COLUMN importance text NOT NULL")
    reason = _refused(main_bundle, target.url)
    assert reason.startswith("the target's messages requires column(s) importance")


def test_a_new_nullable_column_is_filled_with_its_default(main_bundle, make_database):
    target = make_database(seed=False)
    with psycopg.connect(target.url) as conn:
        conn.execute("ALTER TABLE messages ADD COLUMN importance text NOT NULL DEFAULT 'normal'")
    report = restore_bundle(main_bundle, target.url)
    messages = next(t for t in report.tables if t.table == "messages")
    assert "importance" in messages.defaulted
    with psycopg.connect(target.url) as conn:
        values = conn.execute("SELECT DISTINCT importance FROM messages").fetchall()
    assert values == [("normal",)]


def test_a_database_without_ocomms_schema_is_refused(main_bundle, make_database):
    target = make_database(seed=False)
    with psycopg.connect(target.url) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("CREATE TABLE inventory (id int PRIMARY KEY, item text)")
        conn.execute("INSERT INTO inventory VALUES (1, 'something else entirely')")
    reason = _refused(main_bundle, target.url)
    assert reason == "the target is not an ocomms database: it has no organizations"


def test_a_dry_run_checks_everything_and_changes_nothing(main_bundle, make_database):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    report = restore_bundle(main_bundle, target.url, dry_run=True)
    assert report.dry_run and report.restored_rows > 0
    assert fingerprint(target.url) == before
    assert report.lines()[-1].startswith("dry run:")
