"""What the Dagster UI shows of the export's assets, read through the UI's own GraphQL API.

The queries are the ones the asset pages and the asset graph make: per asset, which
partitions are materialized, failed or in progress, and per check, the status of its
execution for the latest materialization. They run against a real code location (a code
server process, as the webserver starts one) and the test's instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster_graphql.test.utils import execute_dagster_graphql

LOCATION = "ocomms_pipeline"
QUERY = """
query AssetsAsShown {
  assetNodes {
    assetKey { path }
    assetPartitionStatuses {
      ... on DefaultPartitionStatuses {
        materializedPartitions failedPartitions materializingPartitions
      }
    }
    assetChecksOrError {
      ... on AssetChecks {
        checks { name canExecuteIndividually executionForLatestMaterialization { status } }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class AssetShown:
    materialized: frozenset[str]
    failed: frozenset[str]
    in_progress: frozenset[str]
    checks: dict[str, str | None]  # check name -> status for the latest materialization
    can_execute: dict[str, str]  # check name -> canExecuteIndividually


def _asset(node: dict) -> tuple[str, AssetShown]:
    statuses = node["assetPartitionStatuses"]
    checks = node["assetChecksOrError"].get("checks", [])
    return "/".join(node["assetKey"]["path"]), AssetShown(
        frozenset(statuses["materializedPartitions"]),
        frozenset(statuses["failedPartitions"]),
        frozenset(statuses["materializingPartitions"]),
        {c["name"]: (c["executionForLatestMaterialization"] or {}).get("status") for c in checks},
        {c["name"]: c["canExecuteIndividually"] for c in checks},
    )


@contextmanager
def ui_of(instance: dg.DagsterInstance) -> Iterator[Callable[[], dict[str, AssetShown]]]:
    """A function returning every asset as the UI shows it now, by asset key string."""
    target = ModuleTarget(
        module_name="ocomms_pipeline.definitions",
        attribute=None,
        working_directory=None,
        location_name=LOCATION,
    )
    with WorkspaceProcessContext(instance, target) as process:

        def shown() -> dict[str, AssetShown]:
            result = execute_dagster_graphql(process.create_request_context(), QUERY)
            assert not result.errors, result.errors
            return dict(_asset(node) for node in result.data["assetNodes"])

        yield shown
