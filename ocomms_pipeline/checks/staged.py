"""The bundle checks of one export, evaluated on its staged files before publication.

Dagster-free so the asset checks, tests and other jobs evaluate them the same way. Each
exported table gets every check of ``findings.Check``; a check passes when nothing was found
against it: while the rows streamed (keys, secrets, references), in the snapshot (the
organization's row count), or now, reading the staged files back (size, sha256, rows).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
from ocomms_pipeline.checks.verification import check_json_file, check_parquet_file

FILE_CHECK_THREADS = 2


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


def _file_problems(staging: Path, state: ExportState) -> list[Problem]:
    """Every staged file read back against its manifest entry, two files at a time.

    Reading is hashing, which releases the GIL, so two threads read the largest table's
    file and the others side by side.
    """
    document = manifest(state, datetime.now(UTC))
    entries = document["tables"]

    def one(item: tuple[str, dict[str, Any]]) -> list[Problem]:
        name, entry = item
        return check_json_file(staging, name, entry) + check_parquet_file(staging, name, entry)

    with ThreadPoolExecutor(max_workers=FILE_CHECK_THREADS) as pool:
        found = list(pool.map(one, entries.items()))
    return [p for problems in found for p in problems] + check_uploaded_files(staging, document)


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
