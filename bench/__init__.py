"""Measurements too large for the test suite; run as ``python -m bench.<module>``.

The modules at the top are the entry points (``bench/README.md`` names each); ``generators/``
makes their data, ``children/`` holds the measurements that run as processes of their own,
``support/`` what they share.
"""
