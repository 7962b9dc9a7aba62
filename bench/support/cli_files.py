"""The uploaded-files case of ``bench.cli_end_to_end``: an export that carries its files.

An organization of ``bench.generators.generate`` is given ``files`` more attachments (sizes
log-normal around ``mean_kb``, as ``bench.uploads`` makes them) and every file its rows name is
written into an uploads directory. Then, in the same run and on the same warm caches:

- the floor: ``cp -r`` of the uploads directory's ``attachments/``;
- ``export --no-archive`` without the files (what the files add is the difference);
- ``export --uploads-dir DIR --no-archive``, which copies each file in with its sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.generators.upload_files import add_attachments, write_files
from bench.support.cli_runs import Timed, bundle_of, clear, export, generate, timed
from bench.support.dagster_homes import create_instance, new_user_sqlite_home
from ocomms_pipeline.sandbox import servers


@dataclass(frozen=True)
class FilesCase:
    """What the files case measured: the files the bundle carries and the three commands."""

    count: int
    bytes: int
    runs: list[Timed]


def _carried(work: Path) -> tuple[int, int]:
    """The last export's files section: how many files it carries and their bytes."""
    bundle = bundle_of((work / "stdout.txt").read_text())
    assert bundle is not None
    section = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["files"]
    if section.get("not_included"):
        raise RuntimeError(f"files left out of the bundle: {section['not_included'][:3]}")
    return int(section["count"]), int(section["bytes"])


def measure_files(
    admin_url: str, work: Path, files: int, mean_kb: int, prefix: str, messages: int = 200
) -> FilesCase:
    name = f"{prefix}_files"
    try:
        org = generate(admin_url, name, messages)
        uploads = work / "uploads"
        with psycopg.connect(org.url) as conn:
            add_attachments(conn, org.organization_id, files, mean_kb)
            write_files(conn, uploads)
        env = new_user_sqlite_home(work / "files_home")
        create_instance(env)
        env["OCOMMS_DATABASE_URL"] = org.url
        root, copied = work / "files_exports", work / "files_cp"
        root.mkdir()
        floor_command = ["cp", "-r", str(uploads / "attachments"), str(copied)]
        runs = [timed("floor: `cp -r` of the uploads' attachments/", floor_command, {}, work)]
        clear(copied)
        plain = export(org, root, "--no-archive")
        runs.append(timed("`export --no-archive`, without the files", plain, env, work))
        clear(root)
        carrying = export(org, root, "--uploads-dir", str(uploads), "--no-archive")
        runs.append(timed("`export --uploads-dir DIR --no-archive`", carrying, env, work))
        count, size = _carried(work)
        clear(root)
        return FilesCase(count, size, runs)
    finally:
        servers.drop_database(admin_url, name)


def render_files(case: FilesCase) -> list[str]:
    """The files table: each command's wall, and files/s and MB/s of the bundle's files."""
    mb = case.bytes / 1_000_000
    lines = [
        "",
        f"| uploaded files: {case.count:,} files, {mb:,.0f} MB | wall s | files/s | MB/s "
        "| peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in case.runs:
        carries = "without" not in run.case
        rates = f"{case.count / run.seconds:,.0f} | {mb / run.seconds:,.1f}" if carries else " | "
        lines.append(f"| {run.case} | {run.seconds:.2f} | {rates} | {run.peak_rss_mb:.0f} |")
    return lines
