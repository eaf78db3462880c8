"""Startup: from a new process to the first search, `qa ask` and `qa search` as commands, and
from `streamlit run app.py` to the first answer on screen, cold and warm.

Cold means the operating system's file cache was emptied first (``/proc/sys/vm/drop_caches``,
root only), so Python, torch, the model and the index are read from disk; warm means the
same start again with those files cached. Every start is a new process: the model is
loaded each time.

python bench/startup.py                         # an index built from seeds/
python bench/startup.py --index /path/to/index  # an existing index
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_server import running_app  # noqa: E402

QUESTION = "Who leads the Ukrainian delegation?"
CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))

API_START = """
import json, sys, time
started = time.perf_counter()
import qa
imported = time.perf_counter()
archive = qa.Archive.open(sys.argv[1])
opened = time.perf_counter()
hits = archive.search(sys.argv[2], k=5)
searched = time.perf_counter()
print(json.dumps({"import qa": imported - started, "Archive.open": opened - imported,
                  "first search": searched - opened, "hits": len(hits)}))
"""


def drop_file_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def api_start(index: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", API_START, str(index), QUESTION], capture_output=True, text=True, check=True
    )
    stages = json.loads(done.stdout.strip().splitlines()[-1])
    if not stages.pop("hits"):
        raise SystemExit("the first search found nothing: is the index empty?")
    stages["process start to first search"] = time.perf_counter() - started
    return stages


def cli_start(index: Path, served: bool = False) -> dict[str, float]:
    """Seconds for `qa ask` and `qa search`, each a new process, as a user types them; alone, or
    answered by a running `qa serve`."""
    qa = Path(sys.executable).with_name("qa")
    environment = {**os.environ, "QA_SERVE": "1" if served else "0"}
    stages = {}
    for command in ("ask", "search"):
        started = time.perf_counter()
        subprocess.run(
            [str(qa), command, QUESTION, "--index", str(index)], capture_output=True, check=True, env=environment
        )
        stages[f"qa {command}" + (" (served)" if served else "")] = time.perf_counter() - started
    return stages


def served_cli(index: Path, runs: int) -> list[dict[str, float]]:
    """`qa ask` and `qa search` while `qa serve` runs: its start (to ready), then each command."""
    qa = Path(sys.executable).with_name("qa")
    started = time.perf_counter()
    server = subprocess.Popen([str(qa), "serve", "--index", str(index)], stdout=subprocess.PIPE, text=True)
    try:
        if "serving" not in server.stdout.readline():
            raise SystemExit("qa serve did not start")
        ready = time.perf_counter() - started
        return [{"qa serve: start to ready": ready, **cli_start(index, served=True)} for _ in range(runs)]
    finally:
        server.terminate()
        server.wait(timeout=60)


def app_start(index: Path, page, cold: bool, pause: float) -> dict[str, float]:
    """Seconds from `streamlit run` to the server answering, the chat box shown, and the
    first answer on screen. The browser is already open, as a user's would be; the question
    is typed ``pause`` seconds after the first script run has finished (a question typed
    while Streamlit runs the script can be lost), as a person reads the page first."""
    env = {**os.environ, "QA_INDEX": str(index)}
    if cold:
        drop_file_cache()
    started = time.perf_counter()
    try:
        with running_app(env, timeout=300) as url:
            up = time.perf_counter()
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(timeout=300_000)
            shown = time.perf_counter()
            page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'",
                timeout=300_000,
            )
            ready = time.perf_counter()
            time.sleep(pause)
            box.fill(QUESTION)
            box.press("Enter")
            entered = time.perf_counter()
            page.locator(".qa-answer, .qa-nothing").first.wait_for(timeout=300_000)
            answered = time.perf_counter()
    finally:
        page.close()
    return {
        "server answering": up - started,
        "chat box shown": shown - started,
        "first script run finished": ready - started,
        "first answer on screen": answered - started,
        "Enter to the first answer": answered - entered,
    }


def table(title: str, runs: list[dict[str, float]]) -> str:
    lines = [f"\n{title}", f"| stage | cold | warm (median of {len(runs) - 1}) |", "|---|---:|---:|"]
    for stage in runs[0]:
        warm = statistics.median(run[stage] for run in runs[1:])
        lines.append(f"| {stage} | {runs[0][stage]:.2f} s | {warm:.2f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an existing index (default: one built from seeds/)")
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--skip-app", action="store_true", help="only the Python API")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between the chat box showing and typing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        index = args.index
        if index is None:
            from qa import Archive

            index = Path(folder) / "index"
            Archive.open(index).import_paths([ROOT / "seeds"])
        cold_possible = drop_file_cache()
        api_runs = [api_start(index)] + [api_start(index) for _ in range(args.warm_runs)]
        report = [
            f"index: {index}; machine: {os.cpu_count()} cores; "
            + ("cold = file cache dropped" if cold_possible else "cold NOT measured: file cache could not be dropped"),
            table("import qa + Archive.open + first search (new process each time)", api_runs),
        ]
        drop_file_cache()
        cli_runs = [cli_start(index)] + [cli_start(index) for _ in range(args.warm_runs)]
        report.append(table("the command line, a new process each time", cli_runs))
        report.append(
            table(
                "the command line with `qa serve` running (first row: its first run)",
                served_cli(index, args.warm_runs + 1),
            )
        )
        if not args.skip_app:
            if not CHROMIUM.exists():
                raise SystemExit(f"no Chromium at {CHROMIUM}; use --skip-app or set QA_CHROMIUM")
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                app_runs = []
                for run in range(args.warm_runs + 1):
                    app_runs.append(app_start(index, browser.new_page(), cold=run == 0, pause=args.pause))
                    print(f"app start {run}: {app_runs[-1]}", file=sys.stderr, flush=True)
                browser.close()
            report.append(
                table(
                    f"streamlit run app.py to the first answer (browser already open, question typed "
                    f"{args.pause:g} s after the first script run)",
                    app_runs,
                )
            )
    print("\n".join(report))


if __name__ == "__main__":
    main()
