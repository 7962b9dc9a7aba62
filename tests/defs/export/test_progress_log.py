"""The export's progress in a real run's log: each table once, all of them once, no more."""

from __future__ import annotations

import re

import dagster as dg

from ocomms_pipeline import catalog
from ocomms_pipeline.defs.export.progress_log import RunLogProgress
from ocomms_pipeline.export import progress

from ...support.exports import export, read_manifest

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
    # Tables finished within a second of the last line wait for the next one: this small
    # export's every table line travels in the summary's message, one event in all.
    (message,) = lines
    summary, *table_lines = message.splitlines()
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


class _Lines:
    """Stands in for the run's log manager: keeps what the listener says, in order."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def info(self, message: str) -> None:
        self.said.append(message)


def _done(table: str, at: float) -> progress.TableDone:
    return progress.TableDone("r", table, 1, 10, 0.1, progress.Totals(0, 4, 1, 10, at))


def test_finished_tables_are_said_in_batches_a_second_apart_and_the_rest_with_the_summary():
    log = _Lines()
    listener = RunLogProgress(log)  # type: ignore[arg-type]
    for table, at in [("a", 0.2), ("b", 0.9), ("c", 1.1), ("d", 1.5), ("e", 2.05)]:
        listener(_done(table, at))
    listener(progress.TablesDone("r", progress.Totals(5, 5, 5, 50, 2.3)))
    first, last = (said.splitlines() for said in log.said)
    assert [line.split(":")[0] for line in first] == ["a", "b", "c"]  # due at 1.1 s
    summary, *rest = last  # e (2.05 s) came before the next batch was due (2.1 s)
    assert summary.startswith("staged 5 tables, 5 rows")
    assert [line.split(":")[0] for line in rest] == ["d", "e"]
