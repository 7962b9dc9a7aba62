"""Load: requests queued at once across many organizations, drained by a ticking daemon.

Owners, non-owners and malformed rows are mixed, and the daemon is restarted midway, as after
a deploy. Every request must end exactly once, with exactly one run when it deserves one.
The suite queues 10 requests for each of 2 organizations; the full load (200 requests across
20 organizations, about a quarter of an hour on two cores) runs with
``OCOMMS_LOAD_ORGANIZATIONS=20 ./run test tests/requests/test_request_load.py``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.requests import audit
from ocomms_pipeline.requests import queue as request_queue

from ..support.requests_world import SECRET, add_organizations, audit_entries
from ..support.requests_world import open_world as _open_world

ORGANIZATIONS = int(os.environ.get("OCOMMS_LOAD_ORGANIZATIONS", "2"))
PER_ORGANIZATION = 10  # 8 by the owner, 1 by a plain member, 1 malformed
OWNER_REQUESTS = PER_ORGANIZATION - 2


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    with _open_world(admin_url, tmp_path_factory.mktemp("load")) as opened:
        yield opened


def test_a_backlog_of_requests_ends_exactly_once(world):
    owner, member = world.sample.users["heidi"], world.sample.users["ivan"]
    orgs = list(add_organizations(world.url, ORGANIZATIONS, prefix="Load").values())
    expected: dict[str, str] = {}
    for org in orgs:
        for _ in range(OWNER_REQUESTS):
            expected[world.enqueue(org, owner)] = "completed"
        expected[world.enqueue(org, member)] = "rejected"
        expected[world.enqueue(org + "/..", owner)] = "rejected"
    assert len(expected) == ORGANIZATIONS * PER_ORGANIZATION
    world.daemon.tick()
    world.daemon.tick()
    world.daemon.restart()  # a deploy in the middle of the backlog
    world.daemon.tick_until(lambda: world.settled(*expected), limit=40)
    rows = {r: world.row(r) for r in expected}
    assert {r: row.status for r, row in rows.items()} == expected
    completed = ORGANIZATIONS * OWNER_REQUESTS
    assert Counter(expected.values()) == {"completed": completed, "rejected": 2 * ORGANIZATIONS}
    for request_id, row in rows.items():
        runs = world.daemon.runs_of(request_id)
        # Malformed rows and the owner gate's refusals are decided before any run.
        assert len(runs) == (1 if row.status == "completed" else 0), row
        decisions = [e["details"]["decision"] for e in audit_entries(world.audit_dir, request_id)]
        if row.status == "completed":
            assert decisions == ["authorized", "completed"]
            assert bundle.sha256_file(Path(row.archive_path)) == row.archive_sha256
        else:
            assert decisions == ["rejected"] and row.reason
    run_ids = {row.dagster_run_id for row in rows.values() if row.dagster_run_id}
    assert len(run_ids) == completed  # the non-owners' requests were refused without a run
    assert audit.verify(world.audit_dir, SECRET).ok
    with world.connect() as conn:
        assert request_queue.pending(conn, 500) == [] and request_queue.running(conn) == []
    world.daemon.restart()
    world.daemon.tick()
    assert all(len(world.daemon.runs_of(r)) <= 1 for r in expected)
