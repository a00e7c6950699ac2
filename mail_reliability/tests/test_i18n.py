# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the admin reads goes through translation.

Code terms are translated from the module's ``.po`` files, which this addon does
not ship yet: the tests put a French term into Odoo's code-translation cache
(``code_translations``) for the duration of a ``with`` block, as a loaded
``fr.po`` would, and check that the text comes out in French for a French reader
and in English for everybody else. Model terms (the selection labels that name the
health checks) are written as database translations, as loading a language does.
"""

import ast
import email
import email.policy
import io
import pathlib
from unittest.mock import patch

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import LazyGettext, code_translations, trans_export

from ..tools import auth_results, dsn
from ..wizard.mail_support_bundle import CHECKLIST

MODULE_DIR = pathlib.Path(__file__).resolve().parent.parent
BRIDGE_DIR = MODULE_DIR.parent / "mail_reliability_mass_mailing"


def french(terms):
    """The French code terms of mail_reliability are ``terms`` in this block."""
    return patch.dict(code_translations.python_translations, {("mail_reliability", "fr_FR"): terms})


@tagged("mail_reliability", "post_install", "-at_install")
class TestTranslatedTexts(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.fr_env = cls.env(context=dict(cls.env.context, lang="fr_FR"))
        cls.en_env = cls.env(context=dict(cls.env.context, lang="en_US"))

    def test_health_check_names_follow_the_reader(self):
        Check = self.env["mail.health.check"]
        checks = Check._ensure_rows()
        admin_check = checks.filtered(lambda c: c.code == "admin_email")
        label = self.env["ir.model.fields.selection"].search(
            [
                ("field_id.model", "=", "mail.health.check"),
                ("field_id.name", "=", "code"),
                ("value", "=", "admin_email"),
            ]
        )
        self.assertTrue(label, "the check's name is a selection label, exported with the module")
        label.with_context(lang="fr_FR").name = "Adresse de l'administrateur"
        self.env.registry.clear_cache()  # as loading a language does
        fr_check = admin_check.with_env(self.fr_env)
        self.assertEqual(fr_check.name, "Adresse de l'administrateur")
        self.assertEqual(fr_check.display_name, "Adresse de l'administrateur")
        self.assertEqual(admin_check.with_env(self.en_env).name, "Admin email address")
        # what the kanban, list and form read
        [values] = fr_check.read(["name"])
        self.assertEqual(values["name"], "Adresse de l'administrateur")
        # the search box searches the names the reader sees
        found = Check.with_env(self.fr_env).search([("name", "ilike", "administrateur")])
        self.assertEqual(found, admin_check)
        self.assertNotIn(
            admin_check, Check.with_env(self.fr_env).search([("name", "ilike", "SPF")])
        )
        self.assertIn(
            admin_check, Check.with_env(self.fr_env).search([("name", "not ilike", "SPF")])
        )

    def test_support_bundle_report_in_the_readers_language(self):
        partner = self.env["res.partner"].create({"name": "Report Partner"})
        wizard = self.env["mail.support.bundle"].create(
            {"res_model": "res.partner", "res_id": partner.id}
        )
        terms = {
            "Email support report": "Rapport d'assistance email",
            "Record": "Enregistrement",
            "Support checklist": "Liste de contrôle",
            CHECKLIST[1]._source: "Ce message est-il envoyé depuis la base Odoo ?",
            "(to be answered)": "(à compléter)",
        }
        with french(terms):
            report = wizard.with_env(self.fr_env)._report_text(
                self.env["mail.mail"], self.env["mail.message"], partner, []
            )
            english = wizard.with_env(self.en_env)._report_text(
                self.env["mail.mail"], self.env["mail.message"], partner, []
            )
        self.assertTrue(report.startswith("Rapport d'assistance email\n"), report[:200])
        self.assertIn("Liste de contrôle", report)
        self.assertIn("- Ce message est-il envoyé depuis la base Odoo ?", report)
        self.assertIn("(à compléter)", report)
        self.assertNotIn("Support checklist", report)
        # the data lines stay as they are, whatever the language
        self.assertIn(f"Enregistrement\n  model: res.partner\n  id: {partner.id}\n", report)
        self.assertIn(f"Record\n  model: res.partner\n  id: {partner.id}\n", english)
        self.assertIn("Support checklist", english)

    def test_dsn_and_authentication_texts_in_the_readers_language(self):
        recipient = dsn.classify_recipient(
            "bob@example.com", "failed", "5.1.1", "smtp; 550 5.1.1 no such user", "dns; mx.test"
        )
        daemon = email.message_from_bytes(
            b"From: MAILER-DAEMON@mx.test\r\nSubject: hello\r\n\r\nbody\r\n",
            policy=email.policy.SMTP,
        )
        terms = {
            "(remote server %(server)s)": "(serveur distant %(server)s)",
            "sent by a mail system (%(sender)s)": "envoyé par un système de mail (%(sender)s)",
            "no From domain": "pas de domaine dans From",
        }
        with french(terms):
            self.assertEqual(
                recipient.reason_text("fr_FR"), "550 5.1.1 no such user (serveur distant mx.test)"
            )
            self.assertEqual(
                dsn.auto_message_reason(daemon, lang="fr_FR"),
                "envoyé par un système de mail (mailer-daemon@mx.test)",
            )
            self.assertEqual(
                auth_results.sender_verdict([], ["mx.test"], "", lang="fr_FR"),
                (False, "pas de domaine dans From"),
            )
            # without a language: English, for logs and comparisons
            self.assertEqual(recipient.reason, "550 5.1.1 no such user (remote server mx.test)")
            self.assertEqual(
                dsn.auto_message_reason(daemon), "sent by a mail system (mailer-daemon@mx.test)"
            )

    def test_refused_recipient_message_in_the_readers_language(self):
        server = self.env["ir.mail_server"]
        source = "SMTP server '%(server)s' refused %(address)s: %(reply)s"
        with french({source: "Le serveur SMTP '%(server)s' a refusé %(address)s : %(reply)s"}):
            refusals = server.with_env(self.fr_env)._mr_refusals(
                {"Bob@Example.com": (550, b"5.1.1 User unknown")}, "relay"
            )
        self.assertTrue(
            refusals["bob@example.com"].message.startswith(
                "Le serveur SMTP 'relay' a refusé bob@example.com : "
            ),
            refusals["bob@example.com"].message,
        )

    def test_new_terms_are_extracted_into_the_pot(self):
        """Odoo's own export (what ``--i18n-export`` writes into the .pot) finds the texts."""
        buffer = io.BytesIO()
        trans_export(False, ["mail_reliability"], buffer, "po", self.env.cr)
        catalog = polib.pofile(buffer.getvalue().decode())
        msgids = {entry.msgid for entry in catalog}
        lazy = [
            *CHECKLIST,
            *(v for v in vars(dsn).values() if isinstance(v, LazyGettext)),
        ]
        expected = {text._source for text in lazy} | {
            "(remote server %(server)s)",
            "sent by a mail system (%(sender)s)",
            "no Authentication-Results from the receiving host",
            "SMTP server '%(server)s' refused %(address)s: %(reply)s",
            "Support checklist",
            "Related log lines (by Message-Id)",
            "Email support report",
            "default (first matching server or odoo-bin --smtp options)",
            # the health checks' names: the labels of their codes
            "Admin email address",
            "Recurring failures by domain",
        }
        self.assertFalse(sorted(expected - msgids), "terms missing from the exported .pot")

    def test_every_text_is_visible_to_the_extractor(self):
        """Two ways a text escapes the .pot (so is never translated) although it
        reads as translated in the code:

        * ``translate = self.env._`` then ``translate("...")``: the extractor only
          knows the keywords ``_`` and ``_lt`` (bind the env's ``_`` to ``_``);
        * an f-string directly among the arguments of ``_()``: Odoo's extractor
          (babel) evaluates every string there, fails on the f-string's names and
          drops the terms of the whole file (build the value before the call).
        """
        offenders = []
        for root in (MODULE_DIR, BRIDGE_DIR):
            for path in sorted(root.rglob("*.py")):
                if "tests" in path.relative_to(root).parts:
                    continue
                where = path.relative_to(root.parent)
                tree = ast.parse(path.read_text(), filename=str(path))
                for node in ast.walk(tree):
                    if (
                        isinstance(node, ast.Assign)
                        and isinstance(node.value, ast.Attribute)
                        and node.value.attr == "_"
                        and any(not (isinstance(t, ast.Name) and t.id == "_") for t in node.targets)
                    ):
                        offenders.append(f"{where}:{node.lineno}: _ under another name")
                    if isinstance(node, ast.Call) and _is_translation(node.func):
                        for arg in [*node.args, *(k.value for k in node.keywords)]:
                            if _has_bare_fstring(arg):
                                offenders.append(f"{where}:{arg.lineno}: f-string in _()")
        self.assertFalse(offenders, "texts the .pot export cannot see")


def _is_translation(func):
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name in ("_", "_lt")


def _has_bare_fstring(node):
    """An f-string not enclosed in a call of its own (babel evaluates those)."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Call):
        return False
    return any(_has_bare_fstring(child) for child in ast.iter_child_nodes(node))
