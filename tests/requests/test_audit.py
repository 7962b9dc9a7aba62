"""The audit log as ocomms's own code writes and checks it: hashes, chain, lock, verification.

The expected figures come from ocomms's real code, not from a re-implementation of its rule.
At ocomms commit 98c6250f2a22b5b0f2f7797d65c2b1c056bf03cb, ``src/lib/audit-logger.ts`` and
``src/lib/audit-integrity.ts`` were checked out into a scratch directory and run under ``tsx``
(node 20) by a small driver, which is not kept here (none of ocomms's code is, nor a script
that builds it). The driver

- called ``computeEntryHash(entry, previousHash)`` on chosen inputs (a first line with
  previousHash ``""``, absent, empty and null ids, non-ASCII, quotes, backslashes, U+2028,
  control characters and a lone surrogate, ids beginning with ``-``), recording each hash and
  the exact text ocomms handed to HMAC (captured by wrapping ``crypto.createHmac``);
- wrote day files with ocomms's ``auditLog`` (its clock fixed per call, ``AUDIT_LOG_SECRET``
  set, once unset to get a line without a hash), and between its calls ran this project's
  ``audit.append`` with a fixed ``now``: a file ocomms starts (2026-01-18), one the pipeline
  starts (2026-01-19), one with ocomms's hashless line (2026-01-20);
- ran ``verifyChain`` after every append on the file so far, on each whole file, on all files
  in one list (what ``GET /api/admin/audit-logs`` passes it, parsed as its ``parseLogFile``
  does), with another secret, and on copies of the 2026-01-18 file altered as below.

``fixtures/audit/ocomms-run.json`` holds those inputs, texts, hashes, steps and verdicts;
``fixtures/audit/ocomms-written`` the 2026-01-18 file as ocomms wrote it before the pipeline
appended, and ``fixtures/audit/mixed`` the three files at the end. The figures the tests rest
on are repeated below, so a changed fixture cannot quietly change what is expected.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ocomms_pipeline.requests import audit

from ..support.cli import run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
OCOMMS_WRITTEN = FIXTURES / "ocomms-written"
MIXED = FIXTURES / "mixed"
RUN: dict[str, Any] = json.loads((FIXTURES / "ocomms-run.json").read_text(encoding="utf-8"))

OCOMMS_COMMIT = "98c6250f2a22b5b0f2f7797d65c2b1c056bf03cb"
SECRET = "ocomms-audit-secret-ü"
USER = "gqL_ZcpVns9Xhudf0TgYatXa"
ORG = "-WuEr5KgcLWSytBDW3-YsD_A"

# computeEntryHash(entry, previousHash), chained: each previousHash is the hash before it
# (the first line and "empty userId on a first line" have previousHash "").
COMPUTE_ENTRY_HASH = {
    "first line": "1fe07869718e5fd75159eaf3ab6a24c5010afdb83986ba1a17d8b565fc1f00dc",
    "no userId, empty organizationId": (
        "72c974ab2ffbc937dd1f0dc9ccb59c51c6e7444460074e7058b6c3dbe5fc4736"
    ),
    "null userId and organizationId": (
        "3e2a7cb5f2c2da6e2369bcc22031e488bf8be7ae33d26c1eaa4287451c8a1507"
    ),
    "empty userId on a first line": (
        "ab3ad14a3a6055165273b14c2a5d263bcd76d3505150a68ddd99abcbf210dd29"
    ),
    "non-ASCII": "00bc40d0bfdd7d5eb4cec27949b065073d0c808ddb067078970d7509289247f2",
    "quotes, backslashes, U+2028, controls, lone surrogate": (
        "54531d067b97a7024864f392c41e0d46310a4c673ab39ba6ce674c4a811ca431"
    ),
    "ids beginning with '-'": "1b0b1c6dd8644dcc22b0898126e6923a3ccb15bf3dc7b9834d3d7f167a16bf08",
}
FIRST_LINE_TEXT = (
    '{"timestamp":"2026-01-18T10:45:40.123Z","eventType":"ADMIN_EXPORT_DATA",'
    '"userId":"gqL_ZcpVns9Xhudf0TgYatXa","organizationId":"-WuEr5KgcLWSytBDW3-YsD_A",'
    '"previousHash":""}'
)
# Lines of the day files: (file, line) -> hash. ocomms's last line before the pipeline
# appended, the pipeline's first line after it, and the first line of the file it started.
OCOMMS_LAST_BEFORE_PIPELINE = "8e1a264e8c1ea6483156f74688c5de0a2b9314db67d5fdc86eb7b5e17da35599"
PIPELINE_AFTER_OCOMMS = "e60e3d40fca61f11235c069bca60c398b90978169f19e65ac82bd6e874da5adb"
PIPELINE_STARTED = "195cfd10385acc6e00837b77f18d769aba2792990baee8fc312500e71b002f92"
PIPELINE_AFTER_UNHASHED = "e1cea6c6ba158f203b6ae8ea898f78838d27ba4be722a566eec659d7f06f84c0"
# verifyChain's verdicts.
VALID = {"valid": True}
VERIFY_CHAIN = {
    "2026-01-18.jsonl": VALID,
    "2026-01-19.jsonl": VALID,
    "2026-01-20.jsonl": VALID,
    "all files, as the viewer reads them": VALID,
    "all files, another secret": {"valid": False, "brokenAt": 0},
    "2026-01-18.jsonl with line 3's userId changed": {"valid": False, "brokenAt": 2},
    "2026-01-18.jsonl with line 5's organizationId changed": {"valid": False, "brokenAt": 4},
    "2026-01-18.jsonl with line 3 deleted": VALID,  # ocomms checks no links; we do
    "2026-01-18.jsonl with line 4's previousHash changed": {"valid": False, "brokenAt": 3},
}


def test_the_fixtures_are_the_recorded_run():
    assert RUN["ocomms"]["commit"] == OCOMMS_COMMIT
    assert RUN["secret"] == SECRET
    assert {v["name"]: v["hash"] for v in RUN["computeEntryHash"]} == COMPUTE_ENTRY_HASH
    assert RUN["verifyChain"] == VERIFY_CHAIN
    assert all(step["verifyChainAfter"] == VALID for step in RUN["steps"])


def _file_bytes(directory: Path, name: str) -> bytes:
    return (directory / name).read_bytes()


def _file_lines(directory: Path, name: str) -> list[str]:
    """Lines split at newlines only: ocomms leaves U+2028 unescaped, which splitlines() splits."""
    return _file_bytes(directory, name).decode("utf-8").split("\n")[:-1]


@pytest.mark.parametrize("vector", RUN["computeEntryHash"], ids=lambda v: v["name"])
def test_hashes_match_ocomms_compute_entry_hash(vector):
    entry = {**vector["entry"], "previousHash": vector["previousHash"]}
    assert audit.hashed_text(entry) == vector["hashedText"]
    assert audit.entry_hash(SECRET, entry) == COMPUTE_ENTRY_HASH[vector["name"]]


def test_a_first_line_hashes_an_empty_previous_hash_whether_or_not_the_key_is_there():
    [first] = [v for v in RUN["computeEntryHash"] if v["name"] == "first line"]
    assert "previousHash" not in first["entry"]
    assert audit.hashed_text(first["entry"]) == FIRST_LINE_TEXT
    assert audit.entry_hash(SECRET, first["entry"]) == COMPUTE_ENTRY_HASH["first line"]


def _steps_by_file() -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Each day file's steps, with the index of the line each one wrote."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for step in RUN["steps"]:
        steps = found.setdefault(step["file"], [])
        steps.append((len(steps), step))
    return found


def test_ocomms_lines_hash_to_what_ocomms_hashed():
    for name, steps in _steps_by_file().items():
        lines = _file_lines(MIXED, name)
        for index, step in steps:
            entry = json.loads(lines[index])
            if step["writer"] == "ocomms" and step["secretSet"]:
                assert audit.hashed_text(entry) == step["hashedText"]
                assert audit.entry_hash(SECRET, entry) == entry["hash"]


def _append_step(directory: Path, step: dict[str, Any]) -> dict[str, Any]:
    args = step["append"]
    return audit.append(
        directory,
        SECRET,
        args["eventType"],
        args["userId"],
        args["organizationId"],
        args["details"],
        now=datetime.fromisoformat(args["now"]),
    )


@pytest.mark.parametrize("name", sorted(_steps_by_file()))
def test_replaying_the_run_writes_the_files_ocomms_verified(tmp_path, name):
    """ocomms's lines copied in as it wrote them, ours appended: byte for byte the recording."""
    lines = _file_lines(MIXED, name)
    path = tmp_path / name
    for index, step in _steps_by_file()[name]:
        if step["writer"] == "ocomms":
            with open(path, "ab") as handle:
                handle.write((lines[index] + "\n").encode())
        else:
            assert audit.compact_json(_append_step(tmp_path, step)) == lines[index]
        assert step["verifyChainAfter"] == VALID
    assert path.read_bytes() == _file_bytes(MIXED, name)


