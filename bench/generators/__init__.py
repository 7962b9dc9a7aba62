"""The benchmark's data: a large, realistic organization written with COPY, and upload files.

``generate`` is the way in (``python -m bench.generators.generate 1M``, or ``build_database``);
the other modules make the rows of one group of tables each.
"""
