"""Faults in the request flow: the request ends ``failed`` with a reason, a new one succeeds."""

from __future__ import annotations

import threading

import psycopg
import pytest

from ocomms_pipeline.bundle.files import STAGING_PREFIX, finished_bundles

from ..support.locks import wait_for_export_to_block
from ..support.requests_world import open_world as _open_world


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    with _open_world(admin_url, tmp_path_factory.mktemp("faults")) as opened:
        yield opened


def no_partial_output(root, org) -> bool:
    directory = root / org
    if not directory.is_dir():
        return True
    return not [p for p in directory.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_an_unwritable_output_directory_fails_the_request_then_a_retry_completes(world):
    org, owner = world.sample.orgs["Initech"], world.sample.owners["Initech"][0]
    world.export_root.mkdir(parents=True, exist_ok=True)
    blocker = world.export_root / org
    blocker.write_text("not a directory")  # the organization's directory cannot be created
    try:
        request_id = world.enqueue(org, owner)
        world.daemon.tick_until(lambda: world.settled(request_id))
        row = world.row(request_id)
        assert row.status == "failed"
        assert "Not a directory" in row.reason or "NotADirectory" in row.reason
        assert "\n" not in row.reason and "Traceback" not in row.reason
    finally:
        blocker.unlink()
    retry = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(retry))
    assert world.row(retry).status == "completed"
    assert len(finished_bundles(world.export_root, org)) == 1
    assert no_partial_output(world.export_root, org)


def test_a_backend_terminated_mid_export_fails_the_request_then_a_retry_completes(world):
    org, owner = world.sample.orgs["Globex"], world.sample.owners["Globex"][0]
    before = len(finished_bundles(world.export_root, org))
    locked, release = threading.Event(), threading.Event()

    def hold_lock_then_kill_the_export() -> None:
        with psycopg.connect(world.url) as conn:
            conn.execute("LOCK TABLE link_previews IN ACCESS EXCLUSIVE MODE")
            locked.set()
            wait_for_export_to_block(world.url, timeout=120)
            with psycopg.connect(world.url, autocommit=True) as killer:
                killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'ocomms-pipeline' AND wait_event_type = 'Lock'"
                )
            release.wait(5)

    saboteur = threading.Thread(target=hold_lock_then_kill_the_export, daemon=True)
    saboteur.start()
    assert locked.wait(10)
    request_id = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(request_id))
    release.set()
    saboteur.join(30)
    row = world.row(request_id)
    assert row.status == "failed", row
    assert "terminat" in row.reason.lower() or "connection" in row.reason.lower()
    assert len(finished_bundles(world.export_root, org)) == before
    assert no_partial_output(world.export_root, org)
    retry = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(retry))
    assert world.row(retry).status == "completed"
    assert len(finished_bundles(world.export_root, org)) == before + 1
