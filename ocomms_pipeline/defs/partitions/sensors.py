"""Keep the ``organizations`` partitions equal to the organizations in the ocomms database.

The decision is a pure function of two lists (what the database has, what Dagster has) so it
can be tested on its own; the sensor around it only reads both lists and hands Dagster the
add and delete requests. When the database cannot be read the sensor skips with the reason and
changes nothing: an outage must never look like "every organization was deleted".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import psycopg

from ocomms_pipeline import catalog
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.resources import OcommsDatabase
from ocomms_pipeline.errors import describe
from ocomms_pipeline.identifiers import ID_PATTERN
from ocomms_pipeline.postgres.quoting import quote
from ocomms_pipeline.postgres.snapshots import connect

SENSOR_NAME = "organization_partitions"


@dataclass(frozen=True)
class PartitionDiff:
    """Partition keys to add and to delete, and database ids that cannot be partition keys."""

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


def partition_diff(wanted: Iterable[str], existing: Sequence[str]) -> PartitionDiff:
    """What turns ``existing`` partition keys into the valid ids of ``wanted``.

    An id outside ocomms's id alphabet would become a directory name and a run tag, so it is
    never added; it is reported instead. Keys are added in the order the database gave them
    (Dagster lists partitions in insertion order); removals keep Dagster's order.
    """
    valid: dict[str, None] = {}
    invalid: list[str] = []
    for org_id in wanted:
        if ID_PATTERN.fullmatch(org_id):
            valid[org_id] = None
        else:
            invalid.append(org_id)
    have = set(existing)
    return PartitionDiff(
        add=[k for k in valid if k not in have],
        remove=[k for k in existing if k not in valid],
        invalid=invalid,
    )


def organization_ids_query() -> str:
    """Every organization id, in a stable byte order; names come from the ownership rule."""
    rule = catalog.OWNERSHIP
    key = quote(rule.organization_key)
    return f'SELECT {key} FROM {quote(rule.organizations)} ORDER BY {key} COLLATE "C"'


def read_organization_ids(database_url: str) -> list[str]:
    """The organization ids the ocomms database holds now (read-only, short transaction)."""
    with connect(database_url) as conn:
        conn.read_only = True
        return [str(row[0]) for row in conn.execute(organization_ids_query()).fetchall()]


def _describe_change(diff: PartitionDiff) -> str:
    parts = [f"adding {len(diff.add)}", f"removing {len(diff.remove)}"]
    if diff.invalid:
        parts.append(f"ignoring {len(diff.invalid)} malformed id(s)")
    return "organization partitions: " + ", ".join(parts)


def sync_partitions(
    context: dg.SensorEvaluationContext, database_url: str
) -> dg.SensorResult | dg.SkipReason:
    """One sensor tick: read both sides, return the requests that make them equal."""
    try:
        wanted = read_organization_ids(database_url)
    except (psycopg.Error, OSError) as error:
        return dg.SkipReason(f"cannot read organizations, partitions unchanged: {describe(error)}")
    existing = context.instance.get_dynamic_partitions(organizations.name)
    diff = partition_diff(wanted, existing)
    if diff.invalid:
        context.log.warning(f"organization ids that cannot be partition keys: {diff.invalid[:20]}")
    if diff.empty:
        return dg.SkipReason(f"partitions already match {len(wanted)} organization(s)")
    context.log.info(_describe_change(diff))
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if diff.add:
        requests.append(organizations.build_add_request(diff.add))
    if diff.remove:
        requests.append(organizations.build_delete_request(diff.remove))
    return dg.SensorResult(dynamic_partitions_requests=requests)


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a partition for every organization in ocomms and removes deleted ones.",
)
def organization_partitions_sensor(
    context: dg.SensorEvaluationContext, database: OcommsDatabase
) -> dg.SensorResult | dg.SkipReason:
    return sync_partitions(context, database.url)
