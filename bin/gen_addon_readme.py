"""Generate each addon's README.rst from its readme/*.md fragments (OCA layout).

OCA's own generator (oca-gen-addon-readme) is not on PyPI, so this small
script renders the same sections: title, summary, badges line, DESCRIPTION,
CONFIGURE, USAGE, ROADMAP, Credits (CONTRIBUTORS).  It converts the markdown
the fragments use into reStructuredText that docutils (and so Odoo, which
renders README.rst as the module description at install) reads without a
system message:

* ``#`` headings, fenced and indented code blocks, images on a line of their own;
* tables (``| a | b |`` with a ``|---|`` line) become a ``list-table``;
* lists get the blank lines reStructuredText needs before a list and around
  a nested list, and a lazy continuation line is indented to its item;
* inline `code` becomes ``code`` (also across a line break, and escaped where
  a letter touches it), links ``[text](url)`` become anonymous hyperlinks.

    python bin/gen_addon_readme.py            # rewrite README.rst files
    python bin/gen_addon_readme.py --check    # exit 1 if one is stale
"""

import ast
import pathlib
import re
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = [
    ("DESCRIPTION.md", None),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("ROADMAP.md", "Known issues / Roadmap"),
    ("CONTRIBUTORS.md", "Contributors"),
]

HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|(\d+)[.)])\s+")  # group 1: the number of an ordered item
TABLE_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)*\s*:?-+:?\s*\|?$")  # |---|:---:|
# A code span, or a link (not an image).
INLINE = re.compile(
    r"(?<!`)`(?P<code>[^`]+?)`(?!`)|(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
)
# What may stand before / after inline markup in reStructuredText, besides white space
# and Unicode punctuation (docutils' inline markup recognition rules).
MARKUP_BEFORE = "-:/'\"<([{"
MARKUP_AFTER = "-.,:;!?\\/'\")]}>"


def md_to_rst(text):
    """Markdown fragments to reStructuredText (see the module docstring)."""
    lines = text.strip().splitlines()
    # reStructuredText lines; a tuple holds a line that is final (verbatim, or converted).
    out = []
    items = []  # the open list items: (marker indent, content indent, ordered)
    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("```"):
            index = _code_block(lines, index, out)
            items = [item for item in items if item[1] <= indent]
            continue
        if stripped.startswith("|") and index + 1 < len(lines):
            if TABLE_RULE.match(lines[index + 1].strip()):
                index = _table(lines, index, out)
                items = []
                continue
        previous = out[-1] if out else ""
        container = items[-1][1] if items else 0  # where the text of the open item starts
        if stripped and previous == "" and indent >= container + 4:
            index = _indented_code(lines, index, container, out)
            continue
        index += 1
        if not stripped:
            out.append("")
            continue
        image = IMAGE.match(stripped)
        if image:  # a screenshot on a line of its own
            out += ["", (f".. image:: {image.group(2)}",), (f"   :alt: {image.group(1)}",), ""]
            items = []
            continue
        heading = HEADING.match(line)
        if heading:
            title = inline_md(heading.group(2).strip())
            out += ["", (title,), ("-" * len(title),), ""]
            items = []
            continue
        item = LIST_ITEM.match(line)
        ordered = bool(item and item.group(1))
        sibling = bool(items) and items[-1][0] == indent and items[-1][2] == ordered
        if item and (previous == "" or sibling or item.group(1) in (None, "1")):
            # A list item (as in CommonMark, a list that interrupts a paragraph starts
            # with "-" or "1."). reStructuredText wants a blank line before a list and
            # before and after a nested one; items of one list may follow each other.
            items = [open_item for open_item in items if open_item[0] < indent]
            if previous != "" and not sibling:
                out.append("")
            items.append((indent, item.end(), ordered))
        elif items and previous == "":
            # After a blank line, text belongs to the items it is indented under.
            items = [open_item for open_item in items if open_item[1] <= indent]
        elif previous != "":
            # A paragraph's next line: at the indent of its item (markdown's lazy
            # continuation) or of the line before; more would start a block quote.
            indent = items[-1][1] if items else len(previous) - len(previous.lstrip())
            line = " " * indent + stripped
        out.append(line)
    return _join(out)


