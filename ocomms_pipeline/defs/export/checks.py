"""The bundle checks as Dagster asset checks: one per table, blocking, with every finding.

They are evaluated by the publish op on the staged files, before publication, so a bundle
that fails a check is never published: the staging is removed and the run fails with the
first reason. The results are part of the export's asset definition, so a check is always
evaluated with the materialization it checks and cannot run without it.

Each table has one check, ``verified``, and its result carries each of the bundle checks
(``findings.Check``) as a metadata entry that reads ``passed`` or the first problem, plus two
warnings: columns the catalog does not know (withheld, default deny) and, for tables that
point at uploaded files, files the bundle could not carry. It fails with severity ERROR when
a bundle check fails (the bundle is not published), and with WARN when only a warning holds
(the bundle is published). One result per table rather than one per check and table: every
check spec costs a run two events in Dagster's event log (planned and evaluated) and an
output event, and seven specs per table were three quarters of a small organization's run.

Partitioned check specs are a preview feature in this Dagster release and record no partition
in range runs, so the specs are not partitioned: each result names its organization in its
metadata (``partition``), and the asset's check history in the UI shows every organization's
results.
"""

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

import dagster as dg

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.bundle.state import ExportState
from ocomms_pipeline.catalog.uploads import UPLOAD_TABLES
from ocomms_pipeline.checks.findings import DESCRIPTIONS, Check
from ocomms_pipeline.checks.staged import CheckOutcome
from ocomms_pipeline.defs.export.asset_keys import table_key

SHOWN_REASONS = 10
PASSED = "passed"
CHECK_NAME = "verified"
SCHEMA_KNOWN = "schema_known"
FILES_INCLUDED = "files_included"

CHECK_DESCRIPTION = (
    "Blocking: "
    + " ".join(f"{check}: {DESCRIPTIONS[check]}" for check in Check)
    + f" Warns, without blocking: {SCHEMA_KNOWN}: the database has columns the catalog does "
    "not know (an ocomms upgrade); they are not exported until the catalog classifies them. "
    f"{FILES_INCLUDED}: files the table's rows point at could not be put in the bundle (missing "
    "on disk, a size that differs from the row's, an unsafe path); the manifest's "
    "files.not_included lists each with the row's id and the reason."
)


def check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CHECK_NAME, asset=table_key(t.name), description=CHECK_DESCRIPTION, blocking=True
        )
        for t in catalog.exported_tables()
    ]


def output_name(table: str) -> str:
    """The op output Dagster maps a table's check result to (its spec's python identifier)."""
    return dg.AssetCheckSpec(CHECK_NAME, asset=table_key(table)).get_python_identifier()


def check_outputs() -> dict[str, dg.Out]:
    """One optional output per check spec, for the op that yields the results."""
    return {
        spec.get_python_identifier(): dg.Out(dg.Nothing, is_required=False)
        for spec in check_specs()
    }


def _schema_warning(state: ExportState, table: str) -> tuple[dict[str, Any], str | None]:
    """Unknown columns were withheld (default deny); say so where the operator looks."""
    result = next((t for t in state.tables if t.table == table), None)
    unknown = result.unknown_columns if result is not None else []
    warning = f"not exported, unknown to the catalog: {', '.join(unknown)}" if unknown else None
    return {
        SCHEMA_KNOWN: warning or PASSED,
        "unknown_columns": dg.MetadataValue.json(unknown),
    }, warning


def _files_warning(state: ExportState, table: str) -> tuple[dict[str, Any], str | None]:
    """How many referenced files of the table the bundle could not carry, and why."""
    section = state.files
    included = bool(section.get("included"))
    missing = [m for m in section.get("not_included", []) if m.get("table") == table]
    missing = missing if included else []
    copied = [
        f
        for f in section.get("files", [])
        if any(r.get("table") == table for r in f.get("referenced_by", []))
    ]
    # Unconfigured is a choice; a configured directory that is not there is a fault.
    absent = not included and section.get("reason") != uploads.NOT_CONFIGURED
    if missing:
        warning = f"{len(missing):,} referenced file(s) not included; first: {missing[0]['reason']}"
    elif absent:
        warning = f"files not included: {section.get('reason')}"
    else:
        warning = None
    shown = warning or (PASSED if included else f"not included: {section.get('reason')}")
    return {
        FILES_INCLUDED: shown,
        "files": len(copied),
        "not_included": len(missing),
        "examples": dg.MetadataValue.json(missing[:SHOWN_REASONS]),
    }, warning


def _table_result(
    state: ExportState, table: str, outcomes: list[CheckOutcome]
) -> dg.AssetCheckResult:
    metadata: dict[str, Any] = {}
    for outcome in outcomes:
        metadata |= {k: v for k, v in outcome.metadata.items() if v is not None}
    problems = [f"{o.check}: {reason}" for o in outcomes for reason in o.reasons]
    for outcome in outcomes:
        metadata[str(outcome.check)] = outcome.reasons[0] if outcome.reasons else PASSED
    schema, schema_warning = _schema_warning(state, table)
    metadata |= schema
    warnings = [schema_warning]
    if table in UPLOAD_TABLES:
        files, files_warning = _files_warning(state, table)
        metadata |= files
        warnings.append(files_warning)
    warned = [w for w in warnings if w]
    if problems:
        metadata["problems"] = dg.MetadataValue.json(problems[:SHOWN_REASONS])
    return dg.AssetCheckResult(
        asset_key=table_key(table),
        check_name=CHECK_NAME,
        passed=not problems and not warned,
        severity=dg.AssetCheckSeverity.ERROR if problems else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=problems[0] if problems else (warned[0] if warned else None),
    )


def check_results(
    state: ExportState, outcomes: list[CheckOutcome], selected: Collection[str]
) -> Iterator[dg.AssetCheckResult]:
    """The results of the checks this run selected; every check was evaluated either way."""
    by_table: dict[str, list[CheckOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_table[outcome.table].append(outcome)
    for table in catalog.exported_tables():
        if output_name(table.name) in selected:
            yield _table_result(state, table.name, by_table[table.name])
