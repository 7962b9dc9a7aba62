"""Every selection a person can make of the export's assets ends in a published bundle.

The UI's Materialize buttons and ``dagster asset materialize --select`` launch Dagster's
asset job on a subset of the assets and checks; these tests launch the same job on the same
subsets, against a real PostgreSQL, and then read back what the UI shows through its GraphQL
API. Whatever was selected, the run either publishes a complete bundle that passes its
checks, with every path in its metadata on disk, or fails and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.checks.verification import verify_bundle
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.asset_keys import ARCHIVE_KEY, BUNDLE_KEY, table_key
from ocomms_pipeline.defs.export.jobs import export_run_config

from ...support.exports import tree
from ...support.ui_view import ui_of

TABLE_KEYS = [table_key(t.name) for t in catalog.exported_tables()]
PUBLISHED_KEYS = {*TABLE_KEYS, BUNDLE_KEY}
ALL_KEYS = {*PUBLISHED_KEYS, ARCHIVE_KEY}
MESSAGES = table_key("messages")


def _checks_of(keys: set[dg.AssetKey]) -> set[dg.AssetCheckKey]:
    return {
        check for check in defs.resolve_asset_graph().asset_check_keys if check.asset_key in keys
    }


# What the UI's buttons and `dagster asset materialize --select` can ask for: assets with their
# checks (the default of both) or without them.
SELECTIONS: dict[str, tuple[set[dg.AssetKey], set[dg.AssetCheckKey]]] = {
    "one table": ({MESSAGES}, _checks_of({MESSAGES})),
    "one table without its checks": ({MESSAGES}, set()),
    "all tables": (set(TABLE_KEYS), set()),
    "the tables with their checks": (set(TABLE_KEYS), _checks_of(set(TABLE_KEYS))),
    "the bundle alone": ({BUNDLE_KEY}, set()),
    "the archive alone": ({ARCHIVE_KEY}, set()),
    "everything": (ALL_KEYS, _checks_of(ALL_KEYS)),
}


@pytest.fixture(scope="module")
def deployment(seeded_db, tmp_path_factory) -> Iterator[tuple[dg.DagsterInstance, Path, str]]:
    """A persistent instance, an export root and the organization, with the env a deployment
    sets for the code location's resources."""
    home = tmp_path_factory.mktemp("selections-home")
    root = tmp_path_factory.mktemp("selections-root")
    org = seeded_db.sample.orgs["Acme"]
    saved = {k: os.environ.get(k) for k in ("OCOMMS_DATABASE_URL", "OCOMMS_EXPORT_ROOT")}
    os.environ["OCOMMS_DATABASE_URL"] = seeded_db.url
    os.environ["OCOMMS_EXPORT_ROOT"] = str(root)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(organizations.name, [org])
        yield instance, root, org
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _launch(
    instance: dg.DagsterInstance,
    org: str,
    requested_by: str,
    assets: set[dg.AssetKey],
    checks: set[dg.AssetCheckKey],
) -> dg.ExecuteInProcessResult:
    """The run the UI launches for this selection: Dagster's asset job, subset to it."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=assets, asset_check_selection=checks
    )
    return job.execute_in_process(
        run_config=export_run_config(requested_by),
        instance=instance,
        partition_key=org,
        raise_on_error=False,
    )


def _paths_in_metadata(result: dg.ExecuteInProcessResult) -> list[Path]:
    paths = []
    for event in result.get_asset_materialization_events():
        for value in event.step_materialization_data.materialization.metadata.values():
            if isinstance(value, dg.PathMetadataValue):
                paths.append(Path(value.value))
    return paths


def _materialized(result: dg.ExecuteInProcessResult, org: str) -> set[dg.AssetKey]:
    events = result.get_asset_materialization_events()
    assert {e.partition for e in events} == {org}
    return {e.asset_key for e in events}


@pytest.mark.parametrize("selection", list(SELECTIONS))
def test_every_selection_publishes_a_whole_checked_bundle(deployment, seeded_db, selection):
    instance, root, org = deployment
    assets, checks = SELECTIONS[selection]
    before = set(bundle.finished_bundles(root, org))
    result = _launch(instance, org, seeded_db.sample.owners["Acme"][0], assets, checks)
    assert result.success
    [published] = set(bundle.finished_bundles(root, org)) - before
    assert verify_bundle(published) == []
    assert [p.name for p in (root / org).iterdir() if p.name.startswith(".")] == []
    paths = _paths_in_metadata(result)
    assert paths and all(p.exists() for p in paths), [p for p in paths if not p.exists()]
    assert {p for p in paths if p.suffix == ".json"} >= {
        published / f"{t.name}.json" for t in catalog.exported_tables()
    }
    expected = ALL_KEYS if ARCHIVE_KEY in assets else PUBLISHED_KEYS
    assert _materialized(result, org) == expected
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == checks
    assert all(e.passed for e in evaluations)


def test_the_ui_shows_every_asset_materialized_and_no_check_failed(deployment, seeded_db):
    instance, _, org = deployment
    owner = seeded_db.sample.owners["Acme"][0]
    for selection in ("everything", "the bundle alone", "one table"):
        assert _launch(instance, org, owner, *SELECTIONS[selection]).success
    with ui_of(instance) as shown:
        assets = {k: v for k, v in shown().items() if k.startswith("ocomms/")}
    assert len(assets) == 36
    for key, asset in assets.items():
        assert org in asset.materialized and not asset.failed and not asset.in_progress, key
        assert not {"FAILED", "EXECUTION_FAILED"} & set(asset.checks.values()), key
        # A check cannot run without the materialization it checks.
        assert set(asset.can_execute.values()) <= {"REQUIRES_MATERIALIZATION"}, key
    # The last run selected messages with its checks: they show passed for what it published.
    assert set(assets[MESSAGES.to_user_string()].checks.values()) == {"SUCCEEDED"}


def test_a_refused_selection_fails_at_the_gate_and_leaves_nothing(deployment, seeded_db):
    instance, root, org = deployment
    before = tree(root / org)
    result = _launch(instance, org, seeded_db.sample.guest, *SELECTIONS["all tables"])
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "organization_tables.authorize_requester"
    assert "guest" in failure.step_failure_data.user_failure_data.description
    assert result.get_asset_materialization_events() == []
    assert tree(root / org) == before


def test_dagster_asset_materialize_with_the_34_table_keys_publishes(deployment, seeded_db):
    """The reproduction of the report: the shell form of the asset page's Materialize."""
    instance, root, org = deployment
    before = set(bundle.finished_bundles(root, org))
    config = json.dumps(export_run_config(seeded_db.sample.owners["Acme"][0]))
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "asset",
            "materialize",
            "-m",
            "ocomms_pipeline.definitions",
            "--select",
            ",".join(k.to_user_string() for k in TABLE_KEYS),
            "--partition",
            org,
            "--config-json",
            config,
        ],
        env={**os.environ, "DAGSTER_HOME": instance.root_directory},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [published] = set(bundle.finished_bundles(root, org)) - before
    assert verify_bundle(published) == []
    assert [p.name for p in (root / org).iterdir() if p.name.startswith(".")] == []
    [run] = instance.get_runs(limit=1)
    paths = [
        Path(value.value)
        for event in instance.all_logs(run.run_id)
        if event.dagster_event and event.dagster_event.is_step_materialization
        for value in event.dagster_event.step_materialization_data.materialization.metadata.values()
        if isinstance(value, dg.PathMetadataValue)
    ]
    assert len(paths) >= 35 and all(p.exists() for p in paths)
