"""Answer quality as numbers: retrieval recall and MRR, and answer accuracy, on a SQuAD-style set.

A dataset is JSON Lines, one question a line, in the layout of XQuAD's cross-lingual split:
``title``, ``context_de`` (the German paragraph that holds the answer), ``question_en`` and
``question_de``, and ``answers_de`` (``[{"text": ..., "answer_start": ...}]``). Each distinct
paragraph becomes an article of a temporary index (its title as title); news articles may be
added as distractors. A question is found at k when a chunk of its paragraph ranks within
the first k distinct articles; its answer is right when the answer sentence contains a gold
answer text.
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.archive import Archive
from qa.chunking import Chunker
from qa.embedding import Embedder
from qa.parsing import parse_json_record
from qa.question import RetrievalMode
from qa.reading import Passage, Reader
from qa.records import stable_hash
from qa.retrieval import FusionWeights

CUTOFFS = (1, 5, 10)
LANGUAGES = ("en", "de")


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    paragraph_id: str
    answers: tuple[str, ...]
    subject: str = ""


def figure(value: float | None, scale: float = 1.0, digits: int = 3) -> str:
    """A figure of a results table; "—" where it was not measured."""
    return "—" if value is None else f"{value * scale:.{digits}f}"


@dataclass(frozen=True)
class EvalScores:
    mode: str
    language: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    answer_accuracy: float | None
    short_exact: float | None = None
    short_f1: float | None = None

    def row(self) -> str:
        return (
            f"| {self.mode} | {self.language} | {self.questions} | {self.recall_at_1:.3f} | {self.recall_at_5:.3f} "
            f"| {self.recall_at_10:.3f} | {self.mrr_at_10:.3f} | {figure(self.answer_accuracy)} "
            f"| {figure(self.short_exact, 100, 1)} | {figure(self.short_f1, 100, 1)} |"
        )


TABLE_HEADER = (
    "| retrieval | questions in | questions | R@1 | R@5 | R@10 | MRR@10 | answer accuracy | short EM | short F1 |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


@dataclass(frozen=True)
class ReaderScores:
    """The reader alone, given the gold paragraph: exact match and F1 of its best span (even
    where it judged that the paragraph does not answer), and the share it judged answered."""

    language: str
    questions: int
    exact: float
    f1: float
    answered: float

    def row(self) -> str:
        return (
            f"| {self.language} | {self.questions} | {100 * self.exact:.1f} | {100 * self.f1:.1f} "
            f"| {self.answered:.3f} |"
        )


READER_TABLE_HEADER = (
    "| reader alone, gold paragraph: questions in | questions | EM | F1 | judged answered |\n|---|---|---|---|---|"
)


def normalise_answer(text: str) -> list[str]:
    """SQuAD's comparison of answers: words, case folded, punctuation and extra whitespace gone."""
    kept = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text.casefold())
    return kept.split()


def exact_match(prediction: str | None, answers: Sequence[str]) -> float:
    if not prediction:
        return 0.0
    return float(any(normalise_answer(prediction) == normalise_answer(answer) for answer in answers))


def token_f1(prediction: str | None, answers: Sequence[str]) -> float:
    """SQuAD's token F1 against the best of the gold answers (0 without a prediction)."""
    if not prediction:
        return 0.0
    predicted = normalise_answer(prediction)
    best = 0.0
    for answer in answers:
        gold = normalise_answer(answer)
        common = sum((Counter(predicted) & Counter(gold)).values())
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def paragraph_id(context: str) -> str:
    return "p" + stable_hash(context)[:12]


