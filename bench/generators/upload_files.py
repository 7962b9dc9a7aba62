"""Upload files for the benchmarks: more attachments on an organization, and their files.

Kept apart from ``bench.uploads`` so that ``bench.support.cli_files`` can make them without loading
the export into the benchmark's own process (whose memory a child's peak would inherit).
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import psycopg


def add_attachments(conn: psycopg.Connection, organization: str, count: int, mean_kb: int) -> None:
    """``count`` more attachments on one of the organization's messages, sizes log-normal."""
    message, uploader = conn.execute(
        "SELECT m.id, m.author_id FROM messages m JOIN channels c ON c.id = m.channel_id "
        "WHERE c.organization_id = %s ORDER BY m.id LIMIT 1",
        [organization],
    ).fetchone()
    chooser = random.Random(15)
    sizes = [
        max(1, int(chooser.lognormvariate(0, 1) * mean_kb * 1024 / 1.65)) for _ in range(count)
    ]
    with conn.cursor().copy(
        "COPY file_attachments (id, message_id, filename, original_name, mime_type, "
        "size_bytes, path, is_image, uploaded_by, created_at) FROM STDIN"
    ) as copy:
        for n, size in enumerate(sizes):
            name = f"{uuid.UUID(int=chooser.getrandbits(128))}-file{n}.bin"
            copy.write_row(
                (
                    uuid.uuid4(),
                    message,
                    name,
                    f"file {n}.bin",
                    "application/octet-stream",
                    size,
                    f"/uploads/attachments/{name}",
                    False,
                    uploader,
                    "2026-01-01 00:00:00",
                )
            )
    conn.commit()


def write_files(conn: psycopg.Connection, uploads: Path) -> None:
    """Every upload file the database's rows name, at the sizes they claim, under ``uploads``."""
    block = random.Random(7).randbytes(1 << 20)
    (uploads / "attachments").mkdir(parents=True)
    for name, size in conn.execute("SELECT filename, size_bytes FROM file_attachments"):
        with open(uploads / "attachments" / name, "wb") as handle:
            while size > 0:
                handle.write(block[: min(size, len(block))])
                size -= len(block)
    for query in (
        "SELECT avatar_path FROM profiles WHERE avatar_path IS NOT NULL",
        "SELECT path FROM custom_emojis",
    ):
        for (value,) in conn.execute(query):
            path = uploads / value.removeprefix("/uploads/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(block[:4096])
