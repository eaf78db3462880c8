"""archive-qa chat: ask the archive in German or English; answers show their sources.

Run with ``streamlit run app.py``. ``QA_INDEX`` chooses the index folder (default
``index/``); an index that does not exist yet is built from ``QA_SEEDS`` (default
``seeds/``). All article text is untrusted: it is HTML-escaped before it is marked up.
"""

from __future__ import annotations

import hashlib
import html
import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from qa import Answer, Archive, Hit, ImportReport, Upload
from qa.answering import highlight_html
from qa.archive import default_index_location
from qa.dates import day_bounds
from qa.importing import ImportProgress
from qa.models import models_ready, prepare_models
from qa.records import more_versions, published_label
from qa.uploads import ACCEPTED_SUFFIXES, MAX_UPLOAD_FILES, upload_limits

SEEDS = Path(os.environ.get("QA_SEEDS", Path(__file__).parent / "seeds"))

st.set_page_config(page_title="archive-qa", page_icon="🗞️", layout="wide")


@st.cache_resource(show_spinner="Opening the index…")
def load_archive(index_path: str) -> Archive:
    archive = Archive.open(index_path)
    if SEEDS.is_dir():
        archive.seed([SEEDS])
    archive.warm_up(background=True)
    return archive


def when(hit: Hit) -> str:
    return published_label(hit.published, "%d.%m.%Y")


def answer_in(answer: Answer, article_id: str) -> Hit | None:
    """The passage holding the answer sentence, if it lies in ``article_id``."""
    return answer.source if answer.source and answer.source.article_id == article_id else None


def source_html(rank: int, hit: Hit, answer: Answer) -> str:
    holding = answer_in(answer, hit.article_id)
    passage = holding or hit
    mark = answer.span if holding else None
    short = answer.short_span if holding else None
    label = "<span class='qa-teaser'>Teaser</span> " if hit.is_teaser else ""
    tags = f" · {html.escape(', '.join(hit.tags))}" if hit.tags else ""
    changed = hit.wire is not None and hit.wire.signal in ("correction", "update")
    origin = f" · <span class='qa-origin{' qa-changed' if changed else ''}'>{html.escape(hit.origin)}</span>"
    return (
        f"<div class='qa-source'><b>{rank}. {label}{html.escape(hit.title)}</b><br>"
        f"<small>{when(hit)}{origin if hit.origin else ''}{tags}</small>"
        f"<p class='qa-passage'>{highlight_html(passage.text, mark, passage.span.start, short)}</p></div>"
    )


def article_html(body: str, answer: Answer, article_id: str) -> str:
    holding = answer_in(answer, article_id)
    mark, short = (answer.span, answer.short_span) if holding else (None, None)
    return "<div class='qa-article'>" + highlight_html(body, mark, 0, short) + "</div>"


def timeline(hits: tuple[Hit, ...]) -> alt.Chart | None:
    """The sources on a time axis, one row each (labelled with its rank and title), so that
    one to twenty dated sources read at a glance; dates in German notation."""
    dated = [(rank, hit) for rank, hit in enumerate(hits, start=1) if hit.published]
    if len(dated) < 2:
        return None
    frame = pd.DataFrame(
        {
            "source": [f"{rank}. {shorten(hit.title, 48)}" for rank, hit in dated],
            "date": [hit.published.replace(tzinfo=None) for _rank, hit in dated],
            "published": [when(hit) for _rank, hit in dated],
            "title": [hit.title for _rank, hit in dated],
            "kind": ["Teaser" if hit.is_teaser else "Artikel" for _rank, hit in dated],
        }
    )
    order = list(frame["source"])
    return (
        alt.Chart(frame, height=alt.Step(30), title="Quellen nach Datum")
        .mark_circle(size=140, opacity=0.9)
        .encode(
            x=alt.X("date:T", title=None, axis=alt.Axis(format="%d.%m.%Y", labelAngle=0, tickCount=5, grid=True)),
            y=alt.Y("source:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["Artikel", "Teaser"], range=["#1668dc", "#fa8c16"]),
                legend=alt.Legend(orient="top", title=None, direction="horizontal"),
            ),
            tooltip=[alt.Tooltip("title:N", title="Titel"), alt.Tooltip("published:N", title="Veröffentlicht")],
        )
    )


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def show_source(rank: int, hit: Hit, answer: Answer, archive: Archive) -> None:
    st.html(source_html(rank, hit, answer))
    if hit.copies:
        with st.expander(more_versions(hit.copies)):
            st.html(
                "<ul class='qa-copies'>"
                + "".join(f"<li>{html.escape(copy.title)} · {html.escape(copy.describe())}</li>" for copy in hit.copies)
                + "</ul>"
            )
    if not hit.is_teaser:
        with st.expander("Whole article"):
            article = archive.article(hit.article_id)
            if article:
                st.html(article_html(article.body, answer, hit.article_id))


