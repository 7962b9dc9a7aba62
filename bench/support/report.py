"""What one benchmark run measured, and the Markdown that shows it.

Kept apart from the measuring so the tables can be read (and tested) without a database:
every figure here comes from a child process's JSON unchanged; only rates, ratios, medians
and the "outside steps" remainder are derived.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MB = 1_000_000
BUNDLE_STEPS = ("authorize_requester", "export_tables", "publish_bundle")
STEPS = (*BUNDLE_STEPS, "archive_bundle")
FLOOR_LABEL = "floor: COPY row_to_json, 1 connection"
JSON_LABEL = "pipeline JSON"
PARQUET_LABEL = "pipeline JSON+Parquet"
ARCHIVE_LABEL = "pipeline JSON+zip archive"


@dataclass(frozen=True)
class SizeResult:
    """One size: the generated database and the three measurements of its organization."""

    messages: int  # the size asked for
    generation_seconds: float
    generated_rows: int  # rows written, all organizations
    floor: dict[str, Any]  # bench.children.floor's figures
    json: dict[str, Any]  # bench.children.pipeline_run's figures, one run
    parquet: dict[str, Any]
    archive: dict[str, Any]


@dataclass(frozen=True)
class Results:
    machine: dict[str, str]
    sizes: list[SizeResult]
    fixed: dict[str, Any] | None  # bench.children.pipeline_run's: small organization, many runs


@dataclass(frozen=True)
class Line:
    """One measured row of a size table."""

    label: str
    messages: int
    rows: int
    size: int
    seconds: float
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def floor_line(floor: dict[str, Any]) -> Line:
    messages = floor["tables"]["messages"]["rows"]
    return Line(
        FLOOR_LABEL, messages, floor["rows"], floor["bytes"], floor["seconds"], floor["peak_rss_mb"]
    )


def pipeline_line(label: str, figures: dict[str, Any]) -> Line:
    run = figures["runs"][0]
    return Line(
        label, run["messages"], run["rows"], run["bytes"], run["seconds"], figures["peak_rss_mb"]
    )


def _cells(line: Line, floor_rate: float) -> str:
    return _row(
        [
            line.label,
            _n(line.messages),
            _n(line.rows),
            f"{line.size / MB:,.1f}",
            f"{line.seconds:.2f}",
            _n(line.rate),
            f"{line.size / MB / line.seconds:,.1f}" if line.seconds else "n/a",
            _n(line.rss_mb),
            f"{line.rate / floor_rate:.2f}" if floor_rate else "n/a",
        ]
    )


def _steps_line(figures: dict[str, Any]) -> str:
    run = figures["runs"][0]
    steps = run["steps"]
    parts = [f"{name} {steps.get(name, 0.0):.2f} s" for name in BUNDLE_STEPS]
    parts[1] += f" (data path {run['data_path_seconds']:.2f} s)"
    outside = run["seconds"] - sum(steps.values())
    return (
        f"JSON run on {figures['export_connections']} connections, by step: {', '.join(parts)}; "
        f"Dagster outside steps {outside:.2f} s. "
        f"Process start (interpreter, imports, instance; not in the seconds above): "
        f"{figures['start_seconds']:.1f} s."
    )


def size_section(size: SizeResult) -> str:
    """The per-size table: floor, pipeline JSON, pipeline JSON+Parquet, rates against floor."""
    floor = floor_line(size.floor)
    lines = [
        floor,
        pipeline_line(JSON_LABEL, size.json),
        pipeline_line(PARQUET_LABEL, size.parquet),
        pipeline_line(ARCHIVE_LABEL, size.archive),
    ]
    parquet_run, archive_run = size.parquet["runs"][0], size.archive["runs"][0]
    return "\n".join(
        [
            f"## {size.messages:,} messages",
            "",
            f"Generated {_n(size.generated_rows)} rows (all organizations) in "
            f"{size.generation_seconds:.1f} s.",
            "",
            "| measurement | messages | rows | JSON MB | seconds | rows/s | MB/s | peak RSS MB "
            "| vs floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(_cells(line, floor.rate) for line in lines),
            "",
            _steps_line(size.json),
            f"Parquet copies {parquet_run['parquet_bytes'] / MB:,.1f} MB; zip of the JSON bundle "
            f"{archive_run['archive_bytes'] / MB:,.1f} MB, its step "
            f"{archive_run['steps'].get('archive', 0.0):.2f} s; the floor's user closure "
            f"(untimed) took {size.floor['users_seconds']:.2f} s.",
        ]
    )


def memory_line(sizes: list[SizeResult]) -> str:
    """Peak RSS across sizes side by side, so a per-row buffer or a leak shows as growth."""
    labels = " / ".join(f"{s.messages:,}" for s in sizes)

    def series(pick: Callable[[SizeResult], float]) -> str:
        values = [round(pick(s)) for s in sizes]
        growth = f" (growth {values[-1] - values[0]:+,d})" if len(values) > 1 else ""
        return " / ".join(_n(v) for v in values) + growth

    return (
        f"**Memory**, peak RSS MB at {labels} messages: "
        f"floor {series(lambda s: s.floor['peak_rss_mb'])}; "
        f"pipeline JSON {series(lambda s: s.json['peak_rss_mb'])}; "
        f"JSON+Parquet {series(lambda s: s.parquet['peak_rss_mb'])}; "
        f"JSON+zip {series(lambda s: s.archive['peak_rss_mb'])}; "
        f"the pipeline process after its imports, before exporting, "
        f"{series(lambda s: s.json['ready_rss_mb'])}."
    )


def _fixed_row(label: str, pick: Callable[[dict[str, Any]], float], runs: list[dict]) -> str:
    warm = f"{statistics.median(pick(r) for r in runs[1:]):.3f}" if len(runs) > 1 else "n/a"
    return _row([label, f"{pick(runs[0]):.3f}", warm])


def fixed_section(fixed: dict[str, Any]) -> str:
    """Where the seconds of a small organization's export go: steps, data path, Dagster."""
    runs = fixed["runs"]
    first = runs[0]
    steps = [_fixed_row(f"step {s}", lambda r, s=s: r["steps"].get(s, 0.0), runs) for s in STEPS]
    data_path = _fixed_row(
        "step export_tables: of it, the data path (stage_organization)",
        lambda r: r["data_path_seconds"],
        runs,
    )
    outside = _fixed_row(
        "Dagster outside steps (run minus steps)",
        lambda r: r["seconds"] - sum(r["steps"].values()),
        runs,
    )
    whole = _fixed_row("run_export, the whole run", lambda r: r["seconds"], runs)
    rows = [whole, *steps[:2], data_path, *steps[2:], outside]
    return "\n".join(
        [
            f"## Fixed cost: a small organization ({first['messages']:,} messages, "
            f"{first['rows']:,} rows), {len(runs)} exports in one process",
            "",
            f"Process start (interpreter, imports, instance), paid once per process: "
            f"{fixed['start_seconds']:.2f} s; peak RSS {_n(fixed['peak_rss_mb'])} MB.",
            "",
            f"| part | first export (cold), s | median of the other {len(runs) - 1}, s |",
            "|---|---:|---:|",
            *rows,
        ]
    )


def render(results: Results) -> str:
    """The whole report: machine facts, one table per size, memory, fixed cost."""
    machine = " · ".join(f"{k}: {v}" for k, v in results.machine.items())
    parts = [
        "# ocomms-pipeline export benchmark",
        "",
        machine,
        "",
        "Seconds are the wall time of `launch.in_process.run_export` (the whole Dagster run: "
        "gate, export, checks, manifest, publication; the zip only in the archive line), "
        "without process start. The floor reads the same rows in one snapshot on one "
        "connection as plain `row_to_json` (no ORDER BY, no timestamp formatting) and discards "
        "them; its JSON MB is that text, the pipeline's is the bundle's table files (manifest). "
        "The pipeline reads on the `database` resource's default `export_connections` "
        "(`run_export` does not expose it). Peak RSS is the high-water mark (VmHWM, MiB) of "
        "each measurement's own "
        "process. vs floor = rows/s ÷ floor rows/s.",
    ]
    parts += ["\n" + size_section(s) for s in results.sizes]
    if results.sizes:
        parts += ["", memory_line(results.sizes)]
    if results.fixed is not None:
        parts += ["", fixed_section(results.fixed)]
    return "\n".join(parts) + "\n"
