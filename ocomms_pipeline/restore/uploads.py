"""The bundle's uploaded files back into the target's uploads directory, never over another.

Planned before the rows go in: a file already there with the same bytes is kept, a different
file of the same name refuses the whole restore (nothing is written, the transaction rolls
back), and a symbolic link on the way is never followed. The files are written just before the
commit, each under a temporary name and linked into place (which fails rather than replace a
file that appeared meanwhile), and removed again if the commit does not happen.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.restore.errors import RestoreRefused

NO_DIRECTORY = "no uploads directory given (--uploads-dir)"


@dataclass
class FilePlan:
    """What the restore does with the bundle's files; counts and reasons go in the report."""

    uploads_dir: Path | None
    to_write: list[str] = field(default_factory=list)  # paths under files/ and the uploads dir
    already_present: int = 0
    not_restored: int = 0
    reason: str | None = None
    written: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "restored": len(self.to_write),
            "already_present": self.already_present,
            "not_restored": self.not_restored,
            "reason": self.reason,
        }

    def line(self, dry_run: bool) -> str | None:
        if not (self.to_write or self.already_present or self.not_restored):
            return None
        verb = "would restore" if dry_run else "restored"
        text = f"files: {len(self.to_write):,} {verb}"
        if self.already_present:
            text += f", {self.already_present:,} already in the uploads directory, identical"
        if self.not_restored:
            text += f"; {self.not_restored:,} NOT restored: {self.reason}"
        return text


def plan_files(bundle_path: Path, manifest: dict[str, Any], uploads_dir: Path | None) -> FilePlan:
    """Decide file by file; raises RestoreRefused for a different file of the same name."""
    listed = uploads.listed_files(manifest.get("files"))
    plan = FilePlan(uploads_dir)
    if uploads_dir is None:
        plan.not_restored, plan.reason = len(listed), NO_DIRECTORY
        return plan
    if listed and not uploads_dir.is_dir():
        raise RestoreRefused(f"the uploads directory {uploads_dir} does not exist")
    prefix = f"{uploads.FILES_DIR}/"
    for entry in listed:
        relative = str(entry["file"]).removeprefix(prefix)
        try:
            fd, _ = uploads.open_regular_file(uploads_dir, relative)
        except uploads.Unreadable as why:
            if str(why).startswith("missing on disk"):
                plan.to_write.append(relative)
                continue
            raise RestoreRefused(f"uploads directory: {relative}: {why}") from None
        try:
            found = uploads.hash_open(fd)
        finally:
            os.close(fd)
        if found.sha256 != entry.get("sha256"):
            raise RestoreRefused(
                f"uploads directory: {relative} exists with other content; not overwritten"
            )
        plan.already_present += 1
    return plan


def place_files(bundle_path: Path, plan: FilePlan) -> None:
    """Write the planned files; on any error remove those written and raise."""
    assert plan.uploads_dir is not None or not plan.to_write
    try:
        for relative in plan.to_write:
            _place(bundle_path / uploads.FILES_DIR / relative, plan, relative)
    except BaseException:
        remove_written(plan)
        raise


def _place(source: Path, plan: FilePlan, relative: str) -> None:
    assert plan.uploads_dir is not None
    target = plan.uploads_dir / relative
    partial = target.with_name(f".ocomms-restore-{os.getpid()}-{target.name}")
    fd, _ = uploads.open_regular_file(source.parent, source.name)
    try:
        uploads.copy_to(fd, partial)
    finally:
        os.close(fd)
    try:
        os.link(partial, target)
    except FileExistsError:
        raise RestoreRefused(
            f"uploads directory: {relative} appeared during the restore; not overwritten"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    plan.written.append(target)


def remove_written(plan: FilePlan) -> None:
    """Take back the files this restore wrote (the commit did not happen)."""
    for path in plan.written:
        with contextlib.suppress(OSError):
            path.unlink()
    plan.written.clear()
