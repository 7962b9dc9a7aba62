"""The partitions domain: the sensor that keeps one partition per ocomms organization."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.export.resources import export_resources
from ocomms_pipeline.defs.partitions.sensors import organization_partitions_sensor


def partition_definitions() -> dg.Definitions:
    return dg.Definitions(
        sensors=[organization_partitions_sensor],
        resources={"database": export_resources()["database"]},
    )
