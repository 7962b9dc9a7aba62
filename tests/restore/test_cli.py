"""``ocomms-pipeline restore``: what it prints and its exit status, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from ocomms_pipeline.cli import main as cli
from ocomms_pipeline.requests import audit

from .support import fingerprint

SECRET = "restore-cli-test-secret"


def _audit_lines(directory: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(directory.glob("*.jsonl")) for line in p.open()]


def test_restore_prints_each_table_and_exits_0(main_bundle, make_database, tmp_path, capsys):
    target = make_database(seed=False)
    report = tmp_path / "report.json"
    argv = ["restore", "--database-url", target.url, "--report", str(report), str(main_bundle)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("restored organization ")
    assert "NOT restored (1 accepted, 1 pending): id was withheld" in out
    assert "created without credentials" in out and "password reset" in out
    assert "queue 'reminders', job 'one-time-reminder' id 'reminder-" in out
    assert "queue 'scheduled-messages', job 'send' id 'scheduled-" in out
    written = json.loads(report.read_text())
    assert written["restored_rows"] == sum(t["restored"] for t in written["tables"])
    assert {j["table"] for j in written["requeue"]} == {"reminders", "scheduled_messages"}


def test_a_refusal_exits_4_and_is_audited(
    main_bundle, make_database, tmp_path, capsys, monkeypatch
):
    target = make_database()  # the organization is already there
    monkeypatch.setenv("OCOMMS_AUDIT_LOG_DIR", str(tmp_path))
    monkeypatch.setenv("AUDIT_LOG_SECRET", SECRET)
    before = fingerprint(target.url)
    argv = ["restore", "--database-url", target.url, "--operator", "nightshift", str(main_bundle)]
    assert cli.main(argv) == 4
    err = capsys.readouterr().err
    assert err.startswith("refused: organization ") and err.count("\n") == 1
    assert fingerprint(target.url) == before
    (entry,) = _audit_lines(tmp_path)
    assert entry["eventType"] == "ADMIN_EXPORT_DATA"
    assert entry["details"]["action"] == "organization_restore"
    assert entry["details"]["decision"] == "refused"
    assert entry["details"]["requester"] == "operator:nightshift"
    manifest = json.loads((main_bundle / "manifest.json").read_text())
    assert entry["organizationId"] == manifest["organization"]["id"]  # its admins see it
    assert audit.verify(tmp_path, SECRET).problem is None


def test_a_restore_is_audited_before_it_commits(
    main_bundle, make_database, tmp_path, capsys, monkeypatch
):
    target = make_database(seed=False)
    monkeypatch.setenv("OCOMMS_AUDIT_LOG_DIR", str(tmp_path))
    monkeypatch.setenv("AUDIT_LOG_SECRET", SECRET)
    assert cli.main(["restore", "--database-url", target.url, str(main_bundle)]) == 0
    (entry,) = _audit_lines(tmp_path)
    manifest = json.loads((main_bundle / "manifest.json").read_text())
    assert entry["organizationId"] == manifest["organization"]["id"]
    assert entry["details"]["decision"] == "restored"
    assert entry["details"]["rows"] > 0


def test_an_unwritable_audit_log_restores_nothing(
    main_bundle, make_database, tmp_path, capsys, monkeypatch
):
    target = make_database(seed=False)
    day_file_dir = tmp_path / "audit"
    day_file_dir.write_text("a file where the directory should be\n")
    monkeypatch.setenv("OCOMMS_AUDIT_LOG_DIR", str(day_file_dir))
    monkeypatch.setenv("AUDIT_LOG_SECRET", SECRET)
    before = fingerprint(target.url)
    assert cli.main(["restore", "--database-url", target.url, str(main_bundle)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert fingerprint(target.url) == before


def test_usage_errors_exit_2(main_bundle, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OCOMMS_RESTORE_DATABASE_URL", raising=False)
    assert cli.main(["restore", str(main_bundle)]) == 2
    assert "OCOMMS_RESTORE_DATABASE_URL" in capsys.readouterr().err
    missing = tmp_path / "nowhere"
    assert cli.main(["restore", "--database-url", "postgresql://x", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_unreachable_database_exits_1(main_bundle, capsys):
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert cli.main(["restore", "--database-url", url, str(main_bundle)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nothing changed: ") and err.count("\n") == 1


def test_a_dry_run_exits_0_and_changes_nothing(main_bundle, make_database, capsys):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    assert cli.main(["restore", "--dry-run", "--database-url", target.url, str(main_bundle)]) == 0
    assert capsys.readouterr().out.startswith("would restore organization ")
    assert fingerprint(target.url) == before
