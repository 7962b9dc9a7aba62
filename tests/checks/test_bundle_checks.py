"""Each bundle check passes on a sound bundle and fails on one broken on purpose.

``verify`` is run on published bundles altered after the fact; the asset checks are run on
exports staged from databases altered before the export (a secret copied into a message, a
message whose author row is gone), so what they catch is what an export could really write.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.checks import staged as checks
from ocomms_pipeline.checks.findings import Check
from ocomms_pipeline.checks.verification import verify_bundle
from ocomms_pipeline.defs.export.checks import CHECK_NAME
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.identifiers import principal

from ..support.exports import export, read_manifest, tree

CLI = str(Path(sys.executable).with_name("ocomms-pipeline"))
Lines = list[bytes]


@pytest.fixture(scope="module")
def sound(seeded_db, tmp_path_factory) -> tuple[Path, dg.DagsterInstance]:
    instance = dg.DagsterInstance.ephemeral()
    sample = seeded_db.sample
    root = tmp_path_factory.mktemp("sound")
    outcome = export(
        seeded_db.url,
        sample.orgs["Acme"],
        sample.owners["Acme"][0],
        root,
        parquet=True,
        instance=instance,
    )
    assert outcome.success, outcome.reason
    return outcome.bundle_path, instance


@pytest.fixture
def broken(sound, tmp_path) -> Path:
    """A copy of the sound bundle to break."""
    return Path(shutil.copytree(sound[0], tmp_path / sound[0].name))


def rewrite(path: Path, table: str, change: Callable[[Lines], Lines]) -> None:
    """Change a table's rows and update the manifest so only the change itself is wrong."""
    file = path / f"{table}.json"
    rows = [line.rstrip(b",") for line in file.read_bytes().split(b"\n")[1:-2]]
    rows = change(rows)
    file.write_bytes(b"[\n" + b",\n".join(rows) + (b"\n]\n" if rows else b"]\n"))
    manifest = read_manifest(path)
    entry = manifest["tables"][table]
    entry["bytes"], entry["sha256"] = file.stat().st_size, bundle.sha256_file(file)
    entry["rows"] = len(rows)
    bundle.write_json(path / bundle.MANIFEST, manifest)


def found(problems, table: str, check: Check) -> list[str]:
    return [p.reason for p in problems if p.table == table and p.check is check]


def edit_row(rows: Lines, index: int, change: Callable[[dict], dict]) -> Lines:
    row = change(json.loads(rows[index]))
    return [*rows[:index], json.dumps(row, separators=(",", ":")).encode(), *rows[index + 1 :]]


