"""Export ocomms organizations to verified JSON and Parquet bundles with Dagster.

The public API, each name imported on first use (pandas and Dagster are heavy, and importing
the package must cost nothing):

- ``load_bundle(path)``: a bundle's tables as pandas DataFrames;
- ``export_run_config(requested_by, parquet=None, archive=True)``: run config of the
  ``export_organization`` job, for any launcher;
- ``add_organization_partition``, ``launch_export``, ``wait_for_run``: launching exports
  through a Dagster webserver's GraphQL API;
- ``restore_run_config(bundle_path, requested_by, dry_run=False)``: run config of the
  ``restore_organization`` job.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "load_bundle": "ocomms_pipeline.bundle.loading",
    "export_run_config": "ocomms_pipeline.defs.export.jobs",
    "add_organization_partition": "ocomms_pipeline.launch.graphql",
    "launch_export": "ocomms_pipeline.launch.graphql",
    "wait_for_run": "ocomms_pipeline.launch.graphql",
    "restore_run_config": "ocomms_pipeline.defs.restore.jobs",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ocomms_pipeline' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
