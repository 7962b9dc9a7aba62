"""Validation of organization ids and requester principals.

Ids arrive from run config, tags, the CLI and the request queue: all untrusted. They become
directory names and SQL parameters, so they are checked against ocomms's id alphabet before
anything else happens, and a bad one is a refusal with a readable reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ocomms_pipeline.errors import ExportRefused

# ocomms ids are nanoids (A-Za-z0-9_-, 24 characters); allow other lengths up to 64 so that an
# install with longer ids still works, but never anything that can name another path.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
OPERATOR_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
OPERATOR_PREFIX = "operator:"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def organization_id(value: object) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ExportRefused(
            f"malformed organization id {_shown(value)}: expected 1-64 characters of A-Za-z0-9_-",
            code="malformed_organization_id",
        )
    return value


@dataclass(frozen=True)
class Principal:
    """Who asked for an export: an ocomms user (checked as owner) or a named operator."""

    kind: Literal["user", "operator"]
    name: str

    def __str__(self) -> str:
        return OPERATOR_PREFIX + self.name if self.kind == "operator" else self.name

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


def principal(value: object) -> Principal:
    """The principal a claim names (one already parsed is itself); refused when malformed."""
    if isinstance(value, Principal):
        return value
    if isinstance(value, str) and value.startswith(OPERATOR_PREFIX):
        name = value[len(OPERATOR_PREFIX) :]
        if OPERATOR_PATTERN.fullmatch(name):
            return Principal("operator", name)
        raise ExportRefused(
            f"malformed operator principal {_shown(value)}: expected operator:<name>",
            code="malformed_requester",
        )
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ExportRefused(
            f"malformed requester id {_shown(value)}: expected a user id or operator:<name>",
            code="malformed_requester",
        )
    return Principal("user", value)


def operator(name: str) -> Principal:
    return principal(OPERATOR_PREFIX + name)
