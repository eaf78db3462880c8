"""archive-qa chat: ask the archive in German or English; answers show their sources."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from qa import Answer, Archive, Hit
from qa.answering import highlight_html
from qa.archive import default_index_path

SEEDS = Path(__file__).parent / "seeds"

st.set_page_config(page_title="archive-qa", page_icon="🗞️", layout="wide")


@st.cache_resource(show_spinner="Loading the model and the index…")
def load_archive(index_path: str) -> Archive:
    archive = Archive.open(index_path)
    if archive.stats().counts.articles == 0 and SEEDS.is_dir():
        archive.import_paths([SEEDS])
    return archive


def show_source(rank: int, hit: Hit, answer: Answer, archive: Archive) -> None:
    date = f"{hit.published:%d.%m.%Y %H:%M}" if hit.published else "undated"
    label = "Teaser · " if hit.is_teaser else ""
    tags = f" · {', '.join(hit.tags)}" if hit.tags else ""
    st.markdown(f"**{rank}. {label}{hit.title}**  \n{date}{tags} · score {hit.score:.3f}")
    mark = answer.span if answer.source and answer.source.article_id == hit.article_id else None
    st.markdown(f"<div class='passage'>{highlight_html(hit.text, mark, hit.span.start)}</div>", unsafe_allow_html=True)
    if not hit.is_teaser:
        with st.expander("Whole article"):
            article = archive.article(hit.article_id)
            if article:
                st.markdown(highlight_html(article.body, mark).replace("\n\n", "<br><br>"), unsafe_allow_html=True)


def show_answer(answer: Answer, archive: Archive) -> None:
    if not answer.found:
        st.markdown("Nothing relevant found.")
        return
    st.markdown(f"**{highlight_html(answer.sentence, None)}**", unsafe_allow_html=True)
    st.caption("Sources")
    for rank, hit in enumerate(answer.sources, start=1):
        show_source(rank, hit, answer, archive)


archive = load_archive(str(default_index_path()))
stats = archive.stats()
with st.sidebar:
    st.header("archive-qa")
    k = st.slider("Sources", 1, 10, 5)
    st.metric("Articles", stats.counts.articles)
    st.caption(f"{stats.counts.chunks} chunks · {stats.counts.teasers} teasers · model {stats.model}")

st.title("Ask the archive")
if stats.counts.articles == 0:
    st.info("The index is empty. Import articles with `qa import PATH` (files or folders of .txt / .jsonl).")

if "turns" not in st.session_state:
    st.session_state.turns = []
for question, answer in st.session_state.turns:
    with st.chat_message("user"):
        st.markdown(highlight_html(question, None), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        show_answer(answer, archive)

if question := st.chat_input("Ask in German or English…"):
    with st.chat_message("user"):
        st.markdown(highlight_html(question, None), unsafe_allow_html=True)
    with st.chat_message("assistant"), st.spinner("Searching…"):
        answer = archive.ask(question, k=k)
        show_answer(answer, archive)
    st.session_state.turns.append((question, answer))
