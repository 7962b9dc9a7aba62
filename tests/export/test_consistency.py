"""A bundle is exactly one snapshot, however hard ocomms writes while it is taken.

Writers insert, edit and delete messages, reactions, members and channels of the exported
organization while the export runs (a held lock pauses the export midway so the writes are
certain to overlap it). Each writer transaction records its id; the manifest records the
export's snapshot; ``pg_visible_in_snapshot`` then says exactly which writes the bundle must
and must not contain.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import psycopg
import psycopg.errors
import pytest

from ..support.exports import export, read_manifest, read_table
from ..support.locks import table_locked, wait_for_export_to_block


@dataclass
class Log:
    """Effects of committed writer transactions: (xid, id) per kind of change."""

    inserted: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    deleted: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    edits: list[tuple[int, str, str]] = field(default_factory=list)  # xid, message id, content
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, effects: list[tuple]) -> None:
        """Record a transaction's effects once it has committed, never before."""
        with self.lock:
            for kind, xid, table_or_message, values in effects:
                if kind == "edit":
                    self.edits.append((xid, table_or_message, values))
                else:
                    target = self.inserted if kind == "insert" else self.deleted
                    target.setdefault(table_or_message, []).extend((xid, str(i)) for i in values)


def grow(url: str, channel: str, author: str, n: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO messages (content, author_id, channel_id, sequence) "
            "SELECT 'bulk ' || g, %s, %s, 100000 + g FROM generate_series(1, %s) g",
            (author, channel, n),
        )
        conn.execute(
            "INSERT INTO reactions (message_id, user_id, emoji) "
            "SELECT id, %s, '👍' FROM messages WHERE channel_id = %s AND sequence > 100000",
            (author, channel),
        )


class Writer(threading.Thread):
    """One ocomms-like client mutating the organization until told to stop."""

    def __init__(self, url: str, org: str, author: str, log: Log, seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.org, self.author, self.log = url, org, author, log
        self.random = random.Random(seed)
        self.sequence = 1_000_000 * (seed + 1)  # disjoint per writer: no unique clashes
        self.stop = threading.Event()
        self.commits = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.url) as conn:
                while not self.stop.is_set():
                    effects: list[tuple] = []
                    try:
                        with conn.transaction():
                            xid = conn.execute("SELECT pg_current_xact_id()::text::bigint")
                            self.step(conn, xid.fetchone()[0], effects)
                    except (psycopg.errors.ForeignKeyViolation, psycopg.errors.DeadlockDetected):
                        continue  # lost a race with the other writer: rolled back, not logged
                    self.log.apply(effects)
                    self.commits += 1
        except BaseException as error:  # surfaced by the test
            self.error = error

    def pick(self, conn: psycopg.Connection, query: str) -> str | None:
        row = conn.execute(query + " ORDER BY random() LIMIT 1", {"org": self.org}).fetchone()
        return str(row[0]) if row else None

    def step(self, conn: psycopg.Connection, xid: int, effects: list[tuple]) -> None:
        action = self.random.choice(["message", "message", "reaction", "edit", "delete", "member"])
        org_messages = (
            "SELECT m.id FROM messages m JOIN channels c ON c.id = m.channel_id "
            "WHERE c.organization_id = %(org)s AND m.parent_id IS NULL"
        )
        if action == "message":
            channel = self.pick(conn, "SELECT id FROM channels WHERE organization_id = %(org)s")
            self.sequence += 1
            rows = conn.execute(
                "INSERT INTO messages (content, author_id, channel_id, sequence) "
                "VALUES ('live', %s, %s, %s) RETURNING id",
                (self.author, channel, self.sequence),
            ).fetchall()
            effects.append(("insert", xid, "messages", [r[0] for r in rows]))
        elif action == "reaction" and (message := self.pick(conn, org_messages)):
            rows = conn.execute(
                "INSERT INTO reactions (message_id, user_id, emoji) VALUES (%s, %s, %s) "
                "RETURNING id",
                (message, self.author, f"🔥{xid}"),
            ).fetchall()
            effects.append(("insert", xid, "reactions", [r[0] for r in rows]))
        elif action == "edit" and (message := self.pick(conn, org_messages)):
            content = f"edited by {xid}"
            conn.execute("UPDATE messages SET content = %s WHERE id = %s", (content, message))
            effects.append(("edit", xid, message, content))
        elif action == "delete" and (message := self.pick(conn, org_messages)):
            self.delete_message(conn, xid, message, effects)
        elif action == "member":
            self.add_member(conn, xid, effects)

    def delete_message(
        self, conn: psycopg.Connection, xid: int, message: str, effects: list[tuple]
    ) -> None:
        """Delete a thread root explicitly with what cascades from it, to know every id gone.

        The thread is locked first so no reaction can slip in and vanish by cascade unlogged.
        """
        tree = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM messages WHERE id = %s OR parent_id = %s FOR UPDATE",
                (message, message),
            )
        ]
        gone = conn.execute(
            "DELETE FROM reactions WHERE message_id = ANY(%s) RETURNING id", (tree,)
        ).fetchall()
        effects.append(("delete", xid, "reactions", [r[0] for r in gone]))
        for table in (
            "thread_participants",
            "pinned_messages",
            "message_link_previews",
            "reminders",
            "bookmarks",
            "file_attachments",
        ):
            column = "thread_id" if table == "thread_participants" else "message_id"
            conn.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (tree,))
        conn.execute(
            "UPDATE notifications SET message_id = NULL WHERE message_id = ANY(%s)", (tree,)
        )
        conn.execute(
            "UPDATE scheduled_messages SET message_id = NULL WHERE message_id = ANY(%s)", (tree,)
        )
        deleted = conn.execute(
            "DELETE FROM messages WHERE id = ANY(%s) RETURNING id", (tree,)
        ).fetchall()
        effects.append(("delete", xid, "messages", [r[0] for r in deleted]))

    def add_member(self, conn: psycopg.Connection, xid: int, effects: list[tuple]) -> None:
        user = f"u{xid:023d}"
        conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, 'Live', %s)", (user, f"{user}@x.test")
        )
        member = conn.execute(
            "INSERT INTO members (id, user_id, organization_id, role) "
            "VALUES (%s, %s, %s, 'member') RETURNING id",
            (f"m{xid:023d}", user, self.org),
        ).fetchall()
        effects.append(("insert", xid, "members", [r[0] for r in member]))


