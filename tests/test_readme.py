"""The README's Python snippet, run as a user would: a script of its own, which must exit cleanly."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert blocks, "the README has no Python snippet"
    return blocks[0]


def test_the_readme_snippet_runs_and_exits_cleanly(tmp_path):
    """Its last line starts a background warm-up; the process must still exit with 0 (it was
    aborted with 134 when the warm-up thread was inside native code at shutdown)."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    script = tmp_path / "snippet.py"
    script.write_text(readme_snippet() + "\nprint('snippet done')\n", encoding="utf-8")
    environment = os.environ | {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "snippet done" in result.stdout
    assert "terminate called" not in result.stderr


QUERY_PATH = """
import sys
from qa import Archive
archive = Archive.open(sys.argv[1])
answer = archive.ask("Who leads the Ukrainian delegation?")
assert answer.short, answer
heavy = sorted(name for name in ("torch", "transformers", "sentence_transformers", "optimum") if name in sys.modules)
print("imported:", heavy)
"""


def test_a_question_imports_neither_torch_nor_transformers(seed_archive, tmp_path):
    """Importing torch, transformers and sentence-transformers took most of a CLI question's 13 s;
    the query path runs on ONNX Runtime and ``tokenizers`` alone."""
    environment = os.environ | {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", QUERY_PATH, str(seed_archive.path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported: []" in result.stdout
