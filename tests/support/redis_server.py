"""A real ``redis-server`` on a free loopback port, in a private directory, for tests that need Redis.

No fake Redis: atomicity and persistence are exactly what these tests are about. When the binary is
absent the tests skip and say how to install it; ``.ci/run`` installs it and sets
``CI_REQUIRE_REDIS``, so there a missing binary fails instead.

Persistence is the setting the deployment docs require: AOF on, ``appendfsync everysec``. Writes
reach the AOF file (the kernel's page cache) before Redis replies, so a killed process loses nothing
it acknowledged; ``everysec`` only bounds what a whole-machine crash can lose.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = "redis-server"
# Seconds to wait for the process to answer PING (a startup wait, not a timing assert).
_START_TIMEOUT = 15.0

MISSING = (
    "redis-server is not installed: `apt-get install -y redis-server` (Debian/Ubuntu) "
    "or `brew install redis`; .ci/run installs it"
)


def redis_binary() -> str | None:
    """The path of ``redis-server``, or None when it is not installed."""
    return shutil.which(REDIS_SERVER)


def require_redis() -> str:
    """The path of ``redis-server``; skip the calling test with a clear reason when it is absent."""
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CI_REQUIRE_REDIS"):
            pytest.fail(f"CI_REQUIRE_REDIS is set but {MISSING}")
        pytest.skip(MISSING)
    return binary


def fresh_prefix(name: str = "test") -> str:
    """A key prefix no other test uses, so tests can share one server in any order."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process: start, SIGKILL, restart on the same port and data directory."""

    def __init__(self, directory: Path, *, binary: str | None = None) -> None:
        self.directory = Path(directory)
        self.binary = binary or require_redis()
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The running server's process id (the scale-out benchmark reads its CPU time)."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    f'dir "{self.directory}"',
                    'logfile "redis.log"',
                    "daemonize no",
                    "protected-mode yes",
                    # Durability the deployment docs require: every acknowledged write is in the
                    # AOF before the reply; fsync once a second.
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "",
                ]
            )
        )
        return config

    def start(self) -> RedisServer:
        """Start (or restart, keeping the data directory) and wait until it answers PING."""
        if self.running:
            return self
        config = self._write_config()
        self._process = subprocess.Popen(
            [self.binary, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.directory / "redis.log"
                tail = log.read_text()[-2000:] if log.exists() else "(no log)"
                raise RuntimeError(f"redis-server exited at start:\n{tail}")
            if _answers_ping(self.port):
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to flush or save anything."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        """Shut down politely, falling back to SIGKILL."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None

    def restart(self) -> RedisServer:
        """Start again on the same port and directory (replaying the AOF)."""
        self.stop()
        return self.start()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    """A started server, stopped on exit; skips the test when ``redis-server`` is absent."""
    server = RedisServer(directory).start()
    try:
        yield server
    finally:
        server.stop()
