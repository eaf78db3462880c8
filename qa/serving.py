"""``qa serve``: one warm process per archive that answers the ``qa ask`` and ``qa search`` of
this machine, so a question costs the answer, not the start of Python, ONNX Runtime and two
models (about 4 s here).

The ``qa`` command (:mod:`qa.__main__`) asks here first: for ``ask`` and ``search`` it looks for
the socket of a server of the same archive and, when one answers, hands it the command line and
prints what comes back; otherwise (no server, a dead one, ``QA_SERVE=0``) it runs :mod:`qa.cli`
itself. Both run the same commands of :mod:`qa.cli`, so the output is the same. This module
imports only the standard library, and not :mod:`qa.cli`: the server is given the commands to run.

The socket lives in a folder of the user's own (mode 0700) under the temporary directory, named
after the archive's absolute location; one request at a time, one JSON line each way.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import socketserver
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

SERVED_COMMANDS = ("ask", "search")
SERVE_ENV = "QA_SERVE"
INDEX_ENV = "QA_INDEX"
_REPLY_LIMIT = 64 * 2**20


def archive_location(given: str | None) -> str:
    """The archive's location as a server names it: a Milvus URI as given, a directory absolute."""
    location = given or os.environ.get(INDEX_ENV) or "index"
    if location.startswith(("milvus://", "milvus-lite://")):
        return location
    return str(Path(location).resolve())


def socket_path(location: str) -> Path:
    folder = Path(tempfile.gettempdir()) / f"archive-qa-{os.getuid()}"
    return folder / f"{hashlib.sha256(location.encode()).hexdigest()[:16]}.sock"


def index_argument(argv: list[str]) -> str | None:
    """The value of ``--index`` on a command line, if it has one."""
    for position, argument in enumerate(argv):
        if argument == "--index" and position + 1 < len(argv):
            return argv[position + 1]
        if argument.startswith("--index="):
            return argument.split("=", 1)[1]
    return None


def without_index(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--index":
            skip = True
        elif not argument.startswith("--index="):
            kept.append(argument)
    return kept


def ask_server(argv: list[str]) -> int | None:
    """Run ``argv`` on the archive's server; its exit status, or ``None`` where none answers."""
    path = socket_path(archive_location(index_argument(argv)))
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(path))
            connection.sendall(json.dumps({"argv": argv}).encode() + b"\n")
            reply = connection.makefile("rb").readline(_REPLY_LIMIT)
    except OSError:
        return None
    if not reply:
        return None
    answer = json.loads(reply)
    sys.stdout.write(answer["stdout"])
    sys.stderr.write(answer["stderr"])
    return int(answer["exit"])


def run_command(cli: click.Group, argv: list[str]) -> tuple[int, str, str]:
    """Run one command line of ``cli`` in this process; its exit status, stdout and stderr."""
    import click

    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args=argv, prog_name="qa", standalone_mode=False)
        except click.exceptions.Exit as stop:
            status = stop.exit_code
        except click.ClickException as error:
            error.show()
            status = error.exit_code
        except click.exceptions.Abort:
            status = 1
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
    return status, out.getvalue(), err.getvalue()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(_REPLY_LIMIT)
        if not line:
            return
        started = time.perf_counter()
        argv = json.loads(line)["argv"]
        if not argv or argv[0] not in SERVED_COMMANDS:
            status, out, err = 2, "", f"qa serve answers {' and '.join(SERVED_COMMANDS)} only\n"
        else:
            status, out, err = self.server.run([*without_index(argv), "--index", self.server.location])
        self.wfile.write(json.dumps({"exit": status, "stdout": out, "stderr": err}).encode() + b"\n")
        print(
            f"qa {argv[0] if argv else '?'}: exit {status} in {time.perf_counter() - started:.2f} s",
            file=sys.stderr,
            flush=True,
        )


class _Server(socketserver.UnixStreamServer):
    def __init__(self, path: Path, location: str, run: Callable[[list[str]], tuple[int, str, str]]) -> None:
        self.location = location
        self.run = run
        super().__init__(str(path), _Handler)


def serve(
    given: str | None, warm_archive: Callable[[str], object], run: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    """Open the archive (``warm_archive``: with its models loaded) and answer ``qa ask``/``qa
    search`` with ``run`` (a command line: exit status, stdout, stderr) until stopped."""
    location = archive_location(given)
    path = socket_path(location)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.exists():
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
            raise SystemExit(f"qa serve: a server of {location} is already running ({path})")
        except ConnectionRefusedError:
            path.unlink()
    warm_archive(location)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _Server(path, location, run) as server:
        try:
            print(f"serving {location} on {path}; `qa ask` and `qa search` on this machine use it", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            path.unlink(missing_ok=True)
