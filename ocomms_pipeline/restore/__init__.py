"""A bundle back into an ocomms database: one organization, one transaction, exact.

Dagster-free: the CLI (``restore_cli``) and the Dagster job (``restore_job``) both call
``restore_bundle`` and only present its report differently.
"""

from __future__ import annotations

from ocomms_pipeline.restore.errors import RestoreFailed, RestoreRefused
from ocomms_pipeline.restore.report import RestoreReport
from ocomms_pipeline.restore.run import restore_bundle

__all__ = ["RestoreFailed", "RestoreRefused", "RestoreReport", "restore_bundle"]
