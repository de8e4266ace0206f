"""Names from trace files render as the characters they are: Markdown, tables, plot labels.

Each escape is checked by rendering its output the way a reader's tool does (markdown-it-py,
a CommonMark parser with GFM tables, for Markdown; the character references plotly decodes for
labels) and comparing what a reader sees with the original text.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import plotly.graph_objects as go
import pytest
from markdown_it import MarkdownIt

from analysis import escape

HOSTILE = [
    "![x](http://127.0.0.1:9/x.png)",
    "<img src=http://127.0.0.1:9/y.png>",
    "[link](javascript:alert(1))",
    "<script>alert(1)</script>",
    '<a href="http://127.0.0.1:9/">click</a>',
    "a|b",
    "`code` and ``more``",
    "**bold** _it_ ~~gone~~ $x^2$",
    "- item",
    "1. first",
    "# heading",
    "> quote",
    "=",
    "<http://127.0.0.1:9/>",
    "www.example.com and mail@example.com and https://example.com",
    ":smile: :red[red] :material/home:",
    "&lt;b&gt; &amp; &#60;",
    "back\\slash \\*",
    "{curly} @user #tag",
    "__init__ a__b__c snake_case_",
]


def _md() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Elements(HTMLParser):
    """Element names, attributes and text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(rendered: str) -> _Elements:
    p = _Elements()
    p.feed(rendered)
    p.close()
    return p


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_renders_as_its_own_text(text: str) -> None:
    rendered = _parse(_md().render(f"- {escape.markdown(text)}"))
    assert rendered.tags == ["ul", "li"], rendered.tags  # one list item, nothing inside it
    assert rendered.attrs == []
    assert "".join(rendered.text).strip() == text


def test_markdown_puts_line_breaks_on_one_line() -> None:
    text = "line\n# heading\r\n- item\rend"
    rendered = _parse(_md().render(f"- {escape.markdown(text)}"))
    assert rendered.tags == ["ul", "li"]
    assert "".join(rendered.text).strip() == "line # heading - item end"


def test_markdown_leaves_no_markup_character_unescaped() -> None:
    """Streamlit decides to load its emoji, LaTeX and HTML plugins from the source text, and
    turns :name: into an emoji after escapes are gone: no `<`, no unescaped `:`, `$` or `[`."""
    out = escape.markdown("".join(HOSTILE))
    assert "<" not in out and ">" not in out
    for ch in ":$[]`*|!":
        positions = [i for i, c in enumerate(out) if c == ch]
        assert all(out[i - 1] == "\\" for i in positions), (ch, out)


def test_markdown_keeps_plain_names_readable() -> None:
    """Underscores inside a word cannot make emphasis: column and trace names read as typed."""
    assert escape.markdown("rate_per_s of azure_llm_2023_conv, 12.5% (n=3)") == (
        "rate_per_s of azure_llm_2023_conv, 12.5% (n=3)"
    )


def test_table_cells_stay_in_their_column() -> None:
    cells = ["a|b", "x\ny", "`|`", "<img src=x>", "[l](javascript:x)"]
    table = "| name | n |\n|---|---|\n" + "".join(
        f"| {escape.table_cell(c)} | {i} |\n" for i, c in enumerate(cells)
    )
    rendered = _md().render(table)
    p = _parse(rendered)
    assert p.tags.count("tr") == 1 + len(cells)
    assert p.tags.count("td") == 2 * len(cells)
    assert "img" not in p.tags and "a" not in p.tags and "code" not in p.tags
    body = [t for t in p.text if t.strip()]
    assert body[2:] == [v for i, c in enumerate(cells) for v in (c.replace("\n", " "), str(i))]


@pytest.mark.parametrize("path", ["/tmp/lake", "/tmp/a`b/lake", "`start", "x``y``"])
def test_code_span_holds_any_path(path: str) -> None:
    p = _parse(_md().render(escape.markdown_code(path)))
    assert p.tags == ["p", "code"]
    assert "".join(p.text).rstrip("\n") == path


def _labels(fig: dict) -> list[str]:
    """Every string of a figure's JSON but its theme."""
    out: list[str] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k != "template":
                    walk(v, k)
        elif isinstance(node, list | tuple):
            for v in node:
                walk(v, key)

    walk(fig)
    return out


def test_figure_escapes_every_label_and_keeps_the_original() -> None:
    name = '<a href="http://127.0.0.1:9/">x</a> & <img src=y>'
    fig = go.Figure()
    fig.add_bar(
        x=[name, "plain"],
        y=[1, 2],
        name=name,
        text=[name, "t"],
        customdata=[name, "c"],
        hovertemplate="%{x}: %{y}<br>%{customdata}<extra>" + name + "</extra>",
    )
    fig.add_scatter(x=[1, 2], y=[3, 4], name="ok", mode="lines")
    fig.update_layout(
        title=f"Failures by {name}",
        xaxis={"title": name, "categoryarray": [name, "plain"]},
        legend_title_text=name,
        annotations=[{"text": name, "x": 0, "y": 0}],
        template="plotly_white",
    )
    before = fig.to_json()
    safe = escape.figure(fig)
    assert fig.to_json() == before  # cached figures are shared: the original is untouched
    spec = safe.to_plotly_json()
    shown = escape.plot_text(name)
    bar = spec["data"][0]
    assert list(bar["x"]) == [shown, "plain"]
    assert bar["name"] == shown and list(bar["text"]) == [shown, "t"]
    assert list(bar["customdata"]) == [shown, "c"]
    # The template keeps its own line break and <extra>; the name inside it is text.
    assert bar["hovertemplate"] == f"%{{x}}: %{{y}}<br>%{{customdata}}<extra>{shown}</extra>"
    layout = spec["layout"]
    assert layout["title"]["text"] == f"Failures by {shown}"
    assert layout["xaxis"]["title"]["text"] == shown
    assert list(layout["xaxis"]["categoryarray"]) == [shown, "plain"]
    assert layout["legend"]["title"]["text"] == shown
    assert layout["annotations"][0]["text"] == shown
    # What plotly draws: its character references decoded, the original characters.
    assert html.unescape(shown) == name
    for text in _labels(spec):
        assert "<a" not in text and "<img" not in text, text
    # Everything else is as it was: values, modes, the theme.
    assert spec["data"][1]["mode"] == "lines" and spec["data"][1]["name"] == "ok"
    assert safe.layout.template == fig.layout.template
