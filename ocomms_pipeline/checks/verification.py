"""File-level checks of a bundle: what someone holding only the bundle can verify.

``ocomms-pipeline verify <bundle-dir>`` runs all of them, reading every file in full. The
export's own checks before publication (``checks.staged``) need not: their row scan happened
while the rows streamed, and the writer took each file's size, sha256 and rows from the bytes
it wrote; they compare what is on disk with that by ``stat`` and the Parquet footers. Memory
stays flat: files are read in chunks and the reference check spills ids to a temporary
directory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.arrow_schema import table_schema
from ocomms_pipeline.checks import references
from ocomms_pipeline.checks.findings import Check, Problem
from ocomms_pipeline.checks.references import ReferenceSpill
from ocomms_pipeline.checks.row_scan import TableScan
from ocomms_pipeline.checks.uploaded_files import check_uploaded_files, listed_names

BUNDLE = "bundle"  # the "table" of problems that concern the bundle as a whole


def check_json_file(
    directory: Path, table: str, entry: dict[str, Any], scan: TableScan | None = None
) -> list[Problem]:
    """Rows, framing, size and sha256 of a table's JSON file against its manifest entry."""
    path = directory / entry["file"]
    if not path.is_file():
        return [Problem(table, Check.FILE_CHECKSUMS, f"{entry['file']} is missing")]
    reader = bundle.JsonArrayReader(path)
    if scan is None:
        reader.measure()
    else:
        for chunk in reader:
            scan.feed(chunk)
    problems = []
    if reader.framing_error:
        problems.append(Problem(table, Check.ROW_COUNT, f"{path.name}: {reader.framing_error}"))
    if reader.rows != entry["rows"]:
        problems.append(
            Problem(
                table,
                Check.ROW_COUNT,
                f"{path.name} holds {reader.rows:,} rows, the manifest says {entry['rows']:,}",
            )
        )
    if reader.bytes != entry["bytes"] or reader.sha256 != entry["sha256"]:
        problems.append(
            Problem(
                table,
                Check.FILE_CHECKSUMS,
                f"{path.name}: size or sha256 differs from the manifest",
            )
        )
    return problems


def check_parquet_file(directory: Path, table: str, entry: dict[str, Any]) -> list[Problem]:
    """The Parquet copy: present, as the manifest describes it, as many rows as the JSON."""
    copy = entry.get("parquet")
    if not copy:
        return []
    path = directory / copy["file"]
    if not path.is_file():
        return [Problem(table, Check.FILE_CHECKSUMS, f"{copy['file']} is missing")]
    problems = []
    if path.stat().st_size != copy["bytes"] or bundle.sha256_file(path) != copy["sha256"]:
        problems.append(
            Problem(
                table,
                Check.FILE_CHECKSUMS,
                f"{copy['file']}: size or sha256 differs from the manifest",
            )
        )
    return problems + check_parquet_footer(directory, table, entry)


def check_parquet_footer(directory: Path, table: str, entry: dict[str, Any]) -> list[Problem]:
    """The Parquet copy's rows and schema as its footer states them; only the footer is read."""
    copy = entry["parquet"]
    path = directory / copy["file"]
    problems = []
    try:
        with pq.ParquetFile(path) as parquet:
            rows, schema = parquet.metadata.num_rows, parquet.schema_arrow
    except (pa.ArrowException, OSError) as error:
        return [Problem(table, Check.ROW_COUNT, f"{copy['file']} is unreadable: {error}")]
    if not rows == copy["rows"] == entry["rows"]:
        problems.append(
            Problem(
                table,
                Check.ROW_COUNT,
                f"{copy['file']} holds {rows:,} rows, the manifest says {copy['rows']:,} "
                f"and the JSON file {entry['rows']:,}",
            )
        )
    if table in catalog.BY_NAME and not schema.equals(table_schema(table)):
        problems.append(
            Problem(
                table,
                Check.EXPORTED_COLUMNS_ONLY,
                f"{copy['file']} does not have the catalog's schema",
            )
        )
    return problems


def _expected_files(manifest: dict[str, Any]) -> set[str]:
    files = {bundle.MANIFEST}
    for entry in manifest.get("tables", {}).values():
        files.add(entry["file"])
        if entry.get("parquet"):
            files.add(entry["parquet"]["file"])
    return files | listed_names(manifest)


def _bundle_problems(path: Path, manifest: dict[str, Any]) -> list[Problem]:
    problems = []
    listed = set(manifest.get("tables", {}))
    exported = {t.name for t in catalog.exported_tables()}
    problems += [
        Problem(
            BUNDLE, Check.EXPORTED_COLUMNS_ONLY, f"the manifest lists {n}, which is never exported"
        )
        for n in sorted(listed - exported)
    ]
    present = {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}
    problems += [
        Problem(BUNDLE, Check.FILE_CHECKSUMS, f"unexpected file {name}")
        for name in sorted(present - _expected_files(manifest))
    ]
    return problems


def _table_problems(path: Path, manifest: dict[str, Any], spill_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for table in catalog.exported_tables():
        entry = manifest.get("tables", {}).get(table.name)
        if entry is None:
            problems.append(Problem(table.name, Check.FILE_CHECKSUMS, "not in the manifest"))
            continue
        columns = [c.name for c in table.exported_columns]
        if entry.get("exported_columns") != columns:
            problems.append(
                Problem(
                    table.name,
                    Check.EXPORTED_COLUMNS_ONLY,
                    f"the manifest lists columns {entry.get('exported_columns')}, "
                    f"the catalog exports {columns}",
                )
            )
        scan = TableScan(table, secrets=None, spill=ReferenceSpill(spill_dir, table.name))
        problems += check_json_file(path, table.name, entry, scan)
        problems += scan.finish()
        problems += check_parquet_file(path, table.name, entry)
    return problems


def verify_bundle(path: Path) -> list[Problem]:
    """Every file-level check of a published bundle; an empty list means it is sound."""
    manifest_path = path / bundle.MANIFEST
    if not manifest_path.is_file():
        return [Problem(BUNDLE, Check.FILE_CHECKSUMS, f"{bundle.MANIFEST} is missing")]
    try:
        manifest = bundle.read_json(manifest_path)
    except ValueError as error:
        return [Problem(BUNDLE, Check.FILE_CHECKSUMS, f"{bundle.MANIFEST} is not JSON: {error}")]
    problems = _bundle_problems(path, manifest)
    problems += check_uploaded_files(path, manifest)
    with tempfile.TemporaryDirectory(prefix="ocomms-verify-") as spill:
        problems += _table_problems(path, manifest, Path(spill))
        for unresolved in references.resolve(Path(spill)):
            table = unresolved.source.split(".")[0]
            problems.append(Problem(table, Check.REFERENCES_RESOLVE, unresolved.reason()))
    return problems
