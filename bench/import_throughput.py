"""Import throughput (articles and chunks per second) from an empty index.

python bench/import_throughput.py                      # seeds/
python bench/import_throughput.py --jsonl ../shared/data/news_de.jsonl --limit 500
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Archive, ImportProgress

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jsonl", type=Path, help="a JSON Lines file to import instead of seeds/")
    parser.add_argument("--limit", type=int, help="import only the first N lines of --jsonl")
    parser.add_argument("--batch-size", type=int, default=500, help="articles per commit")
    parser.add_argument("--every", type=int, default=2000, help="print progress and RSS every N chunks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = SEEDS
        if args.jsonl:
            source = args.jsonl
            if args.limit:
                source = Path(folder) / "sample.jsonl"
                with args.jsonl.open(encoding="utf-8") as full, source.open("w", encoding="utf-8") as sample:
                    for number, line in enumerate(full):
                        if number >= args.limit:
                            break
                        sample.write(line)
        archive = Archive.open(Path(folder) / "index")
        archive.embedder.embed_queries(["warm-up"])
        started = time.perf_counter()
        last_report = [0]

        def show(progress: ImportProgress) -> None:
            if progress.chunks_embedded - last_report[0] >= args.every:
                last_report[0] = progress.chunks_embedded
                elapsed = time.perf_counter() - started
                print(
                    f"  {elapsed:7.0f} s  {progress.records_done}/{progress.records_total} records committed, "
                    f"{progress.chunks_embedded} chunks embedded ({progress.chunks_embedded / elapsed:.1f}/s), "
                    f"RSS {current_rss_mb():.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )

        report = archive.import_paths([source], progress=show, batch_articles=args.batch_size)
        seconds = time.perf_counter() - started
        articles = report.imported + report.updated
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"source: {source if not args.limit else f'{args.jsonl} (first {args.limit} lines)'}")
        print(f"machine: {os.cpu_count()} cores")
        print(report.summary())
        print(
            f"{seconds:.1f} s: {articles / seconds:.2f} articles/s, {report.chunks_embedded / seconds:.1f} chunks/s, "
            f"peak RSS {peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
