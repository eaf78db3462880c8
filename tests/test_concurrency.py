"""Concurrent use: readers in other processes keep answering while one import writes.

Readers (separate processes, as the app and a script would be) search and ask in a loop
and log, for each query, the generation they read and whether that generation was whole:
its manifest counts equal what its SQLite file and FAISS file hold. A second import started
during the first waits for the lock at each commit (so the two commit in turns, and no article
twice) or fails with a clear message, never corrupts the index.
Readers see a new generation on their next query after it is published.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Archive
from tests.conftest import SEEDS
from tests.test_crash import generate

pytestmark = pytest.mark.slow

READER = """
import json, sys, time
from pathlib import Path
from qa import Archive
index, log, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
archive = Archive.open(index)
questions = ["Who leads the Ukrainian delegation?", "Meldung Hochwasser Regierung", "Streik der Bahn"]
with log.open("w") as out:
    number = 0
    while not stop.exists():
        question = questions[number % len(questions)]
        record = {"started": time.time()}
        try:
            snapshot = archive.store.snapshot()
            db = snapshot._query
            counts = snapshot.counts()
            record["generation"] = snapshot.generation
            record["whole"] = (
                db("SELECT count(*) FROM articles")[0][0] == counts.articles
                and snapshot.vectors.ntotal == counts.vectors
                and db("SELECT count(*) FROM chunks")[0][0] == counts.vectors
            )
            if number % 2:
                hits = archive.search(question, k=3)
            else:
                hits = [archive.ask(question).source]
            record["titles"] = [hit.title for hit in hits if hit]
        except Exception as error:
            record["error"] = repr(error)
        record["finished"] = time.time()
        out.write(json.dumps(record) + "\\n")
        out.flush()
        number += 1
"""


def qa_import(source: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "import", str(source), "--index", str(index), "--quiet", "--batch-size", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def wait_for_queries_started_after(moment: float, logs: list[Path], timeout: float = 180) -> None:
    """Wait until every reader has finished a query it began after `moment`; on a slow machine
    one query can take longer than any fixed sleep."""

    def started_after(log: Path) -> bool:
        whole_lines = log.read_text().split("\n")[:-1]
        return any(json.loads(line)["started"] > moment for line in whole_lines)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(started_after(log) for log in logs):
        time.sleep(0.5)


def test_readers_see_whole_generations_while_an_import_writes_and_a_second_import_waits(tmp_path, embedder):
    index, source = tmp_path / "index", tmp_path / "new"
    source.mkdir()
    generate(source, 30, seed=9)
    Archive.open(index, embedder=embedder).import_paths([SEEDS])
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(index), str(tmp_path / f"reader{n}.jsonl"), str(stop)],
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        for n in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
            (tmp_path / f"reader{n}.jsonl").exists() and (tmp_path / f"reader{n}.jsonl").stat().st_size
            for n in range(2)
        ):
            time.sleep(0.2)
        imports = [qa_import(source, index), qa_import(source, index)]
        outcomes = [(run, *run.communicate(timeout=600)) for run in imports]
        published = time.time()
        # The two take the lock in turns, one commit at a time, in whatever order their models
        # load: between them every article is imported exactly once, and each run that succeeds
        # finds the rest unchanged; a run that gave up waiting says so clearly.
        finished = []
        for run, out, err in outcomes:
            if run.returncode != 0:
                assert "another import is writing to this index" in err, err
                print("\nan import gave up waiting, clearly:", err.strip().splitlines()[-1])
                continue
            counts = {word: int(re.search(rf"(\d+) {word}", out).group(1)) for word in ("imported", "unchanged")}
            assert counts["imported"] + counts["unchanged"] == 30 and "0 failed" in out, out
            finished.append(counts["imported"])
        assert finished and sum(finished) == 30, outcomes
        print(f"\nthe two imports committed {finished} of the 30 articles")
        wait_for_queries_started_after(published, [tmp_path / f"reader{n}.jsonl" for n in range(2)])
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=120)

    final = Archive.open(index, embedder=embedder)
    assert final.check() == []
    assert final.stats().counts.articles == 31
    final_generation = final.store.snapshot().generation
    for n in range(2):
        records = [json.loads(line) for line in (tmp_path / f"reader{n}.jsonl").read_text().splitlines()]
        assert records, "the reader answered nothing"
        assert [r for r in records if "error" in r] == []
        assert all(r["whole"] for r in records)
        generations = [r["generation"] for r in records]
        assert generations == sorted(generations), "a reader went back to an older generation"
        assert len(set(generations)) > 1, "the reader never saw the import"
        after = [r for r in records if r["started"] > published]
        assert after and all(r["generation"] == final_generation for r in after)
