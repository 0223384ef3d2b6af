"""A throwaway PostgreSQL server for tests, from Debian's `postgresql` binaries.

`postgres_server()` makes a cluster in a new temporary folder, starts it on a free loopback
port (no Unix socket in a shared place: the socket goes in the same folder), creates one
database and yields its URL; at the end it stops the server and deletes the folder. Absent
binaries skip the test (and fail it under CI, which installs them: see .ci/run).

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server's own
commands run as the unprivileged user `nobody`, in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from needs import missing

SERVER_USER = "nobody"


def binaries() -> Path | None:
    """The bin folder of the newest PostgreSQL that Debian installed, or None."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
             if all((Path(p) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres"))]
    return max(found, key=lambda p: int(p.parent.name), default=None) if found else None


def _server_user() -> dict:
    """subprocess arguments that run the server's commands as an unprivileged user when we are
    root ({} otherwise: a normal user runs them as itself)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        missing(f"PostgreSQL will not run as root and there is no user {SERVER_USER!r} to run "
                "it as")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(command, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                            timeout=120, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stdout}\n{result.stderr}")
    return result


def _start(bin_dir, data, folder, who):
    """Start the server on a free port (another again if someone took it first); its port."""
    for _ in range(5):
        port = free_port()
        options = f"-k {folder} -p {port} -h 127.0.0.1 -c fsync=off -c full_page_writes=off"
        try:
            _run([bin_dir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-t", "60",
                  "-o", options, "start"], **who)
            return port
        except RuntimeError:
            log = folder / "server.log"
            if "could not bind" not in (log.read_text() if log.exists() else ""):
                raise
    raise RuntimeError("no free port for PostgreSQL after 5 tries")


@contextlib.contextmanager
def postgres_server(database="layerlab"):
    """Start a PostgreSQL server for the test; yields the URL of a new empty database."""
    bin_dir = binaries()
    if bin_dir is None:
        missing("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin): "
                "apt-get install postgresql")
    who = _server_user()
    # in /tmp itself, not pytest's tmp_path: the server's user must be able to reach it
    folder = Path(tempfile.mkdtemp(prefix="layerlab-pg-"))
    try:
        if who:
            os.chown(folder, who["user"], who["group"])
        data = folder / "data"
        _run([bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
              "--locale=C", "--no-sync"], **who)
        port = _start(bin_dir, data, folder, who)
        try:
            _run([bin_dir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                  database])
            yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
        finally:
            subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                            "stop"], capture_output=True, timeout=60, **who)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
