"""Retention keeps exactly the newest N and everything younger than D days, and nothing more."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.files import parse_bundle_name
from ocomms_pipeline.bundle.retention import (
    BundleEntry,
    RetentionPolicy,
    StagingEntry,
    bundles_to_delete,
    stale_staging,
)
from ocomms_pipeline.cli import main as cli
from ocomms_pipeline.defs.retention.jobs import RETENTION_JOB, active_run_ids

from ..support.bare_queue import add_request

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
ORG = "org_retention_000000001"


def _name(days_ago: float, sequence: int = 0) -> str:
    name = bundle.bundle_name(NOW - timedelta(days=days_ago))
    return f"{name}-{sequence}" if sequence else name


def _entries(*names: str) -> list[BundleEntry]:
    return [BundleEntry(Path("/r", ORG, n), *parse_bundle_name(n)) for n in names]


def _names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_bundle_names_give_their_time_and_sequence():
    assert parse_bundle_name("ocomms-export-2026-01-18T10-45-40Z") == (
        datetime(2026, 1, 18, 10, 45, 40, tzinfo=UTC),
        0,
    )
    assert parse_bundle_name("ocomms-export-2026-01-18T10-45-40Z-12")[1] == 12
    assert parse_bundle_name(".staging-abc") is None
    assert parse_bundle_name("ocomms-export-2026-01-18T10-45-40Z.zip") is None


def test_keeps_the_newest_n_and_everything_younger_than_the_age():
    names = [_name(d) for d in (1, 10, 40, 50, 60, 70)]
    policy = RetentionPolicy(keep=3, max_age_days=30)
    # newest three kept by rank (1, 10, 40 days); 50, 60, 70 days are old and beyond the rank
    assert _names(bundles_to_delete(_entries(*names), NOW, policy)) == names[3:]
    # everything younger than the age survives even beyond the rank
    policy = RetentionPolicy(keep=1, max_age_days=55)
    assert _names(bundles_to_delete(_entries(*names), NOW, policy)) == names[4:]
    # keep 0 and age 0 delete everything; a huge rank deletes nothing
    assert len(bundles_to_delete(_entries(*names), NOW, RetentionPolicy(0, 0))) == 6
    assert bundles_to_delete(_entries(*names), NOW, RetentionPolicy(keep=100)) == []


def test_a_later_bundle_of_the_same_second_ranks_newer():
    same = [_name(90), _name(90, 1), _name(90, 2)]
    deleted = bundles_to_delete(_entries(*same), NOW, RetentionPolicy(keep=1, max_age_days=0))
    assert sorted(_names(deleted)) == sorted(same[:2])


def test_a_bundle_a_request_points_at_is_never_deleted():
    names = [_name(d) for d in (100, 200, 300)]
    protected = {(ORG, names[2]), ("other_org", names[1])}
    deleted = bundles_to_delete(_entries(*names), NOW, RetentionPolicy(0, 0), protected)
    assert _names(deleted) == names[:2]


def test_stale_staging_of_runs_not_running():
    old, young = NOW - timedelta(hours=30), NOW - timedelta(hours=2)
    entries = [
        StagingEntry(Path("old-done"), "run-done", old),
        StagingEntry(Path("old-running"), "run-running", old),
        StagingEntry(Path("young"), "run-young", young),
    ]
    policy = RetentionPolicy(staging_max_age_hours=24)
    assert stale_staging(entries, NOW, policy, {"run-running"}) == [Path("old-done")]


def test_policy_from_the_environment_and_overrides():
    env = {
        "OCOMMS_RETENTION_KEEP": "3",
        "OCOMMS_RETENTION_MAX_AGE_DAYS": "14",
        "OCOMMS_RETENTION_STAGING_MAX_AGE_HOURS": "6",
    }
    assert RetentionPolicy.from_env(env) == RetentionPolicy(3, 14.0, 6.0)
    assert RetentionPolicy.from_env({}) == RetentionPolicy(7, 30.0, 24.0)
    assert RetentionPolicy(3, 14).with_overrides(keep=1, max_age_days=None).max_age_days == 14
    with pytest.raises(ValueError, match="OCOMMS_RETENTION_KEEP"):
        RetentionPolicy.from_env({"OCOMMS_RETENTION_KEEP": "-1"})


# --- against real directories, a real request queue and the real Dagster job ----------------


def _make_bundle(root: Path, org: str, name: str) -> Path:
    path = root / org / name
    path.mkdir(parents=True)
    (path / bundle.MANIFEST).write_text("{}")
    (path / "messages.json").write_text("[\n]\n")
    return path


def _make_staging(root: Path, org: str, run_id: str, hours_ago: float) -> Path:
    path = root / org / f"{bundle.STAGING_PREFIX}{run_id}"
    path.mkdir(parents=True)
    (path / "users.json").write_text("[")
    stamp = (datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp()
    for p in (path / "users.json", path):
        os.utime(p, (stamp, stamp))
    return path


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*"))


def _populate(root: Path) -> dict[str, Path]:
    """Two organizations' bundles of various ages, an archive, staging and a leftover."""
    made = {
        "a_new": _make_bundle(root, "org_a", _name(0)),
        "a_40": _make_bundle(root, "org_a", _name(40)),
        "a_50": _make_bundle(root, "org_a", _name(50)),
        "a_60": _make_bundle(root, "org_a", _name(60)),
        "b_90": _make_bundle(root, "org_b", _name(90)),
        "stale_staging": _make_staging(root, "org_a", "finished-run", hours_ago=48),
        "fresh_staging": _make_staging(root, "org_a", "fresh-run", hours_ago=1),
    }
    (root / "org_a" / (made["a_60"].name + ".zip")).write_bytes(b"PK")
    (root / "org_b" / ".deleting-ocomms-export-2020-01-01T00-00-00Z").mkdir()
    (root / "not an org").mkdir()
    _make_bundle(root, "not an org", _name(400))
    return made


