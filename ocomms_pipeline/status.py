"""The statuses of an export request, which are also the outcomes an export run comes to.

One vocabulary for the queue's ``status`` column (whose CHECK constraint is written from it),
the errors that end an export (a refusal is ``rejected``, a fault ``failed``), the outcomes the
CLI and the sensors read from runs, and the tests: a request's final status is the outcome of
its run, so the two must never spell a word differently.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """``pending`` -> ``running`` -> ``completed`` | ``rejected`` | ``failed``."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"


OPEN = (RequestStatus.PENDING, RequestStatus.RUNNING)
FINAL = (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.FAILED)


def sql_list(statuses: tuple[RequestStatus, ...]) -> str:
    """``('a', 'b')``: statuses as an SQL list for DDL, where parameters cannot go."""
    return "(" + ", ".join(f"'{status.value}'" for status in statuses) + ")"
