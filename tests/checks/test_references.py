"""The reference check finds the same dangling ids whether they were held in memory or spilled.

A small export's ids stay in memory and are resolved as one bucket; a table past
``FLUSH_IDS`` ids, or any table once the export holds its limit, spills to bucket files as
before. Each case is compared with the same ids all spilled to disk, the way ``verify``
resolves them.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ocomms_pipeline.checks import references
from ocomms_pipeline.checks.references import HeldIds, ReferenceSpill

# (table, kind, target, source, ids): what a scan of each table would add.
Feed = list[tuple[str, str, str, str, list[str]]]


def _small() -> Feed:
    users = [f"user-{n:03}" for n in range(50)]
    return [
        ("users", "key", "users", "users.id", users),
        ("messages", "key", "messages", "messages.id", ["m1", "m2", "m3"]),
        ("messages", "ref", "users", "messages.author_id", ["user-001", "ghost-b", "ghost-a"]),
        ("reactions", "ref", "messages", "reactions.message_id", ["m1", "m9"]),
        ("reactions", "ref", "users", "reactions.user_id", ["user-049", "ghost-a"]),
    ]


def _large() -> Feed:
    """A messages table past FLUSH_IDS, and small tables around it."""
    messages = [f"message-{n:06}" for n in range(references.FLUSH_IDS + 5000)]
    return [
        *_small()[:1],
        ("messages", "key", "messages", "messages.id", messages),
        ("messages", "ref", "users", "messages.author_id", ["user-002", "ghost-c"]),
        ("reactions", "ref", "messages", "reactions.message_id", [*messages[::7], "message-x"]),
    ]


def _spill(feed: Feed, directory: Path, held: HeldIds | None) -> None:
    spills: dict[str, ReferenceSpill] = {}
    for table, kind, target, source, ids in feed:
        spill = spills.setdefault(table, ReferenceSpill(directory, table, held=held))
        spill.add(kind, target, source, pa.array(ids))
    for spill in spills.values():
        spill.close()


def _resolved(feed: Feed, directory: Path, held: HeldIds | None) -> list[tuple]:
    _spill(feed, directory, held)
    found = references.resolve(directory, held=held)
    return [(u.source, u.target, u.count, u.examples) for u in found]


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/*.arrows")) if directory.exists() else []


def test_a_small_export_holds_its_ids_in_memory_and_finds_what_the_disk_finds(tmp_path):
    held = HeldIds()
    in_memory = _resolved(_small(), tmp_path / "held", held)
    assert _files(tmp_path / "held") == []  # not even a directory per table
    assert held.ids > 0
    assert in_memory == [
        ("messages.author_id", "users", 2, ["ghost-a", "ghost-b"]),
        ("reactions.message_id", "messages", 1, ["m9"]),
        ("reactions.user_id", "users", 1, ["ghost-a"]),
    ]
    assert in_memory == _resolved(_small(), tmp_path / "disk", None)
    assert _files(tmp_path / "disk")


def test_a_table_past_the_flush_size_spills_and_joins_what_is_held(tmp_path):
    held = HeldIds()
    mixed = _resolved(_large(), tmp_path / "mixed", held)
    spilled = {p.parent.name for p in _files(tmp_path / "mixed")}
    assert spilled == {"messages"}  # the large table on disk, the small ones held
    assert held.ids > 0
    assert mixed == [
        ("messages.author_id", "users", 1, ["ghost-c"]),
        ("reactions.message_id", "messages", 1, ["message-x"]),
    ]
    assert mixed == _resolved(_large(), tmp_path / "disk", None)


def test_once_the_export_holds_its_limit_the_other_tables_spill(tmp_path):
    held = HeldIds(limit=52)  # the users' keys fit, the rest does not
    limited = _resolved(_small(), tmp_path / "limited", held)
    assert held.ids == 50
    assert {p.parent.name for p in _files(tmp_path / "limited")} == {"messages", "reactions"}
    assert limited == _resolved(_small(), tmp_path / "disk", None)


def test_an_abandoned_spill_holds_and_writes_nothing(tmp_path):
    held = HeldIds()
    spill = ReferenceSpill(tmp_path, "messages", held=held)
    spill.add("key", "messages", "messages.id", pa.array(["m1"]))
    spill.abandon()
    spill.close()
    assert held.ids == 0 and _files(tmp_path) == []
