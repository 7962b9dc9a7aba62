"""Zero canaries in any output, compressed or not, even after an unseen schema change.

Every secret column holds a recognisable canary (sample data), internal columns hold
INTERNALJOB markers, and an ocomms "upgrade" adds secret-bearing columns the catalog has never
seen. The export runs with Parquet on and its archive; every byte of the JSON, every value
and every byte of the Parquet files, and every decompressed entry of the zip is scanned.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pyarrow.parquet as pq

from ocomms_pipeline import catalog
from ocomms_pipeline.checks.findings import Check
from ocomms_pipeline.defs.export.checks import CHECK_NAME

from ..support.exports import export, read_manifest

MARKERS = (b"CANARY", b"INTERNALJOB")


def decoded_blobs(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every output as the bytes a reader would see: raw, and decompressed where packed."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        yield str(path), raw
        if path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name)
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.column_names:
                values = table.column(column).to_pylist()
                yield f"{path}#{column}", "\n".join(map(str, values)).encode()
            yield f"{path}#schema", str(table.schema).encode()


def test_no_secret_leaves_in_json_parquet_or_zip(make_database, tmp_path):
    db = make_database()
    with psycopg.connect(db.url) as conn:
        conn.execute("ALTER TABLE messages ADD COLUMN signing_key text DEFAULT 'CANARY-upgrade'")
        conn.execute("ALTER TABLE users ADD COLUMN recovery_code text DEFAULT 'CANARY-recovery'")
    secrets = [v.encode() for values in db.sample.canaries.values() for v in values]
    secrets += [v.encode() for values in db.sample.internal_values.values() for v in values]
    assert len(secrets) > 20
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(
        db.url,
        db.sample.orgs["Acme"],
        db.sample.owners["Acme"][0],
        tmp_path,
        parquet=True,
        instance=instance,
    )
    assert outcome.success, outcome.reason
    manifest = read_manifest(outcome.bundle_path)
    assert manifest["tables"]["messages"]["unknown_columns"] == ["signing_key"]
    assert manifest["tables"]["users"]["unknown_columns"] == ["recovery_code"]
    assert all("parquet" in entry for entry in manifest["tables"].values())
    scanned = kinds = 0
    for name, data in decoded_blobs(tmp_path):
        scanned += 1
        kinds |= 1 if ".zip!" in name else 2 if ".parquet#" in name else 4
        if name.endswith("manifest.json"):
            data = data.replace(b'"signing_key"', b"").replace(b'"recovery_code"', b"")
        for marker in MARKERS:
            assert marker not in data, f"{marker!r} in {name}"
        for secret in secrets:
            assert secret not in data, f"a secret value in {name}"
    assert kinds == 7 and scanned > 100  # JSON, Parquet values and zip entries were all read

    evaluations = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    ]
    verified = {ev.asset_key.path[-1]: ev for ev in evaluations if ev.check_name == CHECK_NAME}
    assert set(verified) == {t.name for t in catalog.exported_tables()}
    assert not verified["messages"].passed and not verified["users"].passed
    assert verified["messages"].severity == dg.AssetCheckSeverity.WARN
    assert verified["messages"].metadata["unknown_columns"].value == ["signing_key"]
    assert verified["messages"].description == "not exported, unknown to the catalog: signing_key"
    assert all(ev.passed for name, ev in verified.items() if name not in {"messages", "users"})
    for ev in verified.values():  # the blocking checks passed everywhere; only a warning holds
        assert all(ev.metadata[str(check)].value == "passed" for check in Check)
