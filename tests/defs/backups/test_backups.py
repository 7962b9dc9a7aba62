"""Nightly backups: the schedule's runs, and runs that back up many organizations each."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB, BACKUP_OP, backup_run_config
from ocomms_pipeline.defs.backups.schedules import (
    BackupSettings,
    backup_run_requests,
    batches,
    build_backup_schedule,
)
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.assets import BUNDLE_KEY, table_key
from ocomms_pipeline.launch.instances import instance_at

from ...support.exports import read_manifest

GHOST = "deleted_organization_0001"  # a partition whose organization no longer exists


def test_batches_cover_every_id_once_in_order():
    assert batches(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches([], 3) == []


def test_run_requests_per_batch_with_dated_keys_and_backup_tags():
    settings = BackupSettings(batch_size=2, requested_by="operator:nightly")
    requests = backup_run_requests(["c", "a", "bad key", "b"], date(2026, 3, 1), settings)
    assert [r.run_key for r in requests] == [
        "nightly_backup-2026-03-01-0",
        "nightly_backup-2026-03-01-1",
    ]
    configs = [r.run_config["ops"][BACKUP_OP]["config"] for r in requests]
    assert configs == [
        {"organizations": ["a", "b"], "requested_by": "operator:nightly"},
        {"organizations": ["c"], "requested_by": "operator:nightly"},
    ]
    assert requests[1].tags == {
        "ocomms/kind": "backup",
        "ocomms/backup_date": "2026-03-01",
        "ocomms/backup_batch": "2/2",
    }
    assert all(r.job_name == BACKUP_JOB for r in requests)


def test_settings_come_from_the_environment_and_are_checked():
    settings = BackupSettings.from_env(
        {
            "OCOMMS_BACKUP_CRON": "15 1 * * *",
            "OCOMMS_BACKUP_TIMEZONE": "Europe/Paris",
            "OCOMMS_BACKUP_BATCH_SIZE": "250",
            "OCOMMS_BACKUP_PRINCIPAL": "operator:backup-bot",
        }
    )
    assert settings == BackupSettings("15 1 * * *", "Europe/Paris", 250, "operator:backup-bot")
    assert BackupSettings.from_env({}) == BackupSettings()
    for bad in (
        {"OCOMMS_BACKUP_TIMEZONE": "Mars/Olympus"},
        {"OCOMMS_BACKUP_BATCH_SIZE": "0"},
        {"OCOMMS_BACKUP_BATCH_SIZE": "many"},
        {"OCOMMS_BACKUP_PRINCIPAL": "a_user_id_not_an_operator"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            BackupSettings.from_env(bad)
    with pytest.raises(ValueError, match="OCOMMS_BACKUP_CRON"):
        build_backup_schedule(BackupSettings(cron="every night"))


def test_schedule_skips_when_there_is_no_partition_yet():
    with dg.instance_for_test() as instance:
        schedule = build_backup_schedule(BackupSettings())
        tick = datetime(2026, 3, 1, 2, tzinfo=UTC)
        # As a context manager: it leaves no evaluation state behind for later tests.
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            data = schedule.evaluate_tick(context)
        assert data.run_requests == []
        assert "no organization partitions" in data.skip_message


@pytest.fixture
def backup_env(seeded_db, tmp_path, monkeypatch):
    """The environment a run worker has: the resources of the code location read it."""
    monkeypatch.setenv("OCOMMS_DATABASE_URL", seeded_db.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path / "exports"))
    return tmp_path / "exports"


def _execute(instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run a requested run the way a launched run does: the job of the code location."""
    return defs.resolve_job_def(BACKUP_JOB).execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags=request.tags,
        raise_on_error=False,
    )


def test_scheduled_runs_back_up_every_organization(seeded_db, backup_env):
    orgs = sorted(seeded_db.sample.orgs.values())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(organizations.name, orgs)
        schedule = build_backup_schedule(BackupSettings(batch_size=2))
        tick = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            requests = schedule.evaluate_tick(context).run_requests
        assert [r.run_key for r in requests] == [
            "nightly_backup-2026-03-01-0",
            "nightly_backup-2026-03-01-1",
        ]
        results = [_execute(instance, r) for r in requests]
        assert all(r.success for r in results)
        for key in [BUNDLE_KEY, *(table_key(t.name) for t in catalog.exported_tables())]:
            assert instance.get_materialized_partitions(key) == set(orgs), key
        run = instance.get_run_by_id(results[0].run_id)
        assert run.tags["ocomms/kind"] == "backup"
        assert run.tags["ocomms/backup_batch"] == "1/2"
    for org in orgs:
        (published,) = bundle.finished_bundles(backup_env, org)
        manifest = read_manifest(published)
        assert manifest["organization"]["id"] == org
        assert manifest["requester"] == {
            "principal": "operator:nightly-backup",
            "kind": "operator",
            "capacity": "operator",
        }
        assert manifest["dagster_run_id"] in {r.run_id for r in results}
    assert not list(Path(backup_env).glob("*/.staging-*"))


