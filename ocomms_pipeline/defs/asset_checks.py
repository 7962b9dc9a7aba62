"""The bundle checks as Dagster asset checks: four blocking ones and warnings.

They are evaluated by the publish op on the staged files, before publication, so a bundle
that fails a check is never published: the staging is removed and the run fails with the
first reason. The results are part of the export's asset definition, so a check is always
evaluated with the materialization it checks and cannot run without it.

Partitioned check specs are a preview feature in this Dagster release and record no partition
in range runs, so the specs are not partitioned: each result names its organization in its
metadata (``partition``), and the asset's check history in the UI shows every organization's
results.
"""

from collections.abc import Collection, Iterator

import dagster as dg

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.bundle.state import ExportState
from ocomms_pipeline.catalog.uploads import UPLOAD_TABLES
from ocomms_pipeline.checks.findings import DESCRIPTIONS, Check
from ocomms_pipeline.checks.staged import CheckOutcome
from ocomms_pipeline.defs.asset_keys import table_key

SHOWN_REASONS = 10
SCHEMA_KNOWN = "schema_known"
SCHEMA_KNOWN_DESCRIPTION = (
    "Warns when the database has columns the catalog does not know (an ocomms upgrade): they "
    "are not exported until the catalog classifies them."
)

FILES_INCLUDED = "files_included"
FILES_INCLUDED_DESCRIPTION = (
    "Warns when files the table's rows point at could not be put in the bundle (missing on "
    "disk, a size that differs from the row's, an unsafe path): the manifest's "
    "files.not_included lists each with the row's id and the reason."
)


def check_specs() -> list[dg.AssetCheckSpec]:
    blocking = [
        dg.AssetCheckSpec(
            str(check), asset=table_key(t.name), description=DESCRIPTIONS[check], blocking=True
        )
        for t in catalog.exported_tables()
        for check in Check
    ]
    drift = [
        dg.AssetCheckSpec(
            SCHEMA_KNOWN, asset=table_key(t.name), description=SCHEMA_KNOWN_DESCRIPTION
        )
        for t in catalog.exported_tables()
    ]
    files = [
        dg.AssetCheckSpec(
            FILES_INCLUDED, asset=table_key(name), description=FILES_INCLUDED_DESCRIPTION
        )
        for name in UPLOAD_TABLES
    ]
    return blocking + drift + files


def output_name(table: str, check: str) -> str:
    """The op output Dagster maps a check's result to (its spec's python identifier)."""
    return dg.AssetCheckSpec(check, asset=table_key(table)).get_python_identifier()


def check_outputs() -> dict[str, dg.Out]:
    """One optional output per check spec, for the op that yields the results."""
    return {
        spec.get_python_identifier(): dg.Out(dg.Nothing, is_required=False)
        for spec in check_specs()
    }


def _schema_results(state: ExportState) -> Iterator[dg.AssetCheckResult]:
    """Unknown columns were withheld (default deny); say so where the operator looks."""
    for result in state.tables:
        yield dg.AssetCheckResult(
            asset_key=table_key(result.table),
            check_name=SCHEMA_KNOWN,
            passed=not result.unknown_columns,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "partition": state.organization_id,
                "unknown_columns": dg.MetadataValue.json(result.unknown_columns),
            },
            description=(
                f"not exported, unknown to the catalog: {', '.join(result.unknown_columns)}"
                if result.unknown_columns
                else None
            ),
        )


def _files_results(state: ExportState) -> Iterator[dg.AssetCheckResult]:
    """How many referenced files of each table the bundle could not carry, and why."""
    section = state.files
    missing = section.get("not_included", []) if section.get("included") else []
    for name in UPLOAD_TABLES:
        mine = [m for m in missing if m.get("table") == name]
        copied = [
            f
            for f in section.get("files", [])
            if any(r.get("table") == name for r in f.get("referenced_by", []))
        ]
        if not section.get("included"):
            description = f"files not included: {section.get('reason')}"
        elif mine:
            description = (
                f"{len(mine):,} referenced file(s) not included; first: {mine[0]['reason']}"
            )
        else:
            description = None
        # Unconfigured is a choice; a configured directory that is not there is a fault.
        absent = not section.get("included") and section.get("reason") != uploads.NOT_CONFIGURED
        yield dg.AssetCheckResult(
            asset_key=table_key(name),
            check_name=FILES_INCLUDED,
            passed=not mine and not absent,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "partition": state.organization_id,
                "files_included": bool(section.get("included")),
                "files": len(copied),
                "not_included": len(mine),
                "examples": dg.MetadataValue.json(mine[:SHOWN_REASONS]),
            },
            description=description,
        )


def _result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    metadata = {k: v for k, v in outcome.metadata.items() if v is not None}
    if outcome.reasons:
        metadata["problems"] = dg.MetadataValue.json(outcome.reasons[:SHOWN_REASONS])
    return dg.AssetCheckResult(
        asset_key=table_key(outcome.table),
        check_name=str(outcome.check),
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=outcome.reasons[0] if outcome.reasons else None,
    )


def check_results(
    state: ExportState, outcomes: list[CheckOutcome], selected: Collection[str]
) -> Iterator[dg.AssetCheckResult]:
    """The results of the checks this run selected; every check was evaluated either way."""
    results = [
        *(_result(o) for o in outcomes),
        *_schema_results(state),
        *_files_results(state),
    ]
    for result in results:
        if output_name(result.asset_key.path[-1], result.check_name) in selected:
            yield result
