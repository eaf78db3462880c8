"""Ingestion side by side: our import, the model alone, and LangChain's FAISS store.

All three embed the same chunk texts with the same model and batch size, in one process
with the model already loaded. The machines are shared and noisy, so the pipelines run
interleaved (A B C D, A B C D, ...) for ``--rounds`` rounds (3 by default) after one untimed
import that records the texts, and each is reported by its median and spread; the machine
line names the CPU and its vector and matrix extensions (AVX2, AVX-512, VNNI, BF16, AMX).

- ``qa import``: parse, repair, chunk, embed, store (SQLite, FAISS, BM25), commit;
- the model alone: on exactly the texts our import embedded (recorded as it ran), on the
  engine the import used (qa's own ONNX Runtime or OpenVINO encoder: the physical limit of this
  machine) and on the others (ONNX Runtime, OpenVINO, torch's ``SentenceTransformer.encode``);
- LangChain: ``FAISS.from_documents`` with ``HuggingFaceEmbeddings`` on the same texts, then
  ``save_local``, the pipeline a user would build instead.

``--int8`` adds the model alone quantised to int8 on ONNX Runtime (dynamic quantisation
for AVX-512 VNNI where the CPU has it, else AVX2); ``--backend torch`` runs the import on
torch. Each other variant prints the cosine of its vectors to the import's.

LangChain needs the bench extra: ``pip install -e '.[bench]'``.

python bench/ingestion.py ../shared/data/news_de.jsonl --limit 300
python bench/ingestion.py ../shared/data/news_de.jsonl --limit 300 --int8 --backend torch
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from qa import Archive
from qa.embedding import BACKENDS, ONNX_FILE, PASSAGE_PREFIX, Embedder, ensure_model

ENGINES = ("onnx", "openvino", "torch")

BATCH_SIZE = 32


@dataclass
class Row:
    pipeline: str
    seconds: float
    chunks: int
    articles: int | None = None
    note: str = ""

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds


class RecordingEmbedder(Embedder):
    """Our embedder, keeping a copy of every text the import has it embed, as the model sees it
    (``passage: `` before it), so the other pipelines compute exactly the same tokens."""

    def __init__(self, backend: str | None) -> None:
        super().__init__(batch_size=BATCH_SIZE, backend=backend)
        self.passages: list[str] = []

    def embed_passages(self, passages: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        self.passages.extend(PASSAGE_PREFIX + p for p in passages)
        return super().embed_passages(passages, on_batch)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_flags() -> set[str]:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def quantisation_target() -> str:
    """The ONNX Runtime dynamic-quantisation config for this CPU: int8 dot products need VNNI."""
    return "avx512_vnni" if "avx512_vnni" in cpu_flags() else "avx2"


VECTOR_UNITS = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}


def cpu_identity() -> tuple[str, int, float, str]:
    """Vendor, family, clock (MHz) and model name, as ``/proc/cpuinfo`` reports them."""
    vendor, family, mhz, name = "", 0, 0.0, ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "vendor_id":
                vendor = vendor or value
            elif key == "cpu family":
                family = family or int(value)
            elif key == "cpu MHz":
                mhz = mhz or float(value)
            elif key == "model name":
                name = name or value
    return vendor, family, mhz, name or platform.processor() or platform.machine()


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    vector_units = sorted(flag for flag in cpu_flags() if flag in VECTOR_UNITS)
    return f"{os.cpu_count()} cores, {total_kb / 1024**2:.0f} GiB, {cpu_identity()[3]} ({', '.join(vector_units)})"


def sample_of(source: Path, limit: int | None, folder: Path) -> Path:
    if not limit:
        return source
    sample = folder / "sample.jsonl"
    with source.open(encoding="utf-8") as full, sample.open("w", encoding="utf-8") as out:
        for number, line in enumerate(full):
            if number >= limit:
                break
            out.write(line)
    return sample


def run_ours(sample: Path, folder: Path, batch_articles: int, embedder: RecordingEmbedder, round_number: int) -> Row:
    archive = Archive.open(folder / f"ours-{round_number}", embedder=embedder)
    started = time.perf_counter()
    report = archive.import_paths([sample], batch_articles=batch_articles)
    seconds = time.perf_counter() - started
    row = Row(
        f"qa import ({embedder.backend}: parse, chunk, embed, SQLite + FAISS + BM25)",
        seconds,
        report.chunks_embedded,
        report.imported + report.updated,
    )
    row.note = f"peak RSS {peak_rss_mb():.0f} MB"
    return row


def run_model_alone(model, texts: list[str], label: str) -> tuple[Row, np.ndarray]:
    started = time.perf_counter()
    if hasattr(model, "hidden_states"):  # qa's own ONNX Runtime engine: normalised vectors already
        vectors = model.encode(texts, batch_size=BATCH_SIZE)
    else:
        vectors = model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
    return Row(label, time.perf_counter() - started, len(texts)), vectors


def langchain_embeddings(model_dir: Path, texts: list[str]):
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(
        model_name=str(model_dir),
        model_kwargs={"device": "cpu", "local_files_only": True, "model_kwargs": {"add_pooling_layer": False}},
        encode_kwargs={"batch_size": BATCH_SIZE, "normalize_embeddings": True},
    )
    embeddings.embed_documents(texts[:BATCH_SIZE])
    return embeddings


def run_langchain(embeddings, texts: list[str], folder: Path, round_number: int) -> Row:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document

    documents = [Document(page_content=text, metadata={"n": n}) for n, text in enumerate(texts)]
    started = time.perf_counter()
    store = FAISS.from_documents(documents, embeddings)
    store.save_local(str(folder / f"langchain-{round_number}"))
    return Row("LangChain FAISS.from_documents + save_local", time.perf_counter() - started, len(texts))


def int8_model(model_dir: Path, folder: Path):
    """The ONNX export, dynamically quantised to int8 for this CPU, in a copy of the model folder."""
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    copy = folder / "int8-model"
    shutil.copytree(model_dir, copy)
    target = quantisation_target()
    model = SentenceTransformer(
        str(copy), device="cpu", backend="onnx", local_files_only=True, model_kwargs={"file_name": ONNX_FILE}
    )
    export_dynamic_quantized_onnx_model(model, target, str(copy))
    quantised_file = next((copy / "onnx").glob(f"model_*{target}.onnx")).relative_to(copy)
    return SentenceTransformer(
        str(copy), device="cpu", backend="onnx", local_files_only=True, model_kwargs={"file_name": str(quantised_file)}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path, help="archive articles as JSON Lines")
    parser.add_argument("--limit", type=int, help="only the first N articles")
    parser.add_argument("--batch-articles", type=int, default=500, help="articles per import commit")
    parser.add_argument("--backend", choices=BACKENDS, help="the import's embedding backend (default: qa's default)")
    parser.add_argument("--skip-langchain", action="store_true")
    parser.add_argument("--int8", action="store_true", help="add the model alone, int8-quantised on ONNX Runtime")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every pipeline")
    args = parser.parse_args()

    import torch

    runs: dict[str, list[Row]] = {}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sample = sample_of(args.jsonl, args.limit, folder)
        embedder = RecordingEmbedder(args.backend)
        embedder.embed_queries(["warm-up"])
        first = run_ours(sample, folder, args.batch_articles, embedder, 0)
        texts = list(embedder.passages)
        print(f"recorded {len(texts)} chunk texts ({first.seconds:.1f} s, not counted)", file=sys.stderr, flush=True)
        alone_label = f"model alone ({embedder.backend}, as the import embeds)"
        pipelines: dict[str, Callable[[int], Row]] = {
            first.pipeline: lambda n: run_ours(sample, folder, args.batch_articles, embedder, n),
        }
        reference: dict[str, np.ndarray] = {}

        def alone(model, label: str) -> Callable[[int], Row]:
            model.encode(texts[:BATCH_SIZE], batch_size=BATCH_SIZE)

            def run(_round: int) -> Row:
                row, vectors = run_model_alone(model, texts, label)
                if label == alone_label:
                    reference["vectors"] = vectors
                elif "vectors" in reference:
                    cosines = np.sum(vectors * reference["vectors"], axis=1)
                    notes[label] = f"cosine to {embedder.backend}: mean {cosines.mean():.4f}, min {cosines.min():.4f}"
                return row

            return run

        pipelines[alone_label] = alone(embedder._load(), alone_label)
        for other in ENGINES:
            if other != embedder.backend:
                pipelines[f"model alone ({other})"] = alone(Embedder(backend=other)._load(), f"model alone ({other})")
        if not args.skip_langchain:
            embeddings = langchain_embeddings(ensure_model(), texts)
            pipelines["LangChain FAISS.from_documents + save_local"] = lambda n: run_langchain(
                embeddings, texts, folder, n
            )
        if args.int8:
            label = f"model alone (onnx int8, {quantisation_target()})"
            pipelines[label] = alone(int8_model(ensure_model(), folder), label)
        for round_number in range(1, args.rounds + 1):
            for label, run in pipelines.items():
                row = run(round_number)
                runs.setdefault(label, []).append(row)
                print(
                    f"round {round_number}: {label}: {row.chunks_per_second:.1f} chunks/s", file=sys.stderr, flush=True
                )

    def median_rate(label: str) -> float:
        return float(np.median([row.chunks_per_second for row in runs[label]]))

    source = f"{args.jsonl}" + (f" (first {args.limit} articles)" if args.limit else "")
    print(f"\nsource: {source}; machine: {machine()}; torch threads {torch.get_num_threads()}; batch {BATCH_SIZE}")
    print(f"{args.rounds} rounds, the pipelines interleaved (A B C D, A B C D, ...): median and spread of each")
    print("| pipeline | chunks | chunks/s (median) | spread (min-max) | vs model alone | note |")
    print("|---|---:|---:|---:|---:|---|")
    for label, rows in runs.items():
        rates = [row.chunks_per_second for row in rows]
        note = notes.get(label, rows[-1].note)
        print(
            f"| {label} | {rows[0].chunks:,} | {median_rate(label):.1f} | {min(rates):.1f}-{max(rates):.1f} | "
            f"{median_rate(label) / median_rate(alone_label):.2f} | {note} |"
        )
    ours_label = first.pipeline
    fastest = max((label for label in runs if label.startswith("model alone")), key=median_rate)
    print(f"\nqa import / fastest model alone ({fastest}): {median_rate(ours_label) / median_rate(fastest):.2f}")
    langchain = "LangChain FAISS.from_documents + save_local"
    if langchain in runs:
        print(f"qa import / LangChain: {median_rate(ours_label) / median_rate(langchain):.2f}")


if __name__ == "__main__":
    main()
