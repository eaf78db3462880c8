"""The archive at scale: query latency, open-index memory, and incremental import against a rebuild.

Builds an index of ``--chunks`` chunks from the articles of a JSON Lines file, replicated
under new ids (``<id>~<n>``) until the count is reached. Embedding that many chunks would
take hours here, so the replicated chunks get stand-in vectors (unit vectors clustered per
article, as real chunks of one story are), written through the same store as an import;
their text, metadata and BM25 entries are real. The first ten articles of the file are
kept out, then imported for real (embedded with the model) as the incremental step.

Reports, model warm, the index's metadata read into the page cache (as a server has it after
its first seconds: see ``qa.storage.files.read_ahead``) and the query embedding included:
- ``search`` latency p50/p95 over distinct questions for ``--mode dense`` and ``bm25``, and
  for ``hybrid`` (the default, which embeds the sentences of its top passages to rerank them),
  and ``ask``. The stand-in vectors are not similar to any question, so ``ask`` would find
  "nothing relevant" and stop early; it is timed with the relevance floor off, so that every
  question goes the whole way (answer sentences, the reader), as a found answer does;
- the memory the open index takes (RSS after opening it, less RSS before);
- importing 10 new articles, removing one, replacing one (changed text), and a full
  rebuild's time estimated from the import's own embedding rate (a rebuild re-embeds all);
- one commit of 10 articles whose vectors are at hand (the store's write alone, no model), and
  the commit removing them again: the median of three of each.

``--index`` puts the archive on Milvus (``milvus-lite:///file.db``, ``milvus://host:port/name``)
instead of a directory; ``--commit-only`` measures the commits and nothing else.

python bench/archive_scale.py ../shared/data/news_de.jsonl --chunks 100000
python bench/archive_scale.py ../shared/data/news_de.jsonl --chunks 10000 --index milvus-lite:///tmp/scale.db
python bench/archive_scale.py ../shared/data/news_de.jsonl --keep /tmp/1m --skip-import --cold [--no-read-ahead]
"""

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingestion import machine
from startup import drop_file_cache

from qa import Archive
from qa.chunking import Chunker
from qa.parsing import read_jsonl_file
from qa.records import Article
from qa.storage import ArchiveStore, MilvusStore, embedded, open_store

QUESTIONS = [
    "Who leads the Ukrainian delegation?",
    "Wer führt die Gespräche für die USA?",
    "Where do the talks take place?",
    "Was beschloss die EU zu Russland?",
    "Which country buys Russian oil?",
    "Wie hoch ist die Inflation in Deutschland?",
    "Who won the Bundesliga match?",
    "Was sagt der Kanzler zur Rente?",
    "How many people died in the earthquake?",
    "Welche Partei gewann die Wahl?",
    "What did the central bank decide about interest rates?",
    "Wie wird das Wetter am Wochenende?",
    "Who is the new coach?",
    "Warum streiken die Lokführer?",
    "What happened at the Christmas market?",
    "Wie viele Flüchtlinge kamen nach Deutschland?",
    "Which company cut jobs?",
    "Was kostet das Deutschlandticket?",
    "Who was arrested after the attack?",
    "Wann beginnt die Fußball-Weltmeisterschaft?",
    "What did Trump say about NATO?",
    "Welche Sanktionen gibt es gegen Iran?",
    "How much money does the budget include?",
    "Wer ist der neue Papst?",
    "What are the results of the climate conference?",
    "Wo brannte es in der Nacht?",
    "Who received the Nobel Prize?",
    "Was plant die Regierung beim Bürgergeld?",
    "Why did the flight get cancelled?",
    "Wie reagierte China auf die Zölle?",
]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def read_articles(path: Path) -> list[Article]:
    return [record for record in read_jsonl_file(path) if isinstance(record, Article)]


def replicas(articles: list[Article], target: int, dimension: int, label: str = "", seed: int = 11):
    """Replicas of ``articles`` (ids ``<id>~<label><n>``) with their chunks and stand-in vectors,
    until ``target`` chunks."""
    chunker = Chunker()
    chunked = [(article, chunker.chunk_article(article)) for article in articles]
    rng = np.random.default_rng(seed)
    total = copy = 0
    while total < target:
        for article, chunks in chunked:
            if total >= target:
                return
            replica = replace(article, id=f"{article.id}~{label}{copy}", url=None, teasers=(), repairs=0, wire=None)
            owned = [replace(chunk, owner_id=replica.id) for chunk in chunks]
            story = rng.normal(size=dimension)
            vectors = story + rng.normal(0, 0.6, (len(owned), dimension))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            yield replica, owned, vectors.astype(np.float32)
            total += len(owned)
        copy += 1


