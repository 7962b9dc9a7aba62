"""Yardstick: a Dagster run of the export's shape that does none of the export's work.

One asset per exported table and a bundle asset downstream of them all, one blocking check
per table, partitioned by organization, run with ``execute_in_process`` on the instance the
CLI opens (``instance_for_cli``: the same ``DAGSTER_HOME``, the same kept-open or pooled
event log), its console log as quiet as the CLI's. Timed as a whole process beside the real
``export`` in ``bench.cli_end_to_end``, it says how much of a small organization's wait is
Dagster recording a run of this shape, and how much is the export itself. It has one step
where the export has three, and reads no database and writes no file.

    DAGSTER_HOME=... .venv/bin/python -m bench.children.dagster_shape
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import dagster as dg

from ocomms_pipeline import catalog
from ocomms_pipeline.launch.instances import instance_for_cli

PARTITION = "shape-organization"
_partitions = dg.DynamicPartitionsDefinition(name="shape_organizations")


def shaped_job() -> dg.JobDefinition:
    """The export's assets and checks, each reported as passed with a row count."""
    tables = [dg.AssetKey(["shape", t.name]) for t in catalog.exported_tables()]
    bundle = dg.AssetKey(["shape", "bundle"])
    specs = [dg.AssetSpec(key) for key in tables] + [dg.AssetSpec(bundle, deps=tables)]
    checks = [dg.AssetCheckSpec("verified", asset=key, blocking=True) for key in tables]

    @dg.multi_asset(specs=specs, check_specs=checks, partitions_def=_partitions)
    def shape() -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        for key in tables:
            yield dg.MaterializeResult(asset_key=key, metadata={"rows": 0})
        yield dg.MaterializeResult(asset_key=bundle, metadata={"tables": len(tables)})
        for key in tables:
            yield dg.AssetCheckResult(asset_key=key, check_name="verified", passed=True)

    return dg.Definitions(assets=[shape]).resolve_implicit_global_asset_job_def()


def main() -> int:
    instance = instance_for_cli()
    if not instance.has_dynamic_partition(_partitions.name, PARTITION):
        instance.add_dynamic_partitions(_partitions.name, [PARTITION])
    result = shaped_job().execute_in_process(
        instance=instance,
        partition_key=PARTITION,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        raise_on_error=False,
    )
    instance.dispose()
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
