import os
import tempfile

import pytest

# Tests never touch the user's real cache.
os.environ.setdefault("AGENTGYM_CACHE", tempfile.mkdtemp(prefix="agentgym-test-cache-"))

from agentgym.domains.sgd import load_sgd  # noqa: E402


@pytest.fixture(scope="session")
def dev():
    return load_sgd(split="dev")


@pytest.fixture(scope="session")
def train():
    return load_sgd(split="train")


def _pg_bin(name):
    import shutil
    from pathlib import Path
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(hits[-1]) if hits else None


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A throwaway PostgreSQL cluster on a unix socket (Debian's postgresql package)."""
    import subprocess
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    from pathlib import Path
    # not under pytest's tmp dir: that is private to root, and the server runs as 'postgres'
    base = Path(tempfile.mkdtemp(prefix="agentgym-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        os.chmod(base, 0o777)
    data = base / "data"
    port = str(54000 + os.getpid() % 900)
    made = subprocess.run(as_postgres + [initdb, "-D", str(data), "-A", "trust", "-U", "agentgym"], capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"initdb failed: {made.stderr}")
    subprocess.run(as_postgres + [pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                                  f"-k {base} -p {port} -c listen_addresses=''", "start"], check=True, capture_output=True)
    yield {"host": str(base), "port": port}
    subprocess.run(as_postgres + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    import shutil
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg_database(pg_server):
    """A fresh database on the test cluster; returns its SQLAlchemy URL."""
    import uuid

    import psycopg
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(host=pg_server["host"], port=pg_server["port"], user="agentgym", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://agentgym@/{name}?host={pg_server['host']}&port={pg_server['port']}"


def without_notices(stderr: str) -> str:
    """stderr less agentgym.cache.first_time's lines (a cold cache's one-time work, e.g. fitting the user, says
    what it does and how long it took): what a command said about the input it was given."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if "(first use only, then cached;" not in line
                   and not (line.startswith("agentgym: done in ") and line.rstrip().endswith(" s.")))
