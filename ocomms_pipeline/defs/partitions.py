"""The one partitions definition: one partition per ocomms organization id."""

from __future__ import annotations

import dagster as dg

organizations = dg.DynamicPartitionsDefinition(name="organizations")
