"""MkDocs hook: what Material's search plugin reads of a page (the search view), so results land on the right note.

Material indexes a page by splitting its HTML into sections at each heading; a result's excerpt is the whole
top-level block (paragraph, list, code block) that holds the match. Read as they are, the pages give it three
problems that configuration cannot fix:

- A notebook page (mkdocs-jupyter) nests every heading inside its cell's ``<div>``s. Material ends a section when
  the heading's container closes, so every code cell fell into the page's first entry: one 17,000-character
  entry that outranked the dedicated pages. The notebook's copy buttons ("Copied!"), the plain-text copy of
  each cell kept for the clipboard, and its pilcrow links were indexed too.
- A code block or an executed output (markdown-exec's ``.result``) is one ``<pre>``: a match in it showed the
  whole block as the excerpt. A list or a long paragraph likewise.
- Version tabs (``pymdownx.tabbed``) would index their labels as text.

This hook hands the search plugin a view of the page in which

- the structure is flat: ``<div>``s and other wrappers are unwrapped, so every heading starts a section
  (notebook cells included);
- prompts, copy buttons, clipboard copies, permalink anchors, tab labels, scripts, styles and anything marked
  ``data-search-exclude`` are left out;
- the source code of the examples is left out, their executed output (markdown-exec's ``.result``, a notebook's
  output area) stays: a page's code mentions ``torch``, ``detach`` or ``shape`` in passing dozens of times and
  outweighed the sections that explain them, while what a reader pastes (an error, a printed value) is output.
  Identifiers the note discusses are in its prose (inline ``<code>``), which is indexed;
- every line of a code block or output is a block of its own, as is every sentence of prose, every list item
  and every table row: an excerpt is the line or sentence that matched, not the block around it.

Only the index sees this view: the page itself is rendered from the unchanged HTML, which is put back as soon as
the search plugin has read it. The view keys on stable classes (markdown-exec's ``.result`` is just more HTML
here; code is any ``<pre>``; admonitions and tabs are ``<div>``s), not on page text.

A notebook page's entries are weighted down (``NOTEBOOK_BOOST``): it walks through topics that each have their
own page, which should come first.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from mkdocs.plugins import event_priority

NOTEBOOK_BOOST = 0.5  # Material's `search: boost` for notebook pages (a Markdown page sets it in its front matter)

# Left out of the index with everything inside them.
DROP_TAGS = {"script", "style", "svg", "button", "clipboard-copy", "template", "noscript"}
DROP_CLASSES = {
    "headerlink",  # MkDocs' permalink "¶"
    "anchor-link",  # nbconvert's permalink "¶"
    "zeroclipboard-container",  # mkdocs-jupyter's copy button ("Copied!")
    "clipboard-copy-txt",  # mkdocs-jupyter's plain copy of each code cell, for the clipboard
    "jp-InputPrompt",  # "In [1]:" (also off on the page: mkdocs-jupyter's no_prompt)
    "jp-OutputPrompt",
    "tabbed-labels",  # pymdownx.tabbed's tab names
    "linenodiv",  # line numbers of a code block
}
# Source code shown on a page (a code block outside an executed output, ``.result`` or ``.exec-output``; a notebook's input cell).
SOURCE_CLASSES = {"highlight", "highlight-ipynb"}
HEADINGS = {f"h{n}" for n in range(1, 7)}
# A page's collapsed 「本页如何自证」 block: the checks that keep the page honest, not the lesson. Its asserts and
# outputs repeat the page's terms and values, and made pages outrank the one a query is about.
SELF_CHECK = re.compile(r'<details class="note">\s*<summary>本页如何自证</summary>.*?</details>', re.S)
BLOCKS = {"p", "li", "tr", "dt", "dd", "summary", "figcaption", "caption", "blockquote"}
CELLS = {"td", "th"}
INLINE_KEPT = {"code", "sub", "sup"}  # the inline tags Material keeps in an entry
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
SENTENCE_END = re.compile(r"(?<=[。；！？])")


class _SearchView(HTMLParser):
    """Rewrites a page's HTML into the flat, fine-grained HTML described in the module docstring."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # open elements, and whether each is an output container
        self.results = 0  # how many output containers (.result) are open
        self.dropping = 0  # depth inside a left-out element (0: not dropping)
        self.pre: list[str] | None = None  # text of the code block being read
        self.pre_depth = 0
        self.block = False  # a <p> of the view is open
        self.heading: str | None = None  # the heading being read
        self.inline: list[str] = []  # open <code>/<sub>/<sup> in the current block or heading
        self.sentence_ended = False  # the text so far in the block ends a sentence: more text starts a new block

    # -- blocks of the view ------------------------------------------------------------------------------------

    def _open(self) -> None:
        if self.block and self.sentence_ended and not self.inline:
            self._close()
        if not self.block and self.heading is None:
            self.out.append("<p>")
            self.block = True
            self.sentence_ended = False

    def _end_inline(self) -> None:
        self.out.extend(f"</{tag}>" for tag in reversed(self.inline))
        self.inline = []

    def _close(self) -> None:
        if self.block:
            self._end_inline()
            self.out.append("</p>")
            self.block = False

    # -- parser callbacks --------------------------------------------------------------------------------------

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag not in VOID:
            classes = (attributes.get("class") or "").split()
            is_result = not self.dropping and bool({"result", "exec-output"} & set(classes))
            self.results += is_result
            self.stack.append((tag, is_result))
            if self.dropping:
                self.dropping += 1
                return
        elif self.dropping:
            return
        classes = set((attributes.get("class") or "").split())
        source = bool(classes & SOURCE_CLASSES) and not self.results
        if tag in DROP_TAGS or classes & DROP_CLASSES or "data-search-exclude" in attributes or source:
            if tag not in VOID:
                self.dropping = 1
            return
        if self.pre is not None:  # markup inside a code block: only its text counts
            self.pre_depth += tag == "pre"
        elif tag == "pre":
            self._close()
            self.pre, self.pre_depth = [], 1
        elif tag in HEADINGS:
            self._close()
            self.heading = tag
            ident = attributes.get("id")
            self.out.append(f'<{tag} id="{html.escape(ident)}">' if ident else f"<{tag}>")
        elif tag in BLOCKS:
            self._close()
            self._open()
        elif tag in CELLS:
            self._open()
            if self.out[-1] != "<p>":
                self.out.append(" · ")
        elif tag == "br":
            self.out.append(" ")
        elif tag in INLINE_KEPT:
            self._open()
            self.out.append(f"<{tag}>")
            self.inline.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if all(open_tag != tag for open_tag, _ in self.stack):
            return  # a stray end tag
        while True:  # elements left open inside it end with it
            open_tag, is_result = self.stack.pop()
            self.results -= is_result
            self._end(open_tag)
            if open_tag == tag:
                return

    def _end(self, tag: str) -> None:
        if self.dropping:
            self.dropping -= 1
        elif self.pre is not None:
            self.pre_depth -= tag == "pre"
            if not self.pre_depth:
                for line in "".join(self.pre).splitlines():
                    if line.strip():
                        self.out.append(f"<p><code>{html.escape(line.strip(), quote=False)}</code></p>")
                self.pre = None
        elif tag == self.heading:
            self._end_inline()
            self.out.append(f"</{tag}>")
            self.heading = None
        elif tag in BLOCKS:
            self._close()
        elif tag in self.inline:
            while self.inline:
                inline = self.inline.pop()
                self.out.append(f"</{inline}>")
                if inline == tag:
                    break

    def handle_data(self, data):
        if self.dropping:
            return
        if self.pre is not None:
            self.pre.append(data)
            return
        if self.heading is not None:
            self.out.append(html.escape(data, quote=False))
            return
        if not self.block and data.isspace():
            return
        for part in [data] if self.inline else SENTENCE_END.split(data):
            if part.strip():
                self._open()  # after a sentence's end, the next one starts a block of its own
                self.sentence_ended = not self.inline and part.rstrip()[-1] in "。；！？"
            if self.block:
                self.out.append(html.escape(part, quote=False))

    def view(self) -> str:
        self.close()
        self._close()
        return "".join(self.out)


def search_view(content: str) -> str:
    """The HTML Material's search plugin indexes for a page whose rendered content is ``content``."""
    parser = _SearchView()
    parser.feed(content)
    return parser.view()


_rendered: dict[str, str] = {}  # page -> its real HTML, while the search plugin reads the view


@event_priority(-100)  # after every other hook has shaped the content (hooks/notebooks.py renames headings)
def on_page_content(html_content, page, config, **_):
    if page.file.src_uri.endswith(".ipynb"):
        search = page.meta.setdefault("search", {})
        search.setdefault("boost", NOTEBOOK_BOOST)
    _rendered[page.file.src_uri] = html_content
    return search_view(SELF_CHECK.sub("", html_content))


@event_priority(-100)  # after Material's search plugin (priority 0) has indexed the view
def on_page_context(context, page, config, **_):
    page.content = _rendered.pop(page.file.src_uri)
    return context
