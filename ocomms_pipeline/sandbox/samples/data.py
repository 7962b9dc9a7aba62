"""A deterministic multi-tenant ocomms dataset for the demo and the test suite.

This module plays the ocomms application: it writes the rows ocomms would write, into every
table, for three organizations that share users. The data is shaped by what an exporter gets
wrong: users in several organizations (whose notifications, read states and bookmarks span
tenants), a former member whose messages outlive their membership, a guest, rows reachable
only through a channel, a conversation or a message, a link preview shared by two tenants,
an upload attached to no message, hostile text, and a recognisable canary in every secret so
a leak is a substring search away.

Everything is derived from names (ids by hashing, timestamps from a fixed clock), so two
seeds of an empty database give identical rows and tests can assert exact values. The
organization-scoped rows are built in `sample_orgs`; this module holds the public API, the
global per-user rows and the machinery shared by both.
"""

from __future__ import annotations

import graphlib
import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ocomms_pipeline.sandbox import ddl
from ocomms_pipeline.sandbox.samples import orgs as sample_orgs
from ocomms_pipeline.sandbox.samples.rows import (  # noqa: F401  (the dataset's vocabulary)
    BASE_TIME,
    CANARY,
    INTERNAL_MARK,
    NANOID_ALPHABET,
    NANOID_LENGTH,
    Rows,
    nanoid,
    stable_uuid,
)

# Display names exercise quoting and non-ASCII in user rows as well.
USER_NAMES: dict[str, str] = {
    "alice": "Alice Ångström",
    "bob": "Bob O'Brien",
    "carol": "Carol 陈",
    "dave": 'Dave "The Admin" Jones',
    "erin": "Erin Ní Bhriain",
    "frank": "Frank Former",
    "grace": "Grace Globex",
    "gus": "Gus Guest",
    "heidi": "Heidi Müller",
    "ivan": "Иван Петров",
    "judy": "Judy אלון",
    "mallory": "Mallory Outsider",
    "olivia": "Olivia Guest",
    "peggy": "Peggy Guest",
}


@dataclass(frozen=True)
class SampleData:
    """What `seed` wrote, so tests can assert without querying the database again.

    Ids are strings (uuids in their canonical text form). Organization-keyed mappings use the
    organization's name ("Acme", "Globex", "Initech").
    """

    orgs: dict[str, str]  # org name -> organizations.id
    main_org: str  # name of the demo organization
    users: dict[str, str]  # user handle ("alice") -> users.id
    all_users: list[str]
    owners: dict[str, list[str]]  # org name -> owner user ids
    members: dict[str, dict[str, str]]  # org name -> user id -> role, guests included
    guests: dict[str, str]  # org name -> the guest's user id
    admin: str  # the admin of the main org
    guest: str  # the guest of the main org
    former_member: str  # authored content in the main org, no members row
    globex_owner_in_acme: str  # owns Globex, plain member of Acme
    multi_org_users: list[str]
    outsider: str  # member of no organization, asks to join
    channels: dict[str, dict[str, str]]  # org name -> channel slug -> channels.id
    conversations: dict[str, list[str]]  # org name -> conversations.id
    message_ids: dict[str, list[str]]  # org name -> every messages.id of that org
    big_message_id: str
    edge_message_ids: dict[str, str]  # label ("emoji", "edited", "deleted", ...) -> id
    unattached_file_ids: dict[str, str]  # org name -> file_attachments.id with no message
    shared_link_preview_id: str  # referenced by messages of two organizations
    pending_invitation_ids: dict[str, str]  # org name -> id (an accept-link token: a secret)
    accepted_invitation_ids: dict[str, str]
    canaries: dict[str, list[str]]  # "table.column" -> secret values seeded
    internal_values: dict[str, list[str]]  # "table.column" -> internal values seeded
    row_counts: dict[str, int]  # table -> rows seeded, all tables
    org_row_counts: dict[str, dict[str, int]]  # org name -> table -> rows scoped to it


def seed(conn: psycopg.Connection) -> SampleData:
    """Insert the dataset into an empty ocomms database, in one transaction."""
    snapshot = ddl.load_snapshot()
    rows = Rows(snapshot)
    users = {handle: nanoid(f"users/{handle}") for handle in USER_NAMES}
    add_users(rows, users)
    add_secrets(rows, users)
    add_account_state(rows, users)
    world = sample_orgs.build(rows, users)
    with conn.transaction():
        insert_rows(conn, rows, snapshot)
    return summarize(world, rows, users)


