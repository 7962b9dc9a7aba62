"""Measurements too large for the test suite; run as ``python -m bench.<module>``."""
