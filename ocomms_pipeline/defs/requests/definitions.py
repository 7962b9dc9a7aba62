"""The requests domain: the queue sensor and the three run-status sensors."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.requests.resources import request_resources
from ocomms_pipeline.defs.requests.sensors import (
    build_request_sensors,
    interval_from_env,
    status_interval_from_env,
)


def request_definitions() -> dg.Definitions:
    """Intervals are read from the environment when the code loads."""
    return dg.Definitions(
        sensors=build_request_sensors(interval_from_env(), status_interval_from_env()),
        resources=request_resources(),
    )
