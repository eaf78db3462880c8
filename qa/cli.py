"""The ``qa`` command: a thin layer over :class:`qa.Archive`."""

from __future__ import annotations

import functools
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from qa.archive import Archive, default_index_location
from qa.archive_evaluation import (
    FORMS,
    RELIABILITY_HEADER,
    archive_results_json,
    evaluate_archive,
    imported_archive,
    read_archive_questions,
)
from qa.archive_evaluation import TABLE_HEADER as ARCHIVE_TABLE_HEADER
from qa.evaluation import LANGUAGES, READER_TABLE_HEADER, TABLE_HEADER, evaluate, evaluate_reader, results_json
from qa.importing import DEFAULT_BATCH_ARTICLES, ImportProgress
from qa.parsing import BERLIN
from qa.question import RetrievalMode
from qa.reading import shared_reader
from qa.records import Hit, ImportStatus, more_versions, published_label
from qa.retrieval import FusionWeights
from qa.storage import ArchiveIndexError
from qa.translation import shared_dictionary
from qa.vectors import VectorLayout

index_option = click.option(
    "--index",
    "index_path",
    default=None,
    help="Index directory, or milvus://host:port/name, or milvus-lite:///file.db (default: $QA_INDEX or ./index).",
)


_WARM: dict[str, Archive] = {}
"""Archives that `qa serve` keeps open, by location."""


def _open(index_path: str | None) -> Archive:
    location = index_path or default_index_location()
    if location in _WARM:
        return _WARM[location]
    try:
        return Archive.open(location)
    except ArchiveIndexError as error:
        raise click.ClickException(str(error)) from None


def warm_archive(location: str) -> Archive:
    """Open the archive at ``location`` for good, with its models loaded (for `qa serve`)."""
    archive = _open(location)
    archive.warm_up()
    archive.ask("Wer?")
    _WARM[location] = archive
    return archive


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=BERLIN)
    except ValueError:
        raise click.BadParameter(f"expected a date like 2025-12-18, got {value!r}") from None


def _progress_bar(label: str):
    """A tqdm bar over the records, moved by the share of each batch's chunks embedded, with
    rate and time left; on standard error, so that output stays clean. The bar opens with the
    first progress (when the total is known) but counts its time from now, and its rate is the
    average since then: the first batch is reported only once embedded, and timed from the bar's
    opening it showed a rate of a million articles a second."""
    from tqdm import tqdm

    bar = None
    started = time.time()

    def update(progress: ImportProgress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=max(progress.records_total, 1), desc=label, unit="article", file=sys.stderr, smoothing=0)
            bar.start_t = started
        bar.n = round(progress.fraction * bar.total, 2)
        bar.set_postfix_str(f"{progress.chunks_embedded} chunks embedded", refresh=False)
        bar.refresh()
        if progress.records_done >= progress.records_total:
            bar.close()

    return update


def _format_hit(rank: int, hit: Hit) -> str:
    date = published_label(hit.published)
    kind = " [teaser]" if hit.is_teaser else ""
    tags = f" ({', '.join(hit.tags)})" if hit.tags else ""
    passage = "\n   ".join(" ".join(paragraph.split()) for paragraph in hit.text.split("\n\n") if paragraph.strip())
    origin = f" · {hit.origin}" if hit.origin else ""
    copies = f"\n   {more_versions(hit.copies, shown=len(hit.copies))}" if hit.copies else ""
    return (
        f"{rank}. {hit.title}{kind}{tags}\n   {date}{origin} · similarity {hit.similarity:.2f} · {hit.article_id}"
        f"\n   {passage}{copies}"
    )


