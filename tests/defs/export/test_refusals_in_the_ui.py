"""A refusal does not paint an organization red in Dagster's UI.

After a good export, an owner gate refusal through the request queue or through
``ocomms-pipeline export`` launches no run, so every ``ocomms/*`` partition of the
organization stays materialized and no check shows failed, as the UI's GraphQL reports it.
The refusal stays visible where people look for it: the request row, the audit log, the
sensor's tick, the CLI's exit status and stderr.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.defs.requests.sensors import SENSOR_NAME
from ocomms_pipeline.requests import audit

from ...support.cli import run_cli
from ...support.requests_world import audit_entries
from ...support.requests_world import open_world as _open_world
from ...support.ui_view import ui_of


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    with _open_world(admin_url, tmp_path_factory.mktemp("refusals")) as opened:
        yield opened


def _assert_all_green(instance: dg.DagsterInstance, org: str) -> None:
    with ui_of(instance) as shown:
        assets = {k: v for k, v in shown().items() if k.startswith("ocomms/")}
    assert len(assets) == 36
    for key, asset in assets.items():
        assert org in asset.materialized, key
        assert org not in asset.failed and not asset.in_progress, key
        assert not {"FAILED", "EXECUTION_FAILED"} & set(asset.checks.values()), key


def _sensor_skip_reasons(instance: dg.DagsterInstance) -> list[str]:
    [state] = [s for s in instance.all_instigator_state() if s.name == SENSOR_NAME]
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20)
    return [t.skip_reason or "" for t in ticks]


def test_refused_requests_leave_the_organization_green(world):
    org, owner = world.sample.orgs["Acme"], world.sample.owners["Acme"][0]
    good = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(good))
    assert world.row(good).status == "completed"
    refused = {who: world.enqueue(org, getattr(world.sample, who)) for who in ("guest", "admin")}
    world.daemon.tick_until(lambda: world.settled(*refused.values()))
    for request_id in refused.values():
        row = world.row(request_id)
        assert row.status == "rejected" and row.dagster_run_id is None
        [entry] = audit_entries(world.audit_dir, request_id)
        assert entry["eventType"] == audit.AUTHZ_FAILURE
        assert entry["details"]["reason"] == row.reason
        assert world.daemon.runs_of(request_id) == []
    reasons = _sensor_skip_reasons(world.daemon.instance)
    for request_id in refused.values():
        line = f"request {request_id} refused by the owner gate: {world.row(request_id).reason}"
        assert any(line in reason for reason in reasons), reasons
    assert audit.verify(world.audit_dir, "test-audit-secret").ok
    _assert_all_green(world.daemon.instance, org)


def test_a_refused_cli_export_leaves_the_organization_green(seeded_db, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"OCOMMS_DATABASE_URL": seeded_db.url, "DAGSTER_HOME": str(home)}
    org, out = seeded_db.sample.orgs["Acme"], tmp_path / "out"
    owner = seeded_db.sample.owners["Acme"][0]
    good = run_cli("export", "--requested-by", owner, "--", org, str(out), env=env, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    published = bundle.finished_bundles(out, org)
    guest = seeded_db.sample.guest
    refused = run_cli("export", "--requested-by", guest, "--", org, str(out), env=env, cwd=tmp_path)
    assert refused.returncode == 3
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("refused: ") and repr(guest) in line and "guest" in line
    assert bundle.finished_bundles(out, org) == published
    assert [p.name for p in Path(out, org).iterdir() if p.name.startswith(".")] == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 1
        _assert_all_green(instance, org)
