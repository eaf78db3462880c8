"""Answer quality on questions about the archive itself, answerable and not.

A dataset is JSON Lines, one question a line, in the layout of ``newsqa_dev.jsonl``: ``qid``,
``article_id`` (the gold article; null when unanswerable), ``question_en``/``question_de`` (the
long form, as an annotator writes), ``question_en_short``/``question_de_short`` (as a user
types), ``answers`` (substrings of the gold article's body), ``answerable``, ``near_miss`` (the
entity is in the archive, the fact asked is not) and ``time_dependent``.

The archive (news articles as JSON Lines) is imported once, into a temporary folder or one kept
for the next run, and every question is asked in each form and language. A question's story is
found at k when its gold article, or another copy of that story, is among the first k distinct
stories; an answer is right when its short answer matches a gold answer (token F1 ≥ 0.5), from
whichever article (in a news archive another report may state the same fact), and a question is
declined when no short answer is given. Exact match and F1 are averaged over the answerable
questions, a declined one counting 0.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.archive import Archive
from qa.evaluation import CUTOFFS, LANGUAGES, exact_match, figure, json_lines, token_f1
from qa.records import Answer, Hit

FORMS = ("long", "short")
RIGHT_F1 = 0.5
"""A short answer is right from this token F1 with a gold answer ("15" for "15 europäische Staaten")."""
BUCKETS = 10
"""The reliability table's confidence buckets: tenths."""


@dataclass(frozen=True)
class ArchiveQuestion:
    """One question of an archive-style set (``newsqa_dev.jsonl``'s format), in one form and language."""

    qid: str
    text: str
    article_id: str | None
    """The gold article; ``None`` for a question the archive cannot answer."""
    answers: tuple[str, ...]
    answerable: bool
    near_miss: bool = False
    time_dependent: bool = False
    form: str = "long"
    language: str = "en"


@dataclass(frozen=True)
class Outcome:
    """What one question got."""

    qid: str
    form: str
    language: str
    answerable: bool
    near_miss: bool
    story_rank: int | None
    """Rank of the gold story among the first ten distinct stories searched (None: not there)."""
    right_source: bool
    short: str | None
    confidence: float | None
    declined: str | None
    exact: float
    f1: float
    seconds: float

    @property
    def answered(self) -> bool:
        return self.short is not None

    @property
    def right(self) -> bool:
        return self.answered and self.answerable and self.f1 >= RIGHT_F1


@dataclass(frozen=True)
class ReliabilityBucket:
    """The answers shown at a confidence in ``[low, high)``, and how many of them were right."""

    low: float
    high: float
    answers: int
    right: int

    @property
    def share_right(self) -> float | None:
        return self.right / self.answers if self.answers else None


@dataclass(frozen=True)
class ArchiveScores:
    form: str
    language: str
    questions: int
    answerable: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    right_source: float
    short_exact: float
    short_f1: float
    answers_right: float | None
    """Of the short answers given (to any question), the share that is right."""
    declined_unanswerable: float | None
    declined_missing: float | None
    """Unanswerable questions whose key names the archive lacks."""
    declined_near_miss: float | None
    declined_answerable: float
    reliability: tuple[ReliabilityBucket, ...]
    ask_p50_ms: float
    ask_p95_ms: float

    def row(self) -> str:
        return (
            f"| {self.form} | {self.language} | {self.questions} | {self.recall_at_1:.3f} | {self.recall_at_5:.3f} "
            f"| {self.recall_at_10:.3f} | {self.mrr_at_10:.3f} | {self.right_source:.3f} "
            f"| {100 * self.short_exact:.1f} | {100 * self.short_f1:.1f} | {figure(self.answers_right)} "
            f"| {figure(self.declined_missing)} | {figure(self.declined_near_miss)} "
            f"| {figure(self.declined_answerable)} | {self.ask_p50_ms:.0f} / {self.ask_p95_ms:.0f} |"
        )

    def reliability_rows(self) -> list[str]:
        return [
            f"| {self.form} | {self.language} | {bucket.low:.1f}-{bucket.high:.1f} | {bucket.answers} "
            f"| {figure(bucket.share_right, digits=2)} |"
            for bucket in self.reliability
            if bucket.answers
        ]


