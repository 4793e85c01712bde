"""Real PostgreSQL and Redis servers for tests and benchmarks, on free ports in throwaway
directories. No mocks: the harness starts the same servers production uses.

PostgreSQL's ``initdb`` refuses to run as root, so as root the cluster is created and run as
the ``postgres`` user.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def _pg_bindir() -> str:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError("PostgreSQL server binaries not found: run `make test-deps` "
                       "(apt-get install postgresql)")


class PostgresServer:
    def __init__(self, fast: bool = True, settings: tuple[str, ...] = ()) -> None:
        self.settings = settings  # more postgresql.conf lines (a diagnostic's extensions)
        self.bindir = _pg_bindir()
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="gw-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.fast = fast
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.log = os.path.join(self.root, "pg.log")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://gateway@127.0.0.1:{self.port}/gateway"

    def start(self) -> "PostgresServer":
        if not os.path.exists(self.datadir):
            self._run(f"{self.bindir}/initdb", "-D", self.datadir, "-U", "gateway",
                      "--auth=trust", "-E", "UTF8", "--no-sync")
            opts = ["listen_addresses = '127.0.0.1'", f"port = {self.port}",
                    "unix_socket_directories = ''", "max_connections = 300",
                    "shared_buffers = 256MB"]
            if self.fast:
                opts += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
            opts += list(self.settings)
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as conf:
                conf.write("\n".join(opts) + "\n")
            self._pg_ctl("start")
            self._run(f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "gateway", "gateway")
        else:
            self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        args = [f"{self.bindir}/pg_ctl", "-D", self.datadir, "-l", self.log, "-w", "-t", "60"]
        self._run(*args, *extra, action)
        if action in ("start", "restart"):
            wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop",
                  check=False)

    def restart(self) -> None:
        self.stop()
        self._pg_ctl("start")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(self.binary):
            raise RuntimeError("redis-server not found: run `make test-deps` "
                               "(apt-get install redis-server)")
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="gw-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.root,
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def start_on_same_port(self) -> "RedisServer":
        return self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
