"""archive-qa chat: ask the archive in German or English; answers show their sources.

Run with ``streamlit run app.py``. ``QA_INDEX`` chooses the index folder (default
``index/``); an index that does not exist yet is built from ``QA_SEEDS`` (default
``seeds/``). All article text is untrusted: it is HTML-escaped before it is marked up.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from qa import Answer, Archive, Hit, ImportReport, Upload
from qa.answering import highlight_html
from qa.archive import default_index_path
from qa.dates import day_bounds
from qa.importing import ImportProgress
from qa.uploads import ACCEPTED_SUFFIXES, MAX_UPLOAD_FILES

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
    return f"{hit.published:%d.%m.%Y %H:%M}" if hit.published else "undated"


def answer_in(answer: Answer, article_id: str) -> Hit | None:
    """The passage holding the answer sentence, if it lies in ``article_id``."""
    return answer.source if answer.source and answer.source.article_id == article_id else None


def source_html(rank: int, hit: Hit, answer: Answer) -> str:
    holding = answer_in(answer, hit.article_id)
    passage = holding or hit
    mark = answer.span if holding else None
    label = "<span class='qa-teaser'>Teaser</span> " if hit.is_teaser else ""
    tags = f" · {html.escape(', '.join(hit.tags))}" if hit.tags else ""
    return (
        f"<div class='qa-source'><b>{rank}. {label}{html.escape(hit.title)}</b><br>"
        f"<small>{when(hit)}{tags} · score {hit.score:.3f}</small>"
        f"<p class='qa-passage'>{highlight_html(passage.text, mark, passage.span.start)}</p></div>"
    )


def article_html(body: str, answer: Answer, article_id: str) -> str:
    mark = answer.span if answer_in(answer, article_id) else None
    return "<div class='qa-article'>" + highlight_html(body, mark).replace("\n\n", "<br><br>") + "</div>"


def timeline(hits: tuple[Hit, ...]) -> alt.Chart | None:
    dated = [hit for hit in hits if hit.published]
    if len(dated) < 2:
        return None
    frame = pd.DataFrame(
        {
            "date": [hit.published.replace(tzinfo=None) for hit in dated],
            "score": [round(hit.score, 3) for hit in dated],
            "title": [hit.title for hit in dated],
            "kind": ["teaser" if hit.is_teaser else "article" for hit in dated],
        }
    )
    return (
        alt.Chart(frame, height=140, title="Sources by date")
        .mark_circle(size=90)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("score:Q", scale=alt.Scale(zero=False), title="score"),
            color=alt.Color("kind:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["title:N", alt.Tooltip("date:T", format="%d.%m.%Y %H:%M"), "score:Q"],
        )
    )


def show_answer(answer: Answer, archive: Archive) -> None:
    if answer.context:
        st.html(f"<small class='qa-context'>Read as a follow-up to: {html.escape(answer.context)}</small>")
    if answer.when:
        st.html(f"<small class='qa-when'>Time: {html.escape(answer.when.describe())}</small>")
    if not answer.found:
        st.html(
            "<div class='qa-nothing'><b>Nothing relevant found.</b> No passage in the archive comes close "
            "enough to the question; try other words, or widen the filters.</div>"
        )
        if answer.sources:
            with st.expander("Closest passages (below the relevance threshold)"):
                for rank, hit in enumerate(answer.sources, start=1):
                    st.html(source_html(rank, hit, answer))
        return
    st.html(f"<div class='qa-answer'>{highlight_html(answer.sentence or '', None)}</div>")
    if answer.source:
        st.html(f"<small class='qa-from'>From “{html.escape(answer.source.title)}”, {when(answer.source)}</small>")
    chart = timeline(answer.sources)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    for rank, hit in enumerate(answer.sources, start=1):
        st.html(source_html(rank, hit, answer))
        if not hit.is_teaser:
            with st.expander("Whole article"):
                article = archive.article(hit.article_id)
                if article:
                    st.html(article_html(article.body, answer, hit.article_id))


def show_import_result(report: ImportReport) -> None:
    st.write(report.summary())
    rows = [
        {"file": o.source, "result": str(o.status), "title": o.title or "", "reason": o.reason or ""}
        for o in report.outcomes
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def import_panel(archive: Archive) -> None:
    st.subheader("Import")
    generation = st.session_state.setdefault("uploader", 0)
    files = st.file_uploader(
        f"Articles (.txt) or JSON Lines (.jsonl), up to {MAX_UPLOAD_FILES} files",
        type=[suffix.lstrip(".") for suffix in ACCEPTED_SUFFIXES],
        accept_multiple_files=True,
        key=f"uploader-{generation}",
    )
    if files and st.button("Import", type="primary"):
        bar = st.progress(0.0, text="Reading…")

        def progress(step: ImportProgress) -> None:
            share = step.records_done / step.records_total if step.records_total else 1.0
            bar.progress(
                min(share, 1.0),
                text=f"{step.records_done}/{step.records_total} articles, {step.chunks_embedded} chunks embedded",
            )

        report = archive.import_uploads([Upload(file.name, file.getvalue()) for file in files], progress)
        st.session_state.import_report = report
        st.session_state.uploader = generation + 1
        st.rerun()
    if report := st.session_state.get("import_report"):
        show_import_result(report)


archive = load_archive(str(default_index_path()))
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
    k = st.slider("Sources", 1, 20, 5)
    if st.button("New conversation"):
        st.session_state.turns = []
    import_panel(archive)

first_day, last_day = ([*days, None, None])[:2]
since, until = day_bounds(first_day, last_day or first_day)

st.html(
    "<style>.qa-answer{font-size:1.15rem;font-weight:600;margin-bottom:.3rem}"
    ".qa-source{margin:.6rem 0 .2rem}.qa-passage{margin:.2rem 0}"
    "mark{background:#ffe58f;padding:0 .1rem}.qa-teaser{background:#e6f4ff;border-radius:.3rem;"
    "padding:0 .3rem;font-size:.8rem}</style>"
)
st.title("Ask the archive")
if stats.counts.articles == 0 and stats.counts.teasers == 0:
    st.info(
        "The index is empty. Import articles with **Import** in the sidebar (`.txt` archive pages or `.jsonl` "
        "files), or from a terminal with `qa import PATH…` (files or folders)."
    )

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
        answer = archive.ask(question, k=k, since=since, until=until, tags=tags or None, history=turns)
        show_answer(answer, archive)
    turns.append(answer)