def summarize(world: sample_orgs.World, rows: Rows, users: Mapping[str, str]) -> SampleData:
    """Turn the builders' bookkeeping into the plain, string-keyed SampleData."""
    orgs = world.orgs
    roles = {
        name: {org.uid(h): role for h, role in (*org.spec.members, (org.spec.guest, "member"))}
        for name, org in orgs.items()
    }
    main = orgs[sample_orgs.MAIN_ORG]
    memberships = Counter(user for members in roles.values() for user in members)
    return SampleData(
        orgs={name: org.id for name, org in orgs.items()},
        main_org=main.name,
        users=dict(users),
        all_users=list(users.values()),
        owners={n: [u for u, r in m.items() if r == "owner"] for n, m in roles.items()},
        members=roles,
        guests={name: org.uid(org.spec.guest) for name, org in orgs.items()},
        admin=next(u for u, r in roles[main.name].items() if r == "admin"),
        guest=main.uid(main.spec.guest),
        former_member=users[sample_orgs.FORMER_MEMBER],
        globex_owner_in_acme=users["grace"],
        multi_org_users=[user for user, count in memberships.items() if count > 1],
        outsider=users[sample_orgs.OUTSIDER],
        channels={n: {s: str(c) for s, c in o.channels.items()} for n, o in orgs.items()},
        conversations={n: [str(c) for c in o.conversations] for n, o in orgs.items()},
        message_ids={n: [str(m) for m in o.messages] for n, o in orgs.items()},
        big_message_id=str(world.edge_messages["big"]),
        edge_message_ids={label: str(m) for label, m in world.edge_messages.items()},
        unattached_file_ids={n: str(o.unattached_file) for n, o in orgs.items()},
        shared_link_preview_id=str(world.shared_preview),
        pending_invitation_ids={n: o.pending_invitation for n, o in orgs.items()},
        accepted_invitation_ids={n: o.accepted_invitation for n, o in orgs.items()},
        canaries={column: list(values) for column, values in rows.canaries.items()},
        internal_values={column: list(values) for column, values in rows.internal.items()},
        row_counts={table: len(table_rows) for table, table_rows in rows.tables.items()},
        org_row_counts={org: dict(counts) for org, counts in rows.org_counts.items()},
    )


def add_users(rows: Rows, users: Mapping[str, str]) -> None:
    """Global users, each with a profile as the ocomms sign-up flow creates one."""
    for handle, user_id in users.items():
        at = rows.now()
        rows.add(
            "users",
            id=user_id,
            name=USER_NAMES[handle],
            email=f"{handle}@example.com",
            email_verified=handle != "mallory",
            image=None if handle == "frank" else f"https://cdn.example.com/avatars/{handle}.png",
            created_at=at,
            updated_at=at,
            two_factor_enabled=handle in ("alice", "bob"),
        )
        rows.add(
            "profiles",
            user_id=user_id,
            display_name=USER_NAMES[handle].split()[0],
            avatar_path=f"avatars/{user_id}.webp",
            bio=None if handle == "gus" else f"Hi, I am {USER_NAMES[handle]} 👋",
            created_at=at,
            updated_at=at,
        )


def add_secrets(rows: Rows, users: Mapping[str, str]) -> None:
    """Credentials and tokens: every value is a canary an export must never contain."""
    for handle, user_id in users.items():
        _add_credential_account(rows, handle, user_id)
        rows.add(
            "sessions",
            id=nanoid(f"sessions/{handle}"),
            user_id=user_id,
            token=rows.secret("sessions.token", handle),
            expires_at=rows.now() + timedelta(days=7),
            ip_address="203.0.113.7" if handle != "bob" else "2001:db8::1",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) ocomms-test",
            created_at=rows.now(),
            updated_at=rows.now(),
        )
        at = rows.now()
        rows.add(
            "password_history",
            user_id=user_id,
            password_hash=rows.secret("password_history.password_hash", handle),
            created_at=at,
        )
    for handle in ("alice", "grace"):
        _add_oauth_account(rows, handle, users[handle])
    for handle in ("alice", "bob"):
        _add_two_factor(rows, handle, users[handle])
    for n, handle in enumerate(("alice", "alice", "bob", "grace")):
        _add_push_subscription(rows, f"{handle}-{n}", users[handle])
    _add_verifications(rows)


def _add_credential_account(rows: Rows, handle: str, user_id: str) -> None:
    at = rows.now()
    rows.add(
        "accounts",
        id=nanoid(f"accounts/credential/{handle}"),
        user_id=user_id,
        account_id=user_id,
        provider_id="credential",
        password=rows.secret("accounts.password", handle),
        created_at=at,
        updated_at=at,
    )


