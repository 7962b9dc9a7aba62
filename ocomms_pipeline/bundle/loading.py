"""``load_bundle``: a bundle's tables as pandas DataFrames, for analysts.

Parquet copies are read when the bundle has them, the JSON files otherwise; both give the
same frames, typed from the catalog: ``datetime64[us, UTC]`` timestamps, nullable ``Int32`` /
``Int64`` / ``boolean`` columns, and ``string`` for text, uuids, enums and ``jsonb`` (as JSON
text). This loads whole tables into memory by design; the export itself never does.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.arrow_schema import decode, table_schema

_PANDAS_TYPES = {
    pa.string(): pd.StringDtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def read_arrow(path: Path, table_name: str, entry: dict) -> pa.Table:
    """One table of a bundle as Arrow, from its Parquet copy when present."""
    copy = entry.get("parquet")
    if copy:
        return pq.read_table(path / copy["file"], schema=table_schema(table_name))
    table = catalog.table(table_name)
    reader = bundle.JsonArrayReader(path / entry["file"])
    parts = [decode(table, chunk) for chunk in reader]
    if reader.framing_error:
        raise ValueError(f"{entry['file']}: {reader.framing_error}")
    return pa.concat_tables(parts) if parts else table_schema(table_name).empty_table()


def to_pandas(rows: pa.Table) -> pd.DataFrame:
    return rows.to_pandas(types_mapper=_PANDAS_TYPES.get, coerce_temporal_nanoseconds=False)


def load_bundle(path: str | Path) -> dict[str, pd.DataFrame]:
    """Every table the bundle's manifest lists, by name, as a typed DataFrame."""
    path = Path(path)
    manifest = bundle.read_json(path / bundle.MANIFEST)
    return {
        name: to_pandas(read_arrow(path, name, entry)) for name, entry in manifest["tables"].items()
    }
