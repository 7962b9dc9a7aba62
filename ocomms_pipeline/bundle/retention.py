"""Which bundles to delete: keep the newest N and everything younger than D days.

The decision is pure (bundles, the time, the policy and the protected bundles in; paths to
delete out) so it can be tested exactly; scanning the export root and deleting are thin
wrappers around it. A bundle is protected while an export request that is pending or running
points at it (``requests.queue.protected_bundles`` reads them). A bundle is deleted by renaming
it out of the
``ocomms-export-*`` namespace first, so a crash half way never leaves a partial directory that
looks like a complete bundle. Stale staging directories of runs that are no longer running
are removed too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ocomms_pipeline import settings
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.identifiers import ID_PATTERN

DELETING_PREFIX = ".deleting-"
ARCHIVE_SUFFIX = ".zip"

BundleId = tuple[str, str]  # (organization id, bundle directory name)


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep the ``keep`` newest bundles of each organization and all younger than the age."""

    keep: int = settings.RETENTION_KEEP_DEFAULT
    max_age_days: float = settings.RETENTION_MAX_AGE_DAYS_DEFAULT
    staging_max_age_hours: float = settings.RETENTION_STAGING_MAX_AGE_HOURS_DEFAULT

    def __post_init__(self) -> None:
        if self.keep < 0 or self.max_age_days < 0 or self.staging_max_age_hours < 0:
            raise ValueError("retention: keep and ages must be >= 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetentionPolicy:
        return cls(**settings.retention(environ))

    def with_overrides(self, **values: float | int | None) -> RetentionPolicy:
        """This policy with the given values replaced, ignoring the ones left as None."""
        current = {
            "keep": self.keep,
            "max_age_days": self.max_age_days,
            "staging_max_age_hours": self.staging_max_age_hours,
        }
        current.update({k: v for k, v in values.items() if v is not None})
        return RetentionPolicy(**current)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BundleEntry:
    path: Path
    taken_at: datetime  # from the directory name: the snapshot's time, UTC
    sequence: int  # the -N suffix of a second bundle in the same second

    @property
    def identity(self) -> BundleId:
        return (self.path.parent.name, self.path.name)


@dataclass(frozen=True)
class StagingEntry:
    path: Path
    run_id: str
    modified: datetime


def bundles_to_delete(
    bundles: Sequence[BundleEntry],
    now: datetime,
    policy: RetentionPolicy,
    protected: Iterable[BundleId] = (),
) -> list[Path]:
    """The bundles of ONE organization to delete: older than the age, beyond the newest N."""
    shielded = set(protected)
    newest_first = sorted(bundles, key=lambda b: (b.taken_at, b.sequence), reverse=True)
    cutoff = now - timedelta(days=policy.max_age_days)
    return [
        b.path
        for b in newest_first[policy.keep :]
        if b.taken_at < cutoff and b.identity not in shielded
    ]


def stale_staging(
    entries: Sequence[StagingEntry],
    now: datetime,
    policy: RetentionPolicy,
    active_run_ids: Iterable[str] = (),
) -> list[Path]:
    """Staging directories older than the threshold whose run is not (known to be) running."""
    active = set(active_run_ids)
    cutoff = now - timedelta(hours=policy.staging_max_age_hours)
    return [e.path for e in entries if e.modified < cutoff and e.run_id not in active]


def protected_identity(bundle_path: str) -> BundleId:
    """What a request's bundle path protects: (organization, bundle), wherever root is mounted."""
    path = Path(bundle_path)
    name = path.name.removesuffix(ARCHIVE_SUFFIX)
    return (path.parent.name, name)


# --- the filesystem around the pure decisions -----------------------------


def organization_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and ID_PATTERN.fullmatch(p.name))


def scan_bundles(organization_dir: Path) -> list[BundleEntry]:
    entries = []
    for path in organization_dir.iterdir():
        parsed = bundle.parse_bundle_name(path.name)
        if parsed is not None and path.is_dir():
            entries.append(BundleEntry(path, *parsed))
    return entries


def _newest_mtime(directory: Path) -> datetime:
    """The latest change inside a staging directory: files are written as an export runs."""
    times = [directory.stat().st_mtime]
    times += [p.stat().st_mtime for p in directory.iterdir()]
    return datetime.fromtimestamp(max(times), UTC)


def scan_staging(organization_dir: Path) -> list[StagingEntry]:
    return [
        StagingEntry(p, p.name.removeprefix(bundle.STAGING_PREFIX), _newest_mtime(p))
        for p in organization_dir.iterdir()
        if p.is_dir() and p.name.startswith(bundle.STAGING_PREFIX)
    ]


@dataclass
class RetentionPlan:
    bundles: list[Path] = field(default_factory=list)
    staging: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)  # .deleting-* of an interrupted run
    kept: int = 0


def plan_retention(
    root: Path,
    now: datetime,
    policy: RetentionPolicy,
    protected: Iterable[BundleId] = (),
    active_run_ids: Iterable[str] = (),
) -> RetentionPlan:
    """Everything under the export root that the policy removes, organization by organization."""
    shielded, active = set(protected), set(active_run_ids)
    plan = RetentionPlan()
    for org_dir in organization_dirs(root):
        entries = scan_bundles(org_dir)
        doomed = bundles_to_delete(entries, now, policy, shielded)
        plan.bundles += doomed
        plan.kept += len(entries) - len(doomed)
        plan.staging += stale_staging(scan_staging(org_dir), now, policy, active)
        plan.leftovers += [p for p in org_dir.iterdir() if p.name.startswith(DELETING_PREFIX)]
    return plan


def delete_bundle(path: Path) -> None:
    """Rename out of the bundle namespace, then remove; its archive beside it goes too."""
    doomed = path.with_name(DELETING_PREFIX + path.name)
    os.rename(path, doomed)
    path.with_name(path.name + ARCHIVE_SUFFIX).unlink(missing_ok=True)
    shutil.rmtree(doomed)


def apply_plan(plan: RetentionPlan) -> None:
    for path in plan.bundles:
        delete_bundle(path)
    for path in plan.staging + plan.leftovers:
        shutil.rmtree(path, ignore_errors=True)
