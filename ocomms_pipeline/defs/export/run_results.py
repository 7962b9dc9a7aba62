"""Reading what a run recorded: its first step failure and what it materialized.

The CLI (an in-process result) and the request sensors (the instance's event log) both turn a
run into an outcome; they read its events through these functions, so a failure's reason and a
bundle's path are found the same way whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster import DagsterEventType

from ocomms_pipeline.status import RequestStatus


def metadata_values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as plain values (a path as its string, an int as its int)."""
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


@dataclass(frozen=True)
class StepFailure:
    """The first failed step of a run, as its Failure described it (or its error's class)."""

    step_key: str | None
    outcome: RequestStatus  # REJECTED for a refusal, else FAILED
    reason: str
    code: str | None
    expected: bool  # raised as a dg.Failure by the project's code, not an unexpected error
    error_class: str | None = None


def first_failure(events: Iterable[dg.DagsterEvent]) -> StepFailure | None:
    for event in events:
        if event is None or event.event_type != DagsterEventType.STEP_FAILURE:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        if user is None:
            last = data.error.message.strip().splitlines()[-1] if data.error else "failed"
            name = data.error.cls_name if data.error else None
            return StepFailure(event.step_key, RequestStatus.FAILED, last, None, False, name)
        meta = metadata_values(user.metadata)
        reason = str(meta.get("reason") or user.description or "export failed")
        outcome = (
            RequestStatus.REJECTED
            if meta.get("outcome") == RequestStatus.REJECTED
            else RequestStatus.FAILED
        )
        return StepFailure(event.step_key, outcome, reason, meta.get("code"), True)
    return None


def materialized(events: Iterable[dg.DagsterEvent]) -> dict[dg.AssetKey, dict[str, Any]]:
    """Asset key -> plain metadata of every materialization among ``events`` (the last wins)."""
    found: dict[dg.AssetKey, dict[str, Any]] = {}
    for event in events:
        if event is None or event.event_type != DagsterEventType.ASSET_MATERIALIZATION:
            continue
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key] = metadata_values(materialization.metadata)
    return found
