"""A lake whose service names are hostile: Markdown images and links, HTML tags, table pipes.

Written as a BurstGPT trace (the `Model` column is the service), as anyone could publish one:
the names must come out of the report and the dashboard as the text they are. Shared by the
report and dashboard tests; each builds its own small lake in a temporary folder.
"""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

TRACE = "burstgpt_hostile"
# service name -> share of its requests that fail (a zero-token response, as BurstGPT records)
NAMES = {
    "![x](http://127.0.0.1:9/x.png)": 0.4,  # the most failures: named in the failure findings
    "<img src=http://127.0.0.1:9/y.png>": 0.1,
    "[link](javascript:alert(1))": 0.1,
    "<script>alert(1)</script>": 0.1,
    '<a href="http://127.0.0.1:9/">click</a>': 0.1,
    "a|b `tick`": 0.1,
}
ROWS_PER_NAME = 60
HEADER = (
    "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"
)


def write_trace(path: Path) -> Path:
    """The BurstGPT CSV: the names take turns, one request every 1-3 s, fixed token counts."""
    rows = []
    t = 0
    for i in range(ROWS_PER_NAME * len(NAMES)):
        name = list(NAMES)[i % len(NAMES)]
        k = i // len(NAMES)
        t += 1 + (i * 7) % 3
        failed = k < NAMES[name] * ROWS_PER_NAME
        out = 0 if failed else 50 + (i * 13) % 400
        inp = 100 + (i * 31) % 2000
        rows.append(
            [f"{t}.0", f"s{i % 5}", 1 + i % 20, name, inp, out, inp + out, "Conversation log"]
        )
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def build(folder: Path) -> Path:
    """Ingest the hostile trace into `folder/lake`; the lake's path."""
    from ingest.pipeline import ingest_paths

    folder.mkdir(parents=True, exist_ok=True)
    lake = folder / "lake"
    result = ingest_paths([write_trace(folder / "BurstGPT_hostile.csv")], lake)
    assert not result.failures, result.failures
    return lake


class Rendered(HTMLParser):
    """What HTML shows: its elements, attribute values and text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attr_values: list[str] = []
        self.chunks: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attr_values += [v for _, v in attrs if v]

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def render_markdown(source: str) -> Rendered:
    """Markdown as a CommonMark renderer with GFM tables shows it."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return Rendered(md.render(source))


ACTIVE_TAGS = {"img", "script", "a", "iframe", "object", "embed", "svg", "style", "link"}
