"""Launching an organization export through Dagster's GraphQL API, as an operator's script does.

``DagsterGraphQLClient.submit_job_execution`` accepts a partition that does not exist and the
run fails later, so the organization's partition is added first with the
``addDynamicPartition`` mutation (the client has no method for it; a plain POST does). Ids are
checked before anything is sent. The requester is a claim: the owner gate checks it in the run.
"""

from __future__ import annotations

import json
import time
import urllib.request

from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from ocomms_pipeline import identifiers
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.jobs import EXPORT_JOB, export_run_config

LOCATION = "ocomms_pipeline"
REPOSITORY = "__repository__"
ADD_PARTITION = """
mutation AddOrganization($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""
_ADDED = ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError")
_ENDED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def add_organization_partition(
    host: str, port: int, organization_id: str, *, location: str = LOCATION
) -> None:
    """Make sure the organization's partition exists (an existing one is fine)."""
    body = json.dumps(
        {
            "query": ADD_PARTITION,
            "variables": {
                "selector": {"repositoryLocationName": location, "repositoryName": REPOSITORY},
                "name": organizations.name,
                "key": identifiers.organization_id(organization_id),
            },
        }
    ).encode()
    request = urllib.request.Request(
        f"http://{host}:{port}/graphql", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    result = (answer.get("data") or {}).get("addDynamicPartition") or {}
    if result.get("__typename") not in _ADDED:
        message = result.get("message") or answer.get("errors") or "no answer"
        raise RuntimeError(f"could not add partition {organization_id!r}: {message}")


def launch_export(
    host: str, port: int, organization_id: str, requested_by: str, *, location: str = LOCATION
) -> str:
    """Add the partition, submit ``export_organization`` for it, return the run id."""
    identifiers.principal(requested_by)
    add_organization_partition(host, port, organization_id, location=location)
    client = DagsterGraphQLClient(host, port_number=port)
    return client.submit_job_execution(
        EXPORT_JOB,
        repository_location_name=location,
        repository_name=REPOSITORY,
        run_config=export_run_config(requested_by),
        tags={"dagster/partition": organization_id},
    )


def wait_for_run(
    host: str, port: int, run_id: str, *, timeout: float = 600, poll: float = 1.0
) -> DagsterRunStatus:
    """Poll the run's status until it ends (or ``timeout`` seconds pass: TimeoutError)."""
    client = DagsterGraphQLClient(host, port_number=port)
    deadline = time.monotonic() + timeout
    while True:
        status = client.get_run_status(run_id)
        if status in _ENDED:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {status.value} after {timeout:.0f} s")
        time.sleep(poll)
