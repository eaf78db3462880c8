import json
import re

import pytest
from click.testing import CliRunner

from qa.cli import main
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


def test_import_ask_search_stats(tmp_path):
    runner = CliRunner()
    index = str(tmp_path / "index")
    result = runner.invoke(main, ["import", str(SEEDS), "--index", index, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 imported, 0 updated, 0 unchanged, 0 failed" in result.output

    result = runner.invoke(main, ["ask", "Who leads the Ukrainian delegation?", "--index", index])
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()[:2]
    assert re.match(r"Rustem Umjerow  \((likely right|uncertain) \(\d+%\)\)$", first), first
    assert "Chefunterhändler Rustem Umjerow" in second
    assert "2025-12-18" in result.output
    assert result.output.splitlines()[-1].startswith(
        "Question read as: Time: the present state: newest reports first · English, translated terms: leads → "
    )

    result = runner.invoke(main, ["ask", "Who leads the Ukrainian delegation?", "--index", index, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["short"] == "Rustem Umjerow" and 0.5 < answer["short_score"] <= 1
    assert answer["sentence"][answer["short_span"]["start"] - answer["span"]["start"] :].startswith("Rustem")
    assert answer["source"]["published"].startswith("2025-12-18T12:21")
    assert answer["analysis"]["language"] == "en" and answer["analysis"]["read_as"][-1] == "Asks for: a person"

    result = runner.invoke(main, ["import", str(SEEDS), "--index", index])
    assert result.exit_code == 0 and "1 unchanged" in result.output
    assert "Importing: 100%" in result.output and "article/s" in result.output  # tqdm: share, rate, time left

    result = runner.invoke(main, ["search", "Sanktionen", "--index", index, "-k", "2"])
    assert result.exit_code == 0 and result.output.startswith("1. ")

    result = runner.invoke(main, ["stats", "--index", index])
    assert "articles:   1" in result.output and "teasers:    6" in result.output
    assert "dictionary: /usr/share/dictd/freedict-eng-deu" in result.output

    result = runner.invoke(main, ["search", "Umjerow", "--index", index, "--mode", "bm25", "-k", "1"])
    assert result.exit_code == 0 and "Umjerow" in result.output

    result = runner.invoke(main, ["check", "--index", index])
    assert result.exit_code == 0 and result.output.strip().endswith(": ok")


def test_failed_inputs_set_the_exit_code(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    result = CliRunner().invoke(
        main, ["import", str(tmp_path / "empty.txt"), "--index", str(tmp_path / "i"), "--quiet"]
    )
    assert result.exit_code == 1
    assert "empty.txt: empty file" in result.output


def test_media_entries_are_skipped_and_each_error_is_said_once(tmp_path):
    """A dpa image entry has no text to index: it is skipped with its reason and does not fail
    the import; a broken file fails it, and its error stands on one line, not two."""
    from tests.test_wire import version, write_json

    photo = write_json(tmp_path, "photo.json", version(1, article_html="", teaser=None, infobox_html=None))
    story = write_json(tmp_path, "story.json", version(1))
    index = ["--index", str(tmp_path / "i"), "--quiet"]
    result = CliRunner().invoke(main, ["import", str(photo), str(story), *index])
    assert result.exit_code == 0, result.output
    assert "1 imported, 0 updated, 0 unchanged, 0 failed, 1 skipped" in result.output
    assert result.output.count("photo.json") == 1 and "skipped: " in result.output

    (tmp_path / "empty.txt").write_text("")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "empty.txt"), *index])
    assert result.exit_code == 1
    assert result.output.count("empty.txt: empty file") == 1, result.output


def test_every_command_has_help():
    for name, command in main.commands.items():
        assert command.help, name


def test_remove_and_rebuild_into_another_vector_index(tmp_path):
    runner = CliRunner()
    index = str(tmp_path / "index")
    assert runner.invoke(main, ["import", str(SEEDS), "--index", index, "--quiet"]).exit_code == 0

    result = runner.invoke(main, ["rebuild", "--index", index, "--vectors", "ivf-sq8"])
    assert result.exit_code == 0, result.output
    assert "vectors in IVF" in result.output
    rates = [float(rate) for rate in re.findall(r"([\d.]+)article/s", result.output)]
    assert all(rate < 100 for rate in rates), rates  # one article rebuilt in a second or more, not 10^6/s
    result = runner.invoke(main, ["stats", "--index", index])
    assert "(ivf-sq8)" in result.output and "articles:   1" in result.output
    result = runner.invoke(main, ["search", "Umjerow", "--index", index, "-k", "1"])
    assert "Umjerow" in result.output

    article_id = result.output.splitlines()[1].rsplit("· ", 1)[1].strip()
    result = runner.invoke(main, ["remove", article_id, "no-such-article", "--index", index])
    assert result.exit_code == 1
    assert "no-such-article: not in the archive" in result.output and "removed 1 article(s)" in result.output
    result = runner.invoke(main, ["stats", "--index", index])
    assert "articles:   0" in result.output and "teasers:    6" in result.output
    assert runner.invoke(main, ["check", "--index", index]).exit_code == 0
