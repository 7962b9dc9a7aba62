"""One bundle of the main sample organization per test module, exported by the real job."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import export_bundle


@pytest.fixture(scope="module")
def main_bundle(seeded_db, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Published bundle (with its zip beside it); tests that alter it work on a copy."""
    organization = seeded_db.sample.orgs[seeded_db.sample.main_org]
    return export_bundle(seeded_db.url, organization, tmp_path_factory.mktemp("bundle"))
