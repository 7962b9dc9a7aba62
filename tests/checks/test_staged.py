"""The checks before publication catch a staged file changed after the export wrote it.

The writers take each file's size, sha256 and rows from the bytes they write, so the checks
before publication compare the files on disk with that (``lstat``, Parquet footers) rather
than reading them back. Files are changed here between the export step and the publish step of
a real Dagster run, by a listener on the run's own events, and in a staged export checked
without Dagster; every change is refused and nothing is published.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.checks import staged as checks
from ocomms_pipeline.checks.findings import Check
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.identifiers import principal

from ..support.exports import export, tree
from ..support.uploads import write_uploads

Change = Callable[[Path], None]


def truncate(name: str) -> Change:
    def change(staging: Path) -> None:
        path = staging / name
        os.truncate(path, path.stat().st_size - 1)

    return change


def append(name: str) -> Change:
    def change(staging: Path) -> None:
        with open(staging / name, "ab") as handle:
            handle.write(b"\n")

    return change


def replace(name: str, by: str) -> Change:
    """The file replaced by a copy of another (a new file renamed over it)."""

    def change(staging: Path) -> None:
        shutil.copyfile(staging / by, staging / f"{name}.new")
        os.replace(staging / f"{name}.new", staging / name)

    return change


def remove(name: str) -> Change:
    def change(staging: Path) -> None:
        (staging / name).unlink()

    return change


def link_to_a_copy(name: str) -> Change:
    """The file replaced by a link to a copy of itself: same bytes, no longer what was written."""

    def change(staging: Path) -> None:
        copy = staging.parent / f"copy-of-{Path(name).name}"
        shutil.copyfile(staging / name, copy)
        (staging / name).unlink()
        (staging / name).symlink_to(copy)

    return change


def after_export_step(
    instance: dg.DagsterInstance, run_id: str, staging: Path, change: Change
) -> None:
    """Change the staged files once the run's export step has succeeded, before publication."""

    def listener(event) -> None:
        step = event.dagster_event
        if step is not None and step.is_step_success and step.step_key.endswith("export_tables"):
            change(staging)

    instance.add_event_listener(run_id, listener)


RESIZED = " bytes on disk, the export wrote "


@pytest.mark.parametrize(
    ("change", "table", "expected"),
    [
        (truncate("messages.json"), "messages", {Check.FILE_CHECKSUMS: "messages.json: "}),
        (
            replace("parquet/reactions.parquet", by="parquet/channels.parquet"),
            "reactions",
            {
                Check.FILE_CHECKSUMS: "parquet/reactions.parquet: ",
                Check.ROW_COUNT: "parquet/reactions.parquet holds ",
                Check.EXPORTED_COLUMNS_ONLY: "parquet/reactions.parquet does not have",
            },
        ),
    ],
    ids=["json-truncated", "parquet-replaced"],
)
def test_a_run_whose_staged_file_changed_publishes_nothing(
    seeded_db, tmp_path, change, table, expected
):
    sample = seeded_db.sample
    org, owner = sample.orgs["Acme"], sample.owners["Acme"][0]
    instance = dg.DagsterInstance.ephemeral()
    run_id = str(uuid.uuid4())
    staging = bundle.staging_dir(tmp_path, org, run_id)
    after_export_step(instance, run_id, staging, change)
    outcome = export(
        seeded_db.url,
        org,
        owner,
        tmp_path,
        parquet=True,
        archive=False,
        instance=instance,
        run_id=run_id,
    )
    assert outcome.run_id == run_id and outcome.outcome == "failed"
    assert "bundle checks failed, nothing was published" in outcome.reason
    assert tree(tmp_path) in ([], [org]) and bundle.finished_bundles(tmp_path, org) == []
    failed = _failed_checks(instance, run_id)
    assert set(failed) == {(table, check) for check in expected}
    for check, start in expected.items():
        assert failed[(table, check)].startswith(start), check
    assert RESIZED in failed[(table, Check.FILE_CHECKSUMS)]


