"""Publish what an export staged: the one step that turns staging into a visible bundle.

Shared by the bundle asset (one organization per run) and the nightly backup (many
organizations per run), so both write the same manifest and publish the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.state import ExportState, load_state, manifest
from ocomms_pipeline.errors import ExportError


class NothingStaged(ExportError):
    """The run has no staged export for this organization (its export step did not run)."""


@dataclass(frozen=True)
class Published:
    path: Path
    state: ExportState


def _destination(root: Path, state: ExportState) -> Path:
    """The reserved bundle path, or the next free one if another run took it meanwhile.

    Runs of the same organization may overlap (a backup batch and an owner's request): both
    reserve a name when their snapshot is taken, so the later one may find it published.
    """
    reserved = Path(state.bundle_path)
    if not reserved.exists():
        return reserved
    taken_at = bundle.parse_utc_text(state.taken_at)
    return bundle.reserve_bundle_path(root, state.organization_id, taken_at)


def staged_export(root: Path, organization_id: str, run_id: str) -> Path:
    """The run's staging directory, which must hold a complete staged export."""
    staging = bundle.staging_dir(root, organization_id, run_id)
    if not (staging / bundle.STATE_FILE).exists():
        raise NothingStaged(
            "no staged export for this run: the bundle is published by the run "
            "that exports its tables"
        )
    return staging


def publish_staged(root: Path, organization_id: str, run_id: str) -> Published:
    """Write the manifest of the run's staged export and rename it into place.

    Staging is removed whatever goes wrong, so a failure never leaves a half bundle behind.
    """
    staging = staged_export(root, organization_id, run_id)
    try:
        state = load_state(staging)
        document = manifest(state, datetime.now(UTC))
        path = bundle.publish(staging, document, _destination(root, state))
    except BaseException:
        bundle.discard(staging)
        raise
    return Published(path, state)
