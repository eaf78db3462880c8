"""Static int8 for the embedder, calibrated on archive text: how much faster, how far the vectors move.

    python bench/int8_static.py ../shared/data/news_de.jsonl --limit 40

Issue 20 names static int8 as a lever for CPUs whose FP32 peak is below what the import
should reach (AVX2 only: see ``bench/physical_limit.py``). This measures it before anything
is built on it:

- The texts timed are exactly those the import embeds for the first ``--limit`` articles
  (as ``bench/ingestion.py`` records them); the calibration texts are the chunks of other
  articles (``--calibrate-from``, ``--calibration-articles``), so nothing timed was calibrated on.
- OpenVINO: NNCF's post-training quantisation of the exported ONNX model (``ModelType.TRANSFORMER``,
  which keeps the attention's softmax and the layer norms in float and applies SmoothQuant),
  compiled for this CPU. ONNX Runtime: ``quantize_static`` (QDQ, per-channel weights, the
  same calibration texts).
- Each engine in float32 and in int8 runs the same texts, interleaved, ``--rounds`` times; reported
  are the medians, the speed-up over the engine's float32, and the cosine of the int8 vectors to
  float32's (mean and minimum): an index must not mix vectors that differ by more than
  ``qa.embedding.ONNX_MIN_COSINE``, and ``qa eval`` must stay within 0.005 for int8 to ship.

NNCF comes with the bench extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingestion import BATCH_SIZE, RecordingEmbedder, machine

from qa import Archive
from qa.embedding import ONNX_FILE, OnnxEncoder, OpenVinoEncoder, OpenVinoSession, ensure_model, onnx_session


def import_texts(jsonl: Path, first: int, count: int, scratch: Path) -> list[str]:
    """The passage texts (``passage: `` included) the import embeds for articles [first, first + count)."""
    sample = scratch / f"articles-{first}.jsonl"
    with jsonl.open(encoding="utf-8") as source, sample.open("w", encoding="utf-8") as out:
        for number, line in enumerate(source):
            if number >= first + count:
                break
            if number >= first:
                out.write(line)
    embedder = RecordingEmbedder(None)
    Archive.open(scratch / f"index-{first}", embedder=embedder).import_paths([sample])
    return list(embedder.passages)


def calibration_feeds(encoder: OnnxEncoder, texts: list[str]) -> list[dict[str, np.ndarray]]:
    """The model's inputs for ``texts`` in batches as the encoder builds them (longest first)."""
    from qa.embedding import onnx_feed

    encodings = encoder.tokenizer.encode_batch(texts)
    ordered = sorted((e.ids for e in encodings), key=len, reverse=True)
    return [
        onnx_feed(encoder.session, ordered[first : first + BATCH_SIZE], encoder.pad_id)
        for first in range(0, len(ordered), BATCH_SIZE)
    ]


class IrEncoder(OnnxEncoder):
    """The encoder on another model file: an OpenVINO IR or a quantised ONNX file."""

    def __init__(self, folder: Path, model_file: Path, engine: str) -> None:
        self._model_file, self._engine = model_file, engine
        super().__init__(folder)

    def _session(self, path: Path):
        return OpenVinoSession(self._model_file) if self._engine == "openvino" else onnx_session(self._model_file)


def openvino_int8(folder: Path, feeds: list[dict[str, np.ndarray]], out: Path) -> Path:
    import nncf
    import openvino

    model = openvino.Core().read_model(str(folder / ONNX_FILE))
    quantised = nncf.quantize(
        model,
        nncf.Dataset(feeds),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(feeds),
    )
    target = out / "openvino-int8.xml"
    openvino.save_model(quantised, str(target))
    return target


def onnx_int8(folder: Path, feeds: list[dict[str, np.ndarray]], out: Path) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(feeds)

        def get_next(self):
            return next(self._feeds, None)

    prepared = out / "onnx-prepared.onnx"
    target = out / "onnx-int8.onnx"
    with contextlib.chdir(out):  # both write scratch files into the working folder
        quant_pre_process(str(folder / ONNX_FILE), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
        )
    return target


def timed(encode: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    vectors = encode()
    return time.perf_counter() - started, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--limit", type=int, default=40, help="articles whose chunks are timed")
    parser.add_argument("--calibrate-from", type=int, default=1000, help="first article of the calibration set")
    parser.add_argument("--calibration-articles", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=["openvino", "onnx"], choices=["openvino", "onnx"])
    parser.add_argument("--keep", type=Path, help="keep the quantised model files in this folder")
    args = parser.parse_args()

    folder = ensure_model()
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        out = args.keep or scratch
        out.mkdir(parents=True, exist_ok=True)
        texts = import_texts(args.jsonl, 0, args.limit, scratch)
        calibration = import_texts(args.jsonl, args.calibrate_from, args.calibration_articles, scratch)
        reference = OnnxEncoder(folder)
        feeds = calibration_feeds(reference, calibration)
        encoders: dict[str, OnnxEncoder] = {}
        for engine in args.engines:
            started = time.perf_counter()
            if engine == "openvino":
                encoders["openvino float32"] = OpenVinoEncoder(folder)
                encoders["openvino int8"] = IrEncoder(folder, openvino_int8(folder, feeds, out), "openvino")
            else:
                encoders["onnx float32"] = reference
                encoders["onnx int8"] = IrEncoder(folder, onnx_int8(folder, feeds, out), "onnx")
            print(f"{engine}: quantised in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        for encoder in encoders.values():
            encoder.encode(texts[:BATCH_SIZE], BATCH_SIZE)
        rates: dict[str, list[float]] = {label: [] for label in encoders}
        vectors: dict[str, np.ndarray] = {}
        for round_number in range(1, args.rounds + 1):
            for label, encoder in encoders.items():
                seconds, vectors[label] = timed(lambda encoder=encoder: encoder.encode(texts, BATCH_SIZE))
                rates[label].append(len(texts) / seconds)
                print(f"round {round_number}: {label}: {rates[label][-1]:.1f} chunks/s", file=sys.stderr, flush=True)

    print(f"machine: {machine()}")
    print(
        f"{len(texts)} chunks of the first {args.limit} articles timed; calibrated on {len(calibration)} chunks of"
        f" articles {args.calibrate_from}-{args.calibrate_from + args.calibration_articles - 1};"
        f" {args.rounds} rounds interleaved"
    )
    print("| engine | precision | chunks/s (median) | spread | vs its float32 | cosine to float32: mean / min |")
    print("|---|---|---:|---:|---:|---|")
    for label, values in rates.items():
        engine, precision = label.split()
        base = f"{engine} float32"
        cosines = np.sum(vectors[label] * vectors[base], axis=1)
        print(
            f"| {engine} | {precision} | {np.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |"
            f" {np.median(values) / np.median(rates[base]):.2f} | {cosines.mean():.4f} / {cosines.min():.4f} |"
        )


if __name__ == "__main__":
    main()