def build_replicated(store: ArchiveStore, articles: list[Article], target: int, dimension: int) -> int:
    """Write replicas of ``articles`` with stand-in vectors until ``target`` chunks; the chunk count.
    Milvus gets writes of 2,000 articles (it holds a write in memory until it applies it); the
    embedded index one write, since each of its writes copies the whole metadata file."""
    per_write = 2000 if isinstance(store, MilvusStore) else target
    total = 0
    made = iter(replicas(articles, target, dimension))
    while True:
        with store.write() as batch:
            written = 0
            for replica, owned, vectors in made:
                batch.put_article(replica, owned, vectors)
                total += len(owned)
                written += 1
                if written == per_write:
                    break
        if written < per_write:
            return total


def commit_cost(store: ArchiveStore, articles: list[Article], dimension: int, rounds: int = 3) -> dict[str, float]:
    """Seconds of one write of 10 articles with their vectors at hand, and of the write removing them."""
    adds, removals = [], []
    for round_number in range(rounds):
        made = replicas(articles[:10], 10**9, dimension, label=f"commit{round_number}-", seed=round_number)
        ten = list(itertools.islice(made, 10))
        started = time.perf_counter()
        with store.write() as batch:
            for replica, owned, vectors in ten:
                batch.put_article(replica, owned, vectors)
        adds.append(time.perf_counter() - started)
        started = time.perf_counter()
        with store.write() as batch:
            for replica, _owned, _vectors in ten:
                batch.delete_owner(replica.id)
        removals.append(time.perf_counter() - started)
    figures = {"commit_10_articles_s": float(np.median(adds)), "commit_remove_10_s": float(np.median(removals))}
    print(
        f"one commit of 10 articles (vectors at hand): {figures['commit_10_articles_s']:.2f} s; "
        f"removing them: {figures['commit_remove_10_s']:.2f} s (median of {rounds})"
    )
    return figures


def percentiles(times: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(times) * 1000, [50, 95])
    return float(p50), float(p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the index here (or reuse it when it exists)")
    parser.add_argument("--index", help="a Milvus URI (or a directory) to build the archive in, instead of --keep")
    parser.add_argument("--commit-only", action="store_true", help="measure the commits of 10 articles only")
    parser.add_argument("--skip-import", action="store_true", help="measure latency and memory only")
    parser.add_argument("--json", type=Path, help="write the figures here as well")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the file cache before opening the index (root only) and time the queries at once: "
        "a server's first queries after a restart",
    )
    parser.add_argument("--no-read-ahead", action="store_true", help="open the index without reading it ahead")
    args = parser.parse_args()
    if args.no_read_ahead:
        embedded.read_ahead = lambda path, budget=None: None
    articles = read_articles(args.jsonl)
    fresh, replicated = articles[:10], articles[10:]
    with tempfile.TemporaryDirectory() as scratch:
        index = args.index or args.keep or Path(scratch) / "index"
        from qa.embedding import shared_embedder

        embedder = shared_embedder()
        embedder.embed_queries(["warm-up"])
        store = open_store(index, embedder.name, embedder.dimension)
        if not store.exists():
            started = time.perf_counter()
            chunks = build_replicated(store, replicated, args.chunks, embedder.dimension)
            print(f"built {chunks:,} replicated chunks in {time.perf_counter() - started:.0f} s")
        if args.commit_only:
            print(f"index: {store.snapshot().counts()}")
            figures = commit_cost(store, fresh, embedder.dimension)
            if args.json:
                args.json.write_text(json.dumps(figures, indent=2))
            return
        if isinstance(store, MilvusStore):
            store.close()
        if args.cold and not drop_file_cache():
            parser.error("--cold empties the file cache through /proc/sys/vm/drop_caches, which needs root")
        before = rss_mb()
        started = time.perf_counter()
        archive = Archive.open(index, embedder=embedder)
        open_s = time.perf_counter() - started
        index_mb = rss_mb() - before
        warming = getattr(archive.store, "warming", None)
        if warming is not None and not args.cold:
            warming.join()
            print(f"metadata in the page cache {time.perf_counter() - started:.1f} s after opening")
        stats = archive.stats()
        print(f"machine: {machine()}")
        print(f"index: {stats.counts.vectors:,} vectors ({stats.index_type}), {stats.counts.articles:,} articles")
        print(f"open: {open_s:.2f} s, RSS +{index_mb:.0f} MB")
        archive.ask("Wer verhandelt?")
        mode_times: dict[str, list[float]] = {"dense": [], "bm25": []}
        for mode, times in mode_times.items():
            for question in QUESTIONS:
                started = time.perf_counter()
                archive.search(f"{question} ({mode})", mode=mode)
                times.append(time.perf_counter() - started)
        search_times, ask_times = [], []
        for question in QUESTIONS:
            started = time.perf_counter()
            archive.search(question)
            search_times.append(time.perf_counter() - started)
        without_reader = Archive.open(index, embedder=embedder, short_answers=False)
        plain_times, reader_times = [], []
        for times, asking in ((plain_times, without_reader), (ask_times, archive)):
            embedder._token_cache.clear()
            for question in QUESTIONS:
                started = time.perf_counter()
                asking.ask(question, min_relevance=-1.0)
                times.append(time.perf_counter() - started)
        if archive.reader is not None:

            def full_text(hit):
                article = archive.article(hit.article_id)
                return article.body if article and not hit.is_teaser else hit.text

            for question in QUESTIONS:
                asked = archive.analyse(question)
                passages = archive._retriever.chunks(asked, archive._answers.choice.passages)
                started = time.perf_counter()
                archive._answers.readings(asked, passages, full_text)
                reader_times.append(time.perf_counter() - started)
        figures = {
            "vectors": stats.counts.vectors,
            "index_type": stats.index_type,
            "open_s": open_s,
            "open_rss_mb": index_mb,
            "search_ms": percentiles(search_times),
            "ask_ms": percentiles(ask_times),
            "ask_without_reader_ms": percentiles(plain_times),
        }
        if reader_times:
            figures["reader_ms"] = percentiles(reader_times)
            figures["reader_engine"] = archive.reader.engine
        for mode, times in mode_times.items():
            figures[f"search_{mode}_ms"] = percentiles(times)
            print(f"search --mode {mode} p50/p95 ms: " + "{:.0f} / {:.0f}".format(*figures[f"search_{mode}_ms"]))
        print("search p50/p95 ms: {:.0f} / {:.0f}".format(*figures["search_ms"]))
        print("ask p50/p95 ms:    {:.0f} / {:.0f}".format(*figures["ask_ms"]))
        print("ask without the reader p50/p95 ms: {:.0f} / {:.0f}".format(*figures["ask_without_reader_ms"]))
        if reader_times:
            print(
                "the reader alone (top passages, one batch) p50/p95 ms: {:.0f} / {:.0f} on {}".format(
                    *figures["reader_ms"], figures["reader_engine"]
                )
            )
        if not args.skip_import:
            figures.update(incremental(archive, fresh, Path(scratch), stats.counts.vectors))
        figures.update(commit_cost(archive.store, fresh, embedder.dimension))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))


