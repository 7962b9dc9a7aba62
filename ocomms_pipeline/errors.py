"""Errors that end an export, each carrying a message meant for a person, not a stack trace."""

from __future__ import annotations

from ocomms_pipeline.status import RequestStatus


class ExportError(Exception):
    """An export could not be completed; ``str(error)`` is a one-line reason."""

    outcome = RequestStatus.FAILED


class ExportRefused(ExportError):
    """The requester may not have this export (not an owner, unknown organization, bad id).

    Refusals are decisions, not faults: the request ends as ``rejected`` and nothing is read.
    """

    outcome = RequestStatus.REJECTED

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.code = code


class SchemaMismatch(ExportError):
    """The database lacks columns the catalog exports: wrong database or an unknown version."""


def describe(error: BaseException) -> str:
    """A one-line description of an unexpected error (database gone, disk full, ...)."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return f"{type(error).__name__}: {first}"
