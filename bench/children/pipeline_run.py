"""The pipeline: exports through the real Dagster job, timed from inside a fresh process.

Each export is ``launch.in_process.run_export`` (gate, export, checks, manifest, publication,
and the zip with ``--archive``) on an ephemeral instance, exactly what the CLI runs. The process's
own start (interpreter, importing Dagster and the code location, the instance) is timed
apart, because a launched run pays it once while the export's rate is what grows with the
organization. Per-step durations come from the instance's step stats; the data path
(``stage_organization``, the Dagster-free part of the export step) is timed by wrapping it,
so what Dagster adds is the run's wall time minus the steps.

    OCOMMS_DATABASE_URL=... python -m bench.children.pipeline_run <org-id> <owner-id> [--parquet]
        [--archive] [--runs N] --result out.json --spawned 0
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import children


def time_data_path() -> list[float]:
    """Wrap the export op's call of ``stage_organization``; returns the list it appends to.

    The op looks the function up in ``ocomms_pipeline.defs.export.assets`` at call time, so
    replacing it there times exactly the data path without touching the package's code.
    """
    from ocomms_pipeline.defs.export import assets

    original = assets.stage_organization
    spent: list[float] = []

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    assets.stage_organization = timed
    return spent


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per step, keyed by short name (``export_tables``, ``bundle``, ...)."""
    steps = {}
    for stats in instance.get_run_step_stats(run_id):
        name = stats.step_key.rsplit(".", 1)[-1]
        steps[name] = stats.end_time - stats.start_time
    return steps


def bundle_figures(bundle_path: Path) -> dict[str, Any]:
    """Rows and bytes as the published manifest states them: what the bundle really holds."""
    tables = json.loads((bundle_path / "manifest.json").read_text())["tables"]
    archive = bundle_path.with_name(bundle_path.name + ".zip")
    return {
        "messages": tables["messages"]["rows"],
        "rows": sum(t["rows"] for t in tables.values()),
        "bytes": sum(t["bytes"] for t in tables.values()),
        "parquet_bytes": sum(t.get("parquet", {}).get("bytes", 0) for t in tables.values()),
        "archive_bytes": archive.stat().st_size if archive.exists() else 0,
        "table_rows": {name: t["rows"] for name, t in tables.items()},
    }


def export_once(
    instance: Any, url: str, organization_id: str, owner_id: str, parquet: bool, archive: bool
) -> dict[str, Any]:
    """One export into a scratch export root, removed afterwards; fails loudly if refused."""
    from ocomms_pipeline.launch.in_process import run_export

    root = Path(tempfile.mkdtemp(prefix="ocomms-bench-export-"))
    try:
        started = time.perf_counter()
        outcome = run_export(
            organization_id,
            owner_id,
            export_root=root,
            database_url=url,
            instance=instance,
            parquet=parquet,
            archive=archive,
        )
        seconds = time.perf_counter() - started
        if not outcome.success or outcome.bundle_path is None:
            raise SystemExit(f"export {outcome.outcome}: {outcome.reason}")
        figures = bundle_figures(outcome.bundle_path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"seconds": seconds, "steps": step_seconds(instance, outcome.run_id), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("organization_id")
    parser.add_argument("owner_id", help="an owner of the organization: the gate checks it")
    parser.add_argument("--parquet", action="store_true", help="also write Parquet copies")
    parser.add_argument("--archive", action="store_true", help="also build the zip archive")
    parser.add_argument("--runs", type=int, default=1, help="exports in this one process")
    parser.add_argument("--result", required=True, help="JSON file to write the figures to")
    parser.add_argument("--spawned", type=float, required=True, help="time.time() at spawn")
    args = parser.parse_args()

    import dagster as dg

    import ocomms_pipeline.definitions  # noqa: F401  (the code location loads before timing)
    from ocomms_pipeline.defs.export.resources import OcommsDatabase

    instance = dg.DagsterInstance.ephemeral()
    start_seconds = time.time() - args.spawned
    ready_rss = children.peak_rss_mb()
    data_path = time_data_path()
    runs = []
    for _ in range(args.runs):
        run = export_once(
            instance,
            children.database_url(),
            args.organization_id,
            args.owner_id,
            args.parquet,
            args.archive,
        )
        runs.append({**run, "data_path_seconds": sum(data_path)})
        data_path.clear()
    figures = {
        "start_seconds": start_seconds,
        "ready_rss_mb": ready_rss,
        # run_export leaves the resource's default; reported so the table says what ran.
        "export_connections": OcommsDatabase.model_fields["export_connections"].default,
        "runs": runs,
    }
    children.write_result(args.result, figures)


if __name__ == "__main__":
    main()
