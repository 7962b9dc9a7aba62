"""What a request's run came to, as the request row needs it, whoever read the run.

Plain data, so the lifecycle that moves request rows stays free of Dagster; reading a run's
record and events into one of these is the Dagster layer's job (``defs.run_outcomes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ocomms_pipeline.status import RequestStatus

ACTIVE = "active"
UNKNOWN_ORGANIZATION = "unknown_organization"


@dataclass(frozen=True)
class RunOutcome:
    """A run as the request sees it: still going, or finished with a final status."""

    run_id: str
    state: str  # ACTIVE, or one of FINAL
    started_at: datetime | None = None
    finished_at: datetime | None = None
    authorized_at: datetime | None = None
    reason: str | None = None
    code: str | None = None
    bundle_path: str | None = None
    archive_path: str | None = None
    archive_sha256: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != ACTIVE


def refusal_status(organization_id: str, reason: str, code: str | None) -> tuple[str, str]:
    """(request status, reason) of a gate refusal, whether decided before or inside a run.

    An organization that no longer exists was deleted after the request was made: the
    request failed, the requester was not refused.
    """
    if code == UNKNOWN_ORGANIZATION:
        return (
            RequestStatus.FAILED,
            f"organization {organization_id!r} does not exist: it was deleted after the"
            " export was requested",
        )
    return RequestStatus.REJECTED, reason
