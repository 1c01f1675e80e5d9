"""Throwaway PostgreSQL clusters for tests: initdb into a temporary folder, a Unix socket there
(no TCP), started and stopped with pg_ctl. As root, the server runs as the `postgres` user
(it refuses root); Debian's binaries are found in /usr/lib/postgresql/<version>/bin."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

_PORTS = iter(range(54320 + os.getpid() % 500 * 4, 1 << 16))


def bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (scripts/test does it)")
    return Path(initdb).parent


class Cluster:
    """One data folder and one server on a socket in `root`."""

    def __init__(self, root: Path, name: str) -> None:
        self.root, self.data = root, root / name
        self.port = next(_PORTS)
        self.log = root / f"{name}.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(bin_dir() / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def init(self, shared_buffers: str = "32MB") -> Cluster:
        """A new data folder; tests keep the server's cache small, the benchmark gives it a server's."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = {shared_buffers}\n")
        return self

    def base_backup_of(self, primary: Cluster) -> Cluster:
        """A streaming standby of `primary` (pg_basebackup -R writes standby.signal and primary_conninfo)."""
        self._run("pg_basebackup", "-D", str(self.data), "-h", str(primary.root), "-p", str(primary.port),
                  "-U", "postgres", "-R", "-X", "stream", "-c", "fast", "--no-sync")
        return self

    def start(self) -> Cluster:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start",
                  "-o", f"-k {self.root} -p {self.port} -c listen_addresses=''")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={self.port}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname=database, autocommit=True)

    def create_database(self, name: str) -> str:
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def cluster_root() -> Path:
    """A folder the server's user may write (pytest's own tmp folders are root's, mode 700)."""
    root = Path(tempfile.mkdtemp(prefix="plans-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    return root
