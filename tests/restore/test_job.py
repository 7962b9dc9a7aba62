"""The Dagster job ``restore_organization``, run by Dagster's own machinery in process."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.requests.resources import AuditLog
from ocomms_pipeline.defs.restore.jobs import (
    RESTORE_JOB,
    RESTORE_OP,
    RestoreDatabase,
    restore_organization_job,
    restore_run_config,
)
from ocomms_pipeline.requests import audit

from .support import export_bundle, fingerprint

SECRET = "restore-job-test-secret"


def _run(bundle: Path, url: str, audit_dir: Path, requested_by: str, **kwargs):
    instance = dg.DagsterInstance.ephemeral()
    result = restore_organization_job.execute_in_process(
        run_config=restore_run_config(bundle, requested_by, **kwargs),
        resources={
            "restore_database": RestoreDatabase(url=url),
            "audit_log": AuditLog(directory=str(audit_dir), secret=SECRET),
        },
        instance=instance,
        raise_on_error=False,
    )
    return result, instance


def _entries(directory: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(directory.glob("*.jsonl")) for line in p.open()]


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.user_failure_data.description


def test_the_job_is_in_the_code_location():
    assert defs.resolve_job_def(RESTORE_JOB).name == RESTORE_JOB


def test_an_operator_restores_and_the_partition_appears(main_bundle, make_database, tmp_path: Path):
    target = make_database(seed=False)
    result, instance = _run(main_bundle, target.url, tmp_path, "operator:alice")
    assert result.success
    organization = result.output_for_node(RESTORE_OP)
    assert instance.get_dynamic_partitions(organizations.name) == [organization]
    (entry,) = _entries(tmp_path)
    assert entry["eventType"] == audit.EXPORT_EVENT
    assert entry["organizationId"] == organization and entry["userId"] is None
    assert entry["details"]["decision"] == "restored"
    assert entry["details"]["requester"] == "operator:alice"
    assert audit.verify(tmp_path, SECRET).problem is None
    again = export_bundle(target.url, organization, tmp_path / "again")
    assert (again / "messages.json").read_bytes() == (main_bundle / "messages.json").read_bytes()


def test_an_ocomms_user_may_not_restore(seeded_db, main_bundle, make_database, tmp_path: Path):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    owner = seeded_db.sample.owners[seeded_db.sample.main_org][0]
    result, instance = _run(main_bundle, target.url, tmp_path, owner)
    assert not result.success
    assert _failure(result).startswith("only operators restore")
    assert fingerprint(target.url) == before
    assert instance.get_dynamic_partitions(organizations.name) == []
    (entry,) = _entries(tmp_path)
    assert entry["eventType"] == audit.AUTHZ_FAILURE


def test_a_refused_restore_fails_the_run_with_its_reason(
    main_bundle, make_database, tmp_path: Path
):
    target = make_database()  # the organization exists there
    before = fingerprint(target.url)
    result, _ = _run(main_bundle, target.url, tmp_path, "operator:alice")
    assert not result.success
    assert "already exists in the target" in _failure(result)
    assert fingerprint(target.url) == before
    (entry,) = _entries(tmp_path)
    assert entry["details"]["decision"] == "refused"
    assert entry["organizationId"] == target.sample.orgs[target.sample.main_org]


def test_a_dry_run_changes_nothing_and_adds_no_partition(
    main_bundle, make_database, tmp_path: Path
):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    result, instance = _run(main_bundle, target.url, tmp_path, "operator:alice", dry_run=True)
    assert result.success
    assert fingerprint(target.url) == before
    assert instance.get_dynamic_partitions(organizations.name) == []
    assert [e["details"]["decision"] for e in _entries(tmp_path)] == ["dry_run"]


def test_a_restore_that_cannot_be_audited_restores_nothing(
    main_bundle, make_database, tmp_path: Path
):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    not_a_directory = tmp_path / "audit"
    not_a_directory.write_text("a file where the audit directory should be\n")
    result, instance = _run(main_bundle, target.url, not_a_directory, "operator:alice")
    assert not result.success
    assert _failure(result).startswith("the audit log cannot be written, nothing restored")
    assert fingerprint(target.url) == before
    assert instance.get_dynamic_partitions(organizations.name) == []
