"""Nothing is written outside the model folder and the index: no library's device or client id."""

import os
import subprocess
import sys

import pytest

from qa.embedding import default_model_dir
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def test_an_import_and_a_question_write_nothing_under_home(tmp_path, embedder):
    """ONNX Runtime wrote ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid`` and
    OpenVINO ``~/intel/openvino_ga_cid``; with HOME an empty folder, it must stay empty."""
    embedder.warm_up()  # the models are built (in the real cache) before HOME is emptied
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")},
        "HOME": str(home),
        "QA_MODEL_DIR": str(default_model_dir()),
        "QA_SERVE": "0",
    }
    qa = [sys.executable, "-m", "qa"]
    index = str(tmp_path / "index")
    for command in (["import", str(SEEDS), "--index", index], ["ask", "Wer führt die Gespräche?", "--index", index]):
        result = subprocess.run([*qa, *command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(str(path.relative_to(home)) for path in home.rglob("*"))
    assert written == [], written
