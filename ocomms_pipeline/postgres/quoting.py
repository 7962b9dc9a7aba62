"""SQL identifiers quoted once, the same way for every query and every DDL statement.

Names come from the catalog and from ocomms's schema record, never from users, but they are
quoted anyway so that case, keywords and odd characters survive.
"""

from __future__ import annotations


def quote(identifier: str) -> str:
    """A double-quoted identifier, inner quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal; with standard_conforming_strings doubling quotes is enough."""
    return "'" + text.replace("'", "''") + "'"
