"""The real dpa fixtures in both delivery formats: does each entry read to the same article?

    python bench/wire_formats.py [--digitalwires ../shared/data/dpa_digitalwires]
                                 [--newsml ../shared/data/newsml_g2]

For every digitalwires entry and the NewsML-G2 document of the same name: what each gives
(version, status, signal, embargo, paragraphs, tags) or why it is refused, whether title, date,
paragraphs, tags and wire facts agree, and whether any non-public text (the notepad's non-public
part, ednotes marked not publishable) reached the article.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.records import Article
from qa.wire import html_paragraphs, read_digitalwires_file, read_newsml_file


def describe(record: object) -> str:
    if not isinstance(record, Article):
        return f"refused: {record.reason}"
    wire = record.wire
    return (
        f"v{wire.version} {wire.pubstatus}{' ' + wire.signal if wire.signal else ''}"
        f"{' embargoed' if wire.embargoed else ''}, {len(record.paragraphs)} paragraphs, {len(record.tags)} tags"
    )


def private_texts(entry: dict) -> list[str]:
    """The non-public sentences of a digitalwires entry, each a text that must not be found."""
    texts = [n["ednote"] for n in entry.get("ednotes") or [] if isinstance(n, dict) and not n.get("is_publishable")]
    texts += html_paragraphs((entry.get("notepad") or {}).get("nonpublic_html"))
    return [t for t in texts if len(t) > 20]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digitalwires", type=Path, default=Path("../shared/data/dpa_digitalwires"))
    parser.add_argument("--newsml", type=Path, default=Path("../shared/data/newsml_g2"))
    args = parser.parse_args()
    same = compared = leaks = 0
    print("| entry | digitalwires | NewsML-G2 | same article |\n|---|---|---|---|")
    for path in sorted(args.digitalwires.glob("*.json")):
        (from_json,) = list(read_digitalwires_file(path))
        xml = args.newsml / f"{path.stem}.xml"
        from_xml = next(iter(read_newsml_file(xml))) if xml.exists() else None
        verdict = "-"
        if isinstance(from_json, Article) and isinstance(from_xml, Article):
            compared += 1
            differ = [
                name
                for name in ("title", "published", "paragraphs", "tags", "wire", "source")
                if getattr(from_json, name) != getattr(from_xml, name)
            ]
            same += not differ
            verdict = "yes" if not differ else "differs in " + ", ".join(differ)
        entry = json.loads(path.read_text(encoding="utf-8"))
        for article in (from_json, from_xml):
            if isinstance(article, Article):
                text = "\n".join((article.title, article.body, *article.tags))
                leaks += sum(private in text for private in private_texts(entry))
        print(f"| {path.stem} | {describe(from_json)} | {describe(from_xml) if from_xml else '(none)'} | {verdict} |")
    print(f"\n{same} of {compared} entries that both formats hold as articles read to the same article;")
    print(f"non-public texts found in the articles: {leaks}")


if __name__ == "__main__":
    main()
