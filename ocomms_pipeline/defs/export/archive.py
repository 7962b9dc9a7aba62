"""The archive op: the published bundle packed as the zip an owner downloads.

The zip is built inside the run, by the worker that wrote the bundle: it has the export
storage mounted (the code server evaluating sensors may not), its time is bounded by the run
and not by a sensor's evaluation timeout, and a run that reports success has, by then, both
its bundle and its archive on disk. The sensors only copy the path and checksum this step
records into the request row. It packs the bundle its own run published, never another.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from ocomms_pipeline import identifiers
from ocomms_pipeline.bundle import archive
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.defs.common import step_failure
from ocomms_pipeline.defs.export.asset_keys import ARCHIVE_OUTPUT
from ocomms_pipeline.defs.export.resources import ExportStorage
from ocomms_pipeline.errors import ExportError
from ocomms_pipeline.export import progress


class ArchiveConfig(dg.Config):
    """Whether this run packs its bundle into a zip."""

    enabled: bool = Field(
        default=True,
        description="Pack the bundle into ocomms-export-<time>.zip, what an owner downloads. "
        "Export requests always do; an operator's export that only needs the bundle can skip it "
        "(or leave ocomms/archive out of the selection).",
    )


def _inside_storage(published: Path, root: Path, organization: str) -> Path:
    if not published.resolve().is_relative_to(bundle.organization_dir(root, organization)):
        raise ExportError(f"bundle {published} is outside the export storage of {organization!r}")
    return published


@dg.op(
    ins={"published": dg.In(str, description="The bundle this run published.")},
    out={ARCHIVE_OUTPUT: dg.Out(dg.Nothing, is_required=False)},
    description="Packs the bundle this run published into ocomms-export-<time>.zip beside it.",
)
def archive_bundle(
    context: dg.OpExecutionContext, config: ArchiveConfig, storage: ExportStorage, published: str
) -> Iterator[dg.Output]:
    if not config.enabled:
        context.log.info("archive not asked for in this run: the bundle alone is published")
        return
    progress.stage(context.run_id, "archiving")
    try:
        organization = identifiers.organization_id(context.partition_key)
        source = _inside_storage(Path(published), storage.path, organization)
        packed = archive.build(source, context.run_id)
    except (ExportError, OSError, ValueError, KeyError) as error:
        raise step_failure(error) from None
    context.log.info(f"archived {source.name} as {packed.path.name} ({packed.bytes:,} bytes)")
    yield dg.Output(
        None,
        ARCHIVE_OUTPUT,
        metadata={
            "path": dg.MetadataValue.path(str(packed.path)),
            "sha256": packed.sha256,
            "bytes": dg.MetadataValue.int(packed.bytes),
            "files": dg.MetadataValue.int(packed.files),
            "bundle": dg.MetadataValue.path(str(source)),
        },
    )
