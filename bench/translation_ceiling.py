"""What translating English questions for BM25 can at best give: the lexical side gets XQuAD's own
German translation of each question (``question_de``), the dense side the English question.

    python bench/translation_ceiling.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

Prints the figures of ``qa eval`` for English questions three ways: words not translated, words
translated with the installed dictionary (what the product does), and the whole question
translated by a person (the ceiling of any word-by-word translation).
"""

import argparse
import os
from dataclasses import replace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dev_set import add_dev_set_arguments, dev_set_archive

from qa.evaluation import TABLE_HEADER, read_dataset, score_questions
from qa.lexical import LexicalQuery
from qa.question import Question, QuestionAnalyser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dev_set_arguments(parser)
    parser.add_argument("--mode", nargs="+", default=["bm25", "hybrid"])
    args = parser.parse_args()
    _paragraphs, english = read_dataset(args.xquad, "en")
    _paragraphs, german = read_dataset(args.xquad, "de")
    in_german = {en.question: de.question for en, de in zip(english, german, strict=True)}

    class HumanTranslation(QuestionAnalyser):
        """BM25 gets the German question's words in place of the English ones'."""

        def analyse(self, text: str, *args, **kwargs) -> Question:
            asked = super().analyse(text, *args, **kwargs)
            return replace(asked, terms=LexicalQuery.parse(in_german.get(text, text), self.prefixes))

    with dev_set_archive(args) as archive:
        plain = archive._questions
        header, rule = TABLE_HEADER.splitlines()
        print(f"| lexical side gets {header}\n|---{rule}")
        for label, analyser in (
            ("English words", QuestionAnalyser(plain.embedder, None, plain.prefixes)),
            ("+ dictionary translations", plain),
            ("the German question", HumanTranslation(plain.embedder, None, plain.prefixes)),
        ):
            archive._questions = analyser
            for mode in args.mode:
                print(f"| {label} {score_questions(archive, english, mode, 'en').row()}", flush=True)
        archive._questions = plain


if __name__ == "__main__":
    main()
