"""Export ocomms organizations to verified JSON and Parquet bundles with Dagster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def load_bundle(path: str | Path) -> dict[str, pd.DataFrame]:
    """A bundle's tables as pandas DataFrames (see ``ocomms_pipeline.bundle.loading``).

    Imported on first use: pandas is for analysts and stays out of the export's memory.
    """
    from ocomms_pipeline.bundle.loading import load_bundle as load

    return load(path)


__all__ = ["load_bundle"]