def _code_block(lines, index, out):
    """The fenced block at ``lines[index]`` as a ``code-block``; returns the next index."""
    opening = lines[index]
    indent = opening[: len(opening) - len(opening.lstrip())]
    language = opening.strip()[3:].strip() or "text"
    out += ["", (f"{indent}.. code-block:: {language}",), ""]
    index += 1
    while index < len(lines) and not lines[index].strip().startswith("```"):
        code = lines[index].rstrip()
        out.append((f"{indent}    {code.removeprefix(indent)}" if code.strip() else "",))
        index += 1
    out.append("")
    return index + 1


def _indented_code(lines, index, container, out):
    """The code block indented by four spaces at ``lines[index]`` (in a list item: four
    more than its text) as a ``code-block``; returns the next index."""
    code = []
    while index < len(lines) and (
        not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) >= container + 4
    ):
        code.append(lines[index].rstrip()[container + 4 :])
        index += 1
    while not code[-1]:  # blank lines after the block are not part of it
        code.pop()
        index -= 1
    margin = " " * container
    out += ["", (f"{margin}.. code-block:: text",), ""]
    out += [(f"{margin}    {line}" if line else "",) for line in code]
    out.append("")
    return index


def _table(lines, index, out):
    """The table at ``lines[index]`` as a ``list-table``; returns the next index."""
    rows = [_cells(lines[index])]
    index += 2  # the header row and the |---| rule
    while index < len(lines) and lines[index].strip().startswith("|"):
        rows.append(_cells(lines[index]))
        index += 1
    width = max(len(row) for row in rows)
    out += ["", (".. list-table::",), ("   :header-rows: 1",), ""]
    for row in rows:
        for column, cell in enumerate(row + [""] * (width - len(row))):
            bullet = "   * -" if column == 0 else "     -"
            out.append((f"{bullet} {inline_md(cell)}".rstrip(),))
    out.append("")
    return index


def _cells(line):
    cells = re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _join(out):
    """The text of ``out``: inline markdown converted paragraph by paragraph (so that a
    code span may cross a line break), final lines kept as they are."""
    text, paragraph = [], []
    for line in [*out, ""]:
        if isinstance(line, str) and line:
            paragraph.append(line)
            continue
        if paragraph:
            text.append(inline_md("\n".join(paragraph)))
            paragraph = []
        text.append(line[0] if isinstance(line, tuple) else line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(text)).strip()


def inline_md(text):
    """Inline markdown: `code` becomes ``code``, [text](url) an anonymous hyperlink."""
    return INLINE.sub(_inline, text)


def _inline(match):
    if match.group("code") is None:
        markup = f"`{match.group('text')} <{match.group('url')}>`__"
    else:
        markup = f"``{match.group('code').strip()}``"
    # Inline markup must start and end at a word boundary: an escaped space (which
    # renders as nothing) where a letter touches it, as in ``mail.mail``\ s.
    text, start, end = match.string, match.start(), match.end()
    if start and not _boundary(text[start - 1], MARKUP_BEFORE, "Ps"):
        markup = "\\ " + markup
    if end < len(text) and not _boundary(text[end], MARKUP_AFTER, "Pe"):
        markup += "\\ "
    return markup


def _boundary(char, allowed, bracket):
    category = unicodedata.category(char)
    return char.isspace() or char in allowed or category in (bracket, "Pi", "Pf", "Pd", "Po")


def heading(title, char):
    return f"{title}\n{char * len(title)}\n"


def render(addon):
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
    name = manifest["name"]
    license_badge = manifest["license"].replace("-", "--")
    parts = [
        "=" * len(name),
        name,
        "=" * len(name),
        "",
        ".. Generated by bin/gen_addon_readme.py from readme/*.md; do not edit by hand.",
        "",
        f"|license| ``{manifest['version']}``",
        "",
        f".. |license| image:: https://img.shields.io/badge/licence-{license_badge}-blue.png",
        f"    :alt: License: {manifest['license']}",
        "",
        manifest.get("summary", ""),
        "",
        "**Table of contents**",
        "",
        ".. contents::",
        "   :local:",
        "",
    ]
    for filename, title in SECTIONS:
        fragment = addon / "readme" / filename
        if not fragment.exists():
            continue
        if title:
            parts.append(heading(title, "="))
        parts.append(md_to_rst(fragment.read_text()))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for manifest in sorted(ROOT.glob("*/__manifest__.py")):
        addon = manifest.parent
        target = addon / "README.rst"
        content = render(addon)
        if target.exists() and target.read_text() == content:
            continue
        stale.append(target)
        if not check:
            target.write_text(content)
    for target in stale:
        print(f"{'stale' if check else 'wrote'}: {target.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
