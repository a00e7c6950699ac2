# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The .eml and bundle download routes: administrators only."""

import email
import email.policy
import io
import zipfile

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestDownloads(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mail = cls.env["mail.mail"].create(
            {
                "subject": "Download me",
                "body_html": "<p>Body of the mail</p>",
                "email_from": "sales@corp.test",
                "email_to": "bob@dest.test",
            }
        )
        cls.other = cls.env["mail.mail"].create(
            {"subject": "Second", "body_html": "<p>2</p>", "email_to": "ann@dest.test"}
        )
        cls.user = new_test_user(cls.env, "mr_download_user", groups="base.group_user")

    def test_admin_downloads_eml(self):
        self.authenticate("admin", "admin")
        response = self.url_open(f"/mail_reliability/eml/mail.mail/{self.mail.id}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "message/rfc822")
        self.assertIn("Download_me.eml", response.headers["Content-Disposition"])
        message = email.message_from_bytes(response.content, policy=email.policy.default)
        self.assertEqual(message["Subject"], "Download me")
        self.assertEqual(message["Message-Id"], self.mail.message_id)
        self.assertIn("Body of the mail", message.get_body(("html",)).get_content())

        response = self.url_open(f"/mail_reliability/eml/mail.mail/{self.mail.id},{self.other.id}")
        self.assertEqual(response.headers["Content-Type"], "application/zip")
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        self.assertEqual(
            sorted(names), sorted([f"mail-{self.mail.id}.eml", f"mail-{self.other.id}.eml"])
        )

        self.assertEqual(self.url_open("/mail_reliability/eml/res.partner/1").status_code, 404)

    def test_admin_downloads_bundle(self):
        self.authenticate("admin", "admin")
        admin = self.env.ref("base.user_admin")
        bundle = self.env["mail.support.bundle"].with_user(admin).create({"mail_id": self.mail.id})
        bundle.action_generate()
        response = self.url_open(f"/mail_reliability/bundle/{bundle.id}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/zip")
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        self.assertIn("report.txt", names)
        # another administrator's bundle is not served
        other = self.env["mail.support.bundle"].create({"mail_id": self.mail.id})
        other.action_generate()
        self.assertEqual(self.url_open(f"/mail_reliability/bundle/{other.id}").status_code, 404)

    def test_non_admin_is_refused(self):
        bundle = self.env["mail.support.bundle"].create({"mail_id": self.mail.id})
        bundle.action_generate()
        self.authenticate("mr_download_user", "mr_download_user")
        for url in (
            f"/mail_reliability/eml/mail.mail/{self.mail.id}",
            f"/mail_reliability/bundle/{bundle.id}",
        ):
            with self.subTest(url=url):
                response = self.url_open(url)
                self.assertEqual(response.status_code, 403)
                self.assertNotIn(b"Body of the mail", response.content)
