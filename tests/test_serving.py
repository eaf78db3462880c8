"""`qa serve`: `qa ask` and `qa search` answered by a warm process print what they print alone,
and fall back to answering alone when the server is gone."""

import os
import signal
import subprocess
import sys
import time

import pytest

from qa.serving import archive_location, socket_path

pytestmark = pytest.mark.slow
QUESTION = "Who leads the Ukrainian delegation?"


def qa(*arguments: str, serve: bool = True) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_SERVE": "1" if serve else "0"}
    command = [sys.executable, "-m", "qa", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)


def start_server(index: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--index", index],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def wait_for(path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def test_a_server_answers_as_the_command_does_alone_and_a_dead_one_is_passed_over(seed_archive):
    index = str(seed_archive.path)
    path = socket_path(archive_location(index))
    server = start_server(index)
    try:
        wait_for(path, server)
        served = qa("ask", QUESTION, "--index", index)
        searched = qa("search", "Umjerow", "-k", "2", "--index", index)
        alone = qa("ask", QUESTION, "--index", index, serve=False)
        assert served.returncode == alone.returncode == searched.returncode == 0, served.stderr + alone.stderr
        assert served.stdout == alone.stdout and "Rustem Umjerow" in served.stdout
        assert "Umjerow" in searched.stdout
        server.send_signal(signal.SIGTERM)
        _out, log = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert "qa ask: exit 0" in log and "qa search: exit 0" in log, log
    assert not path.exists(), "the server left its socket behind"


def test_a_socket_left_by_a_killed_server_is_passed_over(seed_archive):
    index = str(seed_archive.path)
    path = socket_path(archive_location(index))
    server = start_server(index)
    wait_for(path, server)
    server.kill()
    server.wait()
    assert path.exists()
    answered = qa("ask", QUESTION, "--index", index)
    assert answered.returncode == 0 and "Rustem Umjerow" in answered.stdout, answered.stderr
    restarted = start_server(index)
    try:
        wait_for_line = restarted.stdout.readline()
        assert "serving" in wait_for_line
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=60)
    assert not path.exists()
