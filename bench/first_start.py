"""A newcomer's first start, in Chromium: `streamlit run app.py` with an empty home folder (so the
models are built on first use), three tabs opened at once, an English question, and an import of
the wire fixtures through the upload panel. Prints the time from the command to the chat box in
the first tab and whether any tab showed an error; leaves a screenshot of each step in --out.

    python bench/first_start.py --wire ../shared/data/dpa_digitalwires --out /tmp/first-start
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app_server import running_app  # noqa: E402

CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wire", type=Path, required=True, help="a folder of dpa digitalwires .json files")
    parser.add_argument("--out", type=Path, default=Path("/tmp/first-start"))
    parser.add_argument("--question", default="Who leads the Ukrainian delegation?")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("QA_MODEL_DIR", "XDG_CACHE_HOME")}
        env |= {"HOME": str(home), "QA_INDEX": str(Path(scratch) / "index"), "HF_HUB_OFFLINE": "1"}
        started = time.perf_counter()
        with (
            (args.out / "streamlit.log").open("w") as log,
            running_app(env, log, timeout=900) as url,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            tabs = []
            for _ in range(3):
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                tab.goto(url)
                tabs.append(tab)
            tabs[0].get_by_placeholder("Ask in German or English…").wait_for(timeout=900_000)
            chat_box = time.perf_counter() - started
            errors = []
            for number, tab in enumerate(tabs, start=1):
                tab.get_by_placeholder("Ask in German or English…").wait_for(timeout=900_000)
                tab.screenshot(path=str(args.out / f"1-tab{number}-first-start.png"), full_page=True)
                if tab.locator("[data-testid='stException']").count():
                    errors.append(f"tab {number}: {tab.locator('[data-testid=stException]').first.inner_text()}")
            box = tabs[0].get_by_placeholder("Ask in German or English…")
            box.fill(args.question)
            box.press("Enter")
            tabs[0].locator(".qa-short-answer, .qa-nothing").first.wait_for(timeout=120_000)
            tabs[0].screenshot(path=str(args.out / "2-english-question.png"), full_page=True)
            files = sorted(str(path) for path in args.wire.glob("*.json"))
            tabs[0].locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(files)
            tabs[0].get_by_role("button", name="Import", exact=True).click()
            tabs[0].get_by_text("Last import").wait_for(timeout=600_000)
            tabs[0].screenshot(path=str(args.out / "3-wire-import.png"), full_page=True)
            written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
            outside = [p for p in written if not p.startswith(".cache/archive-qa/")]
            browser.close()
    print(f"command to chat box in the first tab (empty home, models built): {chat_box:.0f} s")
    print(f"errors shown: {errors or 'none'}")
    print(f"files written under HOME outside ~/.cache/archive-qa: {outside or 'none'}")
    print(f"screenshots in {args.out}")
    return 1 if errors or outside else 0


if __name__ == "__main__":
    raise SystemExit(main())
