"""A refused requester causes no read of organization data.

The export connects as a role that may read only the two tables the gate needs. Every refusal
must still come back as a clean rejection; had anything else been read first, PostgreSQL would
have answered "permission denied" instead. The owner's export then fails on the first data
table, which shows the restriction bites.
"""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..support.exports import export, tree

GATE_TABLES = ("organizations", "members")


@pytest.fixture
def gate_only_url(make_database):
    db = make_database()
    role = f"gate_only_{secrets.token_hex(4)}"
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT ON {', '.join(GATE_TABLES)} TO {role}")
    params = conninfo_to_dict(db.url)
    params["user"] = role
    yield db, make_conninfo(**params)
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(f"REVOKE ALL ON {', '.join(GATE_TABLES)} FROM {role}")
    from ocomms_pipeline.sandbox import servers

    servers.drop_database(servers.admin_server_url(), db.name)
    with psycopg.connect(servers.admin_server_url(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("decide_first", [True, False], ids=["before launching", "in the run"])
def test_refusals_read_nothing_but_membership(gate_only_url, tmp_path, decide_first):
    db, url = gate_only_url
    sample = db.sample
    acme = sample.orgs["Acme"]
    for requester in (sample.admin, sample.guest, sample.former_member, "operator:x/y"):
        outcome = export(url, acme, requester, tmp_path, decide_first=decide_first)
        assert outcome.outcome == "rejected", outcome.reason
        assert "permission denied" not in outcome.reason
    unknown = export(url, "noSuchOrganization000000", "operator:ops", tmp_path)
    assert unknown.outcome == "rejected"
    owner = export(url, acme, sample.owners["Acme"][0], tmp_path)
    assert owner.outcome == "failed" and "permission denied" in owner.reason
    assert tree(tmp_path) in ([], [acme])
