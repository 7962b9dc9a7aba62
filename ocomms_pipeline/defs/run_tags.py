"""Run tags that the run coordinator's concurrency limits key on (see deploy/dagster.yaml).

Dagster queues runs by tag: ``ocomms/organization`` (one value per organization, limit one
run each) keeps two single-organization runs of the same organization from overlapping, and
``ocomms/kind`` caps backups and owner requests separately so a night of backups never
starves an owner's export. Anything that launches runs should tag them through here.
"""

from __future__ import annotations

ORGANIZATION_TAG = "ocomms/organization"
KIND_TAG = "ocomms/kind"
KIND_BACKUP = "backup"
KIND_REQUEST = "request"
BACKUP_DATE_TAG = "ocomms/backup_date"
BACKUP_BATCH_TAG = "ocomms/backup_batch"


def single_organization_tags(organization_id: str, kind: str) -> dict[str, str]:
    """Tags for a run that exports one organization (an owner request, a manual export)."""
    return {ORGANIZATION_TAG: organization_id, KIND_TAG: kind}