def _failed_checks(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, Check], str]:
    """(table, check) -> its result, for each check that failed in the run's check results."""
    failed = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = record.dagster_event.event_specific_data
        for check in Check:
            value = data.metadata[str(check)].value
            if value != "passed":
                failed[(data.asset_key.path[-1], check)] = value
    return failed


@pytest.fixture(scope="module")
def staged(seeded_db, tmp_path_factory) -> Path:
    """One export staged with Parquet, not published, for each test to copy and change."""
    root = tmp_path_factory.mktemp("staged")
    org = seeded_db.sample.orgs["Acme"]
    stage_organization(
        seeded_db.url, org, principal("operator:ops"), root, "staged", parquet=True, connections=2
    )
    return bundle.staging_dir(root, org, "staged")


def a_copy(staged: Path, root: Path) -> Path:
    return Path(shutil.copytree(staged, root / "org" / staged.name))


@pytest.mark.parametrize(
    ("change", "table", "reasons"),
    [
        (truncate("users.json"), "users", {Check.FILE_CHECKSUMS: "users.json: "}),
        (append("members.json"), "members", {Check.FILE_CHECKSUMS: "members.json: "}),
        (remove("channels.json"), "channels", {Check.FILE_CHECKSUMS: "channels.json is missing"}),
        (
            link_to_a_copy("messages.json"),
            "messages",
            {Check.FILE_CHECKSUMS: "messages.json is not a regular file"},
        ),
        (
            truncate("parquet/pinned_messages.parquet"),
            "pinned_messages",
            {
                Check.FILE_CHECKSUMS: "parquet/pinned_messages.parquet: ",
                Check.ROW_COUNT: "parquet/pinned_messages.parquet is unreadable",
            },
        ),
        (
            remove("parquet/users.parquet"),
            "users",
            {Check.FILE_CHECKSUMS: "parquet/users.parquet is missing"},
        ),
    ],
    ids=["truncated", "appended", "removed", "linked", "parquet-truncated", "parquet-removed"],
)
def test_staged_checks_refuse_a_file_that_is_not_what_was_written(
    staged, tmp_path, change, table, reasons
):
    staging = a_copy(staged, tmp_path)
    _, outcomes = checks.evaluate_staged(staging)
    assert all(o.passed for o in outcomes)
    change(staging)
    _, outcomes = checks.evaluate_staged(staging)
    failed = {(o.table, o.check): o.reasons for o in outcomes if not o.passed}
    assert set(failed) == {(table, check) for check in reasons}
    for check, start in reasons.items():
        assert [r for r in failed[(table, check)] if r.startswith(start)], (check, failed)


def test_check_staged_removes_the_staging_of_a_changed_file(staged, tmp_path):
    staging = a_copy(staged, tmp_path)
    truncate("messages.json")(staging)
    run_id = staged.name.removeprefix(bundle.STAGING_PREFIX)
    checked = checks.check_staged(tmp_path, "org", run_id)
    assert checked.problem is not None and RESIZED in checked.problem
    assert not staging.exists() and bundle.finished_bundles(tmp_path, "org") == []


def test_staged_checks_refuse_an_uploaded_file_changed_after_its_copy(seeded_db, tmp_path):
    uploads = tmp_path / "uploads"
    write_uploads(seeded_db.url, uploads)
    org = seeded_db.sample.orgs["Acme"]
    state = stage_organization(
        seeded_db.url, org, principal("operator:ops"), tmp_path, "files", uploads_dir=uploads
    )
    staging = bundle.staging_dir(tmp_path, org, "files")
    assert all(o.passed for o in checks.evaluate_staged(staging)[1])
    entry = next(e for e in state.files["files"] if e["file"].startswith("files/attachments/"))
    (staging / entry["file"]).write_bytes(b"another file")
    _, outcomes = checks.evaluate_staged(staging)
    failed = {(o.table, o.check): o.reasons for o in outcomes if not o.passed}
    table = entry["referenced_by"][0]["table"]
    assert failed == {
        (table, Check.FILE_CHECKSUMS): [
            f"{entry['file']}: 12 bytes on disk, the export wrote {entry['bytes']:,}"
        ]
    }
