import numpy as np
import pytest

from qa import Archive
from qa.chunking import Chunker
from qa.embedding import (
    DIMENSION,
    MAX_PADDING,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    Embedder,
    _dequantise_q4_0,
    ensure_model,
    length_batches,
)
from qa.storage import IndexStore

pytestmark = pytest.mark.slow

ENGINE_TEXTS = [
    "Der ukrainische Chefunterhändler Rustem Umjerow ist auf dem Weg in die USA.",
    "Trump hebt die Zölle auf Waren aus Indien auf." * 20,
    "kurz",
]


def test_q4_0_block_layout():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(16), strict=True))
    values = _dequantise_q4_0(scale + nibbles, 32)
    expected = (np.concatenate([np.arange(16), np.arange(16)]) - 8) * 0.5
    assert np.array_equal(values, expected)


@pytest.mark.parametrize(
    "lengths",
    [[100] * 70, [66, 10, 26, 40, 12, 31, 9, 58, 26, 26, 27, 11], [5], [], list(range(1, 200, 3))],
)
def test_length_batches_hold_every_text_once_with_little_padding(lengths):
    batches = length_batches(lengths, 32)
    assert sorted(n for batch in batches for n in batch) == list(range(len(lengths)))
    for batch in batches:
        widths = [lengths[n] for n in batch]
        assert len(batch) <= 32 and widths == sorted(widths, reverse=True)
        assert len(batch) == 1 or widths[0] * len(batch) <= (1 + MAX_PADDING) * sum(widths)
    if lengths == [100] * 70:
        assert [len(batch) for batch in batches] == [32, 32, 6]


def test_a_text_gets_the_same_vector_whatever_it_is_batched_with(embedder):
    """Sentences of mixed length are cut into several batches; each must come out as it does alone."""
    sentences = [
        "Kurz.",
        "Die ukrainische Delegation wird vom Chefunterhändler Rustem Umjerow geleitet, hieß es in Kiew.",
        "Das Treffen soll in Miami stattfinden.",
        "Witkoff und Kushner führen die Gespräche für die USA, Dmitrijew verhandelt für Russland, "
        "und die Europäer wollen an den Tisch.",
        "Ja.",
    ]
    together = embedder.embed_passages(sentences)
    alone = np.vstack([embedder.embed_passages([sentence]) for sentence in sentences])
    assert np.allclose(together, alone, atol=1e-4)
    done: list[int] = []
    embedder.embed_passages(sentences, on_batch=done.append)
    assert sum(done) == len(sentences) and len(done) > 1


def test_the_model_folder_is_built_once_and_marked_verified():
    folder = ensure_model()
    assert (folder / "archive_qa_build.json").exists()
    assert (folder / "tokenizer.json").stat().st_size > 10_000_000
    assert ensure_model() == folder


def test_prefixes_are_applied_by_the_embedder_only(embedder):
    raw = embedder._encode([QUERY_PREFIX + "Wer verhandelt?", PASSAGE_PREFIX + "Wer verhandelt?"])
    assert np.allclose(embedder.embed_queries(["Wer verhandelt?"])[0], raw[0], atol=1e-5)
    assert np.allclose(embedder.embed_passages(["Wer verhandelt?"])[0], raw[1], atol=1e-5)
    assert raw.shape == (2, DIMENSION)
    assert np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-5)


def test_cross_lingual_similarity(embedder):
    question = embedder.embed_queries(["Who leads the negotiations?"])[0]
    passages = embedder.embed_passages(["Er führt die Verhandlungen.", "Das Wetter ist heute sonnig."])
    scores = passages @ question
    assert scores[0] > scores[1]


def test_warm_up_in_the_background_loads_the_model_that_a_question_then_uses(tmp_path, embedder):
    fresh = Embedder(embedder.model_dir)
    archive = Archive(IndexStore(tmp_path / "index", fresh.name, fresh.dimension), fresh, Chunker())
    thread = archive.warm_up(background=True)
    assert thread is not None and not thread.daemon  # joined at exit, never killed inside native code
    vector = fresh.embed_queries(["Wer führt die ukrainische Delegation?"])
    thread.join(timeout=120)
    assert fresh._model is not None and not thread.is_alive()
    assert np.allclose(vector, embedder.embed_queries(["Wer führt die ukrainische Delegation?"]), atol=1e-5)


def test_the_default_backend_is_measured_and_an_unknown_one_is_refused(monkeypatch):
    monkeypatch.delenv("QA_EMBED_BACKEND", raising=False)
    assert Embedder().backend == "auto"
    monkeypatch.setenv("QA_EMBED_BACKEND", "torch")
    assert Embedder().backend == "torch"
    monkeypatch.setenv("QA_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="QA_EMBED_BACKEND='tensorflow'"):
        Embedder()


def test_onnx_runtime_and_torch_give_the_same_vectors(embedder):
    texts = ENGINE_TEXTS
    onnx = Embedder(embedder.model_dir, backend="onnx")
    torch = Embedder(embedder.model_dir, backend="torch")
    from_onnx, from_torch = onnx.embed_passages(texts), torch.embed_passages(texts)
    assert (ensure_model(embedder.model_dir) / "onnx" / "model.onnx").exists()
    assert onnx._load() is not torch._load()
    assert np.all(np.sum(from_onnx * from_torch, axis=1) > 0.9999)


def test_openvino_gives_the_vectors_of_onnx_runtime(embedder):
    texts = ENGINE_TEXTS
    onnx = Embedder(embedder.model_dir, backend="onnx")
    openvino = Embedder(embedder.model_dir, backend="openvino")
    assert type(openvino._load()).__name__ == "OpenVinoEncoder"
    assert np.all(np.sum(onnx.embed_passages(texts) * openvino.embed_passages(texts), axis=1) > 0.9999)
    question = "Wer führt die ukrainische Delegation?"
    assert float(onnx.embed_queries([question])[0] @ openvino.embed_queries([question])[0]) > 0.9999
    ours, theirs = openvino.embed_sentence_tokens(texts[:1])[0], onnx.embed_sentence_tokens(texts[:1])[0]
    assert ours.pieces == theirs.pieces
    assert np.min(np.sum(ours.tokens.astype(np.float32) * theirs.tokens.astype(np.float32), axis=1)) > 0.999


def test_the_faster_engine_is_measured_once_and_recorded(tmp_path, embedder):
    import json

    from qa.embedding import choose_backend

    folder = ensure_model(embedder.model_dir)
    record = tmp_path / "choice.json"
    chosen = choose_backend(folder, record=record)
    measured = json.loads(record.read_text())
    assert chosen == measured["backend"] and chosen in ("onnx", "openvino")
    if measured["openvino_min_cosine"] >= 0.9999:
        assert set(measured["passages_per_second"]) == {"onnx", "openvino"}
        assert chosen == max(measured["passages_per_second"], key=measured["passages_per_second"].get)
    else:  # vectors that differ more than the checked tolerance are never used
        assert chosen == "onnx" and not measured["passages_per_second"]
    other = "onnx" if chosen == "openvino" else "openvino"
    record.write_text(json.dumps({"backend": other}))
    assert choose_backend(folder, record=record) == other
    assert json.loads(record.read_text()) == {"backend": other}
    automatic = Embedder(embedder.model_dir)
    automatic.embed_queries(["Wer verhandelt?"])
    assert automatic.backend in ("onnx", "openvino")