def _add_oauth_account(rows: Rows, handle: str, user_id: str) -> None:
    at = rows.now()
    rows.add(
        "accounts",
        id=nanoid(f"accounts/github/{handle}"),
        user_id=user_id,
        account_id=f"github-{handle}",
        provider_id="github",
        access_token=rows.secret("accounts.access_token", handle),
        refresh_token=rows.secret("accounts.refresh_token", handle),
        id_token=rows.secret("accounts.id_token", handle),
        access_token_expires_at=at + timedelta(hours=8),
        refresh_token_expires_at=at + timedelta(days=180),
        scope="read:user,user:email",
        created_at=at,
        updated_at=at,
    )


def _add_two_factor(rows: Rows, handle: str, user_id: str) -> None:
    rows.add(
        "two_factor",
        id=nanoid(f"two_factor/{handle}"),
        secret=rows.secret("two_factor.secret", handle),
        backup_codes=rows.secret("two_factor.backup_codes", handle),
        user_id=user_id,
    )


def _add_push_subscription(rows: Rows, key: str, user_id: str) -> None:
    rows.add(
        "push_subscriptions",
        user_id=user_id,
        endpoint=f"https://push.example.net/send/{key}",
        p256dh=rows.secret("push_subscriptions.p256dh", key),
        auth=rows.secret("push_subscriptions.auth", key),
        user_agent="Firefox/140.0",
        created_at=rows.now(),
    )


def _add_verifications(rows: Rows) -> None:
    """Verifications name users only by email: global, never part of an organization."""
    for purpose, handle in (("email-verification", "mallory"), ("reset-password", "dave")):
        at = rows.now()
        rows.add(
            "verifications",
            id=nanoid(f"verifications/{purpose}/{handle}"),
            identifier=f"{purpose}:{handle}@example.com",
            value=rows.secret("verifications.value", f"{purpose}-{handle}"),
            expires_at=at + timedelta(hours=1),
            created_at=at,
            updated_at=at,
        )


def add_account_state(rows: Rows, users: Mapping[str, str]) -> None:
    """Lockouts, storage quotas and statuses: per user, not per organization."""
    for handle, user_id in users.items():
        rows.add(
            "user_storage",
            user_id=user_id,
            used_bytes=5_000_000_123 if handle == "alice" else 1_024 * len(handle),
            quota_bytes=10_737_418_240 if handle == "alice" else 1_073_741_824,
            updated_at=rows.now(),
        )
    for handle, attempts, locked in (("dave", 3, False), ("mallory", 10, True)):
        at = rows.now()
        rows.add(
            "user_lockouts",
            user_id=users[handle],
            failed_attempts=attempts,
            last_failed_at=at,
            locked_until=at + timedelta(minutes=30) if locked else None,
            lockout_count=1 if locked else 0,
            updated_at=at,
        )
    for handle, text in (
        ("alice", "🌴 Vacation — back Monday"),
        ("bob", "In a meeting"),
        ("grace", None),
    ):
        at = rows.now()
        rows.add(
            "user_statuses",
            user_id=users[handle],
            emoji="🌴" if text else None,
            text=text,
            expires_at=at + timedelta(days=3) if handle == "alice" else None,
            dnd_enabled=handle == "bob",
            job_id=rows.job_id("user_statuses.job_id", handle) if handle == "alice" else None,
            created_at=at,
            updated_at=at,
        )


def insert_order(snapshot: dict[str, Any]) -> list[str]:
    """Tables ordered so that every referenced table comes first (self-references aside)."""
    graph = {
        t["name"]: {fk["tableTo"] for fk in t["foreignKeys"].values()} - {t["name"]}
        for t in snapshot["tables"].values()
    }
    return list(graphlib.TopologicalSorter(graph).static_order())


def insert_rows(conn: psycopg.Connection, rows: Rows, snapshot: dict[str, Any]) -> None:
    """Insert every table's rows in FK order; rows with the same columns go in one batch.

    Batches follow creation order, so a thread's parent message precedes its replies.
    """
    for table in insert_order(snapshot):
        types = rows.columns[table]
        for columns, batch in itertools.groupby(rows.tables.get(table, []), key=tuple):
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            )
            params = [[_adapt(row[c], types[c]) for c in columns] for row in batch]
            with conn.cursor() as cur:
                cur.executemany(query, params)


def _adapt(value: Any, column_type: str) -> Any:
    """Python values as the column wants them: naive times are UTC, dicts are jsonb."""
    if column_type == "timestamp with time zone" and isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if column_type in ("jsonb", "json") and value is not None:
        return Jsonb(value)
    return value
