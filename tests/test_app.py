"""The chat page, driven through Streamlit's AppTest with the real model and index."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_asking_shows_the_answer_and_highlights_it(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception
    assert app.sidebar.metric[0].value == "1"  # built from seeds/ on first start
    app.chat_input[0].set_value("Who leads the Ukrainian delegation?").run()
    assert not app.exception
    shown = " ".join(m.value for m in app.markdown)
    assert "Rustem Umjerow" in shown
    assert "<mark>Den US-Berichten zufolge wird der ukrainische Chefunterhändler Rustem Umjerow" in shown
