"""The audit log in ocomms's exact format: hashes byte for byte, chain, lock, verification."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ocomms_pipeline import audit

from .test_cli import run_cli

SECRET = "ocomms-audit-secret-ü"
USER = "gqL_ZcpVns9Xhudf0TgYatXa"
ORG = "-WuEr5KgcLWSytBDW3-YsD_A"

# Computed with node's crypto and JSON.stringify, as ocomms does, independently of this code:
#   crypto.createHmac("sha256", secret).update(JSON.stringify(subject)).digest("hex")
# with previousHash undefined in the first subject (so JSON.stringify leaves it out).
NODE_VECTORS = [
    (
        {
            "timestamp": "2026-01-18T10:45:40.123Z",
            "eventType": "ADMIN_EXPORT_DATA",
            "userId": USER,
            "organizationId": ORG,
        },
        '{"timestamp":"2026-01-18T10:45:40.123Z","eventType":"ADMIN_EXPORT_DATA",'
        '"userId":"gqL_ZcpVns9Xhudf0TgYatXa","organizationId":"-WuEr5KgcLWSytBDW3-YsD_A"}',
        "f2ed04f2bc478dd957aecb762e73d9624690c4caee1ab9c99567af893d01ecb9",
    ),
    (
        {
            "timestamp": "2026-01-18T10:45:41.007Z",
            "eventType": "AUTHZ_FAILURE",
            "userId": None,
            "organizationId": "Org-ünïcödé-日本",
            "previousHash": "f2ed04f2bc478dd957aecb762e73d9624690c4caee1ab9c99567af893d01ecb9",
        },
        '{"timestamp":"2026-01-18T10:45:41.007Z","eventType":"AUTHZ_FAILURE","userId":null,'
        '"organizationId":"Org-ünïcödé-日本","previousHash":'
        '"f2ed04f2bc478dd957aecb762e73d9624690c4caee1ab9c99567af893d01ecb9"}',
        "9d3ad228facc1800b8975f75c0867a4598442f2610309dd7befeda7da034676d",
    ),
    (
        {
            "timestamp": "2026-01-18T23:59:59.999Z",
            "eventType": "ADMIN_EXPORT_DATA",
            "userId": 'quote"back\\slash\u2028\u0001',
            "organizationId": None,
            "previousHash": "9d3ad228facc1800b8975f75c0867a4598442f2610309dd7befeda7da034676d",
        },
        '{"timestamp":"2026-01-18T23:59:59.999Z","eventType":"ADMIN_EXPORT_DATA",'
        '"userId":"quote\\"back\\\\slash\u2028\\u0001","organizationId":null,"previousHash":'
        '"9d3ad228facc1800b8975f75c0867a4598442f2610309dd7befeda7da034676d"}',
        "902635f6357ca1e5c1a6c313fccfaf8f488909203e20455f020f7ffa41311da0",
    ),
]

# ocomms's rule in JavaScript, for the cross-checks below that run when node is installed.
NODE_VERIFY = r"""
const fs = require("fs"), crypto = require("crypto");
const [file, secret] = process.argv.slice(1);
let previous;
fs.readFileSync(file, "utf8").split("\n").filter(l => l.trim()).forEach((line, i) => {
  const e = JSON.parse(line);
  const subject = {timestamp: e.timestamp, eventType: e.eventType, userId: e.userId,
                   organizationId: e.organizationId, previousHash: e.previousHash};
  const hash = crypto.createHmac("sha256", secret).update(JSON.stringify(subject)).digest("hex");
  if (hash !== e.hash || e.previousHash !== previous) {
    console.log("broken " + (i + 1)); process.exit(1);
  }
  previous = e.hash;
});
console.log("ok");
"""

NODE_APPEND = r"""
const fs = require("fs"), crypto = require("crypto");
const [file, secret] = process.argv.slice(1);
let previous;
for (const [i, org] of ["Org-ü", null].entries()) {
  const e = {timestamp: new Date(Date.UTC(2026, 0, 18, 10, 45, i)).toISOString(),
             eventType: "ADMIN_EXPORT_DATA", userId: "u" + i, organizationId: org,
             details: {n: i}, previousHash: previous};
  const subject = {timestamp: e.timestamp, eventType: e.eventType, userId: e.userId,
                   organizationId: e.organizationId, previousHash: e.previousHash};
  e.hash = crypto.createHmac("sha256", secret).update(JSON.stringify(subject)).digest("hex");
  fs.appendFileSync(file, JSON.stringify(e) + "\n");
  previous = e.hash;
}
"""

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.mark.parametrize(("subject", "text", "digest"), NODE_VECTORS)
def test_hashes_match_ocomms_byte_for_byte(subject, text, digest):
    assert audit.hashed_text(subject) == text
    assert audit.entry_hash(SECRET, subject) == digest


def test_timestamps_are_javascript_iso_strings():
    moment = datetime(2026, 1, 18, 10, 45, 40, 123987, tzinfo=UTC)
    assert audit.js_timestamp(moment) == "2026-01-18T10:45:40.123Z"
    assert audit.js_timestamp(datetime(2026, 1, 18, 0, 0, 0, 999, tzinfo=UTC)).endswith(
        "00:00:00.000Z"
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chain_links_lines_and_starts_again_each_day(tmp_path):
    day = datetime(2026, 1, 18, 23, 59, 59, tzinfo=UTC)
    first = audit.append(tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {"a": 1}, now=day)
    second = audit.append(tmp_path, SECRET, audit.AUTHZ_FAILURE, None, ORG, {"é": "ü"}, now=day)
    next_day = audit.append(
        tmp_path, SECRET, audit.EXPORT_EVENT, USER, None, {}, now=datetime(2026, 1, 19, tzinfo=UTC)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-01-18.jsonl", "2026-01-19.jsonl"]
    assert "previousHash" not in first and "previousHash" not in next_day
    assert second["previousHash"] == first["hash"]
    assert _lines(tmp_path / "2026-01-18.jsonl") == [first, second]
    raw = (tmp_path / "2026-01-18.jsonl").read_text(encoding="utf-8")
    assert '"é":"ü"' in raw and ", " not in raw  # compact, non-ASCII as is, like JSON.stringify
    assert list(first) == [
        "timestamp",
        "eventType",
        "userId",
        "organizationId",
        "details",
        "hash",
    ]
    result = audit.verify(tmp_path, SECRET)
    assert (result.ok, result.files, result.entries) == (True, 2, 3)


def _tamper(path: Path, number: int, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1 : number] = change(lines[number - 1])
    path.write_text("".join(lines), encoding="utf-8")


def _log_of_five(directory: Path) -> Path:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n in range(5):
        audit.append(directory, SECRET, audit.EXPORT_EVENT, USER, ORG, {"n": n}, now=at)
    return directory / "2026-03-01.jsonl"


@pytest.mark.parametrize(
    ("line", "change", "expected"),
    [
        (3, lambda text: [text.replace(USER, "someone-else")], (3, "hash does not match")),
        (3, lambda text: [], (3, "chain broken")),  # line 3 deleted: old line 4 is line 3
        (1, lambda text: [], (1, "previousHash on the first line")),
        (2, lambda text: [text.replace('"eventType":"', '"eventType":"X')], (2, "hash does not")),
        (4, lambda text: [text[:40] + "\n"], (4, "not valid JSON")),
    ],
    ids=["modified-user", "deleted-line", "truncated-head", "modified-event", "damaged"],
)
def test_verification_reports_the_first_broken_line(tmp_path, line, change, expected):
    path = _log_of_five(tmp_path)
    assert audit.verify(tmp_path, SECRET).ok
    _tamper(path, line, change)
    problem = audit.verify(tmp_path, SECRET).problem
    assert problem is not None
    assert (problem.file, problem.line) == ("2026-03-01.jsonl", expected[0])
    assert expected[1] in problem.message


def test_another_secret_does_not_verify(tmp_path):
    _log_of_five(tmp_path)
    problem = audit.verify(tmp_path, "not the secret").problem
    assert problem is not None and problem.line == 1


def test_a_damaged_last_line_stops_appends(tmp_path):
    path = _log_of_five(tmp_path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"timestamp": "2026-03-01T12:00:00.000Z", "hash')
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(audit.AuditError, match="damaged"):
        audit.append(tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {}, now=at)


def _append_many(directory: str, count: int, worker: int) -> None:
    for n in range(count):
        audit.append(Path(directory), SECRET, audit.EXPORT_EVENT, USER, ORG, {"w": worker, "n": n})


def test_concurrent_writers_keep_one_chain(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), 40, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    result = audit.verify(tmp_path, SECRET)
    assert result.ok, result.problem
    assert result.entries == 160


@needs_node
def test_node_verifies_what_python_writes(tmp_path):
    _log_of_five(tmp_path)
    audit.append(
        tmp_path,
        SECRET,
        audit.AUTHZ_FAILURE,
        None,
        "Org-ünïcödé",
        {"reason": "日本"},
        now=datetime(2026, 3, 1, 13, tzinfo=UTC),
    )
    result = subprocess.run(
        ["node", "-e", NODE_VERIFY, str(tmp_path / "2026-03-01.jsonl"), SECRET],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


@needs_node
def test_python_verifies_and_extends_what_node_writes(tmp_path):
    path = tmp_path / "2026-01-18.jsonl"
    subprocess.run(["node", "-e", NODE_APPEND, str(path), SECRET], check=True, timeout=60)
    assert audit.verify(tmp_path, SECRET).entries == 2
    audit.append(
        tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {}, now=datetime(2026, 1, 18, tzinfo=UTC)
    )
    assert audit.verify(tmp_path, SECRET).ok
    check = subprocess.run(
        ["node", "-e", NODE_VERIFY, str(path), SECRET], capture_output=True, text=True, timeout=60
    )
    assert check.stdout.strip() == "ok"


def test_cli_verify_exit_status_and_first_broken_line(tmp_path):
    path = _log_of_five(tmp_path)
    env = {"AUDIT_LOG_SECRET": SECRET}
    ok = run_cli("audit", "verify", str(tmp_path), env=env)
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok: 5 entries in 1 files verify")
    _tamper(path, 2, lambda text: [text.replace(ORG, "other-org")])
    broken = run_cli("audit", "verify", str(tmp_path), env=env)
    assert broken.returncode == 1
    assert broken.stderr.strip().startswith("broken: 2026-03-01.jsonl:2: hash does not match")
    missing = run_cli("audit", "verify", str(tmp_path), env={"AUDIT_LOG_SECRET": ""})
    assert missing.returncode == 2 and "AUDIT_LOG_SECRET" in missing.stderr
