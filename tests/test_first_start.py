"""The models are built once on a machine's first start, however many callers arrive together."""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CALLER = textwrap.dedent(
    """
    import logging, sys, threading
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    from qa.embedding import Embedder
    from qa.models import prepare_models
    from qa.reading import Passage, Reader

    failures = []

    def caller():
        try:
            prepare_models()
            vector = Embedder().embed_queries(["Wer führt die Delegation?"])[0]
            (reading,) = Reader().read("Wer führt die Delegation?", [Passage("Die Delegation führt Rustem Umjerow.")])
            assert vector.shape == (384,) and "Umjerow" in reading.text, reading
        except BaseException as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("FAILURES", failures)
    sys.exit(1 if failures else 0)
    """
)


def test_three_threads_in_each_of_two_processes_build_the_models_once(tmp_path):
    """Two tabs on the app's first start had built the models twice at once in one process
    ("GLOBALS.in_onnx_export must be False", "Tensor on device cpu is not on the expected device
    meta"); here six callers in two processes start together on an empty model folder."""
    env = {**os.environ, "QA_MODEL_DIR": str(tmp_path / "models" / "e5"), "HF_HUB_OFFLINE": "1"}
    env.pop("QA_EMBED_BACKEND", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=900) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err[-4000:]
    logged = "".join(err for _out, err in outputs)
    assert logged.count("Building intfloat/multilingual-e5-small") == 1, logged[-3000:]
    assert logged.count("Exporting intfloat/multilingual-e5-small") == 1
    assert logged.count("Building the reader") == 1
