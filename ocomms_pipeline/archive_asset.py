"""The archive as a Dagster asset, downstream of the bundle, in every export run.

The zip is built inside the run, by the worker that wrote the bundle: it has the export
storage mounted (the code server evaluating sensors may not), its time is bounded by the run
and not by a sensor's evaluation timeout, and a run that reports success has, by then, both
its bundle and its archive on disk. The sensors only copy the path and checksum this step
records into the request row.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType
from pydantic import Field

from ocomms_pipeline import archive, bundle, identifiers
from ocomms_pipeline.assets import BUNDLE_KEY, GROUP, KEY_PREFIX, failure
from ocomms_pipeline.errors import ExportError
from ocomms_pipeline.partitions import organizations
from ocomms_pipeline.resources import ExportStorage

ARCHIVE_KEY = dg.AssetKey([KEY_PREFIX, "archive"])


def bundle_of_run(instance: dg.DagsterInstance, run_id: str) -> Path | None:
    """The bundle this run published, from its own materialization of ``ocomms/bundle``."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.dagster_event.step_materialization_data.materialization
        if materialization.asset_key == BUNDLE_KEY:
            return Path(materialization.metadata["path"].value)
    return None


def bundle_to_archive(context: dg.AssetExecutionContext, root: Path, organization: str) -> Path:
    """This run's bundle; when archiving alone, the organization's newest published bundle."""
    published = bundle_of_run(context.instance, context.run_id)
    if published is None:
        newest = bundle.finished_bundles(root, organization)
        if not newest:
            raise ExportError(f"organization {organization!r} has no published bundle to archive")
        published = newest[-1]
    if not published.resolve().is_relative_to(bundle.organization_dir(root, organization)):
        raise ExportError(f"bundle {published} is outside the export storage of {organization!r}")
    return published


class ArchiveConfig(dg.Config):
    """Whether this run packs its bundle into a zip."""

    enabled: bool = Field(
        default=True,
        description="Pack the bundle into ocomms-export-<time>.zip, what an owner downloads. "
        "Export requests always do; an operator's export that only needs the bundle can skip it.",
    )


@dg.asset(
    key=ARCHIVE_KEY,
    output_required=False,
    deps=[BUNDLE_KEY],
    partitions_def=organizations,
    group_name=GROUP,
    description="The bundle packed as ocomms-export-<time>.zip beside it: what an owner downloads.",
)
def organization_archive(
    context: dg.AssetExecutionContext, config: ArchiveConfig, storage: ExportStorage
) -> Iterator[dg.MaterializeResult]:
    if not config.enabled:
        context.log.info("archive not asked for in this run: the bundle alone is published")
        return
    try:
        organization = identifiers.organization_id(context.partition_key)
        source = bundle_to_archive(context, storage.path, organization)
        packed = archive.build(source, context.run_id)
    except (ExportError, OSError, ValueError, KeyError) as error:
        raise failure(error) from error
    context.log.info(f"archived {source.name} as {packed.path.name} ({packed.bytes:,} bytes)")
    yield dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(packed.path)),
            "sha256": packed.sha256,
            "bytes": dg.MetadataValue.int(packed.bytes),
            "files": dg.MetadataValue.int(packed.files),
            "bundle": dg.MetadataValue.path(str(source)),
        }
    )
