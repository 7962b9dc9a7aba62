"""The organizations partitions follow the organizations table, and an outage changes nothing."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.resources import OcommsDatabase
from ocomms_pipeline.defs.partitions.sensors import (
    organization_partitions_sensor,
    partition_diff,
    read_organization_ids,
)


def test_diff_adds_new_ids_and_removes_vanished_keys_in_order():
    diff = partition_diff(["b", "c", "a", "d"], ["a", "gone", "b", "also-gone"])
    assert diff.add == ["c", "d"]
    assert diff.remove == ["gone", "also-gone"]
    assert diff.invalid == []
    assert partition_diff(["a", "b"], ["b", "a"]).empty


def test_diff_never_adds_an_id_that_cannot_be_a_partition_key():
    diff = partition_diff(["ok_id", "../etc", "has space", "x" * 65, ""], ["has space"])
    assert diff.add == ["ok_id"]
    assert diff.invalid == ["../etc", "has space", "x" * 65, ""]
    assert diff.remove == ["has space"]


def test_organization_ids_are_read_from_the_database(seeded_db):
    ids = read_organization_ids(seeded_db.url)
    assert sorted(ids) == sorted(seeded_db.sample.orgs.values())
    assert ids == sorted(ids, key=lambda i: i.encode())


def _tick(instance: dg.DagsterInstance, url: str):
    context = dg.build_sensor_context(
        instance=instance, resources={"database": OcommsDatabase(url=url)}
    )
    return organization_partitions_sensor(context)


def _apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the sensor daemon does with the requests of a tick."""
    for request in result.dynamic_partitions_requests or []:
        keys = list(request.partition_keys)
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, keys)
        else:
            for key in keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)


def test_sensor_makes_partitions_equal_to_the_organizations(seeded_db):
    orgs = seeded_db.sample.orgs
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(organizations.name, [orgs["Acme"], "deleted_org_00001"])
        result = _tick(instance, seeded_db.url)
        assert isinstance(result, dg.SensorResult)
        add, delete = result.dynamic_partitions_requests
        assert isinstance(add, dg.AddDynamicPartitionsRequest)
        assert sorted(add.partition_keys) == sorted([orgs["Globex"], orgs["Initech"]])
        assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)
        assert list(delete.partition_keys) == ["deleted_org_00001"]
        _apply(instance, result)
        assert sorted(instance.get_dynamic_partitions(organizations.name)) == sorted(orgs.values())
        again = _tick(instance, seeded_db.url)
        assert isinstance(again, dg.SkipReason)
        assert "already match 3" in again.skip_message


def test_malformed_ids_in_the_database_are_not_added(make_database):
    db = make_database(seed=False)
    with psycopg.connect(db.url) as conn:
        conn.execute(
            "INSERT INTO organizations (id, name) VALUES ('good_org', 'Good'), ('bad/org', 'Bad')"
        )
    with dg.instance_for_test() as instance:
        result = _tick(instance, db.url)
        (add,) = result.dynamic_partitions_requests
        assert list(add.partition_keys) == ["good_org"]


@pytest.mark.parametrize("where", ["nothing listening", "no ocomms schema"])
def test_unreadable_database_skips_and_changes_nothing(where, admin_url):
    # The server's admin database is reachable but has no organizations table.
    url = "postgresql://nobody@127.0.0.1:1/ocomms" if where == "nothing listening" else admin_url
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(organizations.name, ["org_a", "org_b"])
        result = _tick(instance, url)
        assert isinstance(result, dg.SkipReason)
        assert result.skip_message.startswith("cannot read organizations, partitions unchanged:")
        assert instance.get_dynamic_partitions(organizations.name) == ["org_a", "org_b"]
