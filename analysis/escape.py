"""Text from a trace is data, never markup: one escape per place where text is shown.

Service, model, tenant and function names, raw status values and trace names come from files
anyone can write. Wherever they are shown they must read as the characters they are, not as
Markdown (an image link makes the browser fetch a URL), HTML (`<img>`, `<script>`) or plotly's
label markup (`<a href>`, `<span style>`). Sentences built from them (findings, notes, titles)
are escaped whole: the analyses write plain text, so escaping never loses intended formatting.

Unicode's bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and the others) are invisible
yet reorder the text around them, so that a name can read as another name or reverse the words
after it; every escape here first shows each of them as its code point, `[U+202E]` (`visible`).

- `visible(text)`: the bidi controls of `text` shown as their code points; plain text otherwise.
- `html_text(text)`: text for an HTML page (element content or a quoted attribute).
- `markdown(text)`: for Streamlit's `st.markdown`/`st.caption`/labels and the Markdown report.
- `table_cell(value)`: a cell of a Markdown (GFM) table.
- `figure(fig)`: a copy of a plotly figure whose every label, name, title, category and hover
  text is escaped; hover templates keep only their plain formatting tags.
"""

from __future__ import annotations

import html
import re
from typing import Any

import plotly.graph_objects as go

# Inline Markdown (CommonMark, GFM, and Streamlit's extensions): code, emphasis, strikethrough,
# links and images, tables, Streamlit's LaTeX ($), the scheme and e-mail parts of GFM's bare
# autolinks (http://, x@y), and the colon of Streamlit's emoji and directives (:smile:,
# :red[...], :material/x:). Escaped with a backslash, which CommonMark defines for every ASCII
# punctuation character. Every colon is escaped: Streamlit turns :name: into an emoji in the
# rendered text, after escapes are gone, whenever its source holds one unescaped.
_MD_INLINE = re.compile(r"([\\`*~\[\]!|$:@#{}])")
# An underscore between two letters or digits can neither open nor close emphasis (CommonMark's
# flanking rules), so names like rate_per_s stay readable; any other underscore is escaped.
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# HTML and entities: as character references, so no `<` from data reaches the output at all.
_MD_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Block syntax that only counts at the start of a line: lists, quotes, headings, setext rules.
_MD_LINE_START = re.compile(r"^(\s*)([-+=>]|\d{1,9}[.)])(?=\s|$)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WWW = re.compile(r"(?i)\b(www)\.")  # GFM autolinks www.example.com without a scheme
# Unicode's Bidi_Control characters: ALM, LRM, RLM, the embeddings and overrides LRE, RLE, PDF,
# LRO, RLO, and the isolates LRI, RLI, FSI, PDI.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: object) -> str:
    """`text` with every bidirectional control shown as its code point, `[U+202E]`: the
    characters after it keep their order, and a reader sees that the name holds one."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


def html_text(text: object) -> str:
    """`text` as HTML that shows exactly these characters (bidi controls made visible)."""
    return html.escape(visible(text))


def markdown(text: object) -> str:
    """`text` as Markdown that renders as exactly these characters, on one line.

    Line breaks become spaces (a name with a newline must not start a heading or end a table
    row), as HTML would render them."""
    s = _LINE_BREAK.sub(" ", visible(text))
    s = "".join(_MD_HTML.get(c, c) for c in s)
    s = _MD_INLINE.sub(r"\\\1", s)
    s = _MD_UNDERSCORE.sub(r"\\_", s)
    s = _WWW.sub(r"\1\\.", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), s)


def _escape_marker(marker: str) -> str:
    return marker[:-1] + "\\" + marker[-1]


def table_cell(value: object) -> str:
    """A GFM table cell: escaped like `markdown`, so `|` and line breaks stay in the cell."""
    return markdown(value)


def markdown_code(text: object) -> str:
    """`text` as an inline code span (a path, a command): fenced with more backticks than any
    run inside it, so a backtick in the text cannot end the span early."""
    s = _LINE_BREAK.sub(" ", visible(text))
    fence = "`" * (max((len(r) for r in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


# ---------------------------------------------------------------- plotly

# Templates are written by the analyses (they hold `%{x}` placeholders and `<extra>`); data
# reaches them only through the escaped values the placeholders name.
_TEMPLATE_KEYS = ("hovertemplate", "texttemplate", "hovertemplatefallback")
# Formatting tags a template may keep: no attributes, so no link, style or URL.
_PLAIN_TAG = re.compile(r"</?(?:b|i|em|sup|sub|br|extra)\s*/?>", re.IGNORECASE)


def plot_text(text: str) -> str:
    """A string for a plotly label, name, title or hover text: shown literally.

    Plotly renders a subset of HTML in every text it draws (`<a href>`, `<span style>`, `<b>`,
    `<br>`) and decodes character references, so escaping `&`, `<` and `>` shows them as typed.
    """
    return html.escape(visible(text), quote=False)


def _plot_template(text: str) -> str:
    """Keep a template's plain formatting tags; escape everything else that looks like markup."""
    out, last = [], 0
    for m in _PLAIN_TAG.finditer(text):
        out += [plot_text(text[last : m.start()]), m.group(0)]
        last = m.end()
    out.append(plot_text(text[last:]))
    return "".join(out)


def _walk(node: Any, key: str = "") -> Any:
    if isinstance(node, str):
        return _plot_template(node) if key in _TEMPLATE_KEYS else plot_text(node)
    if isinstance(node, dict):
        return {k: _walk(v, k) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_walk(v, key) for v in node]
    return node  # numbers, None, numpy arrays (numeric: plotly keeps strings in lists)


def figure(fig: go.Figure) -> go.Figure:
    """A copy of `fig` with every string in its traces and layout escaped for plotly.

    Traces (names, x/y categories, text, hover text, custom data, legend group titles) and the
    layout (titles, axis titles, tick texts, category orders, annotations, legend title) are
    walked as data: whatever field a figure puts text in is covered, including ones added later.
    Enumerated values (modes, colours, dash styles, dates) hold no `&`, `<` or `>` and are
    unchanged. The layout's theme (`template`) holds no data and is kept as is. `fig` itself is
    not modified: the dashboard shares cached figures between sessions.
    """
    spec = fig.to_plotly_json()
    layout = dict(spec.get("layout", {}))
    theme = layout.pop("template", None)
    layout = _walk(layout)
    if theme is not None:
        layout["template"] = theme
    # Built without validating again: `fig` was valid and only the text in its strings changed
    # (validation would cost ~30 ms a figure, on every rerun of a dashboard page).
    return go.Figure({"data": _walk(spec.get("data", [])), "layout": layout}, _validate=False)