def test_a_failing_organization_stops_none_of_the_others_and_fails_the_run(seeded_db, backup_env):
    acme, globex = seeded_db.sample.orgs["Acme"], seeded_db.sample.orgs["Globex"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(organizations.name, [acme, GHOST, globex])
        request = dg.RunRequest(
            run_config=backup_run_config([acme, GHOST, globex], "operator:nightly-backup")
        )
        result = _execute(instance, request)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        user_failure = failure.step_failure_data.user_failure_data
        assert user_failure.description == f"backup failed for 1 of 3 organization(s): {GHOST}"
        failures = user_failure.metadata["failures"].value
        assert failures == {GHOST: f"unknown organization {GHOST!r}"}
        assert instance.get_materialized_partitions(BUNDLE_KEY) == {acme, globex}
        observations = instance.fetch_observations(BUNDLE_KEY, limit=10).records
        (observed,) = [o.asset_observation for o in observations]
        assert observed.partition == GHOST
        assert observed.metadata["outcome"].value == "failed"
    assert len(bundle.finished_bundles(backup_env, acme)) == 1
    assert len(bundle.finished_bundles(backup_env, globex)) == 1
    assert not (backup_env / GHOST).exists()


@pytest.fixture
def quiet_interrupts():
    """SIGINT does nothing outside a run's own handling of it, so a late one cannot end pytest."""
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_once_published(root: Path, orgs: list[str], done: threading.Event) -> None:
    """Send this process SIGINT, as terminating a run does, once a bundle is published."""
    while not done.is_set():
        if any(bundle.finished_bundles(root, org) for org in orgs):
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.0005)


def test_a_backup_terminated_as_it_publishes_records_what_it_published(
    seeded_db, backup_env, tmp_path, monkeypatch, quiet_interrupts
):
    """Dagster holds a batch of events back until its last one: a termination arriving while
    an organization's 35 materializations were being handed over dropped them all, and left
    its bundle published with nothing in the instance to show it."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "100")
    orgs = sorted(seeded_db.sample.orgs.values())
    instance = instance_at(tmp_path / "home")  # its event log stores a batch whole
    instance.add_dynamic_partitions(organizations.name, orgs)
    done = threading.Event()
    watcher = threading.Thread(target=_interrupt_once_published, args=(backup_env, orgs, done))
    watcher.start()
    try:
        request = dg.RunRequest(run_config=backup_run_config(orgs, "operator:nightly-backup"))
        result = _execute(instance, request)
    finally:
        done.set()
        watcher.join()
    try:
        assert not result.success  # stopped, not run to its end
        published = {org for org in orgs if bundle.finished_bundles(backup_env, org)}
        assert len(published) == 1
        for key in [BUNDLE_KEY, *(table_key(t.name) for t in catalog.exported_tables())]:
            assert instance.get_materialized_partitions(key) == published, key
    finally:
        instance.dispose()


def test_a_re_evaluated_tick_asks_for_the_same_runs_on_the_local_day():
    """A restarted daemon re-evaluates a tick: same run keys, so Dagster launches nothing twice."""
    settings = BackupSettings(batch_size=2, timezone="Pacific/Auckland")
    schedule = build_backup_schedule(settings)
    tick = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)  # already 2 March in Auckland
    evaluations = []
    for order in (["o3", "o1", "o2"], ["o2", "o3", "o1"]):
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(organizations.name, order)
            with dg.build_schedule_context(
                instance=instance, scheduled_execution_time=tick
            ) as context:
                evaluations.append(schedule.evaluate_tick(context).run_requests)
    first, second = evaluations
    assert [(r.run_key, r.run_config) for r in first] == [(r.run_key, r.run_config) for r in second]
    assert first[0].run_key == "nightly_backup-2026-03-02-0"


def test_publishing_takes_the_next_name_when_another_run_published_first(seeded_db, tmp_path):
    """A backup batch and an owner's request may export one organization in the same second."""
    from ocomms_pipeline import identifiers
    from ocomms_pipeline.bundle.publish import publish_staged
    from ocomms_pipeline.export.organization import stage_organization

    org = seeded_db.sample.orgs["Initech"]
    operator = identifiers.operator("ops")
    state = stage_organization(seeded_db.url, org, operator, tmp_path, "run-one")
    taken = Path(state.bundle_path)
    (taken / bundle.MANIFEST).parent.mkdir(parents=True)  # the other run's bundle
    (taken / bundle.MANIFEST).write_text("{}")
    published = publish_staged(tmp_path, org, "run-one")
    assert published.path == taken.with_name(taken.name + "-1")
    assert read_manifest(published.path)["dagster_run_id"] == "run-one"
    assert read_manifest(taken) == {}


def test_a_backup_that_fails_a_bundle_check_is_not_published(make_database, tmp_path, monkeypatch):
    """A secret value surfacing in an exported column (a user named after their session token)
    fails the blocking checks: that organization's backup is withheld, the others publish."""
    db = make_database()
    acme, globex = db.sample.orgs["Acme"], db.sample.orgs["Globex"]
    only_in_acme = [u for u in db.sample.members["Acme"] if u not in db.sample.members["Globex"]]
    with psycopg.connect(db.url) as conn:
        user, token = conn.execute(
            "SELECT user_id, token FROM sessions WHERE user_id = ANY(%s) ORDER BY 1 LIMIT 1",
            (only_in_acme,),
        ).fetchone()
        conn.execute("UPDATE users SET name = %s WHERE id = %s", (token, user))
    monkeypatch.setenv("OCOMMS_DATABASE_URL", db.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path / "exports"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(organizations.name, [acme, globex])
        request = dg.RunRequest(run_config=backup_run_config([acme, globex], "operator:nightly"))
        result = _execute(instance, request)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        reason = failure.step_failure_data.user_failure_data.metadata["failures"].value[acme]
        assert "bundle checks failed" in reason and "users" in reason
        assert instance.get_materialized_partitions(BUNDLE_KEY) == {globex}
    assert bundle.finished_bundles(tmp_path / "exports", acme) == []
    assert not [p for p in (tmp_path / "exports" / acme).iterdir()]
    assert len(bundle.finished_bundles(tmp_path / "exports", globex)) == 1
