"""The bundle to restore: a published directory or its zip, checked before it is trusted.

A zip is unpacked into a scratch directory first, because the bundle's own checks
(``verification.verify_bundle``: manifest, sizes, sha256, rows, keys, types, references)
read files. Entries are unpacked one by one, refusing any name that would land outside the
scratch directory. A zip may hold the bundle at its root (as the export's archive does) or
inside one directory. Opening checks only the manifest (format, version, the shape of each
entry); ``verify`` reads every file, and the restore calls it once the target is judged.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.checks.verification import verify_bundle
from ocomms_pipeline.restore.errors import RestoreRefused

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class OpenBundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def organization_id(self) -> str:
        return str(self.manifest["organization"]["id"])

    @property
    def organization_name(self) -> str:
        return str(self.manifest["organization"].get("name") or "")

    def entry(self, table: str) -> dict[str, Any] | None:
        return self.manifest["tables"].get(table)


@contextmanager
def open_bundle(source: Path, scratch: Path | None = None) -> Iterator[OpenBundle]:
    """The checked bundle at ``source`` (a directory or a ``.zip``), or a refusal."""
    source = Path(source)
    if source.is_dir():
        yield _checked(source)
        return
    if not source.is_file():
        raise RestoreRefused(f"{source} is neither a bundle directory nor a zip archive")
    with tempfile.TemporaryDirectory(prefix="ocomms-restore-", dir=scratch) as unpacked:
        yield _checked(_unzip(source, Path(unpacked)))


def _unzip(archive: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _extract(zf, info, into)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise RestoreRefused(f"{archive.name} is not a readable zip archive: {error}") from None
    except (OSError, ValueError, NotImplementedError) as error:
        raise RestoreRefused(f"{archive.name} cannot be unpacked: {error}") from None
    if (into / bundle.MANIFEST).is_file():
        return into
    entries = list(into.iterdir())
    if len(entries) == 1 and (entries[0] / bundle.MANIFEST).is_file():
        return entries[0]
    raise RestoreRefused(f"{archive.name} holds no {bundle.MANIFEST}: not a bundle archive")


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, into: Path) -> None:
    """One entry, streamed (a CRC error surfaces as BadZipFile on the last read)."""
    name = PurePosixPath(info.filename)
    if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
        raise RestoreRefused(f"the archive entry {info.filename!r} points outside the bundle")
    target = into.joinpath(*name.parts)
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as entry, open(target, "wb") as out:
        shutil.copyfileobj(entry, out, _COPY_CHUNK)


def _checked(path: Path) -> OpenBundle:
    manifest_path = path / bundle.MANIFEST
    if not manifest_path.is_file():
        raise RestoreRefused(f"{path} is not a bundle: {bundle.MANIFEST} is missing")
    try:
        manifest = bundle.read_json(manifest_path)
    except (ValueError, OSError) as error:
        raise RestoreRefused(f"{bundle.MANIFEST} is not readable JSON: {error}") from None
    _check_format(manifest)
    for table, entry in manifest["tables"].items():
        _check_entry(table, entry)
    return OpenBundle(path, manifest)


def verify(opened: OpenBundle) -> None:
    """Every check ``ocomms-pipeline verify`` makes, or a refusal naming the first problem.

    The restore asks for this after the cheap refusals (wrong target, organization already
    there), so an operator learns those in a second, not after the files are read.
    """
    problems = verify_bundle(opened.path)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise RestoreRefused(f"the bundle fails its checks: {problems[0].line()}{more}")


def _check_format(manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != bundle.FORMAT_NAME:
        raise RestoreRefused(f"{bundle.MANIFEST} does not describe an {bundle.FORMAT_NAME} bundle")
    version = manifest.get("format_version")
    if version != bundle.FORMAT_VERSION:
        raise RestoreRefused(
            f"the bundle has format version {version!r}; this restore reads version "
            f"{bundle.FORMAT_VERSION} only"
        )
    organization = manifest.get("organization")
    if not isinstance(organization, dict) or not isinstance(organization.get("id"), str):
        raise RestoreRefused(f"{bundle.MANIFEST} names no organization")
    if not isinstance(manifest.get("tables"), dict):
        raise RestoreRefused(f"{bundle.MANIFEST} lists no tables")


def _check_entry(table: str, entry: Any) -> None:
    """A table's manifest entry has the shape the restore reads, and names a file inside."""
    shaped = (
        isinstance(entry, dict)
        and isinstance(entry.get("file"), str)
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("rows"), int)
        and isinstance(entry.get("exported_columns"), list)
        and all(isinstance(c, str) for c in entry["exported_columns"])
    )
    if not shaped:
        raise RestoreRefused(f"{bundle.MANIFEST}: the entry of {table!r} is malformed")
    name = entry["file"]
    if PurePosixPath(name).name != name or name.startswith(".") or "\\" in name:
        raise RestoreRefused(f"{bundle.MANIFEST}: {table}'s file {name!r} is not in the bundle")
