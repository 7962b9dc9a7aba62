"""The shape of a large benchmark organization: who talks where, threads, and the ids of it all.

Sizes follow the message count the way a real workspace grows: about one member per 2,000
messages, one channel per 10,000, one direct conversation per 5,000; channel traffic is
skewed (a few busy channels), a quarter of messages are thread replies to a recent message
of the same channel or conversation. Only numbers live here (numpy arrays and id pools);
``rows`` turns them into table rows. Every draw comes from one seeded generator, in a fixed
order, so a seed always gives the same organization.
"""

from __future__ import annotations

import string
from collections import deque
from dataclasses import dataclass, field

import numpy as np

_ALPHABET = np.array(list(string.ascii_letters + string.digits + "_-"))
BASE_TIME = np.datetime64("2025-01-06T08:30:00.000000")
SPAN_US = 300 * 24 * 3600 * 1_000_000  # messages spread over 300 days
THREAD_SHARE = 0.25
RECENT_PARENTS = 20


def text_ids(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    """Nanoid-style text ids (better-auth's users, members, organizations)."""
    letters = _ALPHABET[rng.integers(0, len(_ALPHABET), size=(n, 24 - len(prefix)))]
    return [prefix + "".join(row) for row in letters]


class UuidPool:
    """``n`` random uuids as one hex string, formatted on demand to keep millions cheap."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.hex = rng.bytes(16 * n).hex()
        self.n = n

    def __getitem__(self, i: int) -> str:
        h = self.hex[32 * i : 32 * i + 32]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def __len__(self) -> int:
        return self.n


def timestamps(base: np.datetime64, offsets_us: np.ndarray) -> list[str]:
    """Timestamps with microseconds, as PostgreSQL reads them."""
    moments = base + offsets_us.astype("timedelta64[us]")
    return list(np.datetime_as_string(moments, unit="us"))


@dataclass
class Container:
    """A channel or a conversation: where messages are posted, and who can post there."""

    kind: str  # "channel" | "conversation"
    index: int  # into the organization's channel or conversation pool
    members: np.ndarray  # member indices
    last_sequence: int = 0


@dataclass
class Organization:
    """Everything numeric about one organization; rows are derived from it."""

    name: str
    id: str
    member_users: np.ndarray  # global user index of each member (member 0 owns it)
    channels: UuidPool
    conversations: UuidPool
    containers: list[Container]
    messages: int
    message_ids: UuidPool
    container_of: np.ndarray  # per message: container index
    author_of: np.ndarray  # per message: member index
    sequence_of: np.ndarray  # per message: sequence within its container
    parent_of: np.ndarray  # per message: parent message index or -1
    reply_count: np.ndarray
    created_us: np.ndarray  # per message: microseconds after BASE_TIME
    thread_followers: list[tuple[int, int]] = field(default_factory=list)  # (parent, member)


def _containers(rng: np.random.Generator, members: int, channels: int, dms: int) -> list:
    found = []
    for c in range(channels):
        size = min(members, max(3, int(members * rng.uniform(0.05, 0.6))))
        found.append(Container("channel", c, np.sort(rng.choice(members, size, replace=False))))
    found[0].members = np.arange(members)  # #general has everyone
    for d in range(dms):
        size = 2 if rng.random() < 0.8 else int(rng.integers(3, 7))
        picked = rng.choice(members, min(size, members), replace=False)
        found.append(Container("conversation", d, np.sort(picked)))
    return found


def _weights(rng: np.random.Generator, channels: int, dms: int) -> np.ndarray:
    """Skewed traffic: 80% of messages in channels (a few busy ones), 20% in conversations."""
    channel = 1.0 / np.arange(1, channels + 1) ** 1.1
    dm = rng.uniform(0.2, 1.0, dms)
    return np.concatenate([0.8 * channel / channel.sum(), 0.2 * dm / dm.sum()])


def build(rng: np.random.Generator, name: str, users: np.ndarray, messages: int) -> Organization:
    """Draw an organization of ``messages`` messages among the given global users."""
    members = len(users)
    channels = int(np.clip(messages // 10_000, 5, 400))
    dms = int(np.clip(messages // 5_000, 5, 1_000))
    org_id = text_ids(rng, 1, "org")[0]
    containers = _containers(rng, members, channels, dms)
    container_of = rng.choice(len(containers), messages, p=_weights(rng, channels, dms))
    gaps = rng.exponential(SPAN_US / max(messages, 1), messages)
    org = Organization(
        name=name,
        id=org_id,
        member_users=users,
        channels=UuidPool(rng, channels),
        conversations=UuidPool(rng, dms),
        containers=containers,
        messages=messages,
        message_ids=UuidPool(rng, messages),
        container_of=container_of,
        author_of=np.zeros(messages, np.int64),
        sequence_of=np.zeros(messages, np.int64),
        parent_of=np.full(messages, -1, np.int64),
        reply_count=np.zeros(messages, np.int64),
        created_us=np.cumsum(gaps).astype(np.int64),
    )
    _thread(rng, org)
    return org


def _thread(rng: np.random.Generator, org: Organization) -> None:
    """Authors, sequences and thread replies, in posting order (one pass, in Python)."""
    replying = rng.random(org.messages) < THREAD_SHARE
    draws = rng.integers(0, 1 << 30, size=(org.messages, 2))
    recent: list[deque[int]] = [deque(maxlen=RECENT_PARENTS) for _ in org.containers]
    followers: set[tuple[int, int]] = set()
    for i, c in enumerate(org.container_of.tolist()):
        container = org.containers[c]
        author = int(container.members[draws[i, 0] % len(container.members)])
        container.last_sequence += 1
        org.author_of[i] = author
        org.sequence_of[i] = container.last_sequence
        parents = recent[c]
        if replying[i] and parents:
            parent = parents[draws[i, 1] % len(parents)]
            org.parent_of[i] = parent
            org.reply_count[parent] += 1
            followers.add((parent, int(org.author_of[parent])))
            followers.add((parent, author))
        else:
            parents.append(i)
    org.thread_followers = sorted(followers)
