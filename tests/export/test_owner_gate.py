"""The owner gate: only owners (or a named operator) get an export, and a refusal writes nothing."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from ocomms_pipeline import identifiers
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.jobs import EXPORT_JOB, export_run_config
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.export.organization import stage_organization

from ..support.exports import export, read_manifest, tree

NEVER_A_USER = "nobodyNobodyNobody000000"


def refusal_cases(sample) -> dict[str, tuple[str, str]]:
    acme_owner_of_globex = sample.globex_owner_in_acme
    initech_owner = sample.owners["Initech"][0]
    return {
        "admin": (sample.admin, "not_an_owner"),
        "guest": (sample.guest, "guest"),
        "plain member who owns another organization": (acme_owner_of_globex, "not_an_owner"),
        "owner of another organization only": (initech_owner, "not_a_member"),
        "removed member": (sample.former_member, "not_a_member"),
        "user that does not exist": (NEVER_A_USER, "not_a_member"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "admin",
        "guest",
        "plain member who owns another organization",
        "owner of another organization only",
        "removed member",
        "user that does not exist",
    ],
)
@pytest.mark.parametrize("decide_first", [True, False], ids=["before launching", "in the run"])
def test_non_owners_are_refused_and_nothing_is_written(seeded_db, tmp_path, case, decide_first):
    requester, code = refusal_cases(seeded_db.sample)[case]
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(
        seeded_db.url,
        seeded_db.sample.orgs["Acme"],
        requester,
        tmp_path,
        instance=instance,
        decide_first=decide_first,
    )
    # Decided before launching, a refusal leaves no run; in the run, the gate is its only step.
    runs = instance.get_runs()
    assert (outcome.run_id is None, len(runs)) == ((True, 0) if decide_first else (False, 1))
    if not decide_first:
        steps = {
            e.step_key
            for e in instance.all_logs(runs[0].run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
        }
        assert steps == {"organization_tables.authorize_requester"}
    assert not outcome.success
    assert outcome.outcome == "rejected"
    assert repr(requester) in outcome.reason
    assert {"not_an_owner": "not an owner", "not_a_member": "not a member", "guest": "guest"}[
        code
    ] in outcome.reason
    assert tree(tmp_path) == []


def test_unknown_organization_is_refused(seeded_db, tmp_path):
    outcome = export(seeded_db.url, "noSuchOrganization000000", "operator:ops", tmp_path)
    assert (outcome.outcome, tree(tmp_path)) == ("rejected", [])
    assert "unknown organization" in outcome.reason


HOSTILE = [
    "",
    ".",
    "..",
    "../etc",
    "../../../../tmp/x",
    "/abs/path",
    "a/b",
    "a\\b",
    "x" * 65,
    "x" * 10_000,
    "org\x00id",
    "org\nid",
    "org id",
    "o'; DROP TABLE users;--",
    '"quoted"',
    "%2e%2e%2f",
    "\u043erg",  # Cyrillic o, looks like "org"
    "\uff21\uff23\uff2d\uff25",  # fullwidth ACME
    "org\u200bid",  # zero-width space
]


@pytest.mark.parametrize("organization_id", HOSTILE)
def test_malformed_organization_ids_are_refused_before_any_run(
    seeded_db, tmp_path, organization_id
):
    root = tmp_path / "root"
    with pytest.raises(ExportRefused, match="malformed organization id") as refusal:
        export(seeded_db.url, organization_id, "operator:ops", root)
    assert len(str(refusal.value)) < 200 and "\n" not in str(refusal.value)
    assert tree(tmp_path) == []  # nothing inside the root, nor beside it


@pytest.mark.parametrize(
    "requester", [*HOSTILE, "operator:", "operator:a/b", "operator:../x", "operator:" + "y" * 100]
)
def test_malformed_requesters_are_refused_by_the_gate(seeded_db, tmp_path, requester):
    outcome = export(seeded_db.url, seeded_db.sample.orgs["Acme"], requester, tmp_path)
    assert (outcome.outcome, tree(tmp_path)) == ("rejected", [])
    assert "malformed" in outcome.reason


def test_the_gate_op_refuses_a_malformed_partition_key_launched_directly(seeded_db, tmp_path):
    """A partition key that reaches Dagster by another route still never becomes a path."""
    from ocomms_pipeline.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    bad = "..%2F..%2Fetc"
    instance.add_dynamic_partitions(organizations.name, [bad])
    run_config = export_run_config("operator:ops")
    run_config["resources"] = {
        "storage": {"config": {"root": str(tmp_path)}},
        "database": {"config": {"url": seeded_db.url}},
    }
    result = defs.resolve_job_def(EXPORT_JOB).execute_in_process(
        run_config=run_config, instance=instance, partition_key=bad, raise_on_error=False
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["organization_tables.authorize_requester"]
    assert tree(tmp_path) == []


def test_owners_and_operators_are_granted_and_recorded(seeded_db, tmp_path):
    sample = seeded_db.sample
    acme = sample.orgs["Acme"]
    for requester, kind, capacity in [
        (sample.owners["Acme"][0], "user", "owner"),
        (sample.owners["Acme"][1], "user", "owner"),
        ("operator:night-shift", "operator", "operator"),
    ]:
        outcome = export(seeded_db.url, acme, requester, tmp_path)
        assert outcome.success, outcome.reason
        manifest = read_manifest(outcome.bundle_path)
        assert manifest["requester"] == {"principal": requester, "kind": kind, "capacity": capacity}
        assert manifest["dagster_run_id"] == outcome.run_id


def test_the_export_repeats_the_check_inside_its_snapshot(seeded_db, tmp_path):
    """Called without the gate op, the export itself still refuses and stages nothing."""
    sample = seeded_db.sample
    with pytest.raises(ExportRefused, match="not an owner"):
        stage_organization(
            seeded_db.url,
            sample.orgs["Acme"],
            identifiers.principal(sample.admin),
            tmp_path,
            "run-without-gate",
        )
    assert tree(tmp_path) == []


def test_a_deleted_user_is_refused(make_database, tmp_path):
    db = make_database()
    owner = db.sample.owners["Acme"][1]
    with psycopg.connect(db.url) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (owner,))
    outcome = export(db.url, db.sample.orgs["Acme"], owner, tmp_path)
    assert (outcome.outcome, tree(tmp_path)) == ("rejected", [])
