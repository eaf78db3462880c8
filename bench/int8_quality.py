"""Answer quality of the int8-quantised model beside the model qa uses, on `qa eval`'s set.

bench/ingestion.py --int8 shows how much faster int8 embeds; this shows what it costs:
the same evaluation (the dataset's paragraphs plus news distractors, English and German
questions, dense and hybrid retrieval, answers scored) once with qa's ONNX Runtime model
and once with its int8 dynamic quantisation, each building its own index.

python bench/int8_quality.py ../shared/data/xquad_en_de.dev.jsonl --distractors ../shared/data/news_de.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingestion import int8_model, machine, quantisation_target

from qa.embedding import Embedder, ensure_model
from qa.evaluation import TABLE_HEADER, evaluate
from qa.question import RetrievalMode


class QuantisedEmbedder(Embedder):
    """qa's embedder with the int8 model in place of the fp32 one."""

    def __init__(self, folder: Path) -> None:
        super().__init__(backend="onnx")
        self.folder = folder

    def _load(self):
        with self._lock:
            if self._model is None:
                self._model = int8_model(ensure_model(), self.folder)
        return self._model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--distractors", type=Path)
    parser.add_argument("--limit", type=int, default=2000, help="distractor chunks")
    args = parser.parse_args()
    modes = (RetrievalMode.DENSE, RetrievalMode.HYBRID)
    print(f"machine: {machine()}; int8 = dynamic quantisation for {quantisation_target()}")
    with tempfile.TemporaryDirectory() as scratch:
        for label, embedder in (
            ("onnx fp32 (qa's model)", Embedder(backend="onnx")),
            ("onnx int8", QuantisedEmbedder(Path(scratch))),
        ):
            started = time.perf_counter()
            results = evaluate(
                args.dataset, args.distractors, args.limit, ("en", "de"), modes, with_answers=True, embedder=embedder
            )
            print(f"\n{label} ({time.perf_counter() - started:.0f} s, index built and every question asked)")
            print(TABLE_HEADER)
            for result in results:
                print(result.row())
            sys.stdout.flush()


if __name__ == "__main__":
    main()
