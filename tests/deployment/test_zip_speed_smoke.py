"""The zip benchmark at a tiny size: every way runs, reads back, and leaves nothing behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench import zip_speed


def test_tiny_zip_benchmark_reports_every_way_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    zip_speed.main(["--megabytes", "2", "--workers", "2"])
    out = capsys.readouterr().out
    assert "before: zipfile, zlib level 6, 1 thread" in out
    assert "zipfile, zlib level 1, 1 thread" in out
    assert "archive.build: ISA-L level 2, 2 thread(s)" in out
    assert "archive.build vs before:" in out
    assert list(tmp_path.iterdir()) == []
