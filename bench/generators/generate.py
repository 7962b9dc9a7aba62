"""Fill an ocomms database with one large, realistic organization (and a neighbour), fast.

The schema is ocomms's own (from its drizzle snapshot), created the way a restore does it:
tables first, rows streamed with ``COPY ... FROM STDIN``, then indexes and foreign keys, so
loading millions of rows costs no per-row trigger and the constraints still prove the data
is consistent when they are added. A second, smaller organization shares half of its users
with the large one, so the export's tenant filters do real work. One seed, one database.

    .venv/bin/python -m bench.generators.generate 1M --name ocomms_bench_1m
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import psycopg

from bench.generators import messages, organization, people, workspace
from bench.generators.messages import People, Rows
from ocomms_pipeline.postgres.quoting import quote
from ocomms_pipeline.sandbox import ddl, servers

_BATCH = 2_000
NEIGHBOUR_SHARE = 10  # the neighbour organization has a tenth of the messages


@dataclass(frozen=True)
class Generated:
    url: str  # libpq URL of the generated database
    organization_id: str  # the large organization, the one to export
    owner_id: str  # a user who owns it (a valid requester)
    rows: dict[str, int]  # rows written per table, both organizations
    seconds: float


def parse_size(text: str) -> int:
    """``100000``, ``100k``, ``1M``, ``2.5m``: a message count."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale > 1 else text
    return int(float(number.replace("_", "")) * scale)


def _split_ddl() -> tuple[list[str], list[str]]:
    """(statements creating types and tables, indexes and foreign keys added after loading)."""
    statements = ddl.schema_statements(ddl.load_snapshot())
    later = [s for s in statements if s.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))]
    later += [s for s in statements if s.startswith("ALTER TABLE") and "FOREIGN KEY" in s]
    return [s for s in statements if s not in set(later)], later


def _copy(
    conn: psycopg.Connection, table: str, columns: Iterable[str], lines: Iterable[str]
) -> int:
    names = ", ".join(quote(c) for c in columns)
    count, batch = 0, []
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
    ):
        for text in lines:
            batch.append(text)
            if len(batch) >= _BATCH:
                copy.write("".join(batch))
                count, batch = count + len(batch), []
        copy.write("".join(batch))
    return count + len(batch)


def _organization_rows(
    rng: np.random.Generator, org: organization.Organization, user_ids: list[str]
) -> list[Rows]:
    who = People(org, user_ids)
    return [
        workspace.organization(org),
        workspace.members(rng, org, who),
        *workspace.channels(rng, org, who),
        *workspace.memberships(rng, org, who),
        messages.messages(rng, org, who),
        workspace.threads(rng, org, who),
        messages.reactions(rng, org, who),
        messages.notifications(rng, org, who),
        messages.attachments(rng, org, who),
        *workspace.saved(rng, org, who),
        *people.member_rows(rng, org, who),
        *people.extras(rng, org, who),
    ]


def _members(messages_count: int) -> int:
    return int(np.clip(messages_count // 2_000, 30, 2_000))


def populate(conn: psycopg.Connection, count: int, seed: int) -> tuple[str, str, dict[str, int]]:
    """Write both organizations into an empty schema; (organization id, owner id, rows)."""
    rng = np.random.default_rng(seed)
    big_members = _members(count)
    small_count = max(200, count // NEIGHBOUR_SHARE)
    small_members = _members(small_count)
    shared = small_members // 2
    user_ids, user_tables = people.users(rng, big_members + small_members - shared)
    big = organization.build(rng, "Acme", np.arange(big_members), count)
    # The neighbour's owner is a user of its own; half of its members also belong to Acme.
    neighbour_users = np.concatenate(
        [np.arange(big_members, big_members + small_members - shared), np.arange(1, shared + 1)]
    )
    small = organization.build(rng, "Globex", neighbour_users, small_count)
    written: dict[str, int] = {}
    for table, columns, lines in user_tables + _organization_rows(rng, big, user_ids):
        written[table] = written.get(table, 0) + _copy(conn, table, columns, lines)
    for table, columns, lines in _organization_rows(rng, small, user_ids):
        written[table] = written.get(table, 0) + _copy(conn, table, columns, lines)
    return big.id, user_ids[0], written


def build_database(admin_url: str, name: str, messages: int, seed: int = 1) -> Generated:
    """Create (or replace) database ``name`` holding the generated organizations."""
    started = time.perf_counter()
    url = servers.create_database(admin_url, name)
    first, later = _split_ddl()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in first:
            conn.execute(statement)
        with conn.transaction():
            org_id, owner_id, rows = populate(conn, messages, seed)
        for statement in later:
            conn.execute(statement)
        conn.execute("VACUUM (ANALYZE)")
    return Generated(url, org_id, owner_id, rows, time.perf_counter() - started)


def drop_database(admin_url: str, name: str) -> None:
    servers.drop_database(admin_url, name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", type=parse_size, help="messages of the large organization")
    parser.add_argument("--name", default=None, help="database name (default ocomms_bench_<n>)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=None, help="server URL (default: as the tests)")
    args = parser.parse_args(argv)
    admin_url = args.admin_url or servers.admin_server_url()
    made = build_database(
        admin_url, args.name or f"ocomms_bench_{args.messages}", args.messages, args.seed
    )
    print(f"{made.url}\norganization {made.organization_id} owner {made.owner_id}")
    for table, count in sorted(made.rows.items()):
        print(f"  {table:32} {count:>12,}")
    print(f"{sum(made.rows.values()):,} rows in {made.seconds:.1f} s")


if __name__ == "__main__":
    main()
