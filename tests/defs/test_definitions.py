"""The code location loads, and names what operators will see."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.backups.schedules import BackupSettings
from ocomms_pipeline.defs.requests.sensors import interval_from_env, status_interval_from_env

PROJECT = Path(__file__).resolve().parents[2]


def test_definitions_name_the_export_job_and_one_asset_per_table():
    jobs = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert "export_organization" in jobs
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    expected = {f"ocomms/{t.name}" for t in catalog.exported_tables()}
    assert keys == expected | {"ocomms/bundle", "ocomms/archive"}
    assert len(keys) == 36


def test_definitions_name_the_operations_jobs_schedules_and_sensor():
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"backup_organizations", "prune_exports"} <= jobs
    assert {s.name for s in defs.schedules} == {"nightly_backup", "nightly_retention"}
    backup = defs.resolve_schedule_def("nightly_backup")
    assert backup.job_name == "backup_organizations"
    assert backup.cron_schedule == BackupSettings.from_env().cron
    assert defs.resolve_schedule_def("nightly_retention").job_name == "prune_exports"
    assert {s.name for s in defs.sensors} == {
        "organization_partitions",
        "export_requests",
        "export_request_started",
        "export_request_succeeded",
        "export_request_failed",
    }
    assert defs.resolve_sensor_def("organization_partitions").default_status.value == "RUNNING"


def test_every_asset_is_partitioned_by_organization():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition)
        assert partitions.name == "organizations"


@pytest.mark.postgres  # a `dagster definitions validate` process
def test_dagster_validates_the_workspace(tmp_path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "OCOMMS_DATABASE_URL": "postgresql://unused",
        "OCOMMS_EXPORT_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-w",
            str(PROJECT / "workspace.yaml"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == [] or all(p.name != "ocomms" for p in tmp_path.iterdir())


def test_request_sensors_are_defined_and_run_by_default():
    for name, interval in (
        ("export_requests", interval_from_env()),
        ("export_request_started", status_interval_from_env()),
        ("export_request_succeeded", status_interval_from_env()),
        ("export_request_failed", status_interval_from_env()),
    ):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.minimum_interval_seconds == interval
