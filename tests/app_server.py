"""The chat served as a user starts it (`streamlit run app.py`) on a free port, for the browser
tests and the start-up benchmarks: started, waited for until its health check answers, stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


class AppDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_app(
    env: Mapping[str, str], log: IO[str] | int = subprocess.DEVNULL, timeout: float = 120.0
) -> Iterator[str]:
    """The chat's URL once its server answers; the server is stopped on leaving. Raises
    :class:`AppDidNotStart` when it exits first or ``timeout`` seconds pass."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    server = subprocess.Popen(
        [*command, "--server.headless", "true"], cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if server.poll() is not None:
                raise AppDidNotStart(f"streamlit exited with status {server.returncode} before it answered")
            if time.monotonic() > deadline:
                raise AppDidNotStart(f"streamlit did not answer within {timeout:.0f} s")
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False