def json_lines(path: Path) -> Iterator[tuple[int, object]]:
    """Each non-blank line of a JSON Lines file, parsed, with its number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as error:
                    raise ValueError(f"{path}:{number}: not JSON ({error})") from None


def read_dataset(path: Path, language: str = "en") -> tuple[list[dict], list[EvalQuestion]]:
    """The distinct paragraphs (as importable JSON records) and the questions in ``language``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    paragraphs: dict[str, dict] = {}
    questions = []
    for number, row in json_lines(path):
        try:
            context, question = row["context_de"], row[f"question_{language}"]
            answers = tuple(answer["text"] for answer in row["answers_de"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path}:{number}: not a question of the SQuAD-style layout ({error})") from None
        pid = paragraph_id(context)
        subject = str(row.get("title", "")).replace("_", " ")
        paragraphs.setdefault(pid, {"id": pid, "title": subject, "body": context})
        questions.append(EvalQuestion(question, pid, answers, subject))
    return list(paragraphs.values()), questions


def distractor_records(path: Path, chunk_budget: int, chunker: Chunker | None = None) -> Iterator[str]:
    """Lines of a news JSON Lines file, in order, until their articles make ``chunk_budget`` chunks."""
    chunker = chunker or Chunker()
    chunks = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if chunks >= chunk_budget:
                return
            if not line.strip():
                continue
            try:
                article = parse_json_record(json.loads(line), str(path), number)
            except ValueError:
                continue
            chunks += len(chunker.chunk_article(article))
            yield line if line.endswith("\n") else line + "\n"


@contextmanager
def evaluation_archive(
    dataset: Path,
    distractors: Path | None = None,
    distractor_chunks: int = 2000,
    index: Path | str | None = None,
    embedder: Embedder | None = None,
    fusion: FusionWeights | None = None,
    short_answers: bool = True,
) -> Iterator[Archive]:
    """An archive of the dataset's paragraphs (and distractors): built in a temporary folder,
    or at ``index`` (a directory or a Milvus URI), where an earlier build is reused (the import
    skips what is there)."""
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus.jsonl"
        paragraphs, _questions = read_dataset(dataset)
        with corpus.open("w", encoding="utf-8") as out:
            for record in paragraphs:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if distractors:
                out.writelines(distractor_records(distractors, distractor_chunks))
        archive = Archive.open(
            index or Path(scratch) / "index", embedder=embedder, fusion=fusion, short_answers=short_answers
        )
        report = archive.import_paths([corpus])
        if report.failed and not report.imported and not report.unchanged:
            raise ValueError(f"{dataset}: nothing could be imported: {report.summary()}")
        yield archive


def answer_is_right(sentence: str | None, answers: Sequence[str]) -> bool:
    if not sentence:
        return False
    folded = sentence.casefold()
    return any(answer.casefold().strip() in folded for answer in answers if answer.strip())


def score_questions(
    archive: Archive,
    questions: Sequence[EvalQuestion],
    mode: RetrievalMode | str,
    language: str,
    with_answers: bool = True,
    progress: Callable[[int], None] | None = None,
) -> EvalScores:
    mode = RetrievalMode(mode)
    found = dict.fromkeys(CUTOFFS, 0)
    reciprocal = 0.0
    right = 0
    exact = f1 = 0.0
    for done, item in enumerate(questions, 1):
        ids = [hit.article_id for hit in archive.search(item.question, k=max(CUTOFFS), mode=mode)]
        rank = ids.index(item.paragraph_id) + 1 if item.paragraph_id in ids else None
        if rank:
            reciprocal += 1 / rank
            for cutoff in CUTOFFS:
                found[cutoff] += rank <= cutoff
        if with_answers:
            answer = archive.ask(item.question, mode=mode)
            right += answer_is_right(answer.sentence, item.answers)
            if answer.source is not None and answer.source.article_id == item.paragraph_id:
                exact += exact_match(answer.short, item.answers)
                f1 += token_f1(answer.short, item.answers)
        if progress:
            progress(done)
    total = max(len(questions), 1)
    short = with_answers and archive.reader is not None
    return EvalScores(
        mode=mode.value,
        language=language,
        questions=len(questions),
        recall_at_1=found[1] / total,
        recall_at_5=found[5] / total,
        recall_at_10=found[10] / total,
        mrr_at_10=reciprocal / total,
        answer_accuracy=right / total if with_answers else None,
        short_exact=exact / total if short else None,
        short_f1=f1 / total if short else None,
    )


def score_reader(
    reader: Reader, paragraphs: dict[str, str], questions: Sequence[EvalQuestion], language: str
) -> ReaderScores:
    """The reader on each question's gold paragraph (``paragraphs``: id → text)."""
    exact = f1 = answered = 0.0
    for item in questions:
        (reading,) = reader.read(item.question, [Passage(paragraphs[item.paragraph_id])])
        exact += exact_match(reading.text, item.answers)
        f1 += token_f1(reading.text, item.answers)
        answered += reading.answered
    total = max(len(questions), 1)
    return ReaderScores(language, len(questions), exact / total, f1 / total, answered / total)


def evaluate_reader(dataset: Path | str, reader: Reader, languages: Sequence[str] = ("en",)) -> list[ReaderScores]:
    """Short-answer figures of the reader alone, given each question's gold paragraph."""
    results = []
    for language in languages:
        paragraphs, questions = read_dataset(Path(dataset), language)
        texts = {record["id"]: record["body"] for record in paragraphs}
        results.append(score_reader(reader, texts, questions, language))
    return results


def evaluate(
    dataset: Path | str,
    distractors: Path | str | None = None,
    distractor_chunks: int = 2000,
    languages: Sequence[str] = ("en",),
    modes: Sequence[RetrievalMode | str] = tuple(RetrievalMode),
    with_answers: bool = True,
    index: Path | str | None = None,
    embedder: Embedder | None = None,
    fusion: FusionWeights | None = None,
    short_answers: bool = True,
) -> list[EvalScores]:
    """Every figure for every retrieval mode and question language; see the module docstring."""
    dataset = Path(dataset)
    results = []
    with evaluation_archive(
        dataset,
        Path(distractors) if distractors else None,
        distractor_chunks,
        index or None,
        embedder,
        fusion,
        short_answers,
    ) as archive:
        for language in languages:
            _paragraphs, questions = read_dataset(dataset, language)
            for mode in modes:
                results.append(score_questions(archive, questions, mode, language, with_answers))
    return results


def results_json(results: Sequence[EvalScores], reader: Sequence[ReaderScores] = ()) -> str:
    return json.dumps(
        {"retrieval": [asdict(result) for result in results], "reader": [asdict(result) for result in reader]},
        indent=2,
    )
