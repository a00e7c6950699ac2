# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
""".eml export (round trip through the real SMTP sink), support bundle, log search."""

import base64
import email
import email.policy
import io
import os
import tempfile
import zipfile
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import config

from .common import SmtpSinkCase


def use_logfile(case, path):
    """Odoo's own log file is ``path`` for the rest of the test."""
    patcher = patch.dict(config.options, {"logfile": path})
    patcher.start()
    case.addCleanup(patcher.stop)


PLANTED = "Pl4nted-S3cret-pw!"
COMPARED_HEADERS = (
    "Message-Id",
    "Subject",
    "From",
    "To",
    "Reply-To",
    "References",
    "Return-Path",
    "X-Odoo-Objects",
    "MIME-Version",
)


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def bodies(message):
    html = message.get_body(("html",))
    plain = message.get_body(("plain",))
    return (
        html.get_content().strip() if html else None,
        plain.get_content().strip() if plain else None,
    )


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailSupportBundle(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alias_domain = cls.env["mail.alias.domain"].create({"name": "corp.test"})
        cls.env.company.alias_domain_id = cls.alias_domain
        cls.Bundle = cls.env["mail.support.bundle"]
        cls.partner = cls.env["res.partner"].create({"name": "Bob", "email": "bob@dest.test"})

    def assertSameEmail(self, exported, delivered):
        for header in COMPARED_HEADERS:
            with self.subTest(header=header):
                self.assertEqual(
                    str(exported[header] or "").strip(), str(delivered[header] or "").strip()
                )
        self.assertTrue(exported["Message-Id"])
        self.assertEqual(bodies(exported), bodies(delivered))

    def test_mail_eml_round_trip(self):
        mail = self.create_outgoing_mail(
            "bob@dest.test",
            auto_delete=False,
            references="<parent-1@corp.test>",
            reply_to="sales@corp.test",
            body_html="<p>Invoice <b>INV/2026/0001</b> attached</p>",
        )
        before = self.Bundle._eml_files(mail)
        with self.real_smtp():
            mail.send()
        self.assertEqual(mail.state, "sent")
        [delivery] = self.sink.deliveries_to("bob@dest.test")
        [(name, data)] = self.Bundle._eml_files(mail)
        self.assertEqual(name, f"mail-{mail.id}.eml")
        exported = parse(data)
        self.assertSameEmail(exported, delivery.message)
        self.assertEqual(exported["Return-Path"], self.alias_domain.bounce_email)
        self.assertIn("<parent-1@corp.test>", exported["References"])
        self.assertIn("INV/2026/0001", bodies(exported)[0])
        # what will be sent == what was sent
        self.assertSameEmail(parse(before[0][1]), delivery.message)

    def test_message_eml_rebuilds_the_notification(self):
        with self.real_smtp():
            message = self.partner.message_post(
                body="<p>Your order is ready</p>",
                subject="Order ready",
                partner_ids=self.partner.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        self.assertFalse(self.env["mail.mail"].search([("mail_message_id", "=", message.id)]))
        [delivery] = self.sink.deliveries_to("bob@dest.test")
        [(_name, data)] = self.Bundle._eml_files(message)
        exported = parse(data)
        for header in ("Message-Id", "Subject", "From", "To", "Return-Path", "References"):
            with self.subTest(header=header):
                self.assertEqual(
                    str(exported[header] or "").strip(),
                    str(delivery.message[header] or "").strip(),
                )
        self.assertEqual(bodies(exported), bodies(delivery.message))

    def test_incoming_original(self):
        raw = (
            "From: Carol <carol@far.test>\r\nTo: contact@corp.test\r\n"
            "Subject: Hello there\r\nMessage-Id: <incoming-42@far.test>\r\n"
            "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nHi!\r\n"
        )
        self.env["mail.thread"].message_process("res.partner", raw, save_original=True)
        message = self.env["mail.message"].search([("message_id", "=", "<incoming-42@far.test>")])
        self.assertTrue(message)
        [(_name, data)] = self.Bundle._eml_files(message)
        self.assertEqual(parse(data)["Message-Id"], "<incoming-42@far.test>")
        self.assertIn(b"Hi!", data)

    def _read_bundle(self, wizard):
        action = wizard.action_generate()
        self.assertEqual(action["url"], f"/mail_reliability/bundle/{wizard.id}")
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(wizard.bundle)))
        return {name: archive.read(name) for name in archive.namelist()}

    def test_bundle_contents_and_no_secrets(self):
        self.env["ir.config_parameter"].set_param("mail.relay.password", "Other-Planted-789")
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        logfile = os.path.join(tmp.name, "odoo.log")
        use_logfile(self, logfile)
        self.env.user.tz = "Europe/Brussels"
        mail = self.create_outgoing_mail(
            "unknown-dan@dest.test",
            auto_delete=False,
            mail_server_id=self.mail_server.id,
            body_html=f"<p>debug: {PLANTED}</p>",
        )
        with self.real_smtp():
            mail.send()
        self.assertEqual(mail.state, "exception")
        # the sink speaks no AUTH: plant the credentials once the mail went through it
        self.mail_server.write({"smtp_user": "relay-user", "smtp_pass": PLANTED})
        with open(logfile, "w", encoding="utf-8") as fh:
            fh.write(f"2026-03-02 INFO db odoo.mail: sending {mail.message_id} with {PLANTED}\n")
            fh.write("2026-03-02 INFO db odoo.mail: unrelated line\n")
        wizard = self.Bundle.with_context(active_model="mail.mail", active_id=mail.id).create(
            {"description": "Customer says the invoice never arrived"}
        )
        self.assertEqual(wizard.mail_id, mail)
        files = self._read_bundle(wizard)
        self.assertEqual(sorted(files), [f"mail-{mail.id}.eml", "report.txt"])
        for name, data in files.items():
            with self.subTest(file=name):
                self.assertNotIn(PLANTED.encode(), data)
                self.assertNotIn(base64.b64encode(PLANTED.encode()), data)
                self.assertNotIn(b"Other-Planted-789", data)
        report = files["report.txt"].decode()
        self.assertIn(f"Record\n  model: mail.mail\n  id: {mail.id}\n  name: ", report)
        self.assertIn(mail.message_id, report)
        self.assertIn("smtp_pass=[redacted]", report)
        self.assertIn("smtp_user=relay-user", report)
        self.assertIn("failure type: mail_smtp_recipient", report)
        self.assertIn("5.1.1", report)
        self.assertIn(" UTC / ", report)
        self.assertIn("Europe/Brussels", report)
        self.assertIn("odoo.log:1: 2026-03-02 INFO db odoo.mail: sending", report)
        self.assertNotIn("unrelated line", report)
        self.assertIn("Customer says the invoice never arrived", report)
        self.assertIn("Have you changed any email-related settings recently?", report)
        self.assertIn("outgoing server 'Loopback SMTP sink'", report)
        self.assertIn("Is this a message being sent from the Odoo database?\n  yes", report)

    def test_bundle_for_a_record(self):
        with self.real_smtp():
            self.partner.message_post(
                body="<p>Hello</p>",
                partner_ids=self.partner.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        wizard = self.Bundle.with_context(
            active_model="res.partner", active_id=self.partner.id
        ).create({})
        files = self._read_bundle(wizard)
        report = files["report.txt"].decode()
        self.assertIn("model: res.partner", report)
        self.assertIn(f"id: {self.partner.id}", report)
        self.assertIn("name: Bob", report)
        self.assertTrue(any(name.endswith(".eml") for name in files))

    def test_log_search_wizard(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        logfile = os.path.join(tmp.name, "odoo.log")
        with open(logfile, "w", encoding="utf-8") as fh:
            fh.write("line about <abc@corp.test>\nnothing\n")
        use_logfile(self, logfile)
        search = self.env["mail.log.search"].create({"query": "ABC@corp.test"})
        search.action_search()
        self.assertEqual(search.match_count, 1)
        self.assertIn("odoo.log:1: line about <abc@corp.test>", search.result)

    def test_access_non_admin(self):
        user = new_test_user(self.env, "mr_bundle_user", groups="base.group_user")
        mail = self.create_outgoing_mail("bob@dest.test")
        env = self.env(user=user)
        with self.assertRaises(AccessError):
            env["mail.support.bundle"].create({"mail_id": mail.id})
        with self.assertRaises(AccessError):
            env["mail.support.bundle"]._eml_files(mail)
        with self.assertRaises(AccessError):
            env["mail.support.bundle"]._action_download_eml(mail)
        with self.assertRaises(AccessError):
            env["mail.log.search"].create({"query": "x"})
        with self.assertRaises(AccessError):
            env["mail.log.search"].default_get(["query"])

    def test_bundle_includes_the_dsn(self):
        mail = self.create_outgoing_mail("gone@dest.test", auto_delete=False)
        dsn = (
            "From: MAILER-DAEMON@dest.test\r\nTo: bounce@corp.test\r\nSubject: Undelivered\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Final-Recipient: rfc822; gone@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Message-Id: {mail.message_id}\r\n--b--\r\n"
        )
        bounce_message = self.env["mail.message"].create(
            {"body": "bounce", "message_type": "email"}
        )
        self.env["ir.attachment"].create(
            {
                "name": "original_email.eml",
                "raw": dsn.encode(),
                "res_model": "mail.message",
                "res_id": bounce_message.id,
            }
        )
        unrelated = dsn.replace(mail.message_id, "<someone-else@corp.test>")
        self.env["ir.attachment"].create(
            {
                "name": "original_email.eml",
                "raw": unrelated.encode(),
                "res_model": "mail.message",
                "res_id": bounce_message.id,
            }
        )
        files = self._read_bundle(self.Bundle.create({"mail_id": mail.id}))
        dsn_files = [name for name in files if name.startswith("dsn-")]
        self.assertEqual(len(dsn_files), 1)
        self.assertIn(b"Status: 5.1.1", files[dsn_files[0]])
        self.assertIn(mail.message_id.encode(), files[dsn_files[0]])