def test_append_onto_an_ocomms_written_file_writes_the_line_ocomms_verified(tmp_path):
    shutil.copy(OCOMMS_WRITTEN / "2026-01-18.jsonl", tmp_path)
    assert _file_bytes(MIXED, "2026-01-18.jsonl").startswith(
        _file_bytes(OCOMMS_WRITTEN, "2026-01-18.jsonl")
    )
    [(_, step)] = [s for s in _steps_by_file()["2026-01-18.jsonl"] if s[0] == 2]
    entry = _append_step(tmp_path, step)
    assert entry["previousHash"] == OCOMMS_LAST_BEFORE_PIPELINE
    assert entry["hash"] == PIPELINE_AFTER_OCOMMS
    assert _file_lines(tmp_path, "2026-01-18.jsonl") == _file_lines(MIXED, "2026-01-18.jsonl")[:3]


def test_a_file_the_pipeline_starts_has_the_hash_ocomms_accepted(tmp_path):
    [(_, step), *_] = _steps_by_file()["2026-01-19.jsonl"]
    entry = _append_step(tmp_path, step)
    assert "previousHash" not in entry  # as ocomms writes a first line
    assert entry["hash"] == PIPELINE_STARTED
    assert json.loads(_file_lines(MIXED, "2026-01-19.jsonl")[1])["previousHash"] == entry["hash"]
    assert RUN["verifyChain"]["2026-01-19.jsonl"] == VALID


