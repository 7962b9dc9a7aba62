"""What the benchmarks at the top of ``bench/`` share: timed commands, Dagster instances made as
a user makes them, the machine's busy CPU, and the export benchmark's report."""
