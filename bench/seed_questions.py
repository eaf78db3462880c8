"""Rank of the right chunk, and the answer, for the five seed questions of the models doc.

python bench/seed_questions.py
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Archive
from qa.retrieval import RetrievalMode

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUESTIONS = [
    ("Who leads the Ukrainian delegation?", "Rustem Umjerow"),
    ("Wer führt die Gespräche für die USA?", "Witkoff und Jared Kushner"),
    ("Where will the Kremlin and US officials meet?", "in Miami ein Treffen"),
    ("What did the EU present on the anniversary of the invasion?", "Jahrestag"),
    ("Why did Trump drop the tariffs on India?", "Strafzölle"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(Path(folder) / "index")
        archive.import_paths([SEEDS])
        print("| question | rank of right chunk: dense | bm25 | hybrid | answer sentence (hybrid) |")
        print("|---|---|---|---|---|")
        for question, marker in QUESTIONS:
            ranks = []
            for mode in RetrievalMode:
                ranked = archive._retriever.chunks(question, 50, mode=mode)
                ranks.append(next((i for i, hit in enumerate(ranked, 1) if marker in hit.text), "—"))
            answer = archive.ask(question)
            print(f"| {question} | {' | '.join(map(str, ranks))} | {answer.sentence} |")


if __name__ == "__main__":
    main()