def test_cli_dry_run_lists_and_deletes_nothing_then_prunes(queue_db, tmp_path):
    root = tmp_path / "exports"
    made = _populate(root)
    add_request(queue_db.url, "running", str(made["a_50"]))
    before = _listing(root)
    argv = ["retention", "--keep", "1", "--max-age-days", "30", "--database-url", queue_db.url]
    assert cli.main([*argv, "--dry-run", str(root)]) == 0
    assert _listing(root) == before
    assert cli.main([*argv, str(root)]) == 0
    assert _listing(root) == sorted(
        [
            f"org_a/{made['a_new'].name}",
            f"org_a/{made['a_50'].name}",  # protected by the running request
            f"org_a/{made['fresh_staging'].name}",
            f"org_b/{made['b_90'].name}",  # the newest of its organization
            f"not an org/{_name(400)}",  # not an organization directory: not ours to prune
        ]
    )


def test_cli_refuses_without_a_readable_request_queue(tmp_path, monkeypatch, capsys):
    root = tmp_path / "exports"
    made = _populate(root)
    monkeypatch.delenv("OCOMMS_DATABASE_URL", raising=False)
    assert cli.main(["retention", "--keep", "0", "--max-age-days", "0", str(root)]) == 2
    bad = "postgresql://nobody@127.0.0.1:1/ocomms"
    assert cli.main(["retention", "--keep", "0", "--database-url", bad, str(root)]) == 1
    assert "nothing deleted" in capsys.readouterr().err
    assert made["a_60"].exists()


def test_dagster_job_prunes_and_spares_staging_of_a_running_run(queue_db, tmp_path, monkeypatch):
    from ocomms_pipeline.definitions import defs

    root = tmp_path / "exports"
    made = _populate(root)
    monkeypatch.setenv("OCOMMS_DATABASE_URL", queue_db.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(root))
    monkeypatch.setenv("OCOMMS_RETENTION_KEEP", "2")
    job = defs.resolve_job_def(RETENTION_JOB)
    with dg.instance_for_test() as instance:
        running = instance.create_run_for_job(job_def=job)  # not started: still in progress
        assert running.run_id in active_run_ids(instance)
        staging = _make_staging(root, "org_b", running.run_id, hours_ago=48)
        result = job.execute_in_process(instance=instance)
    assert result.success
    output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
    metadata = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert (metadata["deleted_bundles"], metadata["deleted_staging"]) == (2, 1)
    assert metadata["kept_bundles"] == 3
    remaining = _listing(root)
    assert f"org_a/{made['a_40'].name}" in remaining  # second newest: kept by keep=2
    assert f"org_a/{made['a_50'].name}" not in remaining
    assert f"org_a/{made['a_60'].name}.zip" not in remaining  # the archive went with it
    assert f"org_b/{staging.name}" in remaining  # its run is in progress
    assert f"org_a/{made['stale_staging'].name}" not in remaining
    assert not any(".deleting-" in p for p in remaining)


def test_dagster_job_fails_and_deletes_nothing_when_requests_cannot_be_read(tmp_path, monkeypatch):
    from ocomms_pipeline.definitions import defs

    root = tmp_path / "exports"
    _populate(root)
    before = _listing(root)
    monkeypatch.setenv("OCOMMS_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/ocomms")
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(root))
    run_config = {"ops": {"prune_export_root": {"config": {"keep": 0, "max_age_days": 0}}}}
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(RETENTION_JOB).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("cannot read export requests, nothing deleted:")
    assert _listing(root) == before
