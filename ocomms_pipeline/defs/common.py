"""What every domain of the Dagster layer shares: the partitions, the run tags, step failures.

The partitions: one dynamic partition per ocomms organization id, which the export, the
request sensor, the backups and the restore all name.

The run tags: Dagster queues runs by tag (see deploy/dagster.yaml). ``ocomms/organization``
(one value per organization, limit one run each) keeps two single-organization runs of the
same organization from overlapping, and ``ocomms/kind`` caps backups and owner requests
separately so a night of backups never starves an owner's export. Anything that launches runs
tags them through here.

Step failures: the gate, the export, the publication, the archive and the backups all fail
the same way, so that every reader of a run (the request sensors, the CLI, an operator in the
UI) finds the reason in the failure's description and the outcome (``rejected`` or
``failed``) in its metadata, never in a stack trace.
"""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.errors import ExportError, ExportRefused, describe
from ocomms_pipeline.status import RequestStatus

organizations = dg.DynamicPartitionsDefinition(name="organizations")

ORGANIZATION_TAG = "ocomms/organization"
KIND_TAG = "ocomms/kind"
KIND_BACKUP = "backup"
KIND_REQUEST = "request"
BACKUP_DATE_TAG = "ocomms/backup_date"
BACKUP_BATCH_TAG = "ocomms/backup_batch"


def single_organization_tags(organization_id: str, kind: str) -> dict[str, str]:
    """Tags for a run that exports one organization (an owner request, a manual export)."""
    return {ORGANIZATION_TAG: organization_id, KIND_TAG: kind}


def failure_reason(error: BaseException) -> str:
    """The one-line reason of any error an export step can meet."""
    return str(error) if isinstance(error, ExportError) else describe(error)


def step_failure(error: BaseException) -> dg.Failure:
    """A step failure whose description is the one-line reason, and whether it was a refusal."""
    outcome = error.outcome if isinstance(error, ExportError) else RequestStatus.FAILED
    metadata = {"outcome": outcome.value, "reason": failure_reason(error)}
    if isinstance(error, ExportRefused):
        metadata["code"] = error.code
    return dg.Failure(description=failure_reason(error), metadata=metadata, allow_retries=False)
