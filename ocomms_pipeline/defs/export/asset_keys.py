"""Names of the export's assets and of the graph outputs that produce them.

Kept apart from the asset definitions so that sensors, readers of run events and the backup
job can name what a run materialized without importing the graph.
"""

import dagster as dg

GROUP = "ocomms"
KEY_PREFIX = "ocomms"
BUNDLE_OUTPUT = "bundle"
ARCHIVE_OUTPUT = "archive"
BUNDLE_KEY = dg.AssetKey([KEY_PREFIX, BUNDLE_OUTPUT])
ARCHIVE_KEY = dg.AssetKey([KEY_PREFIX, ARCHIVE_OUTPUT])


def table_key(table_name: str) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, table_name])
