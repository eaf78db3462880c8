"""Imports with the embedding on Ray: chunks/s locally and with 1 and 2 Ray actors on this
machine, and Ray's fixed cost per import (starting a local cluster and loading the model in each
actor).

    python bench/ray_import.py ../shared/data/news_de.jsonl --limit 60

The first ``--limit`` articles of the file are imported into a fresh index each time (so every
chunk is embedded), locally and then through ``RayEmbedder`` with 1 and 2 actors of one CPU
each; the model is warm in this process before the local run, and each Ray run starts its own
local cluster, whose start and first embedding are timed apart from the import.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingestion import machine, sample_of

from qa import Archive
from qa.embedding import shared_embedder
from qa.fanout import RayEmbedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    embedder = shared_embedder()
    embedder.embed_passages(["warm-up"])
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        source = sample_of(args.jsonl, args.limit, Path(scratch))
        runs: list[tuple[str, int | None]] = [("local", None), ("ray, 1 actor", 1), ("ray, 2 actors", 2)]
        for name, actors in runs:
            archive = Archive.open(Path(scratch) / name.replace(" ", "_").replace(",", ""), embedder=embedder)
            executor = None
            overhead = 0.0
            if actors:
                started = time.perf_counter()
                executor = RayEmbedder(actors=actors)
                executor.embed_passages(["warm-up"] * actors * 32)
                overhead = time.perf_counter() - started
            started = time.perf_counter()
            report = archive.import_paths([source], executor=executor)
            seconds = time.perf_counter() - started
            if executor:
                executor.close()
            figures[name] = {
                "chunks": report.chunks_embedded,
                "import_s": seconds,
                "chunks_per_s": report.chunks_embedded / seconds,
                "ray_start_and_model_load_s": overhead,
            }
            print(
                f"{name:<14} {report.chunks_embedded} chunks in {seconds:.1f} s = "
                f"{report.chunks_embedded / seconds:.1f} chunks/s"
                + (f"; Ray start + model load in the actors {overhead:.1f} s" if actors else ""),
                flush=True,
            )
    print(f"machine: {machine()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