def test_after_an_ocomms_line_without_hash_a_new_chain_starts_as_ocomms_starts_one(tmp_path):
    lines = _file_lines(MIXED, "2026-01-20.jsonl")
    (tmp_path / "2026-01-20.jsonl").write_bytes(("\n".join(lines[:2]) + "\n").encode())
    assert "hash" not in json.loads(lines[1])
    [(_, step)] = [s for s in _steps_by_file()["2026-01-20.jsonl"] if s[1]["writer"] == "pipeline"]
    entry = _append_step(tmp_path, step)
    assert "previousHash" not in entry and entry["hash"] == PIPELINE_AFTER_UNHASHED


def test_verify_accepts_what_ocomms_wrote_and_the_mixed_files():
    written = audit.verify(OCOMMS_WRITTEN, SECRET)
    assert (written.ok, written.files, written.entries, written.unhashed) == (True, 1, 2, 0)
    mixed = audit.verify(MIXED, SECRET)
    assert (mixed.ok, mixed.files, mixed.entries, mixed.unhashed) == (True, 3, 13, 1)


def _change_line(number: int, change: Callable[[str], str]) -> Callable[[list[str]], list[str]]:
    return lambda lines: [change(t) if i == number - 1 else t for i, t in enumerate(lines)]


# The alterations the driver made to copies of 2026-01-18, and the first line we report.
ALTERED = [
    (
        "2026-01-18.jsonl with line 3's userId changed",
        _change_line(3, lambda t: t.replace(f'"userId":"{USER}"', '"userId":"someone-else"')),
        (3, "hash does not match"),
    ),
    (
        "2026-01-18.jsonl with line 5's organizationId changed",
        _change_line(5, lambda t: t.replace(f'"organizationId":"{ORG}"', '"organizationId":"o"')),
        (5, "hash does not match"),
    ),
    (
        "2026-01-18.jsonl with line 3 deleted",
        lambda lines: lines[:2] + lines[3:],
        (3, "previousHash does not match the previous line's hash: chain broken"),
    ),
    (
        "2026-01-18.jsonl with line 4's previousHash changed",
        _change_line(4, lambda t: t.replace('"previousHash":"', '"previousHash":"X', 1)),
        (4, "chain broken"),
    ),
]


def _altered_copy(directory: Path, change: Callable[[list[str]], list[str]]) -> Path:
    path = directory / "2026-01-18.jsonl"
    path.write_bytes(("\n".join(change(_file_lines(MIXED, path.name))) + "\n").encode())
    return path


