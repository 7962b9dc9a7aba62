"""Helpers for tests that export through the real Dagster job and read bundles back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.launch.in_process import ExportOutcome, run_export


def export(
    url: str, organization_id: str, requested_by: str, root: Path, **kwargs: Any
) -> ExportOutcome:
    instance = kwargs.pop("instance", None) or dg.DagsterInstance.ephemeral()
    return run_export(
        organization_id,
        requested_by,
        export_root=root,
        database_url=url,
        instance=instance,
        **kwargs,
    )


def read_table(bundle_path: Path, table: str) -> list[dict[str, Any]]:
    with open(bundle_path / f"{table}.json", encoding="utf-8") as handle:
        return json.load(handle)


def read_manifest(bundle_path: Path) -> dict[str, Any]:
    return bundle.read_json(bundle_path / bundle.MANIFEST)


def all_files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def tree(root: Path) -> list[str]:
    """Every path below root, relative: what a failed run must not have left behind."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))
