"""The restore domain: the job an operator launches, and the database it writes into."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.requests.resources import request_resources
from ocomms_pipeline.defs.restore.jobs import restore_organization_job
from ocomms_pipeline.defs.restore.resources import restore_resources


def restore_definitions() -> dg.Definitions:
    """Restores are audited: the audit log is the requests domain's."""
    return dg.Definitions(
        jobs=[restore_organization_job],
        resources={**restore_resources(), "audit_log": request_resources()["audit_log"]},
    )