# Sources shown open under the answer; the rest are folded, so that the answer stays on screen.
SOURCES_IN_VIEW = 1


def show_reading(answer: Answer) -> None:
    """How the question was read: the language, the time and the context used in a line, the
    rest (its words' German translations that the archive holds) folded."""
    if answer.analysis is None:
        return
    st.html(f"<small class='qa-read-as'>{html.escape(' · '.join(answer.analysis.essentials()))}</small>")
    details = answer.analysis.describe(matched_only=True)
    if details != answer.analysis.essentials():
        with st.expander("How the question was read"):
            st.html("<br>".join(html.escape(line) for line in details))


def dated_anchor(answer: Answer) -> str:
    """The prefix of the anchors of one answer's other-date passages, the same on every rerun
    and different between the answers of a conversation."""
    source = answer.source.chunk_id if answer.source else ""
    return "qa-dated-" + hashlib.sha256(f"{answer.question}\n{source}".encode()).hexdigest()[:10]


def dated_html(answer: Answer) -> str:
    """ "Newer: … (date)" and "Earlier: David Arachamia (28.03.2022)": the answers that reports of
    other dates give, each date a link to its passage below."""
    lines, number, anchor = [], 0, dated_anchor(answer)
    for label, entries in (("Newer", answer.newer), ("Earlier", answer.earlier)):
        links = []
        for entry in entries:
            number += 1
            links.append(f"{html.escape(entry.short)} (<a href='#{anchor}-{number}'>{entry.published:%d.%m.%Y}</a>)")
        if links:
            lines.append(f"<div class='qa-{label.lower()}'>{label}: {'; '.join(links)}</div>")
    return "".join(lines)


def show_other_dates(answer: Answer) -> None:
    entries = (*answer.newer, *answer.earlier)
    if not entries:
        return
    st.html(dated_html(answer))
    anchor = dated_anchor(answer)
    with st.expander("Where the answers of other dates stand"):
        for number, entry in enumerate(entries, start=1):
            st.html(f"<a id='{anchor}-{number}'></a>" + source_html(number, entry.source, answer))


def show_answer(answer: Answer, archive: Archive) -> None:
    if not answer.found:
        reason = answer.declined or "nothing relevant found"
        st.html(
            "<div class='qa-nothing'><b>The archive does not say.</b> "
            f"{html.escape(reason[:1].upper() + reason[1:])}.</div>"
        )
        show_reading(answer)
        if answer.sources:
            with st.expander("Closest passages (they do not answer it)"):
                for rank, hit in enumerate(answer.sources, start=1):
                    st.html(source_html(rank, hit, answer))
        return
    if answer.short:
        certainty = answer.certainty or f"the reader is {answer.short_score:.0%} sure"
        st.html(
            f"<div class='qa-short-answer'>{html.escape(answer.short)}</div>"
            f"<small class='qa-confidence'>{html.escape(certainty[:1].upper() + certainty[1:])}</small>"
        )
    else:
        st.html("<small class='qa-no-short'>No short answer: the reader found none in the top passages.</small>")
    st.html(f"<div class='qa-answer'>{highlight_html(answer.sentence or '', None)}</div>")
    if answer.source:
        st.html(f"<small class='qa-from'>From “{html.escape(answer.source.title)}”, {when(answer.source)}</small>")
    show_other_dates(answer)
    show_reading(answer)
    for rank, hit in enumerate(answer.sources[:SOURCES_IN_VIEW], start=1):
        show_source(rank, hit, answer, archive)
    more = answer.sources[SOURCES_IN_VIEW:]
    if more:
        with st.expander(f"{len(more)} more source{'s' if len(more) > 1 else ''}, and when they appeared"):
            chart = timeline(answer.sources)
            if chart is not None:
                st.altair_chart(chart, width="stretch")
            for rank, hit in enumerate(more, start=SOURCES_IN_VIEW + 1):
                show_source(rank, hit, answer, archive)


