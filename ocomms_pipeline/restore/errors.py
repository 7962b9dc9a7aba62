"""The two ways a restore ends without restoring, each with a one-line reason for a person."""

from __future__ import annotations


class RestoreError(Exception):
    """A restore that did not happen; ``organization_id`` once the bundle has named it."""

    organization_id: str | None = None


class RestoreRefused(RestoreError):
    """The restore cannot go ahead as asked (bad bundle, wrong target, conflicting rows).

    Decided before anything is written, or inside the transaction that is then rolled back:
    either way the target is unchanged.
    """


class RestoreFailed(RestoreError):
    """The restore broke off (database gone, disk error); the transaction never committed."""
