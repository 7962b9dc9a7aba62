"""The bundle checks as Dagster asset checks: four per table asset, blocking publication.

They run in one step between the export op and the bundle step, on the staged files, so a
bundle that fails a check is never published: the checks are blocking, the bundle step does
not run, the staging is removed and the run fails with the reasons.

Partitioned check specs are a preview feature in this Dagster release and record no partition
in range runs, so the specs are not partitioned: each result names its organization in its
metadata (``partition``) and points at the partition's materialization it checked, and the
asset's check history in the UI shows every organization's results.
"""

from collections.abc import Iterator

import dagster as dg

from ocomms_pipeline import bundle, catalog
from ocomms_pipeline.assets import failure, table_key
from ocomms_pipeline.checks import CheckOutcome, evaluate_staged, failure_summary
from ocomms_pipeline.errors import ExportError
from ocomms_pipeline.export import ExportState
from ocomms_pipeline.findings import DESCRIPTIONS, Check
from ocomms_pipeline.resources import ExportStorage

SHOWN_REASONS = 10
SCHEMA_KNOWN = "schema_known"
SCHEMA_KNOWN_DESCRIPTION = (
    "Warns when the database has columns the catalog does not know (an ocomms upgrade): they "
    "are not exported until the catalog classifies them."
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
    return blocking + drift


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


@dg.multi_asset_check(
    specs=check_specs(),
    name="check_organization_tables",
    description="Checks the staged bundle before it is published: rows, columns, secrets, "
    "references and checksums of every table.",
)
def check_organization_tables(
    context: dg.AssetCheckExecutionContext, storage: ExportStorage
) -> Iterator[dg.AssetCheckResult]:
    run_id = context.op_execution_context.run_id
    staging = bundle.staging_dir(storage.path, context.partition_key, run_id)
    if not (staging / bundle.STATE_FILE).exists():
        raise dg.Failure(
            description="no staged export for this run: checks run in the run that exports "
            "the tables (job export_organization)",
            allow_retries=False,
        )
    try:
        state, outcomes = evaluate_staged(staging)
    except BaseException:
        bundle.discard(staging)
        raise
    for outcome in outcomes:
        yield _result(outcome)
    yield from _schema_results(state)
    problem = failure_summary(outcomes)
    if problem:
        bundle.discard(staging)
        raise failure(ExportError(problem))
