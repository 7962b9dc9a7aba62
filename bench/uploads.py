"""Benchmark: copying an organization's uploaded files into its bundle, against ``cp -r``.

Seeds the sample database, gives its main organization ``--files`` more attachments (sizes
drawn from a fixed-seed log-normal around ``--mean-kb``), writes every upload file of the
database into a temporary uploads directory, then in the same run and on warm caches:

- ``cp -r`` of the uploads directory's ``attachments/`` (every organization's, a superset);
- the export's file step alone (``export.uploads.stage_uploads`` on a staged export: reading
  the rows back, opening each file safely, copying in 1 MB chunks with sha256);
- the whole export (``stage_organization``) with and without the uploads directory.

Neither export is published, so the files' sync, done with the rest of the staged bundle when
it is published, is not timed here; ``bench.cli_end_to_end`` times the whole command.

Prints files/s and MB/s for each and the process's peak RSS. Everything it creates is removed.

    .venv/bin/python -m bench.uploads                 # 5,000 attachments of ~64 KB
    .venv/bin/python -m bench.uploads --files 2000 --mean-kb 256
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.generators.upload_files import add_attachments, write_files
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.export.uploads import stage_uploads
from ocomms_pipeline.identifiers import principal
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data

OPERATOR = "operator:bench-uploads"


def _line(label: str, seconds: float, files: int, size: int) -> str:
    return (
        f"| {label} | {seconds:.2f} s | {files / seconds:,.0f} files/s | "
        f"{size / seconds / 1e6:,.0f} MB/s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mean-kb", type=int, default=64)
    args = parser.parse_args()
    admin = servers.admin_server_url()
    name = f"ocomms_bench_uploads_{uuid.uuid4().hex[:8]}"
    url = servers.create_database(admin, name)
    scratch = Path(tempfile.mkdtemp(prefix="ocomms-bench-uploads-"))
    try:
        with psycopg.connect(url) as conn:
            ddl.create_schema(conn)
            sample = sample_data.seed(conn)
            organization = sample.orgs[sample.main_org]
            add_attachments(conn, organization, args.files, args.mean_kb)
            uploads = scratch / "uploads"
            write_files(conn, uploads)
        started = time.monotonic()
        subprocess.run(["cp", "-r", str(uploads / "attachments"), str(scratch / "cp")], check=True)
        cp_seconds = time.monotonic() - started
        cp_files = sum(1 for p in (scratch / "cp").iterdir())
        cp_bytes = sum(p.stat().st_size for p in (scratch / "cp").iterdir())
        shutil.rmtree(scratch / "cp")

        started = time.monotonic()
        plain = stage_organization(url, organization, principal(OPERATOR), scratch / "a", "a")
        plain_seconds = time.monotonic() - started
        staging = bundle.staging_dir(scratch / "a", organization, "a")
        started = time.monotonic()
        section = stage_uploads(staging, plain.tables, uploads)
        step_seconds = time.monotonic() - started
        shutil.rmtree(scratch / "a")

        started = time.monotonic()
        stage_organization(
            url, organization, principal(OPERATOR), scratch / "b", "b", uploads_dir=uploads
        )
        whole_seconds = time.monotonic() - started
        shutil.rmtree(scratch / "b")

        count, size = section["count"], section["bytes"]
        print(
            f"{count:,} files, {size / 1e6:,.1f} MB in the bundle; not included: "
            f"{len(section['not_included'])}"
        )
        print("| what | time | files/s | MB/s |\n|---|---|---|---|")
        print(_line("`cp -r attachments/` (every organization's)", cp_seconds, cp_files, cp_bytes))
        print(_line("file step (`stage_uploads`)", step_seconds, count, size))
        print(_line("whole export with files", whole_seconds, count, size))
        print(f"| whole export without files | {plain_seconds:.2f} s | | |")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:,.0f} MB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        servers.drop_database(admin, name)


if __name__ == "__main__":
    main()
