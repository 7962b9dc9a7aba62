"""Parquet copies: listed with checksums, typed from the catalog, equal to the JSON row for row.

Expectations are written here from the catalog's column types and from the JSON files parsed
with Python's own ``json``, independently of the Arrow decoding the export uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ocomms_pipeline import catalog, load_bundle
from ocomms_pipeline.bundle.arrow_schema import decode, table_schema
from ocomms_pipeline.bundle.files import sha256_file
from ocomms_pipeline.bundle.parquet import ParquetTableWriter
from ocomms_pipeline.catalog import ColumnType

from ..support.exports import export, read_manifest, read_table

CLI = str(Path(sys.executable).with_name("ocomms-pipeline"))
T = ColumnType
EXPECTED_ARROW = {
    T.TEXT: pa.string(),
    T.UUID: pa.string(),
    T.ENUM: pa.string(),
    T.JSONB: pa.string(),
    T.INTEGER: pa.int32(),
    T.BIGINT: pa.int64(),
    T.BOOLEAN: pa.bool_(),
    T.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    T.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
}
EXPECTED_PANDAS = {
    T.TEXT: "string",
    T.UUID: "string",
    T.ENUM: "string",
    T.JSONB: "string",
    T.INTEGER: "Int32",
    T.BIGINT: "Int64",
    T.BOOLEAN: "boolean",
    T.TIMESTAMP: "datetime64[us, UTC]",
    T.TIMESTAMPTZ: "datetime64[us, UTC]",
}


@pytest.fixture(scope="module")
def bundles(seeded_db, tmp_path_factory) -> dict[str, Path]:
    """Acme exported twice from the same state: with Parquet, and JSON only."""
    sample = seeded_db.sample
    org, owner = sample.orgs["Acme"], sample.owners["Acme"][0]
    made = {}
    for kind, parquet in (("parquet", True), ("json", False)):
        outcome = export(seeded_db.url, org, owner, tmp_path_factory.mktemp(kind), parquet=parquet)
        assert outcome.success, outcome.reason
        made[kind] = outcome.bundle_path
    return made


def test_parquet_files_are_listed_with_rows_bytes_and_sha256(bundles):
    path = bundles["parquet"]
    manifest = read_manifest(path)
    for table in catalog.exported_tables():
        entry = manifest["tables"][table.name]
        copy = entry["parquet"]
        file = path / copy["file"]
        assert copy["file"] == f"parquet/{table.name}.parquet"
        assert (copy["rows"], copy["bytes"], copy["sha256"]) == (
            entry["rows"],
            file.stat().st_size,
            sha256_file(file),
        )
    assert "parquet" not in read_manifest(bundles["json"])["tables"]["messages"]
    assert not (bundles["json"] / "parquet").exists()


def test_the_arrow_schema_follows_the_catalog(bundles):
    for table in catalog.exported_tables():
        schema = pq.read_schema(bundles["parquet"] / "parquet" / f"{table.name}.parquet")
        assert schema.names == [c.name for c in table.exported_columns]
        for column in table.exported_columns:
            assert schema.field(column.name).type == EXPECTED_ARROW[column.type], column


def _expected(column: catalog.Column, value):
    """What a JSON value must be once typed, computed with plain Python."""
    if value is None:
        return None
    if column.type in (T.TIMESTAMP, T.TIMESTAMPTZ):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return value


def test_parquet_rows_equal_the_json_rows_with_their_types(bundles):
    checked = 0
    for table in catalog.exported_tables():
        json_rows = read_table(bundles["json"], table.name)
        parquet_rows = pq.read_table(
            bundles["parquet"] / "parquet" / f"{table.name}.parquet"
        ).to_pylist()
        assert len(parquet_rows) == len(json_rows), table.name
        for got, want in zip(parquet_rows, json_rows, strict=True):
            for column in table.exported_columns:
                value = got[column.name]
                if column.type is T.JSONB and value is not None:
                    assert isinstance(value, str)
                    value = json.loads(value)
                expected = _expected(column, want[column.name])
                assert value == expected and type(value) is type(expected), (table.name, column)
                checked += 1
    assert checked > 1000


def test_load_bundle_gives_typed_frames_from_parquet_and_json_alike(bundles):
    from_parquet = load_bundle(bundles["parquet"])
    from_json = load_bundle(str(bundles["json"]))
    assert set(from_parquet) == {t.name for t in catalog.exported_tables()}
    for table in catalog.exported_tables():
        frame = from_parquet[table.name]
        assert list(frame.columns) == [c.name for c in table.exported_columns]
        for column in table.exported_columns:
            assert str(frame[column.name].dtype) == EXPECTED_PANDAS[column.type], column
        assert len(frame) == len(read_table(bundles["json"], table.name))
        pd.testing.assert_frame_equal(frame, from_json[table.name])
    messages = from_parquet["messages"]
    assert messages["created_at"].min().tzinfo is not None
    assert messages["parent_id"].isna().any() and messages["reply_count"].notna().all()


def test_row_groups_are_bounded(bundles, tmp_path):
    messages = catalog.table("messages")
    lines = [
        json.dumps(row, ensure_ascii=False).encode() + b"\n"
        for row in read_table(bundles["json"], "messages")
    ]
    writer = ParquetTableWriter(
        tmp_path / "messages.parquet", table_schema("messages"), row_group_rows=10
    )
    for start in range(0, len(lines), 7):
        writer.write(decode(messages, b"".join(lines[start : start + 7])))
    digest = writer.close()
    metadata = pq.ParquetFile(tmp_path / "messages.parquet").metadata
    assert digest.rows == metadata.num_rows == len(lines) > 30
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert len(sizes) > 2 and max(sizes) <= 10


def test_the_deployment_default_comes_from_the_environment(seeded_db, tmp_path, monkeypatch):
    sample = seeded_db.sample
    org = sample.orgs["Globex"]
    monkeypatch.setenv("OCOMMS_EXPORT_PARQUET", "true")
    on = export(seeded_db.url, org, "operator:ops", tmp_path / "on")
    assert on.success, on.reason
    assert (on.bundle_path / "parquet" / "messages.parquet").is_file()
    off = export(seeded_db.url, org, "operator:ops", tmp_path / "off", parquet=False)
    assert off.success, off.reason
    assert not (off.bundle_path / "parquet").exists()
    monkeypatch.setenv("OCOMMS_EXPORT_PARQUET", "maybe")
    bad = export(seeded_db.url, org, "operator:ops", tmp_path / "bad")
    assert bad.outcome == "failed" and "OCOMMS_EXPORT_PARQUET" in bad.reason
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").rglob("*.json"))


def test_cli_export_parquet_then_verify(seeded_db, tmp_path):
    sample = seeded_db.sample
    env = {**os.environ, "OCOMMS_DATABASE_URL": seeded_db.url}
    env.pop("OCOMMS_EXPORT_PARQUET", None)
    org = sample.orgs["Initech"]
    command = [CLI, "export", "--parquet", "--operator", "ops", "--", org, str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    bundle_path = Path(result.stdout.splitlines()[0].removeprefix("bundle: "))
    assert read_manifest(bundle_path)["tables"]["users"]["parquet"]["rows"] > 0
    result = subprocess.run([CLI, "verify", str(bundle_path)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, f"ok: {bundle_path}\n")
