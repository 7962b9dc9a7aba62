"""Export ocomms organizations to verified JSON and Parquet bundles with Dagster."""
