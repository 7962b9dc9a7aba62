"""The CLI end-to-end benchmark at a tiny size: the table it reports, never its timings.

What a user waits for is only worth reading if every row is the command it names, run to
its end, beside its floor and its yardsticks from the same run. Runs the real thing: the
generated databases, the installed console script, both kinds of Dagster instance.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from bench import cli_end_to_end


def _databases(admin_url: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_url) as conn:
        query = "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
        return [name for (name,) in conn.execute(query, (prefix,))]


def test_the_documented_command_reports_every_case_and_leaves_nothing(
    admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written to the current directory
    prefix = f"ocomms_clibenchtest_{os.getpid()}"
    output = tmp_path / "report.md"
    argv = ["--messages", "2000", "--small-messages", "150", "--small-runs", "1"]
    argv += ["--sizes", "500", "--files", "40", "--admin-url", admin_url, "--prefix", prefix]
    assert cli_end_to_end.main([*argv, "--output", str(output)]) == 0

    report = output.read_text(encoding="utf-8")
    assert capsys.readouterr().out == report
    cases = [
        "floor: COPY of the messages as NDJSON",
        "| JSON bundle, --no-archive |",
        "| JSON bundle with its zip (the default) |",
        "| restore of that zip into an empty ocomms schema |",
        "| JSON and Parquet, --no-archive |",
        "| SQLite instance, 1 runs |",
        f"| SQLite instance: {cli_end_to_end.SHAPE}, 1 runs |",
        "| PostgreSQL instance (deploy/dagster.yaml), 1 runs |",
        f"| PostgreSQL instance (deploy/dagster.yaml): {cli_end_to_end.SHAPE}, 1 runs |",
        f"| {cli_end_to_end.IMPORT}, 1 runs |",
        "| 500 | JSON bundle |",
        "| 500 | JSON and Parquet |",
        "| floor: `cp -r` of the uploads' attachments/ |",
        "| `export --no-archive`, without the files |",
        "| `export --uploads-dir DIR --no-archive` |",
    ]
    for case in cases:
        assert case in report, case
    # Every export row measured a published bundle: its JSON bytes give its MB/s.
    exports = [line for line in report.splitlines() if "--no-archive |" in line]
    assert all(float(line.split("|")[3]) > 0 for line in exports)
    # ... and the machine's busy core-seconds meanwhile, PostgreSQL's included (Linux).
    if Path("/proc/stat").exists():
        large = [line for line in report.splitlines() if line.startswith("| JSON ")]
        assert len(large) == 3
        assert all(float(line.split("|")[5]) > 0 for line in large)
    # The bound is the every-table floor followed by the shape run, laid end to end.
    rows = [line.split("|") for line in report.splitlines() if line.startswith("| ")]
    cells = {row[1].strip(): row for row in rows}
    every_table = next(c for label, c in cells.items() if label.startswith("floor, every table"))
    shape = cells[f"SQLite instance: {cli_end_to_end.SHAPE}, 1 runs"][2].split(" s")[0]
    bound = next(c for label, c in cells.items() if label.startswith("bound: "))
    expected = float(every_table[2]) + float(shape)
    assert abs(float(bound[2]) - expected) <= 0.011
    # The files case carried every file the rows name: its 40 attachments and the generated ones.
    files_line = next(line for line in report.splitlines() if "| uploaded files: " in line)
    assert int(files_line.split(": ")[1].split(" files")[0].replace(",", "")) >= 40
    assert _databases(admin_url, prefix) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
