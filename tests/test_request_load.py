"""Load: 200 requests queued at once across 20 organizations, drained by a ticking daemon.

Owners, non-owners and malformed rows are mixed, and the daemon is restarted midway, as after
a deploy. Every request must end exactly once, with exactly one run when it deserves one.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ocomms_pipeline import audit, bundle, request_queue

from .requests_world import SECRET, add_organizations, audit_entries
from .requests_world import open_world as _open_world

ORGANIZATIONS = 20
PER_ORGANIZATION = 10  # 8 by the owner, 1 by a plain member, 1 malformed


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    with _open_world(admin_url, tmp_path_factory.mktemp("load")) as opened:
        yield opened


def test_two_hundred_requests_end_exactly_once(world):
    owner, member = world.sample.users["heidi"], world.sample.users["ivan"]
    orgs = list(add_organizations(world.url, ORGANIZATIONS, prefix="Load").values())
    expected: dict[str, str] = {}
    for org in orgs:
        for _ in range(PER_ORGANIZATION - 2):
            expected[world.enqueue(org, owner)] = "completed"
        expected[world.enqueue(org, member)] = "rejected"
        expected[world.enqueue(org + "/..", owner)] = "rejected"
    assert len(expected) == ORGANIZATIONS * PER_ORGANIZATION == 200
    world.daemon.tick()
    world.daemon.tick()
    world.daemon.restart()  # a deploy in the middle of the backlog
    world.daemon.tick_until(lambda: world.settled(*expected), limit=40)
    rows = {r: world.row(r) for r in expected}
    assert {r: row.status for r, row in rows.items()} == expected
    assert Counter(expected.values()) == {"completed": 160, "rejected": 40}
    for request_id, row in rows.items():
        runs = world.daemon.runs_of(request_id)
        malformed = row.organization_id.endswith("/..")
        assert len(runs) == (0 if malformed else 1), row
        decisions = [e["details"]["decision"] for e in audit_entries(world.audit_dir, request_id)]
        if row.status == "completed":
            assert decisions == ["authorized", "completed"]
            assert bundle.sha256_file(Path(row.archive_path)) == row.archive_sha256
        else:
            assert decisions == ["rejected"] and row.reason
    assert len({row.dagster_run_id for row in rows.values() if row.dagster_run_id}) == 180
    assert audit.verify(world.audit_dir, SECRET).ok
    with world.connect() as conn:
        assert request_queue.pending(conn, 500) == [] and request_queue.running(conn) == []
    world.daemon.restart()
    world.daemon.tick()
    assert all(len(world.daemon.runs_of(r)) <= 1 for r in expected)
