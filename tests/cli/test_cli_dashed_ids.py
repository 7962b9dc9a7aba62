"""Ids that begin with ``-`` in every form of the command line that docs/cli.md shows.

ocomms ids are nanoids over ``A-Za-z0-9_-``: one in 32 begins with ``-`` (the sample's Acme
does). Each form goes through ``ocomms_pipeline.cli.main.main`` against a real database; exports
run the real Dagster job in this process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocomms_pipeline.cli.main import main
from ocomms_pipeline.requests import queue as request_queue

from ..support.exports import read_manifest

DASHED_USER = "-Ab9xY_dashed-user-0001"
DASHED_ORG = "-Xy3_dashed-org-000001"


@pytest.fixture
def queue_url(make_database, monkeypatch) -> str:
    database = make_database(seed=False)
    request_queue.init_db(database.url)
    monkeypatch.setenv("OCOMMS_DATABASE_URL", database.url)
    return database.url


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["request", DASHED_ORG, "--requested-by", DASHED_USER],
        ["request", "--requested-by", DASHED_USER, DASHED_ORG],
        ["request", f"--requested-by={DASHED_USER}", DASHED_ORG],
        ["request", "--requested-by", DASHED_USER, "--", DASHED_ORG],
    ],
    ids=["readme-form", "option-first", "equals", "double-dash"],
)
def test_request_and_status_take_dashed_ids(queue_url, capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    request_id = out.strip()
    for form in (["status", request_id, "--json"], ["status", "--json", request_id]):
        code, out, err = _run(capsys, *form)
        assert (code, err) == (0, "")
        row = json.loads(out)
        assert (row["organization_id"], row["requested_by"]) == (DASHED_ORG, DASHED_USER)
    code, out, _ = _run(capsys, "status", request_id)
    assert code == 0 and f"organization_id: {DASHED_ORG}" in out.splitlines()


def test_a_malformed_dashed_id_is_still_refused(queue_url, capsys):
    code, _, err = _run(capsys, "request", "-bad/id", "--requested-by", DASHED_USER)
    assert code == 3 and err.startswith("refused: malformed organization id '-bad/id'")


def test_typos_and_abbreviations_are_usage_errors(queue_url, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["request", DASHED_ORG, "--requested", DASHED_USER])
    assert exited.value.code == 2
    assert "the following arguments are required: --requested-by" in capsys.readouterr().err


@pytest.fixture(scope="module")
def acme(seeded_db) -> tuple[str, str]:
    org = seeded_db.sample.orgs["Acme"]
    assert org.startswith("-"), "the sample's Acme is the dashed organization"
    return org, seeded_db.sample.owners["Acme"][0]


def test_export_plain_form_with_a_dashed_organization(seeded_db, acme, tmp_path, capsys):
    org, owner = acme
    argv = ["export", org, str(tmp_path), "--requested-by", owner, "--no-archive"]
    code, out, err = _run(capsys, *argv, "--database-url", seeded_db.url)
    assert (code, err) == (0, "")
    bundle = Path(out.splitlines()[0].removeprefix("bundle: "))
    assert bundle.parent == tmp_path / org
    assert read_manifest(bundle)["requester"]["principal"] == owner


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "{org}", "{out}", "--requested-by", DASHED_USER],
        ["export", "--requested-by", DASHED_USER, "{org}", "{out}"],
        ["export", "--requested-by", DASHED_USER, "--", "{org}", "{out}"],
    ],
    ids=["readme-form", "option-first", "double-dash"],
)
def test_export_takes_a_dashed_requester(seeded_db, acme, tmp_path, capsys, argv):
    """A dashed requester who is no member: the owner gate names it, so it was parsed as one."""
    org, _ = acme
    words = [w.format(org=org, out=tmp_path) for w in argv[1:]]
    code, out, err = _run(capsys, "export", "--database-url", seeded_db.url, *words)
    assert (code, out) == (3, "")
    assert err.startswith("refused: ") and DASHED_USER in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