@pytest.mark.parametrize(("case", "change", "expected"), ALTERED, ids=[a[0][17:] for a in ALTERED])
def test_alterations_are_reported_where_ocomms_reports_them_and_more(
    tmp_path, case, change, expected
):
    _altered_copy(tmp_path, change)
    problem = audit.verify(tmp_path, SECRET).problem
    assert problem is not None
    assert (problem.file, problem.line) == ("2026-01-18.jsonl", expected[0])
    assert expected[1] in problem.message
    ocomms = VERIFY_CHAIN[case]
    if not ocomms["valid"]:
        assert ocomms["brokenAt"] == expected[0] - 1  # ocomms counts entries from 0


def test_another_secret_fails_at_the_first_line_as_in_ocomms():
    assert VERIFY_CHAIN["all files, another secret"] == {"valid": False, "brokenAt": 0}
    problem = audit.verify(MIXED, RUN["otherSecret"]).problem
    assert problem is not None and (problem.file, problem.line) == ("2026-01-18.jsonl", 1)
    assert "another secret" in problem.message


def test_timestamps_are_javascript_iso_strings():
    moment = datetime(2026, 1, 18, 10, 45, 40, 123987, tzinfo=UTC)
    assert audit.js_timestamp(moment) == "2026-01-18T10:45:40.123Z"
    assert audit.js_timestamp(datetime(2026, 1, 18, 0, 0, 0, 999, tzinfo=UTC)).endswith(
        "00:00:00.000Z"
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").split("\n") if line]


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


def _tamper(path: Path, number: int, change: Callable[[str], list[str]]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1 : number] = change(lines[number - 1])
    path.write_text("".join(lines), encoding="utf-8")


def _log_of_five(directory: Path) -> Path:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n in range(5):
        audit.append(directory, SECRET, audit.EXPORT_EVENT, USER, ORG, {"n": n}, now=at)
    return directory / "2026-03-01.jsonl"


def _without_previous_hash(text: str) -> list[str]:
    entry = json.loads(text)
    del entry["previousHash"]
    return [audit.compact_json(entry) + "\n"]


def _with(key: str, value: Any) -> Callable[[str], list[str]]:
    return lambda text: [audit.compact_json({**json.loads(text), key: value}) + "\n"]


@pytest.mark.parametrize(
    ("line", "change", "expected"),
    [
        (3, lambda text: [text.replace(USER, "someone-else")], (3, "hash does not match")),
        (3, lambda text: [], (3, "chain broken")),  # line 3 deleted: old line 4 is line 3
        (1, lambda text: [], (1, "previousHash on the first hashed line")),
        (2, lambda text: [text.replace('"eventType":"', '"eventType":"X')], (2, "hash does not")),
        (4, lambda text: [text[:40] + "\n"], (4, "not valid JSON")),
        (3, _without_previous_hash, (3, "no previousHash after a hashed line")),
        (3, lambda text: ['{"eventType":"X","hash":""}\n'], (4, "chain broken")),
        (2, _with("hash", 7), (2, "hash is not a string")),
        (2, _with("userId", 7), (2, "userId neither a string nor null")),
        (2, lambda text: ['{"timestamp":NaN,"hash":"ab"}\n'], (2, "not valid JSON")),
        (2, lambda text: ["[1, 2]\n"], (2, "not a JSON object")),
        (2, _with("hash", "é" * 64), (2, "hash does not match")),
    ],
    ids=[
        "modified-user",
        "deleted-line",
        "truncated-head",
        "modified-event",
        "damaged",
        "link-dropped",
        "hashed-line-replaced-by-a-hashless-one",
        "hash-not-a-string",
        "user-not-a-string",
        "nan",
        "not-an-object",
        "non-ascii-hash",
    ],
)
def test_verification_reports_the_first_broken_line(tmp_path, line, change, expected):
    path = _log_of_five(tmp_path)
    assert audit.verify(tmp_path, SECRET).ok
    _tamper(path, line, change)
    problem = audit.verify(tmp_path, SECRET).problem
    assert problem is not None
    assert (problem.file, problem.line) == ("2026-03-01.jsonl", expected[0])
    assert expected[1] in problem.message


def test_hashless_lines_are_skipped_as_ocomms_skips_them(tmp_path):
    """ocomms writes these while its secret is unset, previousHash and all; the next line
    of ocomms then has none, and one of ours links to the last hashed line if anything."""
    path = _log_of_five(tmp_path)
    _tamper(path, 2, lambda text: [text, '{"eventType":"AUTH_LOGOUT","previousHash":"x"}\n'])
    result = audit.verify(tmp_path, SECRET)
    assert (result.ok, result.entries, result.unhashed) == (True, 5, 1)


def test_a_line_that_is_not_utf8_is_reported_at_its_own_line(tmp_path):
    path = _log_of_five(tmp_path)
    with open(path, "ab") as handle:
        handle.write(b"\n\n\xff\xfe\n")
    problem = audit.verify(tmp_path, SECRET).problem
    assert problem is not None and problem.line == 8 and "not UTF-8" in problem.message


def test_another_secret_does_not_verify(tmp_path):
    _log_of_five(tmp_path)
    problem = audit.verify(tmp_path, "not the secret").problem
    assert problem is not None and problem.line == 1


@pytest.mark.parametrize(
    ("last", "why"),
    [
        ('{"timestamp": "2026-03-01T12:00:00.000Z", "hash', "not valid JSON"),
        ('["not", "an", "entry"]', "not a JSON object"),
        ('{"timestamp": "2026-03-01T12:00:00.000Z", "hash": 12}', "its hash is not a string"),
    ],
)
def test_a_damaged_last_line_stops_appends(tmp_path, last, why):
    path = _log_of_five(tmp_path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(last)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(audit.AuditError) as raised:
        audit.append(tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {}, now=at)
    assert str(raised.value) == (
        f"2026-03-01.jsonl ends with a damaged line ({why}); not appending after it"
    )
    assert path.read_text(encoding="utf-8").endswith(last)


def test_an_empty_file_starts_a_chain(tmp_path):
    (tmp_path / "2026-03-01.jsonl").write_bytes(b"\n \n")
    entry = audit.append(
        tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {}, now=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert "previousHash" not in entry and audit.verify(tmp_path, SECRET).ok


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


ENV = {"AUDIT_LOG_SECRET": SECRET}


def test_cli_verify_accepts_ocomms_and_mixed_logs():
    written = run_cli("audit", "verify", str(OCOMMS_WRITTEN), env=ENV)
    assert (written.returncode, written.stdout.strip()) == (0, "ok: 2 entries in 1 file verify")
    mixed = run_cli("audit", "verify", str(MIXED), env=ENV)
    assert (mixed.returncode, mixed.stdout.strip()) == (
        0,
        "ok: 13 entries in 3 files verify; 1 line without a hash not checked"
        " (ocomms skips them too)",
    )


def test_cli_verify_counts_read_in_the_singular(tmp_path):
    audit.append(tmp_path, SECRET, audit.EXPORT_EVENT, USER, ORG, {})
    one = run_cli("audit", "verify", str(tmp_path), env=ENV)
    assert (one.returncode, one.stdout.strip()) == (0, "ok: 1 entry in 1 file verifies")


@pytest.mark.parametrize(
    ("change", "secret", "expected"),
    [
        (ALTERED[0][1], SECRET, "2026-01-18.jsonl:3: hash does not match the entry"),
        (ALTERED[2][1], SECRET, "2026-01-18.jsonl:3: previousHash does not match"),
        (lambda lines: lines, RUN["otherSecret"], "2026-01-18.jsonl:1: hash does not match"),
    ],
    ids=["tampered", "broken-link", "wrong-secret"],
)
def test_cli_verify_reports_the_first_broken_line(tmp_path, change, secret, expected):
    shutil.copytree(MIXED, tmp_path, dirs_exist_ok=True)
    _altered_copy(tmp_path, change)
    broken = run_cli("audit", "verify", str(tmp_path), env={"AUDIT_LOG_SECRET": secret})
    assert broken.returncode == 1 and broken.stdout == ""
    assert broken.stderr.strip().startswith(f"broken: {expected}")
    assert len(broken.stderr.strip().splitlines()) == 1


def test_cli_verify_needs_the_secret(tmp_path):
    missing = run_cli("audit", "verify", str(MIXED), env={"AUDIT_LOG_SECRET": ""})
    assert missing.returncode == 2 and "AUDIT_LOG_SECRET" in missing.stderr
