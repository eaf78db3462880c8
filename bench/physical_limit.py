"""The physical limit of embedding on this CPU: the model's FLOPs per chunk, the CPU's peak,
and the fraction of it that the model (and so the import) reaches.

    python bench/physical_limit.py ../shared/data/news_de.jsonl --limit 40

- FLOPs: multilingual-e5-small is a 12-layer BERT (hidden 384, feed-forward 1,536). A token
  costs 2 FLOPs per weight of the attention projections and the feed-forward
  (12 x (4 x 384² + 2 x 384 x 1,536) = 21.2M weights), plus 4 x n x 384 per layer for the
  attention over a sequence of n tokens; pooling and layer norms are left out (under 1%).
  Counted on exactly the token sequences the import embeds (``passage: `` + title + passage),
  once as they are and once as ONNX Runtime computes them, padded to the longest of each batch
  of 32 (sorted by length, as ``qa.embedding.OnnxEncoder`` batches them).
- Peak: cores x clock x FP32 FLOPs per cycle and core of the widest FMA unit the CPU has
  (from ``/proc/cpuinfo``; a table of the x86 designs these machines use), and what one large
  FP32 matrix product reaches here with NumPy's BLAS on all cores, the practical ceiling.
- Reached: the model alone on ONNX Runtime and on OpenVINO, timed on the same texts (best of
  ``--rounds``). OpenVINO computes in bfloat16 where the CPU has AVX-512 BF16, whose dot
  products do twice the FLOPs of FP32 FMAs per instruction, so its peak is counted twice the
  FP32 one there; where the CPU has AMX (Intel's tile unit, which OpenVINO's matrix products
  use), one core's TDPBF16PS does 1,024 bfloat16 FLOPs a cycle, and that is its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingestion import RecordingEmbedder, cpu_flags, cpu_identity, machine, sample_of

from qa import Archive
from qa.embedding import (
    DIMENSION,
    OnnxEncoder,
    OpenVinoEncoder,
    ensure_model,
    openvino_available,
)

LAYERS, HIDDEN, FFN = 12, DIMENSION, 1536
WEIGHTS_PER_TOKEN = LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
BATCH = 32
AMX_BF16_FLOPS_PER_CYCLE = 1024  # a 16 x 32 by 32 x 16 tile product (16,384 FLOPs) every 16 cycles

FMA_FLOPS_PER_CYCLE = {
    # (cpu family, vendor): FP32 FLOPs per cycle and core, FMA counted as 2
    ("AuthenticAMD", 0x17): 32,  # Zen 1/2: 2 x 256-bit FMA (Zen 1 half that; not seen here)
    ("AuthenticAMD", 0x19): 32,  # Zen 3/4: 2 x 256-bit FMA; Zen 4 runs AVX-512 in two halves
    ("AuthenticAMD", 0x1A): 64,  # Zen 5: 2 x 512-bit FMA
}


def sequence_flops(length: int) -> float:
    return 2.0 * length * WEIGHTS_PER_TOKEN + LAYERS * 4.0 * length * length * HIDDEN


def nominal_peak() -> tuple[float, str]:
    vendor, family, mhz, name = cpu_identity()
    flags = cpu_flags()
    per_cycle = FMA_FLOPS_PER_CYCLE.get((vendor, family))
    if per_cycle is None:  # Intel and others: the vector width, two FMA units
        per_cycle = 64 if "avx512f" in flags else 32 if "fma" in flags else 8
    cores = os.cpu_count() or 1
    peak = cores * mhz * 1e6 * per_cycle
    return peak, f"{name}, family {family:#x}, {cores} cores x {mhz:.0f} MHz x {per_cycle} FP32 FLOP/cycle"


def bf16_peak(fp32_peak: float, amx: bool) -> float:
    if amx:
        return (os.cpu_count() or 1) * cpu_identity()[2] * 1e6 * AMX_BF16_FLOPS_PER_CYCLE
    return 2 * fp32_peak


def blas_peak(size: int = 2048, rounds: int = 5) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(rounds))
    return 2.0 * size**3 / best


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        embedder = RecordingEmbedder(None)
        Archive.open(Path(scratch) / "index", embedder=embedder).import_paths(
            [sample_of(args.jsonl, args.limit, Path(scratch))]
        )
    texts = embedder.passages
    folder = ensure_model()
    encoders: dict[str, OnnxEncoder] = {"onnx": OnnxEncoder(folder)}
    if openvino_available():
        encoders["openvino"] = OpenVinoEncoder(folder)
    lengths = sorted((len(e.ids) for e in encoders["onnx"].tokenizer.encode_batch(texts)), reverse=True)
    exact = sum(sequence_flops(n) for n in lengths)
    batches = [lengths[i : i + BATCH] for i in range(0, len(lengths), BATCH)]
    padded = sum(len(batch) * sequence_flops(batch[0]) for batch in batches)
    peak, peak_how = nominal_peak()
    flags = cpu_flags()
    amx = "amx_bf16" in flags
    blas = blas_peak()
    figures: dict[str, object] = {
        "machine": machine(),
        "chunks": len(texts),
        "tokens_per_chunk": float(np.mean(lengths)),
        "gflop_per_chunk": exact / len(texts) / 1e9,
        "gflop_per_chunk_padded": padded / len(texts) / 1e9,
        "nominal_peak_gflops": peak / 1e9,
        "nominal_peak": peak_how,
        "blas_gflops": blas / 1e9,
    }
    print(f"machine: {figures['machine']}")
    print(f"{len(texts)} chunks, {figures['tokens_per_chunk']:.1f} tokens each on average (prefix, title, passage)")
    print(
        f"model: {figures['gflop_per_chunk']:.2f} GFLOP per chunk"
        f" ({figures['gflop_per_chunk_padded']:.2f} as padded in batches of {BATCH})"
    )
    print(f"peak: {peak / 1e9:.0f} GFLOP/s nominal in FP32 ({peak_how})")
    print(f"      {blas / 1e9:.0f} GFLOP/s reached by a 2048 x 2048 FP32 matrix product (NumPy BLAS)")
    for name, encoder in encoders.items():
        encoder.encode(texts[:BATCH], BATCH)
        seconds = min(_timed(lambda encoder=encoder: encoder.encode(texts, BATCH)) for _ in range(args.rounds))
        reached = padded / seconds
        bf16 = name == "openvino" and bool({"avx512_bf16", "amx_bf16"} & flags)
        engine_peak = bf16_peak(peak, amx) if bf16 else peak
        figures[name] = {
            "chunks_per_second": len(texts) / seconds,
            "gflops": reached / 1e9,
            "precision": ("bfloat16, AMX" if amx else "bfloat16") if bf16 else "float32",
            "peak_gflops": engine_peak / 1e9,
            "fraction_of_peak": reached / engine_peak,
        }
        print(
            f"model alone on {name} ({figures[name]['precision']}): {len(texts) / seconds:.1f} chunks/s"
            f" = {reached / 1e9:.0f} GFLOP/s, {reached / engine_peak:.0%} of its {engine_peak / 1e9:.0f} GFLOP/s peak"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
