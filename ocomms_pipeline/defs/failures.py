"""How an export error becomes a Dagster failure: one line of reason, and what it means.

The gate, the export, the publication, the archive and the backups all fail the same way, so
that every reader of a run (the request sensors, the CLI, an operator in the UI) finds the
reason in the failure's description and the outcome (``rejected`` or ``failed``) in its
metadata, never in a stack trace.
"""

import dagster as dg

from ocomms_pipeline.errors import ExportError, ExportRefused, describe
from ocomms_pipeline.status import RequestStatus


def reason(error: BaseException) -> str:
    """The one-line reason of any error an export step can meet."""
    return str(error) if isinstance(error, ExportError) else describe(error)


def failure(error: BaseException) -> dg.Failure:
    """A step failure whose description is the one-line reason, and whether it was a refusal."""
    outcome = error.outcome if isinstance(error, ExportError) else RequestStatus.FAILED
    metadata = {"outcome": outcome.value, "reason": reason(error)}
    if isinstance(error, ExportRefused):
        metadata["code"] = error.code
    return dg.Failure(description=reason(error), metadata=metadata, allow_retries=False)
