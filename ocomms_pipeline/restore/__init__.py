"""A bundle back into an ocomms database: one organization, one transaction, exact.

Dagster-free: the CLI (``cli/restore``) and the Dagster job (``defs/restore/jobs``) both call
``restore_bundle`` and only present its report differently. The names below load on first
use, so a command that only needs ``restore.audit_entry`` does not import Arrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "RestoreFailed": "ocomms_pipeline.restore.errors",
    "RestoreRefused": "ocomms_pipeline.restore.errors",
    "RestoreReport": "ocomms_pipeline.restore.report",
    "restore_bundle": "ocomms_pipeline.restore.run",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