def show_import_result(report: ImportReport) -> None:
    st.write(report.summary())
    for failure in report.failures:
        st.html(
            f"<div class='qa-failed'><b>{html.escape(failure.source)}</b> was not imported: "
            f"{html.escape(failure.reason or 'unknown reason')}</div>"
        )
    rows = [
        {"file": o.source, "result": str(o.status), "title": o.title or "", "reason": o.reason or ""}
        for o in report.outcomes
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def import_panel(archive: Archive) -> None:
    st.subheader("Import")
    generation = st.session_state.setdefault("uploader", 0)
    files = st.file_uploader(
        "Article pages (.txt), JSON Lines (.jsonl), dpa digitalwires (.json) or NewsML-G2 (.xml)",
        type=[suffix.lstrip(".") for suffix in ACCEPTED_SUFFIXES],
        accept_multiple_files=True,
        key=f"uploader-{generation}",
        help=f"Up to {MAX_UPLOAD_FILES} files; {upload_limits()}.",
    )
    st.caption(f"Up to {MAX_UPLOAD_FILES} files; {upload_limits()}.")
    if files and st.button("Import", type="primary"):
        bar = st.progress(0.0, text="Reading…")

        def progress(step: ImportProgress) -> None:
            embedding = (
                f", embedding {step.batch_chunks_done}/{step.batch_chunks} chunks of the next {step.batch_records}"
                if step.batch_chunks and step.batch_chunks_done < step.batch_chunks
                else ""
            )
            bar.progress(
                step.fraction,
                text=f"{round(step.fraction * step.records_total)}/{step.records_total} articles imported{embedding}",
            )

        report = archive.import_uploads([Upload(file.name, file.getvalue()) for file in files], progress)
        st.session_state.import_report = report
        st.session_state.uploader = generation + 1
        st.rerun()


if not models_ready():
    notice = st.progress(0.0, text="First start on this machine: building the models…")

    def building(what: str, number: int, of: int) -> None:
        notice.progress((number - 1) / of, text=f"First start on this machine (about a minute, once): {what}…")

    prepare_models(building)
    notice.empty()
archive = load_archive(default_index_location())
stats = archive.stats()
with st.sidebar:
    st.header("archive-qa")
    left, middle, right = st.columns(3)
    left.metric("Articles", stats.counts.articles)
    middle.metric("Chunks", stats.counts.chunks)
    right.metric("Teasers", stats.counts.teasers)
    newest = stats.counts.newest_article
    st.caption(f"Newest article: {newest[:10] if newest else '–'} · model {stats.model}")
    st.subheader("Filters")
    days = st.date_input("Published between", value=(), format="DD.MM.YYYY")
    tags = st.multiselect("Tags", [tag for tag, _count in archive.tags()])
    outlets = st.multiselect("Outlets", [outlet for outlet, _count in archive.outlets()])
    k = st.slider("Sources", 1, 20, 5)
    if st.button("New conversation"):
        st.session_state.turns = []
    import_panel(archive)

first_day, last_day = ([*days, None, None])[:2]
since, until = day_bounds(first_day, last_day or first_day)

st.html(
    "<style>.qa-short-answer{font-size:2rem;font-weight:700;line-height:1.2}"
    ".qa-answer{font-size:1.15rem;font-weight:600;margin-bottom:.3rem}"
    ".qa-short{background:#ffc53d;font-weight:700}"
    ".qa-source{margin:.6rem 0 .2rem}.qa-passage{margin:.2rem 0;white-space:pre-line}"
    ".qa-article{white-space:pre-line}"
    ".qa-changed{background:#fff7e6;border-radius:.3rem;padding:0 .3rem}"
    ".qa-failed{background:#fff1f0;border-left:4px solid #cf1322;padding:.3rem .5rem;margin:.3rem 0}"
    "mark{background:#ffe58f;padding:0 .1rem}.qa-teaser{background:#e6f4ff;border-radius:.3rem;"
    "padding:0 .3rem;font-size:.8rem}</style>"
)
st.title("Ask the archive")
if stats.counts.articles == 0 and stats.counts.teasers == 0:
    st.info(
        "The index is empty. Import articles with **Import** in the sidebar (`.txt` archive pages or `.jsonl` "
        "files), or from a terminal with `qa import PATH…` (files or folders)."
    )

if report := st.session_state.get("import_report"):
    with st.expander("Last import", expanded=True):
        show_import_result(report)

turns: list[Answer] = st.session_state.setdefault("turns", [])
for past in turns:
    with st.chat_message("user"):
        st.html(f"<div>{html.escape(past.question)}</div>")
    with st.chat_message("assistant"):
        show_answer(past, archive)

if question := st.chat_input("Ask in German or English…"):
    with st.chat_message("user"):
        st.html(f"<div>{html.escape(question)}</div>")
    with st.chat_message("assistant"), st.spinner("Searching…"):
        answer = archive.ask(
            question, k=k, since=since, until=until, tags=tags or None, history=turns, outlets=outlets or None
        )
        show_answer(answer, archive)
    turns.append(answer)
