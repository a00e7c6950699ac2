# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``bin/gen_addon_readme.py`` writes README.rst files that docutils reads without a message.

Odoo renders an addon's README.rst as its description when the module list is updated
(``ir.module.module._get_desc``) and logs a warning "docutils' system message present"
for each system message docutils leaves in the document, whatever its level. The check
here does the same: the html4css1 writer with the same settings, and a transform that
collects the system messages instead of logging them.

Plain unittest, no Odoo: ``bin/test`` runs it (full run) with the tests of ``bench/``.
"""

import unittest

import docutils.core
import gen_addon_readme
from docutils import nodes
from docutils.transforms import Transform
from docutils.writers.html4css1 import Writer

# The settings of odoo/addons/base/models/ir_module.py, _get_desc.
ODOO_SETTINGS = {
    "embed_stylesheet": False,
    "doctitle_xform": False,
    "output_encoding": "unicode",
    "xml_declaration": False,
    "file_insertion_enabled": False,
    "report_level": 5,  # nothing on stderr: the messages are collected below
}


def system_messages(rst):
    """The system messages Odoo would log for this reStructuredText, as text."""
    found = []

    class Collect(Transform):
        default_priority = 870  # as Odoo's MyFilterMessages

        def apply(self):
            found.extend(node.astext() for node in self.document.findall(nodes.system_message))

    class OdooLikeWriter(Writer):
        def get_transforms(self):
            return [Collect]

    docutils.core.publish_string(rst, settings_overrides=ODOO_SETTINGS, writer=OdooLikeWriter())
    return found


def doctree(rst):
    return docutils.core.publish_doctree(rst, settings_overrides={"report_level": 5})


class TestAddonReadme(unittest.TestCase):
    def test_addon_readmes_are_current_and_clean(self):
        manifests = sorted(gen_addon_readme.ROOT.glob("*/__manifest__.py"))
        self.assertGreaterEqual(len(manifests), 2)
        for manifest in manifests:
            readme = manifest.parent / "README.rst"
            with self.subTest(addon=manifest.parent.name):
                text = readme.read_text()
                self.assertEqual(
                    text,
                    gen_addon_readme.render(manifest.parent),
                    f"{readme} is stale: run python bin/gen_addon_readme.py (pre-commit does)",
                )
                self.assertEqual(system_messages(text), [])

    def test_markdown_constructs(self):
        """Each construct of readme/*.md becomes reStructuredText docutils reads as meant."""
        cases = {
            "table": "Presets:\n\n| preset | limit |\n|---|---:|\n| Gmail | 500 |\n"
            "| `a \\| b` | |\n\nAfter.",
            "nested list": "- *Retention*: days:\n  - sent: 0;\n  - failed: 90.\n\n"
            "  0 keeps them.\n- next item",
            "lazy continuation": "- an item\nwrapped without indent\n- another",
            "list after a paragraph": "Settings:\n- one\n- two\n1. first\n2. second",
            "not a list": "- ledger (default\n  400) kept a year.\n\nStatus\n4.4.7. Then more.",
            "code span across lines": "Microsoft's `5.2.25x Sender\nthrottled` and `SendAsDenied`.",
            "code span touching a word": "one `mail.mail`s, `x`-y, (`z`).",
            "link and image": "See [the docs](https://example.com/a_b).\n\n![Shot](../x.png)",
            "heading and fence": "## A `title`\nText.\n```\ncode `x`\n```\nAfter the fence.",
            "indented code": "Run:\n\n    bin/run --mta postfix\n      --x\n\nthen.\n\n"
            "- an item:\n\n      code in item\n\n  text of the item",
        }
        for name, markdown in cases.items():
            rst = gen_addon_readme.md_to_rst(markdown)
            with self.subTest(case=name, rst=rst):
                self.assertEqual(system_messages(rst), [])

        table = doctree(gen_addon_readme.md_to_rst(cases["table"]))
        rows = [
            [entry.astext() for entry in row.findall(nodes.entry)]
            for row in table.findall(nodes.row)
        ]
        self.assertEqual(rows, [["preset", "limit"], ["Gmail", "500"], ["a | b", ""]])
        self.assertEqual(len(list(table.findall(nodes.thead))), 1)

        nested = doctree(gen_addon_readme.md_to_rst(cases["nested list"]))
        outer = next(nested.findall(nodes.bullet_list))
        self.assertEqual(len(outer.children), 2)
        first = outer.children[0]
        self.assertEqual(
            [item.astext() for item in first.findall(nodes.list_item) if item is not first],
            ["sent: 0;", "failed: 90."],
        )
        self.assertIn("0 keeps them.", first.astext())

        lazy = doctree(gen_addon_readme.md_to_rst(cases["lazy continuation"]))
        self.assertEqual(
            [item.astext() for item in lazy.findall(nodes.list_item)],
            ["an item\nwrapped without indent", "another"],
        )
        after = doctree(gen_addon_readme.md_to_rst(cases["list after a paragraph"]))
        self.assertEqual(len(list(after.findall(nodes.bullet_list))), 1)
        self.assertEqual(len(list(after.findall(nodes.enumerated_list))), 1)
        plain = doctree(gen_addon_readme.md_to_rst(cases["not a list"]))
        self.assertEqual(len(list(plain.findall(nodes.enumerated_list))), 0)

        literals = [
            node.astext()
            for name in ("code span across lines", "code span touching a word", "heading and fence")
            for node in doctree(gen_addon_readme.md_to_rst(cases[name])).findall(nodes.literal)
        ]
        self.assertEqual(
            literals,
            ["5.2.25x Sender\nthrottled", "SendAsDenied", "mail.mail", "x", "z", "title"],
        )
        touching = doctree(gen_addon_readme.md_to_rst(cases["code span touching a word"]))
        self.assertEqual(touching.astext(), "one mail.mails, x-y, (z).")
        fence = doctree(gen_addon_readme.md_to_rst(cases["heading and fence"]))
        self.assertEqual(next(fence.findall(nodes.literal_block)).astext(), "code `x`")
        self.assertEqual(next(fence.findall(nodes.title)).astext(), "A title")

        indented = doctree(gen_addon_readme.md_to_rst(cases["indented code"]))
        self.assertEqual(
            [block.astext() for block in indented.findall(nodes.literal_block)],
            ["bin/run --mta postfix\n  --x", "code in item"],
        )
        self.assertEqual(len(list(indented.findall(nodes.block_quote))), 0)
        item = next(indented.findall(nodes.list_item))
        self.assertEqual(item.astext(), "an item:\n\ncode in item\n\ntext of the item")

        links = doctree(gen_addon_readme.md_to_rst(cases["link and image"]))
        reference = next(links.findall(nodes.reference))
        self.assertEqual(reference["refuri"], "https://example.com/a_b")
        self.assertEqual(next(links.findall(nodes.image))["uri"], "../x.png")


if __name__ == "__main__":
    unittest.main()