def visible(url: str, snapshot: str, xids: set[int]) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT x FROM unnest(%s::bigint[]) x "
            "WHERE pg_visible_in_snapshot(x::text::xid8, %s::pg_snapshot)",
            (sorted(xids), snapshot),
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bundle_is_exactly_the_snapshot_under_concurrent_writes(make_database, tmp_path, seed):
    db = make_database()
    sample = db.sample
    org, owner = sample.orgs["Acme"], sample.owners["Acme"][0]
    grow(db.url, sample.channels["Acme"]["general"], owner, 3000)
    with psycopg.connect(db.url) as conn:
        before = {
            t: {str(r[0]) for r in conn.execute(q, {"org": org})}
            for t, q in {
                "messages": "SELECT m.id FROM messages m "
                "LEFT JOIN channels c ON c.id = m.channel_id "
                "LEFT JOIN conversations v ON v.id = m.conversation_id "
                "WHERE c.organization_id = %(org)s OR v.organization_id = %(org)s",
                "members": "SELECT id FROM members WHERE organization_id = %(org)s",
            }.items()
        }
    log = Log()
    writers = [Writer(db.url, org, owner, log, seed * 10 + i) for i in range(2)]
    result: dict = {}
    exporter = threading.Thread(
        target=lambda: result.update(outcome=export(db.url, org, owner, tmp_path)), daemon=True
    )
    with table_locked(db.url):
        for w in writers:
            w.start()
        time.sleep(0.3)  # writes committed before the snapshot must be in the bundle
        exporter.start()
        wait_for_export_to_block(db.url)
        time.sleep(0.5)  # ...and writes after it must not
    exporter.join(120)
    for w in writers:
        w.stop.set()
        w.join(30)
        assert w.error is None, w.error
    assert sum(w.commits for w in writers) > 20
    outcome = result["outcome"]
    assert outcome.success, outcome.reason
    bundle = outcome.bundle_path
    snapshot = read_manifest(bundle)["snapshot"]["id"]
    all_xids = {x for kind in (log.inserted, log.deleted) for v in kind.values() for x, _ in v}
    all_xids |= {x for x, _, _ in log.edits}
    seen = visible(db.url, snapshot, all_xids)
    assert 0 < len(seen) < len(all_xids), "writes must fall on both sides of the snapshot"

    def expected(table: str, start: set[str]) -> set[str]:
        ids = set(start)
        events = [(x, i, True) for x, i in log.inserted.get(table, [])]
        events += [(x, i, False) for x, i in log.deleted.get(table, [])]
        for xid, row_id, insert in sorted(events):
            if xid in seen:
                (ids.add if insert else ids.discard)(row_id)
        return ids

    exported = {t: {r["id"] for r in read_table(bundle, t)} for t in ("messages", "members")}
    assert exported["messages"] == expected("messages", before["messages"])
    assert exported["members"] == expected("members", before["members"])
    reactions = read_table(bundle, "reactions")
    inserted_reactions = {i for x, i in log.inserted.get("reactions", []) if x in seen}
    deleted_reactions = {i for x, i in log.deleted.get("reactions", []) if x in seen}
    reaction_ids = {r["id"] for r in reactions}
    assert inserted_reactions - deleted_reactions <= reaction_ids
    assert not (deleted_reactions & reaction_ids)
    contents = {r["id"]: r["content"] for r in read_table(bundle, "messages")}
    latest: dict[str, str] = {}
    for xid, message, content in sorted(log.edits):
        if xid in seen:
            latest[message] = content
    for message, content in latest.items():
        if message in contents:
            assert contents[message] == content
    unseen_edits = {c for x, _, c in log.edits if x not in seen}
    assert not unseen_edits & set(contents.values())
    # referential closure inside the bundle
    message_ids = set(contents)
    channels = {r["id"] for r in read_table(bundle, "channels")}
    conversations = {r["id"] for r in read_table(bundle, "conversations")}
    for row in read_table(bundle, "messages"):
        assert row["channel_id"] in channels or row["conversation_id"] in conversations
        assert row["parent_id"] is None or row["parent_id"] in message_ids
    assert all(r["message_id"] in message_ids for r in reactions)
    users = {u["id"] for u in read_table(bundle, "users")}
    assert all(m["user_id"] in users for m in read_table(bundle, "members"))