@click.group()
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def main(verbose: int) -> None:
    """archive-qa: ask questions of a news archive, in German or English."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_ARTICLES,
    show_default=True,
    help="Articles per commit: each commit publishes a new index generation, kept if the import is interrupted.",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    help="Embed on a Ray cluster: --ray ADDRESS (or auto); --ray alone starts a local one.",
)
@click.option("--ray-actors", type=click.IntRange(min=1), default=2, show_default=True, help="Ray actors embedding.")
def import_command(
    paths: tuple[Path, ...],
    index_path: str | None,
    quiet: bool,
    batch_size: int,
    ray_address: str | None,
    ray_actors: int,
) -> None:
    """Import article files (.txt), JSON Lines files (.jsonl) or folders of them.

    Only new or changed articles are embedded. Exits with 1 if any input failed.
    """
    archive = _open(index_path)
    executor = None
    if ray_address is not None:
        from qa.fanout import RayEmbedder, RayNotInstalledError

        try:
            executor = RayEmbedder(ray_address, actors=ray_actors)
        except RayNotInstalledError as error:
            raise click.ClickException(str(error)) from None
    try:
        report = archive.import_paths(
            paths,
            progress=None if quiet else _progress_bar("Importing"),
            batch_articles=batch_size,
            executor=executor,
        )
    except ArchiveIndexError as error:
        raise click.ClickException(str(error)) from None
    finally:
        if executor is not None:
            executor.close()
    for outcome in report.outcomes:
        if outcome.status is ImportStatus.FAILED:
            click.echo(f"error: {outcome.source}: {outcome.reason}", err=True)
        elif outcome.status is ImportStatus.SKIPPED:
            click.echo(f"skipped: {outcome.source}: {outcome.reason}", err=True)
    for outcome in report.outcomes:
        if outcome.status in (ImportStatus.IMPORTED, ImportStatus.UPDATED) and outcome.repairs:
            click.echo(f"{outcome.source}: {outcome.repairs} mojibake spans repaired", err=True)
        if outcome.status is ImportStatus.UNCHANGED and outcome.reason:
            click.echo(f"{outcome.source}: {outcome.reason}", err=True)
    click.echo(f"{report.summary()} in {report.seconds:.1f} s")
    if report.failed:
        sys.exit(1)


@main.command()
@index_option
@click.argument("article_ids", nargs=-1, required=True)
def remove(index_path: str | None, article_ids: tuple[str, ...]) -> None:
    """Remove articles by id (as `qa search` shows them)."""
    archive = _open(index_path)
    try:
        removed = archive.remove(article_ids)
    except ArchiveIndexError as error:
        raise click.ClickException(str(error)) from None
    for article_id in article_ids:
        if article_id not in removed:
            click.echo(f"{article_id}: not in the archive", err=True)
    click.echo(f"removed {len(removed)} article(s)")
    if len(removed) < len(article_ids):
        sys.exit(1)


@main.command()
@index_option
@click.option(
    "--vectors",
    "layout",
    type=click.Choice([layout.value for layout in VectorLayout]),
    help="FAISS index type from now on: exact (flat), IVF with 8-bit codes (ivf-sq8), or auto (by size, the default)",
)
def rebuild(index_path: str | None, layout: str | None) -> None:
    """Re-embed every stored article into a fresh index (after a model or format change)."""
    archive = Archive(*_unchecked(index_path))
    try:
        report = archive.rebuild(progress=_progress_bar("Rebuilding"), layout=VectorLayout(layout) if layout else None)
    except ArchiveIndexError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"rebuilt {report.articles} articles and {report.teasers} teasers: "
        f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s; vectors in {report.index_type}"
    )


def _unchecked(index_path: str | None):
    from qa.chunking import Chunker
    from qa.embedding import shared_embedder
    from qa.storage import open_store

    embedder = shared_embedder()
    store = open_store(index_path or default_index_location(), embedder.name, embedder.dimension)
    return store, embedder, Chunker()


@main.command()
@index_option
def stats(index_path: str | None) -> None:
    """Print what the index holds."""
    info = _open(index_path).stats()
    counts = info.counts
    click.echo(f"index:      {info.location}")
    click.echo(f"model:      {info.model} ({info.dimension} dimensions)")
    click.echo(f"type:       {info.index_type} ({info.layout}), generation {info.generation}")
    click.echo(f"articles:   {counts.articles}")
    click.echo(f"chunks:     {counts.chunks}")
    click.echo(f"teasers:    {counts.teasers}")
    click.echo(f"vectors:    {counts.vectors}")
    click.echo(f"newest:     {counts.newest_article or '-'}")
    click.echo(f"wire:       {info.wire.embargoed} under embargo, {info.wire.withdrawn} withdrawn")
    click.echo(f"dictionary: {info.dictionary or 'none (English questions reach BM25 by names and cognates only)'}")


@main.command()
@index_option
def check(index_path: str | None) -> None:
    """Verify the index: file checksums, that vectors, chunks and lexical entries match, counts."""
    store, _embedder, _chunker = _unchecked(index_path)
    path = store.location
    problems = store.check()
    if not problems:
        click.echo(f"{path}: ok")
        return
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    raise click.ClickException(
        f"{len(problems)} problem(s); `qa rebuild --index {path}` rebuilds from the stored articles"
    )


filters = [
    click.option("-k", "k", default=5, show_default=True, help="Number of sources."),
    click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD)."),
    click.option("--until", help="Only articles published on or before this date (YYYY-MM-DD)."),
    click.option("--tag", "tags", multiple=True, help="Only articles with this tag (repeatable)."),
    click.option("--outlet", "outlets", multiple=True, help="Only articles from this outlet, e.g. dpa (repeatable)."),
    click.option(
        "--all-versions",
        "all_versions",
        is_flag=True,
        help="List every copy of a story printed by several outlets (default: once, with its copies).",
    ),
    click.option(
        "--mode",
        type=click.Choice([m.value for m in RetrievalMode]),
        default=RetrievalMode.HYBRID.value,
        show_default=True,
        help="Retrieval: dense and BM25 fused, or either alone.",
    ),
]


def _with_filters(command):
    """The shared search options, handed to ``command`` as one ``query`` mapping of the keyword
    arguments that ``Archive.search`` and ``Archive.ask`` take."""

    @functools.wraps(command)
    def run(*args, k, since, until, tags, outlets, all_versions, mode, **rest):
        query = {
            "k": k,
            "since": _date(since),
            "until": _date(until),
            "tags": list(tags) or None,
            "outlets": list(outlets) or None,
            "collapse": not all_versions,
            "mode": mode,
        }
        return command(*args, query=query, **rest)

    for option in reversed(filters):
        run = option(run)
    return run


@main.command()
@click.argument("question")
@index_option
@_with_filters
def search(question: str, index_path: str | None, query: dict) -> None:
    """Print the articles that best match QUESTION."""
    hits = _open(index_path).search(question, **query)
    if not hits:
        click.echo("No matching articles.")
    for rank, hit in enumerate(hits, start=1):
        click.echo(_format_hit(rank, hit))


@main.command()
@click.argument("question")
@index_option
@_with_filters
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
def ask(question: str, index_path: str | None, query: dict, as_json: bool) -> None:
    """Answer QUESTION: the short answer, the sentence that holds it, and the sources."""
    archive = _open(index_path)
    archive.warm_up(background=True)
    answer = archive.ask(question, **query)
    if as_json:
        click.echo(answer.to_json())
        return
    if answer.when:
        click.echo(f"Time: {answer.when.describe()}")
    if not answer.found:
        click.echo(f"The archive does not say: {answer.declined or 'nothing relevant found'}.")
        if answer.sources:
            click.echo("\nClosest passages:")
            for rank, hit in enumerate(answer.sources, start=1):
                click.echo(_format_hit(rank, hit))
        return
    source = answer.source
    date = f"{source.published:%Y-%m-%d}" if source.published else "undated"
    if answer.short:
        click.echo(f"{answer.short}  ({answer.certainty or f'reader confidence {answer.short_score:.0%}'})")
    else:
        click.echo("(no short answer: the reader found none in the top passages)")
    click.echo(answer.sentence)
    click.echo(f"  — {source.title}, {date} (characters {answer.span.start}-{answer.span.end} of the article)")
    if answer.timeline:
        click.echo("\nOver time (newest first):")
        for entry in answer.timeline:
            mark = "  ← this answer" if entry.source.article_id == source.article_id else ""
            stories = f", {entry.stories} stories" if entry.stories > 1 else ""
            day = f"{entry.published:%Y-%m-%d}" if entry.published else "undated"
            click.echo(f"  {day}: {entry.short} — {entry.source.title}{stories}{mark}")
    click.echo("\nSources:")
    for rank, hit in enumerate(answer.sources, start=1):
        click.echo(_format_hit(rank, hit))
    if answer.analysis is not None:
        click.echo("\nQuestion read as: " + " · ".join(answer.analysis.describe()))


@main.command()
@index_option
def serve(index_path: str | None) -> None:
    """Keep the archive and its models loaded, and answer this machine's `qa ask` and `qa search`
    from here (each then takes a fraction of a second); stop with Ctrl-C."""
    from qa.serving import run_command
    from qa.serving import serve as run_server

    run_server(index_path, warm_archive, functools.partial(run_command, main))


@main.command(name="eval")
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--distractors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="News articles (JSON Lines) to add to the index as distractors.",
)
@click.option("--limit", default=2000, show_default=True, help="Distractor chunks to add (whole articles, in order).")
@click.option(
    "--lang",
    "languages",
    type=click.Choice([*LANGUAGES, "both"]),
    default=None,
    help="Ask the English or the German questions, or both (default: en; with --archive, both).",
)
@click.option(
    "--mode",
    "modes",
    type=click.Choice([m.value for m in RetrievalMode]),
    multiple=True,
    help="Retrieval mode to score (repeatable; default: all three).",
)
@click.option("--no-answers", is_flag=True, help="Score retrieval only (answer selection is the slow part).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the results here.")
@click.option(
    "--keep-index",
    help="Build the evaluation index here (a directory or a Milvus URI) and reuse it next time, "
    "instead of a temporary folder.",
)
@click.option(
    "--no-dictionary",
    is_flag=True,
    help="Do not translate English question words to German for BM25, even with a dictionary installed.",
)
@click.option("--no-reader", is_flag=True, help="Answer without the reader (no short answers).")
@click.option(
    "--archive",
    "archive_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="DATASET holds questions about these articles (JSON Lines), answerable and not: import them "
    "(once, with --keep-index) and score stories found, answers, declines and confidence.",
)
@click.option(
    "--form",
    "forms",
    type=click.Choice([*FORMS, "both"]),
    default="both",
    show_default=True,
    help="With --archive: the annotators' long questions, the users' short ones, or both.",
)
def evaluate_command(
    dataset: Path,
    distractors: Path | None,
    limit: int,
    languages: str | None,
    modes: tuple[str, ...],
    no_answers: bool,
    json_path: Path | None,
    keep_index: str | None,
    no_dictionary: bool,
    no_reader: bool,
    archive_file: Path | None,
    forms: str,
) -> None:
    """Measure retrieval (recall@1/5/10, MRR@10), answer accuracy and short answers (exact match,
    F1; in the whole pipeline and by the reader alone on the gold paragraph) on a SQuAD-style DATASET;
    with --archive, on questions about an archive (see qa.archive_evaluation)."""
    if archive_file is not None:
        _evaluate_on_archive(dataset, archive_file, keep_index, languages or "both", forms, json_path)
        return
    languages = languages or "en"
    dictionary = None if no_dictionary else shared_dictionary()
    click.echo(
        f"English question words translated with {dictionary.path}"
        if dictionary
        else "English question words not translated (no English-German dictionary used)",
        err=True,
    )
    asked = LANGUAGES if languages == "both" else (languages,)
    reader = None if no_reader or no_answers else shared_reader()
    try:
        results = evaluate(
            dataset,
            distractors,
            limit,
            languages=asked,
            modes=modes or tuple(RetrievalMode),
            with_answers=not no_answers,
            index=keep_index,
            fusion=FusionWeights(translate=dictionary is not None),
            short_answers=reader is not None,
        )
        reader_results = evaluate_reader(dataset, reader, asked) if reader else []
    except (ValueError, ArchiveIndexError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(TABLE_HEADER)
    for result in results:
        click.echo(result.row())
    if reader_results:
        click.echo("\n" + READER_TABLE_HEADER)
        for result in reader_results:
            click.echo(result.row())
    if json_path:
        json_path.write_text(results_json(results, reader_results) + "\n", encoding="utf-8")
        click.echo(f"written to {json_path}", err=True)


def _evaluate_on_archive(
    dataset: Path, articles: Path, keep_index: str | None, languages: str, forms: str, json_path: Path | None
) -> None:
    asked = LANGUAGES if languages == "both" else (languages,)
    shapes = FORMS if forms == "both" else (forms,)
    try:
        with imported_archive(articles, keep_index) as archive:
            total = len(read_archive_questions(dataset)) * len(asked) * len(shapes)
            with click.progressbar(length=total, label="Asking", file=sys.stderr) as bar:
                scores, outcomes = evaluate_archive(archive, dataset, shapes, asked, lambda _outcome: bar.update(1))
    except (ValueError, ArchiveIndexError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(ARCHIVE_TABLE_HEADER)
    for score in scores:
        click.echo(score.row())
    click.echo("\n" + RELIABILITY_HEADER)
    for score in scores:
        for row in score.reliability_rows():
            click.echo(row)
    if json_path:
        json_path.write_text(archive_results_json(scores, outcomes) + "\n", encoding="utf-8")
        click.echo(f"written to {json_path}", err=True)


if __name__ == "__main__":
    main()