TABLE_HEADER = (
    "| form | lang | questions | R@1 | R@5 | R@10 | MRR@10 | right source | short EM | short F1 | answers right "
    "| declined: missing names | declined: near miss | declined: answerable | ask p50 / p95 ms |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)
RELIABILITY_HEADER = "| form | lang | confidence | answers | share right |\n|---|---|---|---|---|"


def read_archive_questions(path: Path, form: str = "long", language: str = "en") -> list[ArchiveQuestion]:
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    field = f"question_{language}" + ("_short" if form == "short" else "")
    questions = []
    for number, row in json_lines(path):
        try:
            answerable = bool(row["answerable"])
            question = ArchiveQuestion(
                qid=str(row["qid"]),
                text=row[field],
                article_id=row["article_id"] if answerable else None,
                answers=tuple(row.get("answers") or ()),
                answerable=answerable,
                near_miss=bool(row.get("near_miss", False)),
                time_dependent=bool(row.get("time_dependent", False)),
                form=form,
                language=language,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path}:{number}: not a question of the archive layout ({error})") from None
        if answerable and not (question.article_id and question.answers):
            raise ValueError(f"{path}:{number}: an answerable question needs article_id and answers")
        questions.append(question)
    return questions


def is_archive_dataset(path: Path) -> bool:
    """Whether ``path`` holds questions about an archive (rather than a SQuAD-style set)."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                return "answerable" in json.loads(line)
    return False


@contextmanager
def imported_archive(articles: Path, index: Path | str | None = None, short_answers: bool = True) -> Iterator[Archive]:
    """``articles`` imported into a temporary index, or into ``index``, where an earlier
    import is reused (only what changed is embedded)."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = Archive.open(index or Path(scratch) / "index", short_answers=short_answers)
        report = archive.import_paths([articles])
        if report.failed and not report.imported and not report.unchanged:
            raise ValueError(f"{articles}: nothing could be imported: {report.summary()}")
        yield archive


def story_rank(hits: Sequence[Hit], gold: set[str]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if hit.article_id in gold or any(copy.article_id in gold for copy in hit.copies):
            return rank
    return None


def gold_story(archive: Archive, article_id: str) -> set[str]:
    """The gold article and every other copy of its story."""
    view = archive.store.snapshot()
    story = view.stories([article_id]).get(article_id)
    if story is None:
        return {article_id}
    return {article_id} | {member.id for members in view.story_members([story]).values() for member in members}


def shown_confidence(answer: Answer) -> float | None:
    return answer.confidence if answer.confidence is not None else answer.short_score


def ask_question(archive: Archive, item: ArchiveQuestion) -> Outcome:
    gold = gold_story(archive, item.article_id) if item.article_id else set()
    hits = archive.search(item.text, k=max(CUTOFFS))
    started = time.perf_counter()
    answer = archive.ask(item.text)
    seconds = time.perf_counter() - started
    right_source = bool(gold) and answer.source is not None and answer.source.article_id in gold
    short = answer.short
    return Outcome(
        qid=item.qid,
        form=item.form,
        language=item.language,
        answerable=item.answerable,
        near_miss=item.near_miss,
        story_rank=story_rank(hits, gold) if gold else None,
        right_source=right_source,
        short=short,
        confidence=shown_confidence(answer) if short else None,
        declined=answer.declined,
        exact=exact_match(short, item.answers) if item.answerable else 0.0,
        f1=token_f1(short, item.answers) if item.answerable else 0.0,
        seconds=seconds,
    )


def bucket_of(confidence: float) -> int:
    """The number of the bucket a confidence falls in (1.0 falls in the last one)."""
    return min(int(confidence * BUCKETS), BUCKETS - 1)


def reliability(outcomes: Sequence[Outcome]) -> tuple[ReliabilityBucket, ...]:
    shown = [o for o in outcomes if o.answered and o.confidence is not None]
    buckets = []
    for step in range(BUCKETS):
        inside = [o for o in shown if bucket_of(o.confidence) == step]
        right = sum(o.right for o in inside)
        buckets.append(ReliabilityBucket(step / BUCKETS, (step + 1) / BUCKETS, len(inside), right))
    return tuple(buckets)


def _share(selected: Sequence[Outcome], test: Callable[[Outcome], bool]) -> float | None:
    return sum(test(o) for o in selected) / len(selected) if selected else None


def summarise(outcomes: Sequence[Outcome], form: str, language: str) -> ArchiveScores:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    total = max(len(answerable), 1)
    ranks = [o.story_rank for o in answerable]
    answered = [o for o in outcomes if o.answered]
    latencies = np.array([o.seconds for o in outcomes]) * 1000 if outcomes else np.zeros(1)
    declined_answerable = _share(answerable, lambda o: not o.answered)
    return ArchiveScores(
        form=form,
        language=language,
        questions=len(outcomes),
        answerable=len(answerable),
        recall_at_1=sum(r is not None and r <= 1 for r in ranks) / total,
        recall_at_5=sum(r is not None and r <= 5 for r in ranks) / total,
        recall_at_10=sum(r is not None and r <= 10 for r in ranks) / total,
        mrr_at_10=sum(1 / r for r in ranks if r) / total,
        right_source=sum(o.right_source for o in answerable) / total,
        short_exact=sum(o.exact for o in answerable) / total,
        short_f1=sum(o.f1 for o in answerable) / total,
        answers_right=_share(answered, lambda o: o.right),
        declined_unanswerable=_share(unanswerable, lambda o: not o.answered),
        declined_missing=_share([o for o in unanswerable if not o.near_miss], lambda o: not o.answered),
        declined_near_miss=_share([o for o in unanswerable if o.near_miss], lambda o: not o.answered),
        declined_answerable=declined_answerable if declined_answerable is not None else 0.0,
        reliability=reliability(outcomes),
        ask_p50_ms=float(np.percentile(latencies, 50)),
        ask_p95_ms=float(np.percentile(latencies, 95)),
    )


def evaluate_archive(
    archive: Archive,
    dataset: Path,
    forms: Sequence[str] = FORMS,
    languages: Sequence[str] = LANGUAGES,
    progress: Callable[[Outcome], None] | None = None,
) -> tuple[list[ArchiveScores], list[Outcome]]:
    """The figures per form and language, and every question's outcome."""
    scores, everything = [], []
    for form in forms:
        for language in languages:
            outcomes = []
            for item in read_archive_questions(dataset, form, language):
                outcome = ask_question(archive, item)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
            scores.append(summarise(outcomes, form, language))
            everything += outcomes
    return scores, everything


def archive_results_json(scores: Sequence[ArchiveScores], outcomes: Sequence[Outcome]) -> str:
    return json.dumps(
        {"archive": [asdict(score) for score in scores], "questions": [asdict(o) for o in outcomes]},
        indent=2,
        ensure_ascii=False,
    )
