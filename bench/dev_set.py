"""The set the tuning scripts share: a SQuAD-style dev set's paragraphs with news chunks as
distractors, built into an index once (``--keep-index``) and reused by the next run."""

import argparse
from contextlib import AbstractContextManager
from pathlib import Path

from qa import Archive
from qa.evaluation import evaluation_archive


def add_dev_set_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--distractors", type=Path)
    parser.add_argument("--limit", type=int, default=2000, help="distractor chunks")
    parser.add_argument("--keep-index", type=Path)


def dev_set_archive(args: argparse.Namespace) -> AbstractContextManager[Archive]:
    return evaluation_archive(args.xquad, args.distractors, args.limit, args.keep_index)
