"""The chat in a real browser: `streamlit run app.py` on a fresh index built from seeds/,
driven through Debian's Chromium with Playwright. Leaves a screenshot and the measured
times from pressing Enter to the answer on screen in test-artifacts/."""

import json
import os
import statistics
import time
from pathlib import Path

import pytest

from tests.app_server import AppDidNotStart, running_app
from tests.conftest import ROOT, write_article
from tests.test_app import HOSTILE_ARTICLE
from tests.test_timing import ISTANBUL

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTIONS = [
    "Who leads the Ukrainian delegation?",
    "Wer führt die Gespräche für die USA?",
    "Where will the Kremlin and US officials meet?",
    "What did the EU present on the anniversary of the invasion?",
    "Why did Trump drop the tariffs on India?",
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "QA_INDEX": str(folder / "index"), "HF_HUB_OFFLINE": "1"}
    with (folder / "streamlit.log").open("w") as log:
        try:
            with running_app(env, log) as url:
                yield url
        except AppDidNotStart as error:
            pytest.fail(f"{error}: {(folder / 'streamlit.log').read_text()[-2000:]}")


@pytest.fixture(scope="module")
def page(app_url, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (the README's test command does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        page = context.new_page()
        page.goto(app_url)
        page.get_by_test_id("stChatInputTextArea").wait_for(timeout=300_000)  # first visit builds the index
        yield page
        context.close()


def wait_until_idle(page) -> None:
    """Until the script run has finished: a question typed during a rerun can be lost."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'",
        timeout=120_000,
    )


def ask(page, question: str) -> float:
    """Seconds from pressing Enter to the answer being on screen."""
    wait_until_idle(page)
    answers = page.locator(".qa-answer, .qa-nothing").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('.qa-answer, .qa-nothing').length > n", arg=answers, timeout=120_000
        )
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-failure.png"), full_page=True)
        raise
    return time.perf_counter() - started


def import_file(page, path: Path) -> None:
    """Upload ``path`` and import it; returns once the sidebar counts one article more. Waiting
    for "1 imported" is not enough: an earlier import's panel says it too, and a question typed
    while the import's script run has not ended cuts that run short, the import with it."""
    before = page.get_by_test_id("stMetricValue").first.inner_text()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).click()
    try:
        page.wait_for_function(
            "before => document.querySelector('[data-testid=\"stMetricValue\"]')?.innerText !== before",
            arg=before,
            timeout=120_000,
        )
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "import-failure.png"), full_page=True)
        raise
    wait_until_idle(page)


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_the_umjerow_question_is_answered_and_highlighted_in_the_browser(page):
    seconds = [ask(page, QUESTIONS[0])]
    wait_until_idle(page)
    short = page.locator(".qa-short-answer").last
    assert short.inner_text() == "Rustem Umjerow"
    assert "Rustem Umjerow" in page.locator(".qa-answer").last.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-umjerow-in-view.png"))  # what the user sees after Enter
    assert in_view(page, short) and in_view(page, page.locator(".qa-answer").last), "the answer scrolled out of view"
    page.locator("strong.qa-short", has_text="Rustem Umjerow").first.wait_for(timeout=30_000)
    page.get_by_text("Whole article").first.wait_for(timeout=30_000)
    assert page.get_by_text("Deploy", exact=True).count() == 0
    page.get_by_text("more sources, and when they appeared").last.click()
    chart = page.locator(".vega-embed canvas, .vega-embed svg").last
    chart.wait_for(timeout=30_000)  # the timeline
    chart.scroll_into_view_if_needed()
    assert chart.bounding_box()["height"] >= 100
    page.locator("[data-testid='stExpander']").filter(has=chart).last.screenshot(
        path=str(ARTIFACTS / "chart-sources.png")
    )
    page.screenshot(path=str(ARTIFACTS / "chat-umjerow.png"), full_page=True)
    for question in QUESTIONS[1:] + QUESTIONS:
        seconds.append(ask(page, question))
    timing = {
        "questions": len(seconds),
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "each_s": [round(s, 3) for s in seconds],
    }
    (ARTIFACTS / "browser-timing.json").write_text(json.dumps(timing, indent=2))
    print(f"Enter to answer on screen: median {timing['median_s']} s over {len(seconds)} questions")


def test_hostile_article_text_is_shown_never_run(page, tmp_path):
    upload = tmp_path / "feindlich.txt"
    upload.write_text(HOSTILE_ARTICLE, encoding="utf-8")
    import_file(page, upload)
    page.get_by_text("1 imported").wait_for(timeout=10_000)
    ask(page, "Wie viel kostete die Brücke in Testhausen?")
    answer = page.locator(".qa-answer").last.inner_text()
    assert answer == "<script>window.qaHacked=1</script> Die Brücke kostete zwölf Millionen Euro."
    source = page.locator(".qa-source").filter(has_text="Testhausen").first.inner_text()
    assert "<script>window.qaHacked=1</script> Titel mit [Link](javascript:alert(1))" in source
    assert '<img src=x onerror="window.qaHacked=1">' in source
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("window.qaHacked") is None
    assert page.locator("script:has-text('qaHacked')").count() == 0
    assert page.locator("img[src='x']").count() == 0


def test_an_older_report_with_another_answer_stands_beside_the_answer_and_links_to_its_passage(page, tmp_path):
    """Imported as a newcomer would: a 2022 report in which David Arachamia leads the Ukrainian
    delegation. The answer names one leader, the other date's leader stands under it, and its
    date opens the passage it comes from."""
    name, title, published, paragraphs = ISTANBUL
    write_article(tmp_path, name, title, published, paragraphs, tags="Politik")
    import_file(page, tmp_path / name)
    page.get_by_text("1 imported").wait_for(timeout=10_000)
    ask(page, "Who leads the Ukrainian delegation?")
    wait_until_idle(page)
    line = page.locator(".qa-newer, .qa-earlier").last
    try:
        line.wait_for(state="visible", timeout=60_000)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-failure.png"), full_page=True)
        shown = page.locator(".qa-answer, .qa-nothing").last.inner_text()
        pytest.fail(f"no line of another date's answer under the answer: {shown[:800]!r}")
    text = line.inner_text()
    assert text in ("Earlier: David Arachamia (28.03.2022)", "Newer: Rustem Umjerow (18.12.2025)"), text
    link = line.locator("a").first
    target = link.get_attribute("href")
    link.click()
    passage = page.locator(target).locator("xpath=following-sibling::div[1]")
    passage.wait_for(state="visible", timeout=10_000)
    assert ("Arachamia" if text.startswith("Earlier") else "Umjerow") in passage.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answer-over-time.png"))
