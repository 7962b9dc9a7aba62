"""The export's progress in a real run's log: each table once, all of them once, no more."""

from __future__ import annotations

import re

import dagster as dg

from ocomms_pipeline import catalog
from ocomms_pipeline.export import progress

from ..support.exports import export, read_manifest

EXPORT_STEP = "organization_tables.export_tables"
TABLE_LINE = re.compile(r"^(\w+): ([\d,]+) rows?, [\d,.]+ [kM]B in [\d.]+ s \([\d,.]+ MB/s\)$")


def test_the_run_log_says_each_table_once_and_all_of_them_once(seeded_db, tmp_path):
    sample = seeded_db.sample
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(
        seeded_db.url,
        sample.orgs["Acme"],
        sample.owners["Acme"][0],
        tmp_path,
        instance=instance,
        archive=False,
    )
    assert outcome.success, outcome.reason
    lines = [
        entry.user_message
        for entry in instance.all_logs(outcome.run_id)
        if entry.dagster_event is None
        and entry.step_key == EXPORT_STEP
        # the IO manager's line about the op's input
        and not entry.user_message.startswith("Loading file from")
    ]
    *table_lines, summary = lines
    said = [TABLE_LINE.match(line) for line in table_lines]
    assert None not in said, table_lines
    rows = {m.group(1): int(m.group(2).replace(",", "")) for m in said if m}
    assert len(rows) == len(table_lines)  # no table twice, nothing in between
    manifest = read_manifest(outcome.bundle_path)["tables"]
    assert rows == {name: manifest[name]["rows"] for name in manifest}
    assert set(rows) == {t.name for t in catalog.exported_tables()}
    total = sum(rows.values())
    assert summary.startswith(f"staged {len(rows)} tables, {progress.rows(total)}, ")
    assert not progress.listened()  # the op's listener is gone with the op
