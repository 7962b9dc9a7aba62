"""What the report tells the operator to do: queue jobs to re-create, users without logins.

The expectations are independent SQL over the source database, not the restore's own rules.
"""

from __future__ import annotations

import psycopg

from ocomms_pipeline.restore import restore_bundle

WAITING_REMINDERS = """
SELECT r.id::text FROM reminders r JOIN messages m ON m.id = r.message_id
LEFT JOIN channels c ON c.id = m.channel_id LEFT JOIN conversations v ON v.id = m.conversation_id
WHERE (c.organization_id = %(org)s OR v.organization_id = %(org)s)
  AND (r.status IN ('pending', 'snoozed')
       OR (r.recurring_pattern IS NOT NULL AND r.status NOT IN ('completed', 'cancelled')))
"""
WAITING_SCHEDULED = """
SELECT s.id::text FROM scheduled_messages s
LEFT JOIN channels c ON c.id = s.channel_id LEFT JOIN conversations v ON v.id = s.conversation_id
WHERE (c.organization_id = %(org)s OR v.organization_id = %(org)s)
  AND s.status IN ('pending', 'processing')
"""


def test_every_waiting_reminder_and_scheduled_message_is_listed(
    seeded_db, main_bundle, make_database
):
    organization = seeded_db.sample.orgs[seeded_db.sample.main_org]
    with psycopg.connect(seeded_db.url) as conn:
        reminders = {r[0] for r in conn.execute(WAITING_REMINDERS, {"org": organization})}
        scheduled = {r[0] for r in conn.execute(WAITING_SCHEDULED, {"org": organization})}
    assert reminders and scheduled

    report = restore_bundle(main_bundle, make_database(seed=False).url)

    listed = {(job.table, job.id): job for job in report.requeue}
    assert set(listed) == {("reminders", i) for i in reminders} | {
        ("scheduled_messages", i) for i in scheduled
    }
    for (table, key), job in listed.items():
        prefix = "reminder-" if table == "reminders" else "scheduled-"
        assert job.job_id == prefix + key
        assert list(job.data.values()) == [key]
        assert job.due is not None


def test_the_created_users_are_the_bundles_users_without_any_login(
    seeded_db, main_bundle, make_database
):
    target = make_database(seed=False)
    report = restore_bundle(main_bundle, target.url)
    with psycopg.connect(target.url) as conn:
        users = {r[0] for r in conn.execute("SELECT id FROM users")}
        logins = conn.execute(
            "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM sessions) "
            "+ (SELECT count(*) FROM two_factor) + (SELECT count(*) FROM password_history)"
        ).fetchone()[0]
    assert set(report.users_created) == users
    assert logins == 0
    assert any("password reset" in line for line in report.lines())
