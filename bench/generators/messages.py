"""Rows of the message-sized tables: messages and what hangs off them.

The ratios are those of a busy workspace: reactions ~0.3 per message, notifications ~0.2,
attachments ~0.03, link previews ~0.01, bookmarks, pins, reminders and scheduled messages a
few per thousand, plus a handful of 100 KB messages. Rows are produced in blocks so that
memory stays bounded however many messages are asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bench.generators.organization import BASE_TIME, Organization, UuidPool, timestamps
from bench.generators.text import Vocabulary, big_message, copy_text

BLOCK = 50_000
NULL = "\\N"
Rows = tuple[str, tuple[str, ...], Iterator[str]]


def line(*values: object) -> str:
    """One COPY text line; values are already escaped strings, numbers or None."""
    return "\t".join(NULL if v is None else str(v) for v in values) + "\n"


class People:
    """Member index -> user id, for rows that name users."""

    def __init__(self, org: Organization, user_ids: list[str]) -> None:
        self.ids = [user_ids[u] for u in org.member_users.tolist()]

    def __getitem__(self, member: int) -> str:
        return self.ids[member]


def _place(org: Organization, message: int) -> tuple[str | None, str | None]:
    """(channel_id, conversation_id) of a message."""
    container = org.containers[org.container_of[message]]
    if container.kind == "channel":
        return org.channels[container.index], None
    return None, org.conversations[container.index]


def messages(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    columns = (
        "id", "content", "author_id", "channel_id", "conversation_id", "parent_id",
        "reply_count", "sequence", "deleted_at", "created_at", "updated_at",
    )  # fmt: skip
    big = set(rng.choice(org.messages, min(org.messages, 3 + org.messages // 500_000)).tolist())
    return "messages", columns, _message_lines(rng, org, people, big)


def _message_lines(
    rng: np.random.Generator, org: Organization, people: People, big: set[int]
) -> Iterator[str]:
    vocabulary = Vocabulary()
    for start in range(0, org.messages, BLOCK):
        stop = min(org.messages, start + BLOCK)
        drawn = np.clip(rng.lognormal(2.6, 0.8, stop - start).astype(np.int64) + 1, 1, 400)
        words = rng.choice(vocabulary.size, int(drawn.sum()), p=vocabulary.weights).tolist()
        lengths = drawn.tolist()
        newlines = rng.integers(-20, 40, stop - start)
        edited = rng.random(stop - start) < 0.05
        deleted = rng.random(stop - start) < 0.01
        created = timestamps(BASE_TIME, org.created_us[start:stop])
        later = timestamps(BASE_TIME, org.created_us[start:stop] + 300_000_000)
        offset = 0
        for k, i in enumerate(range(start, stop)):
            numbers = words[offset : offset + lengths[k]]
            offset += lengths[k]
            content = big_message() if i in big else vocabulary.message(numbers, int(newlines[k]))
            channel, conversation = _place(org, i)
            parent = org.parent_of[i]
            yield line(
                org.message_ids[i], content, people[org.author_of[i]], channel, conversation,
                org.message_ids[parent] if parent >= 0 else None, org.reply_count[i],
                org.sequence_of[i], later[k] if deleted[k] else None, created[k],
                later[k] if edited[k] else created[k],
            )  # fmt: skip


def _picks(rng: np.random.Generator, org: Organization, per_message: float) -> np.ndarray:
    return np.sort(rng.integers(0, org.messages, int(org.messages * per_message)))


def _member_of(org: Organization, message: int, draw: int) -> int:
    members = org.containers[org.container_of[message]].members
    return int(members[draw % len(members)])


def reactions(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    picked = _picks(rng, org, 0.3)
    draws = rng.integers(0, 1 << 30, (len(picked), 2))
    emoji = Vocabulary().emoji
    keys = {
        (int(m), _member_of(org, m, d[0]), int(d[1] % len(emoji)))
        for m, d in zip(picked, draws, strict=True)
    }
    ids = UuidPool(rng, len(keys))

    def lines() -> Iterator[str]:
        for n, (m, member, e) in enumerate(sorted(keys)):
            at = timestamps(BASE_TIME, org.created_us[m : m + 1] + 60_000_000 + n % 997)[0]
            yield line(ids[n], org.message_ids[m], people[member], emoji[e], at)

    return "reactions", ("id", "message_id", "user_id", "emoji", "created_at"), lines()


def notifications(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    picked = _picks(rng, org, 0.2)
    draws = rng.integers(0, 1 << 30, len(picked))
    read = rng.random(len(picked)) < 0.6
    orphan = rng.random(len(picked)) < 0.05  # only the message says where it belongs
    ids = UuidPool(rng, len(picked))
    columns = (
        "id", "user_id", "type", "message_id", "channel_id", "conversation_id", "actor_id",
        "content", "read_at", "created_at",
    )  # fmt: skip

    def lines() -> Iterator[str]:
        for n, m in enumerate(picked.tolist()):
            author = int(org.author_of[m])
            channel, conversation = (None, None) if orphan[n] else _place(org, m)
            kind = "thread_reply" if org.parent_of[m] >= 0 else "mention" if channel else "dm"
            text = copy_text(f"Ünïcode {kind} from member {author} — «{n % 97}» 🎉")
            at = timestamps(BASE_TIME, org.created_us[m : m + 1] + np.array([0, 3_600_000_000]))
            yield line(
                ids[n], people[_member_of(org, m, int(draws[n]))], kind, org.message_ids[m],
                channel, conversation, people[author], text, at[1] if read[n] else None, at[0],
            )  # fmt: skip

    return "notifications", columns, lines()


def attachments(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    picked = _picks(rng, org, 0.03)
    sizes = rng.integers(1_000, 20_000_000, len(picked))
    ids = UuidPool(rng, len(picked))
    kinds = [
        ("image/png", "png", True),
        ("application/pdf", "pdf", False),
        ("text/csv", "csv", False),
    ]
    columns = (
        "id", "message_id", "filename", "original_name", "mime_type", "size_bytes", "path",
        "is_image", "uploaded_by", "created_at",
    )  # fmt: skip

    def lines() -> Iterator[str]:
        for n, m in enumerate(picked.tolist()):
            mime, ext, image = kinds[n % 3]
            stored = f"{ids[n]}.{ext}"
            at = timestamps(BASE_TIME, org.created_us[m : m + 1])[0]
            yield line(
                ids[n], org.message_ids[m], stored, f"Rapport_{n}_résumé_日本.{ext}", mime,
                sizes[n], f"uploads/{org.id}/{stored}", "t" if image else "f",
                people[int(org.author_of[m])], at,
            )  # fmt: skip

    return "file_attachments", columns, lines()