def incremental(archive: Archive, fresh: list[Article], scratch: Path, vectors: int) -> dict[str, float]:
    source = scratch / "new.jsonl"

    def write(records: list[Article], name: str = "new.jsonl") -> Path:
        path = scratch / name
        with path.open("w", encoding="utf-8") as out:
            for article in records:
                record = {
                    "id": article.id,
                    "title": article.title,
                    "published": article.published.isoformat() if article.published else None,
                    "tags": list(article.tags),
                    "body": "\n\n".join(article.paragraphs),
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return path

    write(fresh)
    started = time.perf_counter()
    report = archive.import_paths([source])
    add_s = time.perf_counter() - started
    rate = report.chunks_embedded / add_s
    started = time.perf_counter()
    archive.remove([fresh[0].id])
    remove_s = time.perf_counter() - started
    changed = fresh[1]
    edited = Article(
        id=changed.id,
        title=changed.title,
        published=changed.published,
        paragraphs=(*changed.paragraphs[:-1], changed.paragraphs[-1] + " (aktualisiert)"),
        tags=changed.tags,
    )
    started = time.perf_counter()
    replaced = archive.import_paths([write([edited], "edited.jsonl")])
    replace_s = time.perf_counter() - started
    rebuild_s = vectors / rate
    print(
        f"add 10 articles: {add_s:.1f} s ({report.chunks_embedded} chunks embedded, {rate:.1f} chunks/s); "
        f"remove 1: {remove_s:.1f} s; replace 1: {replace_s:.1f} s ({replaced.chunks_embedded} chunks re-embedded, "
        f"{replaced.chunks_reused} reused)"
    )
    print(f"full rebuild, estimated at that rate: {rebuild_s:,.0f} s; rebuild / add 10 = {rebuild_s / add_s:,.0f}x")
    return {"add_10_s": add_s, "remove_1_s": remove_s, "replace_1_s": replace_s, "rebuild_estimate_s": rebuild_s}


if __name__ == "__main__":
    main()