def test_a_sound_bundle_passes_verify_and_every_asset_check(sound):
    path, instance = sound
    assert verify_bundle(path) == []
    result = subprocess.run([CLI, "verify", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"ok: {path}\n"
    org = read_manifest(path)["organization"]["id"]
    for table in catalog.exported_tables():
        key = dg.AssetCheckKey(dg.AssetKey(["ocomms", table.name]), CHECK_NAME)
        (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
        assert record.status.value == "SUCCEEDED", key
        metadata = record.event.dagster_event.event_specific_data.metadata
        assert metadata["partition"].value == org
        assert {str(check): metadata[str(check)].value for check in Check} == {
            str(check): "passed" for check in Check
        }


def test_checksums_fail_when_a_byte_changes(broken):
    data = (broken / "channels.json").read_bytes()
    (broken / "channels.json").write_bytes(data.replace(b"general", b"generaL", 1))
    parquet = broken / "parquet" / "reactions.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-9] + b"corrupted")
    problems = verify_bundle(broken)
    assert found(problems, "channels", Check.FILE_CHECKSUMS) == [
        "channels.json: size or sha256 differs from the manifest"
    ]
    assert found(problems, "reactions", Check.FILE_CHECKSUMS)
    assert found(problems, "reactions", Check.ROW_COUNT)  # the footer is gone too
    assert {p.table for p in problems} == {"channels", "reactions"}


def test_row_count_fails_when_rows_and_manifest_disagree(broken):
    manifest = read_manifest(broken)
    manifest["tables"]["messages"]["rows"] += 1
    bundle.write_json(broken / bundle.MANIFEST, manifest)
    problems = verify_bundle(broken)
    reasons = found(problems, "messages", Check.ROW_COUNT)
    rows = manifest["tables"]["messages"]["rows"]
    assert f"messages.json holds {rows - 1:,} rows, the manifest says {rows:,}" in reasons
    assert any(r.startswith("parquet/messages.parquet holds") for r in reasons)
    members = broken / "members.json"
    members.write_bytes(members.read_bytes().replace(b",\n", b"\n", 1))
    problems = verify_bundle(broken)
    assert any(
        "separated by exactly one comma" in r for r in found(problems, "members", Check.ROW_COUNT)
    )


def test_an_excluded_or_unknown_column_fails(broken):
    rewrite(
        broken, "messages", lambda rows: edit_row(rows, 2, lambda r: {**r, "search_content": "x"})
    )
    rewrite(broken, "users", lambda rows: edit_row(rows, 0, lambda r: {**r, "password": "x"}))
    rewrite(
        broken,
        "channels",
        lambda rows: edit_row(rows, 1, lambda r: {k: v for k, v in r.items() if k != "topic"}),
    )
    problems = verify_bundle(broken)
    assert found(problems, "messages", Check.EXPORTED_COLUMNS_ONLY) == [
        "key 'search_content' is an excluded column (internal) (row 3)"
    ]
    assert found(problems, "users", Check.EXPORTED_COLUMNS_ONLY) == [
        "key 'password' is not an exported column (row 1)"
    ]
    assert found(problems, "channels", Check.EXPORTED_COLUMNS_ONLY) == [
        "exported column 'topic' is missing (row 2)"
    ]


def test_a_reference_to_a_row_not_in_the_bundle_fails(broken):
    authors = {
        m["author_id"] for m in json.loads((broken / "messages.json").read_text(encoding="utf-8"))
    }
    removed: list[str] = []

    def drop_an_author(rows: Lines) -> Lines:
        for index, row in enumerate(rows):
            if json.loads(row)["id"] in authors:
                removed.append(json.loads(row)["id"])
                return rows[:index] + rows[index + 1 :]
        raise AssertionError("no author among users")

    rewrite(broken, "users", drop_an_author)
    problems = verify_bundle(broken)
    reasons = found(problems, "messages", Check.REFERENCES_RESOLVE)
    assert len(reasons) == 1 and reasons[0].startswith(
        "messages.author_id: 1 ids not found in users"
    )
    assert repr(removed[0]) in reasons[0]


def test_a_bundle_without_manifest_or_with_strangers_fails(broken):
    (broken / "sessions.json").write_text("[\n]\n")
    assert [p.line() for p in verify_bundle(broken)] == [
        "bundle: file_checksums: unexpected file sessions.json"
    ]
    (broken / bundle.MANIFEST).unlink()
    result = subprocess.run([CLI, "verify", str(broken)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (
        1,
        "bundle: file_checksums: manifest.json is missing\n",
    )


def _stage(db, tmp_path: Path, run_id: str) -> Path:
    stage_organization(
        db.url, db.sample.orgs["Acme"], principal("operator:ops"), tmp_path, run_id, connections=2
    )
    return bundle.staging_dir(tmp_path, db.sample.orgs["Acme"], run_id)


def test_staged_checks_catch_a_lost_row_and_a_changed_file(seeded_db, tmp_path):
    staging = _stage(seeded_db, tmp_path, "lost-row")
    _, outcomes = checks.evaluate_staged(staging)
    assert all(o.passed for o in outcomes)
    state_file = staging / bundle.STATE_FILE
    state = json.loads(state_file.read_text())
    entry = next(t for t in state["tables"] if t["table"] == "reactions")
    lines = (staging / "reactions.json").read_bytes().split(b"\n")
    (staging / "reactions.json").write_bytes(b"\n".join([*lines[:1], *lines[2:]]))
    entry["rows"] -= 1  # a writer that lost a row, and a file that no longer matches
    state_file.write_text(json.dumps(state))
    _, outcomes = checks.evaluate_staged(staging)
    failed = {(o.table, o.check): o.reasons for o in outcomes if not o.passed}
    assert set(failed) == {("reactions", Check.ROW_COUNT), ("reactions", Check.FILE_CHECKSUMS)}
    assert any("in the export snapshot" in r for r in failed[("reactions", Check.ROW_COUNT)])


def test_a_run_with_a_secret_or_a_dangling_reference_publishes_nothing(make_database, tmp_path):
    db = make_database()
    sample = db.sample
    acme = sample.orgs["Acme"]
    with psycopg.connect(db.url) as conn:
        conn.execute(
            "UPDATE messages SET content = %s WHERE id = %s",
            (sample.pending_invitation_ids["Acme"], sample.edge_message_ids["emoji"]),
        )
        (constraint,) = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass "
            "AND contype = 'f' AND pg_get_constraintdef(oid) LIKE 'FOREIGN KEY (author_id)%'"
        ).fetchone()
        conn.execute(f'ALTER TABLE messages DROP CONSTRAINT "{constraint}"')
        conn.execute(
            "UPDATE messages SET author_id = 'ghostghostghostghostghos' WHERE id = %s",
            (sample.big_message_id,),
        )
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(db.url, acme, "operator:ops", tmp_path, instance=instance)
    assert outcome.outcome == "failed" and "bundle checks failed" in outcome.reason
    assert tree(tmp_path) in ([], [acme])
    key = dg.AssetCheckKey(dg.AssetKey(["ocomms", "messages"]), CHECK_NAME)
    (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    data = record.event.dagster_event.event_specific_data
    assert data.metadata["partition"].value == acme
    assert not data.passed and data.severity == dg.AssetCheckSeverity.ERROR
    failed = {
        str(check): data.metadata[str(check)].value
        for check in Check
        if data.metadata[str(check)].value != "passed"
    }
    assert set(failed) == {"exported_columns_only", "references_resolve"}
    secret = failed["exported_columns_only"]
    assert secret.startswith("column 'content' holds a value of secret column invitations.id")
    assert "ghostghostghostghostghos" in failed["references_resolve"]
    problems = data.metadata["problems"].value
    assert [p.split(":")[0] for p in problems] == ["exported_columns_only", "references_resolve"]
    assert sample.pending_invitation_ids["Acme"] not in json.dumps([failed, problems])
