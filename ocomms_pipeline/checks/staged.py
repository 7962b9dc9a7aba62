"""The bundle checks of one export, evaluated on its staged files before publication.

Dagster-free so the asset checks, tests and other jobs evaluate them the same way. Each
exported table gets every check of ``findings.Check``; a check passes when nothing was found
against it: while the rows streamed (keys, secrets, references), in the snapshot (the
organization's row count), by the writer, or now, on the staged files as they are on disk.

The staged files are not read back. The writers counted the rows of each batch and took the
size and sha256 of each file from the exact bytes they handed to it, then fsynced it; the
manifest records those. What can still happen to a file between its writing and publication
(removed, replaced by something else, truncated, appended to) shows in its ``lstat``, which
is compared with the bytes written, and a Parquet copy's footer (the only part read) must
state the rows written. The uploaded files copied into the bundle are checked the same way:
their copy hashed them on the way and synced them. ``ocomms-pipeline verify`` reads every
file in full, for whoever receives the bundle.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.publish import staged_export
from ocomms_pipeline.bundle.state import ExportState, load_state, manifest
from ocomms_pipeline.checks.findings import Check, Problem
from ocomms_pipeline.checks.uploaded_files import check_uploaded_files
from ocomms_pipeline.checks.verification import check_parquet_footer


@dataclass(frozen=True)
class CheckOutcome:
    table: str
    check: Check
    passed: bool
    reasons: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def _snapshot_problems(state: ExportState) -> list[Problem]:
    return [
        Problem(
            t.table,
            Check.ROW_COUNT,
            f"{t.rows:,} rows written, {t.snapshot_rows:,} in the export snapshot",
        )
        for t in state.tables
        if t.rows != t.snapshot_rows
    ]


def _written_file_problems(staging: Path, table: str, name: str, written: int) -> list[Problem]:
    """A file the export wrote, as it is now: there, a regular file, of the size written."""
    try:
        found = os.lstat(staging / name)
    except FileNotFoundError:
        return [Problem(table, Check.FILE_CHECKSUMS, f"{name} is missing")]
    except OSError as error:
        return [Problem(table, Check.FILE_CHECKSUMS, f"{name} is unreadable: {error.strerror}")]
    if not stat.S_ISREG(found.st_mode):
        return [Problem(table, Check.FILE_CHECKSUMS, f"{name} is not a regular file")]
    if found.st_size != written:
        return [
            Problem(
                table,
                Check.FILE_CHECKSUMS,
                f"{name}: {found.st_size:,} bytes on disk, the export wrote {written:,}",
            )
        ]
    return []


def _file_problems(staging: Path, state: ExportState) -> list[Problem]:
    """Every staged file against its manifest entry, by ``lstat`` and Parquet footers."""
    document = manifest(state, datetime.now(UTC))
    problems = []
    for name, entry in document["tables"].items():
        problems += _written_file_problems(staging, name, entry["file"], entry["bytes"])
        if copy := entry.get("parquet"):
            problems += _written_file_problems(staging, name, copy["file"], copy["bytes"])
            if (staging / copy["file"]).is_file():
                problems += check_parquet_footer(staging, name, entry)
    return problems + check_uploaded_files(staging, document, reread=False)


def _metadata(state: ExportState, table: str) -> dict[str, Any]:
    result = next((t for t in state.tables if t.table == table), None)
    found = {
        "partition": state.organization_id,
        "snapshot": state.snapshot_id,
        "bundle": state.bundle_path,
    }
    if result is not None:
        found |= {"rows": result.rows, "snapshot_rows": result.snapshot_rows}
    return found


def evaluate_staged(staging: Path) -> tuple[ExportState, list[CheckOutcome]]:
    """Every check of every exported table of the export staged in ``staging``."""
    state = load_state(staging)
    problems = [Problem.from_json(p) for p in state.problems]
    problems += _snapshot_problems(state)
    problems += _file_problems(staging, state)
    outcomes = []
    for table in catalog.exported_tables():
        metadata = _metadata(state, table.name)
        for check in Check:
            reasons = [p.reason for p in problems if p.table == table.name and p.check is check]
            outcomes.append(CheckOutcome(table.name, check, not reasons, reasons, metadata))
    return state, outcomes


def failure_summary(outcomes: list[CheckOutcome]) -> str | None:
    """One line for a run that a failed blocking check stopped, or None when all passed."""
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return None
    first = failed[0]
    return (
        f"{len(failed)} bundle checks failed, nothing was published; "
        f"first: {first.table} {first.check}: {first.reasons[0]}"
    )


@dataclass(frozen=True)
class Checked:
    """The blocking checks of one staged export; ``problem`` is the first failure's line."""

    state: ExportState
    outcomes: list[CheckOutcome]
    problem: str | None


def check_staged(root: Path, organization_id: str, run_id: str) -> Checked:
    """Every check of the run's staged export, before anything is published.

    The staging is removed when a check fails or the files cannot be read, so what a failed
    check leaves behind is never mistaken for, or published as, a bundle.
    """
    staging = staged_export(root, organization_id, run_id)
    try:
        state, outcomes = evaluate_staged(staging)
    except BaseException:
        bundle.discard(staging)
        raise
    problem = failure_summary(outcomes)
    if problem:
        bundle.discard(staging)
    return Checked(state, outcomes, problem)
