"""The target database as the restore needs to see it, read from PostgreSQL's own catalog.

Columns (required or not), unique keys and foreign keys come from the live database rather
than from the schema snapshot, so a restore into an install of a newer or older ocomms
judges that install's real schema, and the order rows go in follows its real constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

_COLUMNS = """
SELECT c.relname, a.attname, a.attnotnull AND NOT a.atthasdef AND a.attgenerated = ''
       AND a.attidentity = '', a.attgenerated <> ''
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname = ANY(%(tables)s) AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

_UNIQUE_KEYS = """
SELECT t.relname, i.indisprimary, array_agg(a.attname::text ORDER BY k.ord)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
  AND t.relname = ANY(%(tables)s) AND pg_table_is_visible(t.oid)
GROUP BY t.relname, i.indexrelid, i.indisprimary
ORDER BY t.relname, NOT i.indisprimary, i.indexrelid
"""

_FOREIGN_KEYS = """
SELECT s.relname, d.relname
FROM pg_constraint k
JOIN pg_class s ON s.oid = k.conrelid
JOIN pg_class d ON d.oid = k.confrelid
WHERE k.contype = 'f' AND s.relname = ANY(%(tables)s) AND pg_table_is_visible(s.oid)
"""


@dataclass
class TargetTable:
    name: str
    columns: list[str] = field(default_factory=list)
    required: set[str] = field(default_factory=set)  # NOT NULL, no default, not generated
    generated: set[str] = field(default_factory=set)
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)  # besides the primary key
    references: set[str] = field(default_factory=set)  # tables its foreign keys point at


def inspect(conn: psycopg.Connection, tables: list[str]) -> dict[str, TargetTable]:
    """The visible tables among ``tables`` (missing ones are simply absent)."""
    found: dict[str, TargetTable] = {}
    params = {"tables": tables}
    for name, column, required, generated in conn.execute(_COLUMNS, params):
        table = found.setdefault(name, TargetTable(name))
        table.columns.append(column)
        if required:
            table.required.add(column)
        if generated:
            table.generated.add(column)
    for name, primary, columns in conn.execute(_UNIQUE_KEYS, params):
        if name not in found:
            continue
        if primary:
            found[name].primary_key = tuple(columns)
        else:
            found[name].unique_keys.append(tuple(columns))
    for source, destination in conn.execute(_FOREIGN_KEYS, params):
        if source in found:
            found[source].references.add(destination)
    return found
